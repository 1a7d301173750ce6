//! `/api/v1/files/…` for sharing: share links (create, list, revoke, download by token) and
//! pre-signed URLs (create, download).

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::{
        whole_number, CreatedShare, MultiShareRequest, Paging, ShareChanges, ShareInfo,
        ShareRequest, SharedFiles, SharedLink, SignedUrl,
    },
    server::{
        error::{ErrorBody, Result},
        http::{
            extract::{ApiJson, ApiPath, ApiQuery, ApiUser, ClientMeta},
            transfer,
        },
        service::{shares, signed_urls, unlock::Pass},
        state::AppState,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(create_multi, list_mine))
        .routes(routes!(revoke_link, update_link))
        .routes(routes!(list))
        .routes(routes!(revoke))
        .routes(routes!(download))
        .routes(routes!(shared_info))
        .routes(routes!(download_one))
        .routes(routes!(download_zip))
        .routes(routes!(signed_url))
        .routes(routes!(token_download))
}

/// The header a recipient gives a link's password in.
pub const PASSWORD_HEADER: &str = "x-share-password";

/// Share a file: a link that works without an account until it expires, runs out or is
/// revoked. The token is shown this once.
#[utoipa::path(post, path = "/api/v1/files/{id}/share", tag = "sharing", operation_id = "create_share",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    request_body = ShareRequest,
    responses(
        (status = 201, description = "The new link", body = CreatedShare, links(
            ("download" = (operation_id = "download_shared", parameters(("token" = "$response.body#/share_token")))),
            ("revoke" = (operation_id = "revoke_share", parameters(("id" = "$request.path.id"), ("share_token" = "$response.body#/id")))),
        )),
        (status = 404, description = "No such file, or not yours", body = ErrorBody),
        (status = 422, description = "Expiry, limit or password out of bounds", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ShareRequest>,
) -> Result<(StatusCode, Json<CreatedShare>)> {
    let created = shares::create(
        &state,
        &auth.user,
        &meta,
        std::slice::from_ref(&id),
        request,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Share several files (or one) under one link: its recipients see the list and download each
/// file, or all of them as a zip. Every download through the link counts one against its limit.
#[utoipa::path(post, path = "/api/v1/shares", tag = "sharing", operation_id = "create_multi_share",
    security(("bearer" = [])),
    request_body = MultiShareRequest,
    responses(
        (status = 201, description = "The new link", body = CreatedShare, links(
            ("files" = (operation_id = "shared_info", parameters(("token" = "$response.body#/share_token")))),
            ("revoke" = (operation_id = "revoke_link", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 404, description = "A file does not exist, or is not yours", body = ErrorBody),
        (status = 422, description = "No files, too many, one twice; or expiry, limit or password out of bounds", body = ErrorBody),
    ))]
pub async fn create_multi(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiJson(request): ApiJson<MultiShareRequest>,
) -> Result<(StatusCode, Json<CreatedShare>)> {
    let created = shares::create(
        &state,
        &auth.user,
        &meta,
        &request.file_ids,
        request.options,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A page of the caller's links, of one file or several, newest first (tokens are never shown
/// again; `limit`, 100 by default, at most 500; `offset`). Links whose files were all deleted
/// are left out.
#[utoipa::path(get, path = "/api/v1/shares", tag = "sharing", operation_id = "list_my_shares",
    params(Paging), security(("bearer" = [])),
    responses((status = 200, description = "The links", body = [ShareInfo])))]
pub async fn list_mine(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiQuery(page): ApiQuery<Paging>,
) -> Result<Json<Vec<ShareInfo>>> {
    Ok(Json(shares::list_mine(&state, &auth.user, page).await?))
}

/// Revoke one of the caller's links by its id. Revoking a revoked link changes nothing.
#[utoipa::path(delete, path = "/api/v1/shares/{id}", tag = "sharing", operation_id = "revoke_link",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 204, description = "Revoked (now or before)"),
        (status = 404, description = "No such link of yours", body = ErrorBody),
    ))]
pub async fn revoke_link(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    shares::revoke_link(&state, &auth.user, &meta, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change one of the caller's links: its label, expiry, download limit, password or files.
/// A revoked link cannot be changed.
#[utoipa::path(patch, path = "/api/v1/shares/{id}", tag = "sharing", operation_id = "update_link",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The link's id")),
    request_body = ShareChanges,
    responses(
        (status = 200, description = "The link as it is now", body = ShareInfo),
        (status = 404, description = "No such link of yours, or a file you may not share", body = ErrorBody),
        (status = 422, description = "A value out of bounds, nothing to change, or a revoked link", body = ErrorBody),
        (status = 429, description = "Too many password-protected links made or changed", body = ErrorBody),
    ))]
pub async fn update_link(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(changes): ApiJson<ShareChanges>,
) -> Result<Json<ShareInfo>> {
    Ok(Json(
        shares::update(&state, &auth.user, &meta, &id, changes).await?,
    ))
}

/// A page of a file's share links with their use counts, newest first (tokens are never shown
/// again).
#[utoipa::path(get, path = "/api/v1/files/{id}/shares", tag = "sharing", operation_id = "list_shares",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "File id"), Paging),
    responses(
        (status = 200, description = "The links", body = [ShareInfo]),
        (status = 404, description = "No such file, or not yours", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<Paging>,
) -> Result<Json<Vec<ShareInfo>>> {
    Ok(Json(shares::list(&state, &auth.user, &id, page).await?))
}

/// Revoke a link, named by its token or by its id. Revoking a revoked link changes nothing.
#[utoipa::path(delete, path = "/api/v1/files/{id}/share/{share_token}", tag = "sharing",
    operation_id = "revoke_share", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "File id"),
        ("share_token" = String, Path, description = "The link's token, or its id"),
    ),
    responses(
        (status = 204, description = "Revoked (now or before)"),
        (status = 404, description = "No such file, or no such link of it", body = ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath((id, token)): ApiPath<(String, String)>,
) -> Result<StatusCode> {
    shares::revoke(&state, &auth.user, &meta, &id, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Download by share link, without an account: the file of a one-file link, or all the files
/// of a link to several as a zip (as `…/zip`). Counts one download when the response starts;
/// the whole file is always sent (no ranges).
#[utoipa::path(get, path = "/api/v1/files/shared/{token}", tag = "sharing", operation_id = "download_shared",
    params(
        ("token" = String, Path, description = "The link's token"),
        ("X-Share-Password" = Option<String>, Header, description = "The link's password, if it has one"),
    ),
    responses(
        (status = 200, description = "The content, as the file's own type", content_type = "*/*"),
        (status = 401, description = "Password needed (password_required) or wrong (wrong_password)", body = ErrorBody),
        (status = 403, description = "Download limit reached, or the file is infected", body = ErrorBody),
        (status = 404, description = "Unknown or revoked link", body = ErrorBody),
        (status = 409, description = "The file's scan is pending or failed", body = ErrorBody),
        (status = 410, description = "The link has expired", body = ErrorBody),
        (status = 429, description = "Too many downloads or password attempts", body = ErrorBody),
    ))]
pub async fn download(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let download = shares::download_link(&state, &meta, &token, &pass_of(&headers)).await?;
    Ok(transfer::link_response(download))
}

fn pass_of(headers: &HeaderMap) -> Pass {
    Pass::Password(
        headers
            .get(PASSWORD_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    )
}

/// What a link shares, without an account: its files with their scan status, who shared them,
/// when the link expires and how many downloads it has left. Counts no download.
#[utoipa::path(get, path = "/api/v1/files/shared/{token}/files", tag = "sharing", operation_id = "shared_info",
    params(
        ("token" = String, Path, description = "The link's token"),
        ("X-Share-Password" = Option<String>, Header, description = "The link's password, if it has one"),
    ),
    responses(
        (status = 200, description = "The link's files", body = SharedFiles),
        (status = 401, description = "Password needed (password_required) or wrong (wrong_password)", body = ErrorBody),
        (status = 403, description = "Download limit reached", body = ErrorBody),
        (status = 404, description = "Unknown or revoked link, or all its files deleted", body = ErrorBody),
        (status = 410, description = "The link has expired", body = ErrorBody),
        (status = 429, description = "Too many password attempts", body = ErrorBody),
    ))]
