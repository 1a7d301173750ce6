//! The sender page's upload (`POST /r/{token}/upload`), by the page's script (one file per
//! request, for progress) or as a plain form without JavaScript. A password-protected request
//! must have been unlocked in this browser's session first. Each file's receipt is kept in the
//! session for the page to list.

use axum::{
    extract::{Multipart, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use tower_sessions::Session;

use crate::{
    model::request_path,
    model::PageError,
    server::{
        http::{
            extract::ClientMeta,
            flash::Flash,
            server_fns::{is_plain_form, keep_flash_error},
            transfer::{self, RequestFiles},
        },
        service::unlock::Pass,
        state::AppState,
    },
};

pub async fn upload(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    session: Session,
    flash: Flash,
    headers: HeaderMap,
    Path(token): Path<String>,
    multipart: Multipart,
) -> Response {
    let plain_form = is_plain_form(&headers);
    let pass = Pass::Session(session.clone());
    let sink = RequestFiles {
        state: &state,
        meta: &meta,
        token: &token,
        pass: &pass,
    };
    let outcome = transfer::upload_multipart(&sink, multipart, plain_form).await;
    if plain_form {
        if let Err(e) = outcome {
            keep_flash_error(&flash, &PageError::from(e)).await;
        }
        return Redirect::to(&request_path(&token)).into_response();
    }
    match outcome {
        Ok(mut receipts) => (StatusCode::CREATED, Json(receipts.remove(0))).into_response(),
        Err(e) => e.into_response(),
    }
}
