//! The recipient page's download (`POST /s/{token}/download`): a plain form, with the link's
//! password when it has one, answered with the file or, on any refusal, sent back to the page
//! with the reason shown once. A POST, so that link previewers and prefetchers that follow
//! every GET never use up a download.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    app::{error::PageError, model::recipient_path},
    server::{
        error::Error,
        http::{extract::ClientMeta, server_fns::keep_flash_error, transfer},
        service::shares::{self, LinkDownload},
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
    Path(token): Path<String>,
    Form(form): Form<DownloadForm>,
) -> Response {
    let result = match form.file_id.as_deref() {
        Some(id) => shares::download(&state, &meta, &token, form.password, id)
            .await
            .map(|d| LinkDownload::File(Box::new(d))),
        None => shares::download_link(&state, &meta, &token, form.password).await,
    };
    match result {
        Ok(download) => transfer::link_response(download),
        Err(e) => {
            // The page shows a link that cannot be used by itself; anything else (a wrong
            // password, a scan not finished, too many attempts) it shows once from the session.
            let link_state = matches!(
                e,
                Error::NotFound(_)
                    | Error::LinkRevoked
                    | Error::LinkExpired
                    | Error::DownloadLimitReached
            );
            if !link_state {
                keep_flash_error(&session, &PageError::from(e)).await;
            }
            Redirect::to(&recipient_path(&token)).into_response()
        }
    }
}
