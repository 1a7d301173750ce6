//! `/api/v1/admin/*`: the installation's numbers, user management, every user's files, the audit
//! log. Admins only (403 otherwise); every rule is in `service::admin`.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::{
        whole_number, AdminFile, AdminStats, AdminUser, AuditFilter, AuditOutcome, AuditPage,
        FileFilter, FileInfo, Paging, QuotaSetting, Role, ScanStatus,
    },
    server::{
        error::{ErrorBody, Result},
        http::{
            audit_csv,
            extract::{ApiJson, ApiPath, ApiQuery, ApiUser, ClientMeta},
        },
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
        .routes(routes!(list_files))
        .routes(routes!(rescan_file))
        .routes(routes!(delete_file))
        .routes(routes!(audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    /// Part of the email or username, in any case.
    #[param(max_length = 256)]
    pub q: Option<String>,
}

/// Users, oldest first, with their files' count and bytes and their quota (admins only).
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(UserSearch, Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users", body = [AdminUser]),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiQuery(search): ApiQuery<UserSearch>,
    ApiQuery(page): ApiQuery<Paging>,
) -> Result<Json<Vec<AdminUser>>> {
    Ok(Json(
        admin::list_users(&state, &auth.user, search.q.as_deref(), page).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct UserPatch {
    pub role: Option<Role>,
    /// `false` disables the account and ends its sessions and tokens at once.
    pub is_active: Option<bool>,
    /// The user's own storage quota in bytes (at most 1 PiB); `null`: no quota, whatever the
    /// installation's default; `"default"`: the installation's default
    /// (`COFFER_USER_QUOTA_BYTES`) again. Absent: unchanged.
    #[serde(default, deserialize_with = "QuotaInput::present")]
    pub quota_bytes: Option<QuotaInput>,
}

impl UserPatch {
    fn into_changes(self) -> admin::UserChanges {
        admin::UserChanges {
            role: self.role,
            is_active: self.is_active,
            quota: self.quota_bytes.map(|q| q.0),
        }
    }
}

/// A quota as a patch gives it: a whole number of bytes, `null` or `"default"`. (Its schema
/// leaves `null` to the field, which is optional.)
pub struct QuotaInput(QuotaSetting);

impl QuotaInput {
    /// For a field that is there (`null` included, which means "no quota"). Numbers are read
    /// by the API's one rule for whole numbers (`5.0` is 5).
    fn present<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<Self>, D::Error> {
        use serde::de::Error as _;
        let refused = || {
            D::Error::custom(
                "quota_bytes must be a whole number of bytes (0 or more), null or \"default\"",
            )
        };
        let setting = match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => QuotaSetting::Unlimited,
            serde_json::Value::String(word) if word == "default" => QuotaSetting::Default,
            number @ serde_json::Value::Number(_) => QuotaSetting::Bytes(
                whole_number::option::<_, u64>(number)
                    .map_err(|_| refused())?
                    .ok_or_else(refused)?,
            ),
            _ => return Err(refused()),
        };
        Ok(Some(QuotaInput(setting)))
    }
}

impl utoipa::PartialSchema for QuotaInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(admin::MAX_QUOTA_BYTES as f64)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["default"])),
            )
            .into()
    }
}

impl ToSchema for QuotaInput {}

/// Change a user's role, active flag or quota (admins only). Disabling ends the user's sessions
/// and tokens at once.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", request_body = UserPatch,
    params(("id" = String, Path, description = "User id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated user", body = AdminUser),
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
) -> Result<Json<AdminUser>> {
    let changes = patch.into_changes();
    Ok(Json(
        admin::update_user(&state, &auth.user, &id, changes, &meta).await?,
    ))
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    pub scan_status: Option<ScanStatus>,
    /// The owner's id, email or username.
    #[param(max_length = 256)]
    pub owner: Option<String>,
    /// Part of the file's name, in any case.
    #[param(max_length = 256)]
    pub name: Option<String>,
}

/// Every user's files, newest first, with owner and active share links; filtered by scan
/// status, owner and name (admins only).
#[utoipa::path(get, path = "/api/v1/admin/files", tag = "admin", operation_id = "admin_list_files",
    params(FileQuery, Paging), security(("bearer" = [])),
    responses(
        (status = 200, description = "Files", body = [AdminFile]),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn list_files(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiQuery(query): ApiQuery<FileQuery>,
    ApiQuery(page): ApiQuery<Paging>,
) -> Result<Json<Vec<AdminFile>>> {
    let filter = FileFilter {
        scan_status: query.scan_status,
        owner: query.owner,
        name: query.name,
    };
    Ok(Json(
        admin::list_files(&state, &auth.user, &filter, page).await?,
    ))
}

/// Scan a file again (admins only). It is `pending` until the new verdict, so downloads close
/// meanwhile.
#[utoipa::path(post, path = "/api/v1/admin/files/{id}/rescan", tag = "admin",
    operation_id = "admin_rescan_file",
    params(("id" = String, Path, description = "File id")), security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued for scanning", body = FileInfo),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
    ))]
pub async fn rescan_file(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<FileInfo>)> {
    let file = admin::rescan_file(&state, &auth.user, &id, &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(file)))
}

/// Delete any user's file: its row, share links and blob (admins only).
#[utoipa::path(delete, path = "/api/v1/admin/files/{id}", tag = "admin",
    operation_id = "admin_delete_file",
    params(("id" = String, Path, description = "File id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
    ))]
pub async fn delete_file(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    admin::delete_file(&state, &auth.user, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Who acted: a user's id, email or username (a deleted user's id too).
    #[param(max_length = 256)]
    pub actor: Option<String>,
    /// An action, exactly: `login.failed`, `file.upload`, `admin.user_deleted`, …
    #[param(max_length = 256)]
    pub action: Option<String>,
    /// What it was done to: a user, file or token family id.
    #[param(max_length = 256)]
    pub target: Option<String>,
    pub outcome: Option<AuditOutcome>,
    /// Entries at or after this moment (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// Entries before this moment (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    /// Entries per page, 1 to 500 (default 100). With CSV: at most this many rows (default:
    /// every selected entry).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i32>,
    /// Where the page starts: the `next_cursor` of the page before.
    #[param(
        pattern = r"^[0-9]{1,15}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub cursor: Option<String>,
}

/// The audit log, newest first, filtered by actor, action, target, outcome and time, a page at
/// a time; with `Accept: text/csv`, every selected entry as a CSV file (admins only).
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", operation_id = "admin_audit",
    params(AuditQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries (JSON), or the selected entries as CSV",
            content((AuditPage = "application/json"), (String = "text/csv"))),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn audit(
    State(state): State<AppState>,
    auth: ApiUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Response> {
    let filter = AuditFilter {
        actor: query.actor,
        action: query.action,
        target: query.target,
        outcome: query.outcome,
        since: query.since,
        until: query.until,
    };
    let cursor = query.cursor.as_deref();
    if audit_csv::wants_csv(&headers) {
        let limit = query.limit.map(i64::from);
        let entries = admin::audit_export(&state, &auth.user, &filter, cursor, limit).await?;
        return Ok(audit_csv::response(entries, state.now()));
    }
    let limit = query.limit.unwrap_or(Paging::DEFAULT_LIMIT);
    let page = admin::audit_page(&state, &auth.user, &filter, cursor, i64::from(limit)).await?;
    Ok(Json(page).into_response())
}
