//! Glue for the Leptos server functions (the pages' front door): the request's state, session
//! and client, and how an outcome reaches the page with or without JavaScript.

use axum::http::{header, request::Parts, HeaderMap};
use leptos::prelude::*;
use tower_sessions::Session;

use crate::{
    model::{PageError, WithQrCode},
    server::{
        db::users::UserRow,
        error::Error,
        http::{extract::request_meta, flash::Flash},
        qr,
        service::{accounts::CurrentSession, admin, web_sessions, RequestMeta},
        state::AppState,
    },
};

/// Where a form on an admin page goes back to: the page it was sent from (`back`, with its
/// search and filters) when that is an admin page of this site, else `fallback`.
fn admin_back(back: Option<&str>, fallback: &str) -> String {
    match back {
        Some(path)
            if (path == "/admin" || path.starts_with("/admin/") || path.starts_with("/admin?"))
                && !path.contains("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

const FLASH_ERROR_KEY: &str = "flash_error";

/// Keeps an error for the next page to show once (plain form posts): in the session, or for a
/// visitor without one in the flash cookie ([`Flash`]).
pub async fn keep_flash_error(flash: &Flash, error: &PageError) {
    flash.keep(FLASH_ERROR_KEY, error).await
}

/// A link made for the page to show once, with its QR code (`url` is the link).
pub fn with_qr_code<T>(value: T, url: impl FnOnce(&T) -> &str) -> Result<WithQrCode<T>, PageError> {
    let qr_code = qr::data_url(url(&value), LINK_QR_PIXELS)?;
    Ok(WithQrCode { value, qr_code })
}

/// How large a link's QR code is drawn: a phone held at arm's length reads it off a laptop.
const LINK_QR_PIXELS: u32 = 200;

/// The signed-in user of this browser, and the id of its session.
pub struct SignedIn {
    pub user: UserRow,
    pub session_id: String,
}

impl SignedIn {
    /// This browser's session, as the rules that end a user's other sessions name the one that
    /// stays.
    pub fn session(&self) -> CurrentSession<'_> {
        CurrentSession::Browser(&self.session_id)
    }
}

/// What a server function needs to call the service layer.
pub struct WebRequest {
    pub state: AppState,
    pub session: Session,
    /// Where a plain form's outcome waits for the next page.
    pub flash: Flash,
    pub meta: RequestMeta,
    /// A plain HTML form post (JavaScript off): outcomes become redirects.
    pub plain_form: bool,
}

pub async fn web_request() -> Result<WebRequest, PageError> {
    let state = use_context::<AppState>()
        .ok_or_else(|| Error::internal("server fn", "no AppState in context"))?;
    let parts =
        use_context::<Parts>().ok_or_else(|| Error::internal("server fn", "no request parts"))?;
    let session = leptos_axum::extract::<Session>()
        .await
        .map_err(|e| Error::internal("server fn", format!("no session: {e:?}")))?;
    Ok(WebRequest {
        flash: Flash::of(&parts)?,
        state,
        session,
        meta: request_meta(&parts),
        plain_form: is_plain_form(&parts.headers),
    })
}

/// Whether a request is a browser's own form submission (JavaScript off), which wants a page
/// back, rather than a script's call, which wants data.
pub fn is_plain_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

impl WebRequest {
    /// Finishes a form's server function. On success, goes to `success_to` (if any). On failure
    /// the error is returned to the hydrated page; for a plain form post it is also kept in the
    /// session for one read and the browser is sent back to `form_page`, which shows it. (The
    /// error never travels in the URL, so no link can put words on our pages.)
    pub async fn finish<T>(
        &self,
        form_page: &str,
        success_to: Option<&str>,
        result: Result<T, Error>,
    ) -> Result<T, PageError> {
        match result {
            Ok(value) => {
                if let Some(to) = success_to {
                    leptos_axum::redirect(to);
                }
                Ok(value)
            }
            Err(e) => {
                if let Error::RateLimited { retry_after_secs } = &e {
                    let options = expect_context::<leptos_axum::ResponseOptions>();
                    options.insert_header(header::RETRY_AFTER, (*retry_after_secs).into());
                }
                if !self.plain_form {
                    // The page's script gets the error with its real status (a wrong code is
                    // 400, not the 500 server functions answer errors with by default).
                    self.set_status(e.status());
                }
                let page_error = PageError::from(e);
                if self.plain_form {
                    keep_flash_error(&self.flash, &page_error).await;
                    leptos_axum::redirect(form_page);
                }
                Err(page_error)
            }
        }
    }

    /// [`finish`](Self::finish), and for a plain form post the successful value is also kept
    /// under `flash_key`, for the page it is sent to to read once with
    /// [`take_flash`](Self::take_flash) (the script of a hydrated page gets it as the answer).
    pub async fn finish_keeping<T: serde::Serialize>(
        &self,
        form_page: &str,
        success_to: Option<&str>,
        flash_key: &str,
        result: Result<T, Error>,
    ) -> Result<T, PageError> {
        if let (Ok(value), true) = (&result, self.plain_form) {
            self.flash.keep(flash_key, value).await;
        }
        self.finish(form_page, success_to, result).await
    }

    /// What [`finish_keeping`](Self::finish_keeping) kept under `flash_key`, read once.
    pub async fn take_flash<T: serde::de::DeserializeOwned>(&self, flash_key: &str) -> Option<T> {
        self.flash.take(flash_key).await
    }

    /// The error a plain form post left for this page, read once.
    pub async fn take_flash_error(&self) -> Option<PageError> {
        self.flash.take(FLASH_ERROR_KEY).await
    }

    /// Who is signed in on this browser, if anyone, and with which session.
    pub async fn current(&self) -> Result<Option<SignedIn>, Error> {
        Ok(web_sessions::current(&self.state, &self.session)
            .await?
            .map(|(user, session_id)| SignedIn { user, session_id }))
    }

    /// The user signed in on this browser, if any.
    pub async fn user(&self) -> Result<Option<UserRow>, Error> {
        Ok(self.current().await?.map(|me| me.user))
    }

    /// Runs `act` as the user signed in on this browser; nobody signed in is `Unauthenticated`.
    pub async fn signed_in<T>(
        &self,
        act: impl AsyncFnOnce(&SignedIn) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (user, session_id) = web_sessions::require_current(&self.state, &self.session).await?;
        act(&SignedIn { user, session_id }).await
    }

    /// The signed-in admin: the admin pages' gate. Anyone else, signed in or not, is refused
    /// with 403 (`Forbidden`), which the pages show as "for admins only".
    pub async fn require_admin(&self) -> Result<UserRow, Error> {
        match self.user().await? {
            Some(user) if admin::is_admin(&user) => Ok(user),
            _ => Err(Error::Forbidden),
        }
    }

    /// An admin page's data, read by `read` as the signed-in admin. A failure also sets the
    /// page's status: 403 for anyone but an admin, 404 for a user that is gone.
    pub async fn admin_page<T>(
        &self,
        read: impl AsyncFnOnce(&UserRow) -> Result<T, Error>,
    ) -> Result<T, PageError> {
        let result = match self.require_admin().await {
            Ok(admin) => read(&admin).await,
            Err(e) => Err(e),
        };
        result.map_err(|e| {
            self.set_status(e.status());
            e.into()
        })
    }

    /// An admin page's form, done by `act` as the signed-in admin (anyone else is refused), and
    /// finished like [`finish`](Self::finish): back to the page it was sent from (`back`, when
    /// that is an admin page, else `fallback`).
    pub async fn admin_form<T>(
        &self,
        back: Option<&str>,
        fallback: &str,
        act: impl AsyncFnOnce(&UserRow) -> Result<T, Error>,
    ) -> Result<T, PageError> {
        let back = admin_back(back, fallback);
        let result = match self.require_admin().await {
            Ok(admin) => act(&admin).await,
            Err(e) => Err(e),
        };
        self.finish(&back, Some(&back), result).await
    }

    /// Sets the status of the page being rendered (a server function called during SSR).
    pub fn set_status(&self, status: axum::http::StatusCode) {
        if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
            options.set_status(status);
        }
    }
}
