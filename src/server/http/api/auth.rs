//! `/api/v1/auth/*`: registration, token login, refresh, logout, current user.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::UserInfo,
    server::{
        error::{ErrorBody, Result},
        http::extract::{ApiJson, ApiUser, ClientMeta},
        service::{accounts, api_tokens, two_factor},
        state::AppState,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Compared without regard to case.
    #[schema(example = "alice@example.org", format = Email, max_length = 254)]
    pub email: String,
    /// 3 to 32 characters: letters, digits, `_`, `-` or `.`.
    #[schema(example = "alice", pattern = r"^[A-Za-z0-9_.-]{3,32}$")]
    pub username: String,
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Required when the account has two-factor authentication on.
    pub totp_code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl From<api_tokens::TokenPair> for TokenResponse {
    fn from(pair: api_tokens::TokenPair) -> Self {
        TokenResponse {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "bearer",
            expires_in: pair.expires_in,
        }
    }
}

/// Create an account; the first account of an installation becomes admin.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = UserInfo),
        (status = 409, description = "Email or username taken", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<UserInfo>)> {
    let input = accounts::Registration {
        email: body.email,
        username: body.username,
        password: body.password,
    };
    let user = accounts::register(&state, input, &meta).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Exchange email and password for an access and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong credentials (invalid_credentials); two-factor code missing (totp_required) or wrong or already used (invalid_totp)", body = ErrorBody),
        (status = 403, description = "Account disabled", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>> {
    let user = accounts::authenticate(&state, &body.email, body.password, &meta).await?;
    let login = two_factor::complete_login(&state, user, body.totp_code.as_deref(), &meta).await?;
    let pair = api_tokens::issue(&state, &login, &meta).await?;
    Ok(Json(pair.into()))
}

/// Rotate: spend a refresh token, get a new pair. A spent token presented again revokes its family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse),
        (status = 401, description = "Invalid, expired, revoked or reused token", body = ErrorBody),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>> {
    Ok(Json(
        api_tokens::refresh(&state, &body.refresh_token, &meta)
            .await?
            .into(),
    ))
}

/// Revoke the presented token's family (its access and refresh tokens).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
) -> Result<StatusCode> {
    api_tokens::logout(&state, &auth.user, &auth.family_id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "Current user", body = UserInfo),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn me(auth: ApiUser) -> Json<UserInfo> {
    Json(auth.user.into())
}
