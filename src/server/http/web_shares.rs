//! The recipient page's download (`POST /s/{token}/download`): a plain form answered with the
//! file or, on any refusal, sent back to the page with the reason shown once. Given the link's
//! password, it opens the link for the browser's session first (a link to several files is
//! then shown with its list). A POST, so that link previewers and prefetchers that follow
//! every GET never use up a download.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    model::recipient_path,
    model::PageError,
    server::{
        error::Error,
        http::{extract::ClientMeta, flash::Flash, server_fns::keep_flash_error, transfer},
        service::{
            shares::{self, LinkDownload},
            unlock::Pass,
        },
        state::AppState,
    },
};

#[derive(Debug, Default, Deserialize)]
pub struct DownloadForm {
    #[serde(default)]
    password: Option<String>,
    /// Which of the link's files; none for a link to one file.
    #[serde(default)]
    file_id: Option<String>,
}

pub async fn download(
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
    let pass = Pass::Session(session.clone());
    let result = match form.file_id.as_deref() {
        Some(id) => shares::download(&state, &meta, &token, &pass, id)
            .await
            .map(|d| LinkDownload::File(Box::new(d))),
        None => shares::download_link(&state, &meta, &token, &pass).await,
    };
    match result {
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
