//! Sign-in, registration, sign-out and "who am I" for the pages.

use leptos::prelude::*;

use crate::model::PageError;
use crate::model::UserInfo;

/// The signed-in user of this browser, if any.
#[server(prefix = "/app", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserInfo>, PageError> {
    use crate::server::http::server_fns::web_request;
    let req = web_request().await?;
    Ok(req.user().await?.map(UserInfo::from))
}

/// The error a form without JavaScript left for its page (read once).
#[server(prefix = "/app", endpoint = "form_error")]
pub async fn take_form_error() -> Result<Option<PageError>, PageError> {
    use crate::server::http::server_fns::web_request;
    Ok(web_request().await?.take_flash_error().await)
}

#[server(prefix = "/app", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::web_sessions};
    let req = web_request().await?;
    let result = web_sessions::sign_in(&req.state, &req.session, &email, password, &req.meta).await;
    let next = match result {
        Ok(web_sessions::SignInStep::NeedsCode) => SECOND_STEP_PAGE,
        _ => "/",
    };
    req.finish("/login", Some(next), result.map(|_| ())).await
}

/// The page of a login's second step.
pub const SECOND_STEP_PAGE: &str = "/login/code";

/// Whether this browser has passed a password step that waits for its code.
#[server(prefix = "/app", endpoint = "login_pending")]
pub async fn login_pending() -> Result<bool, PageError> {
    use crate::server::{http::server_fns::web_request, service::web_sessions};
    let req = web_request().await?;
    Ok(web_sessions::has_pending_login(&req.state, &req.session).await?)
}

/// The second step: a code from the authenticator app, or a recovery code.
#[server(prefix = "/app", endpoint = "login_code")]
pub async fn login_code(code: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::web_sessions};
    let req = web_request().await?;
    let result = web_sessions::second_step(&req.state, &req.session, &code, &req.meta).await;
    let back = match &result {
        Err(crate::server::error::Error::LoginStepExpired) => "/login",
        _ => SECOND_STEP_PAGE,
    };
    req.finish(back, Some("/"), result).await
}

#[server(prefix = "/app", endpoint = "register")]
pub async fn register(email: String, username: String, password: String) -> Result<(), PageError> {
    use crate::server::{
        http::server_fns::web_request,
        service::{accounts, two_factor, web_sessions},
    };
    let req = web_request().await?;
    let result = async {
        let input = accounts::Registration {
            email,
            username,
            password,
        };
        let user = accounts::register(&req.state, input, &req.meta).await?;
        let login = two_factor::complete_login(&req.state, user, None, &req.meta).await?;
        web_sessions::start(&req.state, &req.session, &login, &req.meta).await
    }
    .await;
    req.finish("/register", Some("/"), result).await
}

#[server(prefix = "/app", endpoint = "logout")]
pub async fn logout() -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::web_sessions};
    let req = web_request().await?;
    let result = web_sessions::end(&req.state, &req.session, &req.meta).await;
    req.finish("/", Some("/login"), result).await
}