pub async fn shared_info(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<SharedFiles>> {
    match shares::view(&state, &meta, &token, &pass_of(&headers)).await? {
        SharedLink::Open(files) => Ok(Json(files)),
        SharedLink::PasswordRequired => Err(crate::server::error::Error::PasswordRequired),
    }
}

/// Download one file of a link, without an account. Counts one download when the response
/// starts; the whole file is always sent (no ranges).
#[utoipa::path(get, path = "/api/v1/files/shared/{token}/files/{file_id}", tag = "sharing", operation_id = "download_shared_file",
    params(
        ("token" = String, Path, description = "The link's token"),
        ("file_id" = String, Path, description = "One of the link's files"),
        ("X-Share-Password" = Option<String>, Header, description = "The link's password, if it has one"),
    ),
    responses(
        (status = 200, description = "The content, as the file's own type", content_type = "*/*"),
        (status = 401, description = "Password needed (password_required) or wrong (wrong_password)", body = ErrorBody),
        (status = 403, description = "Download limit reached, or the file is infected", body = ErrorBody),
        (status = 404, description = "Unknown or revoked link, or not one of its files", body = ErrorBody),
        (status = 409, description = "The file's scan is pending or failed", body = ErrorBody),
        (status = 410, description = "The link has expired", body = ErrorBody),
        (status = 429, description = "Too many downloads or password attempts", body = ErrorBody),
    ))]
