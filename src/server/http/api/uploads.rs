//! `/api/v1/uploads`: resumable uploads by the tus 1.0.0 protocol (core, with the creation,
//! creation-with-upload, termination, expiration and checksum extensions), so that any tus
//! client (tus-js-client, Uppy, tuspy, tusd's tools) can upload a file in as many requests as
//! it takes, through proxies that limit a request's body, and carry on after a dropped
//! connection. The rules are the files service's (`service::files::resumable`); this module
//! reads and writes the protocol's headers.
//!
//! Signed in by bearer token, or by the browser's session for our own pages (same origin).
//! The file an upload becomes has the upload's id: `GET /api/v1/files/{id}`.

use axum::{
    body::Body,
    extract::{DefaultBodyLimit, FromRequestParts, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, StatusCode},
    middleware::{from_fn, Next},
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use crate::server::{
    error::{Error, ErrorBody, Result},
    http::extract::{ApiPath, ClientMeta, TokenOrSessionUser},
    service::files::resumable::{self, NewUpload, UploadStatus},
    state::AppState,
};

/// The protocol version this server speaks (the only one there is).
const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration,checksum";
/// The content type of a request that carries upload bytes.
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const TUS_VERSION_HEADER: HeaderName = HeaderName::from_static("tus-version");
const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
const TUS_CHECKSUM_ALGORITHM: HeaderName = HeaderName::from_static("tus-checksum-algorithm");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");

/// Bytes of the file, from Upload-Offset on, as they are in the file.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(value_type = String, format = Binary)]
pub struct UploadBytes(Vec<u8>);

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // The files service enforces the size limit and the quota while streaming.
        .routes(routes!(discover, create).layer(DefaultBodyLimit::disable()))
        .routes(routes!(status, append, terminate).layer(DefaultBodyLimit::disable()))
        .layer(from_fn(speak_tus))
}

/// Every answer says which protocol it speaks, and a refusal of another version which one
/// that is.
async fn speak_tus(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    if response.status() == StatusCode::PRECONDITION_FAILED {
        response
            .headers_mut()
            .insert(TUS_VERSION_HEADER, HeaderValue::from_static(TUS_VERSION));
    }
    response
}

/// A request of tus 1.0.0 (`Tus-Resumable`); another version is refused with 412. Taken after
/// the sign-in, so that a request without credentials is told that first.
pub struct Tus;

impl<S: Send + Sync> FromRequestParts<S> for Tus {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        match parts.headers.get(&TUS_RESUMABLE) {
            Some(v) if v.as_bytes() == TUS_VERSION.as_bytes() => Ok(Tus),
            _ => Err(Error::TusVersion),
        }
    }
}

/// What this server supports of tus (no sign-in needed).
#[utoipa::path(options, path = "/api/v1/uploads", tag = "uploads", operation_id = "tus_options",
    responses(
        (status = 204, description = "Tus-Version, Tus-Extension, Tus-Max-Size (the upload limit) and Tus-Checksum-Algorithm"),
    ))]
pub async fn discover(State(state): State<AppState>) -> Response {
    let max = state.settings().uploads.policy().max_upload_bytes;
    let mut headers = HeaderMap::new();
    headers.insert(TUS_VERSION_HEADER, HeaderValue::from_static(TUS_VERSION));
    headers.insert(TUS_EXTENSION, HeaderValue::from_static(EXTENSIONS));
    headers.insert(TUS_MAX_SIZE, HeaderValue::from(max));
    headers.insert(TUS_CHECKSUM_ALGORITHM, HeaderValue::from_static("sha256"));
    (StatusCode::NO_CONTENT, headers).into_response()
}

