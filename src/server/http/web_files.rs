//! The pages' own routes for file bytes, signed in by the session cookie: the upload that the
//! `/files` page posts (by XMLHttpRequest for progress, or as a plain form without JavaScript)
//! and the download links it shows. Both go through the same files service as the REST API.

use axum::{
    extract::{Multipart, Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};

use crate::{
    app::{error::PageError, model::FileInfo},
    server::{
        error::{Error, Result},
        http::{
            extract::{ClientMeta, WebUser},
            server_fns::keep_flash_error,
            transfer,
        },
        service::files,
        state::AppState,
    },
};

const FILES_PAGE: &str = "/files";

/// `POST /files/upload`. Script callers (`Accept: application/json`) get the file or the error
/// as JSON; a plain form post gets sent back to the page, which shows any error once. Every
/// `file` part of the form is stored, in order; the first failure stops the rest.
pub async fn upload(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    user: std::result::Result<WebUser, Error>,
    mut multipart: Multipart,
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let user = match user {
        Ok(user) => user,
        Err(e) if wants_json => return e.into_response(),
        Err(_) => return Redirect::to("/login").into_response(),
    };
    let mut stored: Vec<FileInfo> = Vec::new();
    let outcome: Result<()> = async {
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| Error::BadUpload(e.body_text()))?
        {
            if field.name() != Some(transfer::FILE_FIELD) {
                continue;
            }
            // A form submitted with no file chosen sends one empty, unnamed part.
            let name = field.file_name().unwrap_or_default().to_owned();
            if name.is_empty() && !wants_json {
                continue;
            }
            let row = files::upload(&state, &user.user, &meta, &name, field).await?;
            stored.push(row.into());
        }
        if stored.is_empty() {
            return Err(Error::Validation("Choose a file to upload first".into()));
        }
        Ok(())
    }
    .await;
    match (outcome, wants_json) {
        (Ok(()), true) => (StatusCode::CREATED, Json(stored.remove(0))).into_response(),
        (Err(e), true) => e.into_response(),
        (outcome, false) => {
            if let Err(e) = outcome {
                keep_flash_error(&user.session, &PageError::from(e)).await;
            }
            Redirect::to(FILES_PAGE).into_response()
        }
    }
}

/// `GET /files/{id}/download`: the download links of the page.
pub async fn download(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    user: WebUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let range = transfer::parse_range(&headers);
    let download = files::download(&state, &user.user, &meta, &id, range).await?;
    Ok(transfer::download_response(download))
}