pub async fn download_one(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiPath((token, file_id)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let download = shares::download(&state, &meta, &token, &pass_of(&headers), &file_id).await?;
    Ok(transfer::download_response(download))
}

/// Download all of a link's files that are scanned clean as one zip, without an account. The
/// zip is streamed (no `Content-Length`); files still being scanned, infected or whose scan
/// failed are left out, and `X-Coffer-Left-Out` says how many. Counts one download.
#[utoipa::path(get, path = "/api/v1/files/shared/{token}/zip", tag = "sharing", operation_id = "download_shared_zip",
    params(
        ("token" = String, Path, description = "The link's token"),
        ("X-Share-Password" = Option<String>, Header, description = "The link's password, if it has one"),
    ),
    responses(
        (status = 200, description = "The zip", content_type = "application/zip",
            headers(("X-Coffer-Left-Out" = u32, description = "How many of the link's files are not in the zip"))),
        (status = 401, description = "Password needed (password_required) or wrong (wrong_password)", body = ErrorBody),
        (status = 403, description = "Download limit reached, or every file is infected", body = ErrorBody),
        (status = 404, description = "Unknown or revoked link", body = ErrorBody),
        (status = 409, description = "No file is scanned clean yet", body = ErrorBody),
        (status = 410, description = "The link has expired", body = ErrorBody),
        (status = 429, description = "Too many downloads or password attempts", body = ErrorBody),
    ))]
pub async fn download_zip(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let zip = shares::download_all(&state, &meta, &token, &pass_of(&headers)).await?;
    Ok(transfer::zip_response(zip))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SignedUrlRequest {
    /// 1 to 300; the default is 300.
    #[serde(default, deserialize_with = "whole_number::option")]
    #[schema(minimum = 1, maximum = 300)]
    pub expires_seconds: Option<u32>,
}

/// A stateless pre-signed download URL, valid for at most five minutes. The body is optional
/// (absent or `null` gives the default).
#[utoipa::path(post, path = "/api/v1/files/{id}/signed-url", tag = "sharing", security(("bearer" = [])),
    operation_id = "create_signed_url",
    params(("id" = String, Path, description = "File id")),
    request_body(content = Option<SignedUrlRequest>),
    responses(
        (status = 200, description = "The URL", body = SignedUrl, links(
            ("download" = (operation_id = "token_download", parameters(("token" = "$response.body#/token")))),
        )),
        (status = 404, description = "No such file, or not yours", body = ErrorBody),
        (status = 422, description = "expires_seconds out of bounds", body = ErrorBody),
    ))]
pub async fn signed_url(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
    request: Option<ApiJson<Option<SignedUrlRequest>>>,
) -> Result<Json<SignedUrl>> {
    let request = request.and_then(|ApiJson(r)| r).unwrap_or_default();
    Ok(Json(
        signed_urls::create(&state, &auth.user, &meta, &id, request.expires_seconds).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// The token of a pre-signed URL.
    pub token: String,
}

/// Download by pre-signed URL, without an account. `Range` is honoured.
#[utoipa::path(get, path = "/api/v1/files/token-download", tag = "sharing", params(TokenQuery),
    responses(
        (status = 200, description = "The content, as the file's own type", content_type = "*/*"),
        (status = 206, description = "The requested range", content_type = "*/*"),
        (status = 401, description = "Malformed or tampered token", body = ErrorBody),
        (status = 404, description = "The file is gone", body = ErrorBody),
        (status = 409, description = "The file's scan is pending or failed", body = ErrorBody),
        (status = 410, description = "The URL has expired", body = ErrorBody),
        (status = 429, description = "Too many downloads", body = ErrorBody),
    ))]
pub async fn token_download(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiQuery(query): ApiQuery<TokenQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let range = transfer::parse_range(&headers);
    let download = signed_urls::download(&state, &meta, &query.token, range).await?;
    Ok(transfer::download_response(download))
}
