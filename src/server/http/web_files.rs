//! The pages' own routes for file bytes, signed in by the session cookie: the upload that the
//! `/files` page posts (by XMLHttpRequest for progress, or as a plain form without JavaScript)
//! and the download links it shows. Both go through the same files service as the REST API.

use axum::{
    extract::{Multipart, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};

use crate::{
    model::FileInfo,
    model::PageError,
    server::{
        error::{Error, Result},
        http::{
            extract::{ClientMeta, WebUser},
            flash::Flash,
            server_fns::{is_plain_form, keep_flash_error},
            transfer,
        },
        state::AppState,
    },
};

const FILES_PAGE: &str = "/files";

/// `POST /files/upload`. The page's script gets the stored file or the error as JSON; a plain
/// form post (JavaScript off) stores every chosen file and is sent back to the page, which shows
/// any error once.
pub async fn upload(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    flash: Flash,
    user: std::result::Result<WebUser, Error>,
    multipart: Multipart,
) -> Response {
    let plain_form = is_plain_form(&headers);
    let user = match user {
        Ok(user) => user,
        Err(_) if plain_form => return Redirect::to("/login").into_response(),
        Err(e) => return e.into_response(),
    };
    let own = transfer::OwnFiles {
        state: &state,
        owner: &user.user,
        meta: &meta,
    };
    let outcome = transfer::upload_multipart(&own, multipart, plain_form).await;
    if plain_form {
        if let Err(e) = outcome {
            keep_flash_error(&flash, &PageError::from(e)).await;
        }
        return Redirect::to(FILES_PAGE).into_response();
    }
    match outcome {
        Ok(mut stored) => {
            let file: FileInfo = stored.remove(0).into();
            (StatusCode::CREATED, Json(file)).into_response()
        }
        Err(e) => e.into_response(),
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
    transfer::download(&state, &user.user, &meta, &id, &headers).await
}
