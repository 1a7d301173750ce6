//! `/api/v1/files/*`: upload, list, metadata, download, delete.

use axum::{
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use crate::{
    model::{FileInfo, Paging},
    server::{
        error::{ErrorBody, Result},
        http::{
            extract::{ApiMultipart, ApiPath, ApiQuery, ApiUser, ClientMeta},
            transfer,
        },
        service::files,
        state::AppState,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // The files service enforces the configured upload limit while streaming.
        .routes(routes!(upload).layer(DefaultBodyLimit::disable()))
        .routes(routes!(list))
        .routes(routes!(get, delete))
        .routes(routes!(download))
}

/// The multipart form of an upload (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file; its name is taken from the part's filename.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// Upload a file. It is encrypted as it streams in and scanned in the background
/// (`scan_status` starts as `pending`).
#[utoipa::path(post, path = "/api/v1/files/upload", tag = "files", security(("bearer" = [])),
    operation_id = "upload_file",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = FileInfo, links(
            ("get" = (operation_id = "get_file", parameters(("id" = "$response.body#/id")))),
            ("download" = (operation_id = "download_file", parameters(("id" = "$response.body#/id")))),
            ("share" = (operation_id = "create_share", parameters(("id" = "$response.body#/id")))),
            ("shares" = (operation_id = "list_shares", parameters(("id" = "$response.body#/id")))),
            ("signed_url" = (operation_id = "create_signed_url", parameters(("id" = "$response.body#/id")))),
            ("delete" = (operation_id = "delete_file", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, description = "The upload broke off", body = ErrorBody),
        (status = 413, description = "Larger than the limit", body = ErrorBody),
        (status = 415, description = "Type not allowed, or content does not match the extension", body = ErrorBody),
        (status = 422, description = "No file field", body = ErrorBody),
        (status = 429, description = "Too many uploads this minute (rate_limited), or at once (too_many_uploads)", body = ErrorBody),
        (status = 503, description = "The server is busy with other uploads (server_busy); see Retry-After", body = ErrorBody),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiMultipart(multipart): ApiMultipart,
) -> Result<(StatusCode, Json<FileInfo>)> {
    let own = transfer::OwnFiles {
        state: &state,
        owner: &auth.user,
        meta: &meta,
    };
    let mut stored = transfer::upload_multipart(&own, multipart, false).await?;
    Ok((StatusCode::CREATED, Json(stored.remove(0).into())))
}

/// Your files, newest first; admins see everyone's.
#[utoipa::path(get, path = "/api/v1/files", tag = "files", operation_id = "list_files",
    params(Paging), security(("bearer" = [])),
    responses(
        (status = 200, description = "Files", body = [FileInfo]),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiQuery(page): ApiQuery<Paging>,
) -> Result<Json<Vec<FileInfo>>> {
    let rows = files::list(&state, &auth.user, files::Whose::Everyone, page).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// A file's metadata.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files", operation_id = "get_file",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses(
        (status = 200, description = "The file", body = FileInfo),
        (status = 404, description = "No such file, or not yours", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FileInfo>> {
    Ok(Json(
        files::find_visible(&state, &auth.user, &id).await?.into(),
    ))
}

/// Download the decrypted content. `Range: bytes=…` (one range) gives 206.
#[utoipa::path(get, path = "/api/v1/files/{id}/download", tag = "files",
    operation_id = "download_file", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses(
        (status = 200, description = "The content, as the file's own type", content_type = "*/*"),
        (status = 206, description = "The requested range", content_type = "*/*"),
        (status = 403, description = "Found to be infected", body = ErrorBody),
        (status = 404, description = "No such file, or not yours", body = ErrorBody),
        (status = 409, description = "Scan pending (scan_pending) or failed (scan_error)", body = ErrorBody),
        (status = 416, description = "Range outside the file", body = ErrorBody),
        (status = 429, description = "Too many downloads", body = ErrorBody),
    ))]
pub async fn download(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response> {
    transfer::download(&state, &auth.user, &meta, &id, &headers).await
}

/// Delete a file and its stored content.
#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "files", operation_id = "delete_file",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such file, or not yours", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    files::delete(&state, &auth.user, &meta, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
