//! The recipient page's download, in two steps so that it works without JavaScript and the page
//! still tells what happened:
//!
//! 1. `POST /s/{token}/download` (the page's forms): given the link's password, opens the link
//!    for the browser's session first (a link to several files is then shown with its list).
//!    Checks the download and keeps a one-use ticket for it, then answers 303 to the page, which
//!    says "Download started" with what is left, and fetches…
//! 2. `GET /s/{token}/download`: the ticket's download, counted as it starts. Without a ticket
//!    (a link previewer following a GET, the ticket used already) it only sends the browser
//!    back to the page, so nothing but the page's own form ever uses up a download.
//!
//! Any refusal goes back to the page with the reason shown once.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    model::{recipient_path, DownloadStarted, PageError},
    server::{
        error::Error,
        http::{extract::ClientMeta, flash::Flash, server_fns::keep_flash_error, transfer},
        service::{
            shares::{self, Ticket},
            unlock::Pass,
        },
        state::AppState,
    },
};

/// The flash key of the download the page started (read by the page, `recipient_view`).
pub const STARTED_KEY: &str = "share_download_started";
/// The flash key of the ticket the page's `GET` redeems.
const TICKET_KEY: &str = "share_download_ticket";

#[derive(Debug, Default, Deserialize)]
pub struct DownloadForm {
    #[serde(default)]
    password: Option<String>,
    /// Which of the link's files; none for the link's own download (its file, or the zip).
    #[serde(default)]
    file_id: Option<String>,
}

pub async fn start(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    session: Session,
    flash: Flash,
    Path(token): Path<String>,
    Form(form): Form<DownloadForm>,
) -> Response {
    let page = recipient_path(&token);
    // The password form: opens the link for this browser. A link to several files is then
    // shown with its list; a link to one file is downloaded at once.
    if let Some(password) = form.password.filter(|p| !p.is_empty()) {
        match shares::unlock(&state, &meta, &session, &token, password).await {
            Ok(1) => {}
            Ok(_) => return Redirect::to(&page).into_response(),
            Err(e) => return refused(&flash, &page, e).await,
        }
    }
    let pass = Pass::Session(session);
    match shares::clear(&state, &meta, &token, &pass, form.file_id.as_deref()).await {
        Ok(ticket) => {
            let started = DownloadStarted {
                file_id: ticket.file_id.clone(),
            };
            flash.keep(TICKET_KEY, &ticket).await;
            flash.keep(STARTED_KEY, &started).await;
            Redirect::to(&page).into_response()
        }
        Err(e) => refused(&flash, &page, e).await,
    }
}

pub async fn fetch(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    session: Session,
    flash: Flash,
    Path(token): Path<String>,
) -> Response {
    let page = recipient_path(&token);
    let Some(ticket) = flash.take::<Ticket>(TICKET_KEY).await else {
        let again = PageError::new(
            "download_not_started",
            "That download was started already. To download again, choose Download.",
        );
        keep_flash_error(&flash, &again).await;
        return Redirect::to(&page).into_response();
    };
    let pass = Pass::Session(session);
    match shares::redeem(&state, &meta, &token, &pass, &ticket).await {
        Ok(download) => transfer::link_response(download),
        Err(e) => refused(&flash, &page, e).await,
    }
}

/// Back to the recipient's page. The page shows a link that cannot be used by itself; anything
/// else (a wrong password, a scan not finished, too many attempts) it shows once from the
/// flash.
async fn refused(flash: &Flash, page: &str, e: Error) -> Response {
    let link_state = matches!(
        e,
        Error::NotFound(_) | Error::LinkRevoked | Error::LinkExpired | Error::DownloadLimitReached
    );
    if !link_state {
        keep_flash_error(flash, &PageError::from(e)).await;
    }
    Redirect::to(page).into_response()
}