/// Start a resumable upload (tus creation). `Upload-Length` is the file's size; `Upload-Metadata`
/// must carry `filename` (base64, as tus encodes values). A body of type
/// `application/offset+octet-stream` is the upload's first bytes (creation-with-upload). The
/// length is checked against the limit and your quota here, the name's type too.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads", operation_id = "create_upload",
    security(("bearer" = [])),
    params(
        ("Tus-Resumable" = String, Header, description = "1.0.0", pattern = r"^1\.0\.0$"),
        ("Upload-Length" = u64, Header, description = "The file's size in bytes"),
        ("Upload-Metadata" = String, Header, description = "`filename <base64>`, and any other pairs"),
    ),
    request_body(content = Option<UploadBytes>, content_type = "application/offset+octet-stream",
        description = "Optional: the first bytes"),
    responses(
        (status = 201, description = "Created: Location is the upload's URL; Upload-Offset when bytes came with it; Upload-Expires"),
        (status = 400, description = "Upload-Length or Upload-Metadata missing or malformed (bad_upload)", body = ErrorBody),
        (status = 412, description = "Not tus 1.0.0 (unsupported_tus_version)", body = ErrorBody),
        (status = 413, description = "Longer than the limit (file_too_large) or than your quota allows (quota_exceeded)", body = ErrorBody),
        (status = 415, description = "Type not allowed, or the first bytes do not match it (unsupported_type)", body = ErrorBody),
        (status = 429, description = "Too many uploads this minute (rate_limited), or at once (too_many_uploads)", body = ErrorBody),
        (status = 503, description = "The server is busy with other uploads (server_busy); see Retry-After", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: TokenOrSessionUser,
    _: Tus,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    if headers.contains_key(&UPLOAD_DEFER_LENGTH) {
        return Err(Error::BadUpload(
            "Coffer needs the file's size when the upload starts (Upload-Length); \
             Upload-Defer-Length is not supported"
                .into(),
        ));
    }
    let length = number_header(&headers, &UPLOAD_LENGTH)?;
    let metadata = text_header(&headers, &UPLOAD_METADATA).unwrap_or_default();
    let filename = filename_from(metadata)?;
    let new = NewUpload {
        length,
        filename: &filename,
        metadata,
    };
    let mut upload = resumable::create(&state, &auth.user, &meta, new).await?;
    let carries_bytes = content_type(&headers) == Some(OFFSET_OCTET_STREAM);
    if carries_bytes && !upload.completed {
        upload = resumable::append(
            &state,
            &auth.user,
            &meta,
            &upload.id,
            0,
            checksum(&headers)?,
            body.into_data_stream(),
        )
        .await?;
    }
    let mut response = progress(StatusCode::CREATED, &upload);
    let location = format!("/api/v1/uploads/{}", upload.id);
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).map_err(|e| Error::internal("upload location", e))?,
    );
    if !carries_bytes {
        response.headers_mut().remove(&UPLOAD_OFFSET);
    }
    Ok(response)
}

/// Where an upload is (tus HEAD): Upload-Offset (the bytes received), Upload-Length,
/// Upload-Metadata as sent, and Upload-Expires while unfinished.
#[utoipa::path(head, path = "/api/v1/uploads/{id}", tag = "uploads", operation_id = "upload_status",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id"),
        ("Tus-Resumable" = String, Header, description = "1.0.0", pattern = r"^1\.0\.0$")),
    responses(
        (status = 200, description = "Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires"),
        (status = 404, description = "No such upload, or not yours"),
        (status = 410, description = "The upload expired unfinished"),
        (status = 412, description = "Not tus 1.0.0"),
    ))]
