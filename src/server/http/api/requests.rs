//! `/api/v1/requests` for an upload request's owner (create, list, its files, close) and
//! `/api/v1/r/{token}` for its senders, who need no account (what it asks for, send a file).

use axum::{
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode},
    Json,
};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use crate::{
    model::{
        CreatedUploadRequest, FileInfo, NewUploadRequest, Paging, Receipt, RequestForSender,
        UploadRequestInfo,
    },
    server::{
        error::{ErrorBody, Result},
        http::{
            api::files::UploadForm,
            extract::{ApiJson, ApiMultipart, ApiPath, ApiQuery, ApiUser, ClientMeta},
            transfer,
        },
        service::{requests, unlock::Pass},
        state::AppState,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list_mine))
        .routes(routes!(get))
        .routes(routes!(files))
        .routes(routes!(close))
        .routes(routes!(for_sender))
        // The files service enforces the configured upload limit while streaming.
        .routes(routes!(send).layer(DefaultBodyLimit::disable()))
}

/// The header a sender gives a request's password in.
pub const PASSWORD_HEADER: &str = "x-request-password";

fn pass_of(headers: &HeaderMap) -> Pass {
    Pass::Password(
        headers
            .get(PASSWORD_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    )
}

/// Ask for files: a link (`/r/<token>`) through which people without an account send files
/// into your Coffer until it expires, is closed or has what it asked for. The token is shown
/// this once.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", operation_id = "create_request",
    security(("bearer" = [])),
    request_body = NewUploadRequest,
    responses(
        (status = 201, description = "The new request", body = CreatedUploadRequest, links(
            ("sender_view" = (operation_id = "request_for_sender", parameters(("token" = "$response.body#/token")))),
            ("send" = (operation_id = "send_to_request", parameters(("token" = "$response.body#/token")))),
            ("files" = (operation_id = "request_files", parameters(("id" = "$response.body#/request/id")))),
            ("close" = (operation_id = "close_request", parameters(("id" = "$response.body#/request/id")))),
        )),
        (status = 422, description = "Title, message, expiry, limits or password out of bounds", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiJson(new): ApiJson<NewUploadRequest>,
) -> Result<(StatusCode, Json<CreatedUploadRequest>)> {
    let created = requests::create(&state, &auth.user, &meta, new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A page of your upload requests, newest first, with what each has received (`limit`, 100 by
/// default, at most 500; `offset`).
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", operation_id = "list_requests",
    params(Paging), security(("bearer" = [])),
    responses((status = 200, description = "The requests", body = [UploadRequestInfo])))]
pub async fn list_mine(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiQuery(page): ApiQuery<Paging>,
) -> Result<Json<Vec<UploadRequestInfo>>> {
    Ok(Json(requests::list_mine(&state, &auth.user, page).await?))
}

/// One of your upload requests.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", operation_id = "get_request",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = UploadRequestInfo),
        (status = 404, description = "No such request of yours", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UploadRequestInfo>> {
    Ok(Json(requests::get(&state, &auth.user, &id).await?))
}

/// A page of the files one of your requests has received, newest first.
#[utoipa::path(get, path = "/api/v1/requests/{id}/files", tag = "requests", operation_id = "request_files",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The request's id"), Paging),
    responses(
        (status = 200, description = "The files", body = [FileInfo]),
        (status = 404, description = "No such request of yours", body = ErrorBody),
    ))]
pub async fn files(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<Paging>,
) -> Result<Json<Vec<FileInfo>>> {
    Ok(Json(requests::files(&state, &auth.user, &id, page).await?))
}

/// Close one of your requests early: its link answers 410 from now on. Closing a closed request
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/requests/{id}/close", tag = "requests", operation_id = "close_request",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The closed request", body = UploadRequestInfo),
        (status = 404, description = "No such request of yours", body = ErrorBody),
    ))]
pub async fn close(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UploadRequestInfo>> {
    Ok(Json(requests::close(&state, &auth.user, &meta, &id).await?))
}

/// What a request asks for, without an account: its title and message, who asks, what it still
/// takes and which files are accepted.
#[utoipa::path(get, path = "/api/v1/r/{token}", tag = "requests", operation_id = "request_for_sender",
    params(
        ("token" = String, Path, description = "The request's token"),
        ("X-Request-Password" = Option<String>, Header, description = "The request's password, if it has one"),
    ),
    responses(
        (status = 200, description = "The request", body = RequestForSender),
        (status = 401, description = "Password needed (password_required) or wrong (wrong_password)", body = ErrorBody),
        (status = 404, description = "Unknown request", body = ErrorBody),
        (status = 410, description = "Closed (request_closed), expired (request_expired) or full (request_full)", body = ErrorBody),
        (status = 429, description = "Too many password attempts", body = ErrorBody),
    ))]
pub async fn for_sender(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<RequestForSender>> {
    Ok(Json(
        requests::for_sender(&state, &meta, &token, &pass_of(&headers)).await?,
    ))
}

/// Send a file through a request, without an account. It is checked, encrypted and scanned like
/// any upload and goes to the request's owner; the answer is a receipt (name, size, SHA-256),
/// and the sender cannot download the file.
#[utoipa::path(post, path = "/api/v1/r/{token}/files", tag = "requests", operation_id = "send_to_request",
    params(
        ("token" = String, Path, description = "The request's token"),
        ("X-Request-Password" = Option<String>, Header, description = "The request's password, if it has one"),
    ),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Received", body = Receipt),
        (status = 400, description = "The upload broke off", body = ErrorBody),
        (status = 401, description = "Password needed (password_required) or wrong (wrong_password)", body = ErrorBody),
        (status = 404, description = "Unknown request", body = ErrorBody),
        (status = 410, description = "Closed (request_closed), expired (request_expired) or full (request_full)", body = ErrorBody),
        (status = 413, description = "Larger than the upload limit, the request's byte limit (request_limit_exceeded) or its owner's quota", body = ErrorBody),
        (status = 415, description = "Type not allowed, or content does not match the extension", body = ErrorBody),
        (status = 429, description = "Too many files this minute from this address or to this request (rate_limited), or at once (too_many_uploads)", body = ErrorBody),
        (status = 503, description = "The server is busy with other uploads (server_busy); see Retry-After", body = ErrorBody),
    ))]
pub async fn send(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
    ApiMultipart(multipart): ApiMultipart,
) -> Result<(StatusCode, Json<Receipt>)> {
    let pass = pass_of(&headers);
    let sink = transfer::RequestFiles {
        state: &state,
        meta: &meta,
        token: &token,
        pass: &pass,
    };
    let mut receipts = transfer::upload_multipart(&sink, multipart, false).await?;
    Ok((StatusCode::CREATED, Json(receipts.remove(0))))
}
