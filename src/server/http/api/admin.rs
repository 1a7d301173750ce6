//! `/api/v1/admin/*`: user management.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::model::{AdminStats, Paging, Role, UserInfo},
    server::{
        error::{ErrorBody, Result},
        http::extract::{ApiJson, ApiPath, ApiQuery, ApiUser, ClientMeta},
        service::admin,
        state::AppState,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stats))
        .routes(routes!(list_users))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(reset_two_factor))
}

#[derive(Deserialize, ToSchema)]
pub struct UserPatch {
    pub role: Option<Role>,
    /// `false` disables the account and ends its sessions and tokens at once.
    pub is_active: Option<bool>,
}

/// Every user (admins only).
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(Paging), security(("bearer" = [])),
    responses(
        (status = 200, description = "Users", body = [UserInfo]),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiQuery(page): ApiQuery<Paging>,
) -> Result<Json<Vec<UserInfo>>> {
    let users = admin::list_users(&state, &auth.user, page).await?;
    Ok(Json(users.into_iter().map(Into::into).collect()))
}

/// Change a user's role or active flag (admins only). Disabling ends the user's sessions and
/// tokens at once.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", request_body = UserPatch,
    params(("id" = String, Path, description = "User id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated user", body = UserInfo),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The last active admin cannot be demoted or disabled (last_active_admin)", body = ErrorBody),
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<UserInfo>> {
    let changes = admin::UserChanges {
        role: patch.role,
        is_active: patch.is_active,
    };
    let user = admin::update_user(&state, &auth.user, &id, changes, &meta).await?;
    Ok(Json(user.into()))
}

/// Delete a user with their files, share links, sessions and tokens (admins only). Their audit
/// rows stay.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = "admin", operation_id = "delete_user",
    params(("id" = String, Path, description = "User id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The last active admin cannot be deleted (last_active_admin)", body = ErrorBody),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    admin::delete_user(&state, &auth.user, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Switch a user's two-factor authentication off, for a lost phone (admins only). Their
/// sessions and tokens end; they sign in with their password and can enrol again. Nothing
/// changes for a user without 2FA.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}/2fa", tag = "admin",
    operation_id = "reset_two_factor",
    params(("id" = String, Path, description = "User id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Two-factor authentication is off"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn reset_two_factor(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    admin::reset_two_factor(&state, &auth.user, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The installation at a glance: users, files and scans, active links, and uploads and
/// downloads in the last 24 hours and per day for 30 days (admins only).
#[utoipa::path(get, path = "/api/v1/admin/stats", tag = "admin", operation_id = "admin_stats",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The numbers", body = AdminStats),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn stats(State(state): State<AppState>, auth: ApiUser) -> Result<Json<AdminStats>> {
    Ok(Json(admin::stats(&state, &auth.user).await?))
}