pub async fn status(
    State(state): State<AppState>,
    auth: TokenOrSessionUser,
    _: Tus,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let upload = resumable::status(&state, &auth.user, &id).await?;
    let mut response = progress(StatusCode::OK, &upload);
    let headers = response.headers_mut();
    headers.insert(UPLOAD_LENGTH, HeaderValue::from(upload.length));
    if let Ok(metadata) = HeaderValue::from_str(&upload.metadata) {
        if !upload.metadata.is_empty() {
            headers.insert(UPLOAD_METADATA, metadata);
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Send more bytes (tus PATCH), from Upload-Offset, which must be where the upload is. An
/// `Upload-Checksum: sha256 <base64>` is checked over the request's bytes: a mismatch keeps
/// none of them (460). The request that brings the last byte adds the file (scanned as any
/// other); its id is the upload's.
#[utoipa::path(patch, path = "/api/v1/uploads/{id}", tag = "uploads", operation_id = "append_upload",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id"),
        ("Tus-Resumable" = String, Header, description = "1.0.0", pattern = r"^1\.0\.0$"),
        ("Upload-Offset" = u64, Header, description = "Where these bytes start"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha256 <base64 digest>` of this request's bytes")),
    request_body(content = UploadBytes, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Stored: Upload-Offset is where the upload is now"),
        (status = 400, description = "Upload-Offset or Upload-Checksum malformed, or the bytes broke off (bad_upload)", body = ErrorBody),
        (status = 404, description = "No such upload, or not yours", body = ErrorBody),
        (status = 409, description = "Upload-Offset is not where the upload is (upload_offset_mismatch)", body = ErrorBody),
        (status = 410, description = "The upload expired (upload_expired)", body = ErrorBody),
        (status = 412, description = "Not tus 1.0.0 (unsupported_tus_version)", body = ErrorBody),
        (status = 413, description = "More bytes than Upload-Length (file_too_large)", body = ErrorBody),
        (status = 415, description = "Not application/offset+octet-stream, or the content does not match the file's type: the upload is ended (unsupported_type)", body = ErrorBody),
        (status = 423, description = "Another request is writing to this upload (upload_locked)", body = ErrorBody),
        (status = 460, description = "The bytes do not match Upload-Checksum and were discarded (checksum_mismatch)", body = ErrorBody),
        (status = 503, description = "The server is busy with other uploads (server_busy); see Retry-After", body = ErrorBody),
    ))]
pub async fn append(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    auth: TokenOrSessionUser,
    _: Tus,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    if content_type(&headers) != Some(OFFSET_OCTET_STREAM) {
        return Err(Error::UnsupportedType(format!(
            "upload bytes are sent as {OFFSET_OCTET_STREAM}"
        )));
    }
    let offset = number_header(&headers, &UPLOAD_OFFSET)?;
    let checksum = checksum(&headers)?;
    let upload = resumable::append(
        &state,
        &auth.user,
        &meta,
        &id,
        offset,
        checksum,
        body.into_data_stream(),
    )
    .await?;
    Ok(progress(StatusCode::NO_CONTENT, &upload))
}

/// Give up an unfinished upload (tus termination): what it stored is deleted.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads", operation_id = "terminate_upload",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id"),
        ("Tus-Resumable" = String, Header, description = "1.0.0", pattern = r"^1\.0\.0$")),
    responses(
        (status = 204, description = "Ended and deleted"),
        (status = 404, description = "No such upload, or not yours", body = ErrorBody),
        (status = 409, description = "The upload is complete: delete the file instead (upload_complete)", body = ErrorBody),
        (status = 410, description = "The upload expired (upload_expired)", body = ErrorBody),
        (status = 412, description = "Not tus 1.0.0 (unsupported_tus_version)", body = ErrorBody),
        (status = 423, description = "A request is writing to it (upload_locked)", body = ErrorBody),
    ))]
pub async fn terminate(
    State(state): State<AppState>,
    auth: TokenOrSessionUser,
    _: Tus,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    resumable::terminate(&state, &auth.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An answer that says how far an upload is: Upload-Offset, and Upload-Expires while unfinished.
fn progress(status: StatusCode, upload: &UploadStatus) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(UPLOAD_OFFSET, HeaderValue::from(upload.received));
    if !upload.completed {
        let expires =
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(upload.expires_at.max(0) as u64);
        if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(expires)) {
            headers.insert(UPLOAD_EXPIRES, value);
        }
    }
    (status, headers).into_response()
}

fn text_header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    text_header(headers, &header::CONTENT_TYPE)
        .map(|v| v.split(';').next().unwrap_or_default().trim())
}

/// A header holding a byte count or offset: digits only, as tus says.
fn number_header(headers: &HeaderMap, name: &HeaderName) -> Result<u64> {
    let value = text_header(headers, name)
        .ok_or_else(|| Error::BadUpload(format!("the {} header is missing", name.as_str())))?;
    value
        .parse::<u64>()
        .ok()
        .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            Error::BadUpload(format!(
                "the {} header must be a whole number of bytes",
                name.as_str()
            ))
        })
}

/// The file's name from `Upload-Metadata`: comma-separated `key base64value` pairs; `filename`
/// is the tus convention (`name` is taken when it is missing, as some clients send that).
fn filename_from(metadata: &str) -> Result<String> {
    let mut found = None;
    for pair in metadata.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let decode = || -> Result<String> {
            let bytes = STANDARD.decode(value.trim()).map_err(|_| {
                Error::BadUpload(format!("Upload-Metadata: the value of {key} is not base64"))
            })?;
            String::from_utf8(bytes).map_err(|_| {
                Error::BadUpload(format!("Upload-Metadata: the value of {key} is not UTF-8"))
            })
        };
        match key {
            "filename" => return decode(),
            "name" if found.is_none() => found = Some(decode()?),
            _ => {}
        }
    }
    found.ok_or_else(|| {
        Error::BadUpload("Upload-Metadata must name the file: filename <the name in base64>".into())
    })
}

/// `Upload-Checksum: sha256 <base64 digest>`, the one algorithm offered.
fn checksum(headers: &HeaderMap) -> Result<Option<[u8; 32]>> {
    let Some(value) = text_header(headers, &UPLOAD_CHECKSUM) else {
        return Ok(None);
    };
    let (algorithm, digest) = value.trim().split_once(' ').unwrap_or((value, ""));
    if algorithm != "sha256" {
        return Err(Error::BadUpload(format!(
            "Upload-Checksum: the algorithm {algorithm:?} is not supported; use sha256"
        )));
    }
    STANDARD
        .decode(digest.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(Some)
        .ok_or_else(|| {
            Error::BadUpload("Upload-Checksum: the sha256 digest must be 32 bytes of base64".into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filename_comes_from_upload_metadata() {
        assert_eq!(
            filename_from(
                "filetype dGV4dC9wbGFpbg==,filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg=="
            )
            .unwrap(),
            "world_domination_plan.pdf"
        );
        assert_eq!(
            filename_from("name YS50eHQ=, is_confidential").unwrap(),
            "a.txt"
        );
        assert_eq!(
            filename_from("name YS50eHQ=,filename Yi50eHQ=").unwrap(),
            "b.txt"
        );
        for bad in ["", "is_confidential", "filename !!!", "filename //8="] {
            assert!(
                matches!(filename_from(bad), Err(Error::BadUpload(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn offsets_are_digits_only() {
        let with = |v: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(UPLOAD_OFFSET, HeaderValue::from_str(v).unwrap());
            number_header(&headers, &UPLOAD_OFFSET)
        };
        assert_eq!(with("1024").unwrap(), 1024);
        for bad in ["+1", "-1", "1e3", " 1", "", "99999999999999999999999"] {
            assert!(with(bad).is_err(), "{bad}");
        }
        assert!(number_header(&HeaderMap::new(), &UPLOAD_OFFSET).is_err());
    }

    #[test]
    fn checksums_are_sha256_in_base64() {
        let with = |v: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(UPLOAD_CHECKSUM, HeaderValue::from_str(v).unwrap());
            checksum(&headers)
        };
        let digest = STANDARD.encode([7u8; 32]);
        assert_eq!(with(&format!("sha256 {digest}")).unwrap(), Some([7u8; 32]));
        assert!(with(&format!("md5 {digest}")).is_err());
        assert!(with("sha256 AAAA").is_err());
        assert_eq!(checksum(&HeaderMap::new()).unwrap(), None);
    }
}
