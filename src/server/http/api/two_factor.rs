//! `/api/v1/auth/2fa/*`: two-factor enrolment, switching it off and new recovery codes. Each
//! needs the account's current password as well as the token, so a stolen token cannot take
//! the account over. Switching on or off ends the user's other sessions and token families;
//! the caller's token family stays.

use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::TotpSetup,
    server::{
        error::{ErrorBody, Result},
        http::extract::{ApiJson, ApiUser, ClientMeta},
        service::{accounts::CurrentSession, two_factor},
        state::AppState,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(verify))
        .routes(routes!(disable))
        .routes(routes!(renew_recovery_codes))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordRequest {
    /// The account's current password.
    #[schema(example = "correct horse battery staple", min_length = 1)]
    pub current_password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CodeRequest {
    /// The account's current password.
    #[schema(example = "correct horse battery staple", min_length = 1)]
    pub current_password: String,
    /// Six digits from the authenticator app (for `disable` and new recovery codes, a recovery
    /// code also works).
    #[schema(example = "123456")]
    pub totp_code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown this once.
    pub recovery_codes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Disabled {
    pub two_factor_enabled: bool,
}

/// Start enrolment: a new secret, not yet in force. A setup not yet verified is replaced.
#[utoipa::path(post, path = "/api/v1/auth/2fa/setup", tag = "auth", operation_id = "setup_2fa",
    security(("bearer" = [])),
    request_body = PasswordRequest,
    responses(
        (status = 200, description = "The secret, its otpauth URL and a QR code of it", body = TotpSetup),
        (status = 401, description = "Not signed in, or wrong current password (wrong_password)", body = ErrorBody),
        (status = 409, description = "Two-factor authentication is already on", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords", body = ErrorBody),
    ))]
pub async fn setup(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiJson(body): ApiJson<PasswordRequest>,
) -> Result<Json<TotpSetup>> {
    Ok(Json(
        two_factor::begin_enrolment(&state, &auth.user, body.current_password, &meta).await?,
    ))
}

/// Switch two-factor authentication on with a first code from the app.
#[utoipa::path(post, path = "/api/v1/auth/2fa/verify", tag = "auth", operation_id = "verify_2fa",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "On; the recovery codes", body = RecoveryCodes),
        (status = 400, description = "Wrong code (invalid_code) or no setup started (two_factor_not_started)", body = ErrorBody),
        (status = 401, description = "Not signed in, or wrong current password (wrong_password)", body = ErrorBody),
        (status = 409, description = "Already on", body = ErrorBody),
        (status = 429, description = "Too many attempts, or the code step is locked (two_factor_locked)", body = ErrorBody),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodes>> {
    let current = CurrentSession::Api(&auth.family_id);
    let recovery_codes = two_factor::enable(
        &state,
        &auth.user,
        body.current_password,
        &body.totp_code,
        current,
        &meta,
    )
    .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// Switch two-factor authentication off; needs a current code (or a recovery code).
#[utoipa::path(delete, path = "/api/v1/auth/2fa/disable", tag = "auth", operation_id = "disable_2fa",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Off", body = Disabled),
        (status = 400, description = "Wrong code (invalid_code) or not on (two_factor_disabled)", body = ErrorBody),
        (status = 401, description = "Not signed in, or wrong current password (wrong_password)", body = ErrorBody),
        (status = 429, description = "Too many attempts, or the code step is locked (two_factor_locked)", body = ErrorBody),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<Json<Disabled>> {
    let current = CurrentSession::Api(&auth.family_id);
    two_factor::disable(
        &state,
        &auth.user,
        body.current_password,
        &body.totp_code,
        current,
        &meta,
    )
    .await?;
    Ok(Json(Disabled {
        two_factor_enabled: false,
    }))
}

/// Replace the recovery codes (used or not) with ten new ones.
#[utoipa::path(post, path = "/api/v1/auth/2fa/recovery-codes", tag = "auth", security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "The new recovery codes; the old ones no longer work", body = RecoveryCodes),
        (status = 400, description = "Wrong code (invalid_code) or 2FA not on (two_factor_disabled)", body = ErrorBody),
        (status = 401, description = "Not signed in, or wrong current password (wrong_password)", body = ErrorBody),
        (status = 429, description = "Too many attempts, or the code step is locked (two_factor_locked)", body = ErrorBody),
    ))]
pub async fn renew_recovery_codes(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodes>> {
    let recovery_codes = two_factor::renew_recovery_codes(
        &state,
        &auth.user,
        body.current_password,
        &body.totp_code,
        &meta,
    )
    .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}
