//! Server functions of `/settings/security`: two-factor enrolment and switching it off, the
//! signed-in browsers, and the password change.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::PageError;
use crate::model::{SessionInfo, TotpSetup};

/// What the security page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityOverview {
    pub two_factor_enabled: bool,
    /// An enrolment waiting for its first code.
    pub pending: Option<TotpSetup>,
    pub recovery_codes_left: u64,
    pub sessions: Vec<SessionInfo>,
    /// Recovery codes that a plain form post (JavaScript off) just made, shown this once.
    pub new_recovery_codes: Option<Vec<String>>,
    /// Set once after a plain form post changed the password.
    pub password_changed: bool,
}

pub const SECURITY_PAGE: &str = "/settings/security";
#[cfg(feature = "ssr")]
const FLASH_CODES: &str = "flash_recovery_codes";
#[cfg(feature = "ssr")]
const FLASH_PASSWORD: &str = "flash_password_changed";

/// The page's data for the signed-in user; `None` when nobody is signed in.
#[server(prefix = "/app", endpoint = "security")]
pub async fn security_settings() -> Result<Option<SecurityOverview>, PageError> {
    use crate::server::{
        http::server_fns::web_request,
        service::{two_factor, web_sessions},
    };
    let req = web_request().await?;
    let Some(me) = req.current().await? else {
        return Ok(None);
    };
    let status = two_factor::status(&req.state, &me.user).await?;
    let sessions = web_sessions::list(&req.state, &me.user, &me.session_id).await?;
    Ok(Some(SecurityOverview {
        two_factor_enabled: status.enabled,
        pending: status.pending,
        recovery_codes_left: status.recovery_codes_left,
        sessions,
        new_recovery_codes: req.take_flash(FLASH_CODES).await,
        password_changed: req.take_flash::<()>(FLASH_PASSWORD).await.is_some(),
    }))
}

#[server(prefix = "/app", endpoint = "start_two_factor")]
pub async fn start_two_factor(current_password: String) -> Result<TotpSetup, PageError> {
    use crate::server::{http::server_fns::web_request, service::two_factor};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            two_factor::begin_enrolment(&req.state, &me.user, current_password, &req.meta).await
        })
        .await;
    req.finish(SECURITY_PAGE, Some(SECURITY_PAGE), result).await
}

/// Switches 2FA on with the first code; returns the recovery codes.
#[server(prefix = "/app", endpoint = "enable_two_factor")]
pub async fn enable_two_factor(
    current_password: String,
    code: String,
) -> Result<Vec<String>, PageError> {
    use crate::server::{http::server_fns::web_request, service::two_factor};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            two_factor::enable(
                &req.state,
                &me.user,
                current_password,
                &code,
                me.session(),
                &req.meta,
            )
            .await
        })
        .await;
    req.finish_keeping(SECURITY_PAGE, Some(SECURITY_PAGE), FLASH_CODES, result)
        .await
}

#[server(prefix = "/app", endpoint = "disable_two_factor")]
pub async fn disable_two_factor(current_password: String, code: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::two_factor};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            two_factor::disable(
                &req.state,
                &me.user,
                current_password,
                &code,
                me.session(),
                &req.meta,
            )
            .await
        })
        .await;
    req.finish(SECURITY_PAGE, Some(SECURITY_PAGE), result).await
}

/// Replaces the recovery codes with ten new ones, shown once like the first.
#[server(prefix = "/app", endpoint = "renew_recovery_codes")]
pub async fn renew_recovery_codes(
    current_password: String,
    code: String,
) -> Result<Vec<String>, PageError> {
    use crate::server::{http::server_fns::web_request, service::two_factor};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            two_factor::renew_recovery_codes(
                &req.state,
                &me.user,
                current_password,
                &code,
                &req.meta,
            )
            .await
        })
        .await;
    req.finish_keeping(SECURITY_PAGE, Some(SECURITY_PAGE), FLASH_CODES, result)
        .await
}

/// Signs one of the user's other browsers out.
#[server(prefix = "/app", endpoint = "end_session")]
pub async fn end_session(id: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::web_sessions};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            web_sessions::end_other(&req.state, &me.user, &me.session_id, &id, &req.meta).await
        })
        .await;
    req.finish(SECURITY_PAGE, Some(SECURITY_PAGE), result).await
}

/// Signs out every other browser and API client of the user.
#[server(prefix = "/app", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::web_sessions};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            web_sessions::end_all_others(&req.state, &me.user, &me.session_id, &req.meta).await
        })
        .await;
    req.finish(SECURITY_PAGE, Some(SECURITY_PAGE), result).await
}

/// Changes the password (the current one is required) and ends the user's other sessions.
#[server(prefix = "/app", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::accounts};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            accounts::change_password(
                &req.state,
                &me.user,
                current_password,
                new_password,
                me.session(),
                &req.meta,
            )
            .await
        })
        .await;
    req.finish_keeping(SECURITY_PAGE, Some(SECURITY_PAGE), FLASH_PASSWORD, result)
        .await
}
