//! The HTTP side of moving file bytes, shared by the REST API and the pages' routes: reading the
//! multipart upload as a stream, the `Range` header, and the download response headers.

use axum::{
    body::Body,
    extract::{
        multipart::{Field, MultipartError},
        Multipart,
    },
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use futures::TryStreamExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::{
    model::Receipt,
    server::{
        db::{files::FileRow, users::UserRow},
        error::{Error, Result},
        service::{
            files::{self, Download, RangeSpec},
            requests,
            shares::{LinkDownload, ZipDownload},
            unlock::Pass,
            RequestMeta,
        },
        state::AppState,
    },
};

use super::request_limits;

/// The multipart field that carries the file.
pub const FILE_FIELD: &str = "file";

/// Why a multipart body could not be read, in words: under multer's own ("Error parsing
/// `multipart/form-data` request"), the cause when it is one of ours, such as the minimum
/// rate's ([`request_limits::TooSlow`]).
pub(crate) struct ReadError(String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn read_error(e: MultipartError) -> ReadError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if let Some(slow) = c.downcast_ref::<request_limits::TooSlow>() {
            return ReadError(slow.to_string());
        }
        cause = c.source();
    }
    ReadError(e.body_text())
}

/// A multipart field's bytes, with [`ReadError`]s.
pub(crate) type FileField<'a> = futures::stream::MapErr<Field<'a>, fn(MultipartError) -> ReadError>;

/// Where the files of a multipart upload go: the signed-in user's own files, or an upload
/// request's owner's.
pub(crate) trait FileSink {
    type Stored;
    async fn store(&self, name: &str, field: FileField<'_>) -> Result<Self::Stored>;
}

/// The uploader's own files.
pub struct OwnFiles<'a> {
    pub state: &'a AppState,
    pub owner: &'a UserRow,
    pub meta: &'a RequestMeta,
}

impl FileSink for OwnFiles<'_> {
    type Stored = FileRow;

    async fn store(&self, name: &str, field: FileField<'_>) -> Result<FileRow> {
        files::upload(self.state, self.owner, self.meta, name, field).await
    }
}

/// Files sent through an upload request.
pub struct RequestFiles<'a> {
    pub state: &'a AppState,
    pub meta: &'a RequestMeta,
    pub token: &'a str,
    pub pass: &'a Pass,
}

impl FileSink for RequestFiles<'_> {
    type Stored = Receipt;

    async fn store(&self, name: &str, field: FileField<'_>) -> Result<Receipt> {
        requests::receive(self.state, self.meta, self.token, self.pass, name, field).await
    }
}

/// Streams the `file` parts of a multipart body into `sink`, in order, and stops at the first
/// failure. `all`: every file part (the page's form may carry several); otherwise the first
/// only (the REST API answers with one file). Other fields are skipped, and so is the empty,
/// unnamed part a form sends when no file was chosen; no file at all is 422.
pub(crate) async fn upload_multipart<S: FileSink>(
    sink: &S,
    mut multipart: Multipart,
    all: bool,
) -> Result<Vec<S::Stored>> {
    let mut stored = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| Error::BadUpload(read_error(e).0))?
    {
        let name = field.file_name().unwrap_or_default().to_owned();
        if field.name() != Some(FILE_FIELD) || name.is_empty() {
            continue;
        }
        let field: FileField<'_> = field.map_err(read_error as fn(MultipartError) -> ReadError);
        stored.push(sink.store(&name, field).await?);
        if !all {
            break;
        }
    }
    if stored.is_empty() {
        return Err(Error::Validation(format!(
            "No file was sent: choose one (multipart field \"{FILE_FIELD}\", with a filename)"
        )));
    }
    Ok(stored)
}

/// A download, by id, with the request's `Range`: the REST API's and the page's links alike.
pub async fn download(
    state: &AppState,
    user: &UserRow,
    meta: &RequestMeta,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response> {
    let download = files::download(state, user, meta, id, parse_range(headers)).await?;
    Ok(download_response(download))
}

/// The `Range` header as one byte range. Anything else (no header, other units, several ranges,
/// a malformed value) is `None`, and the whole file is sent, as RFC 9110 allows.
pub fn parse_range(headers: &HeaderMap) -> Option<RangeSpec> {
    let value = headers.get(header::RANGE)?.to_str().ok()?;
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (start.trim().is_empty(), end.trim().is_empty()) {
        (true, false) => Some(RangeSpec::Suffix(number(end)?)),
        (false, true) => Some(RangeSpec::From {
            start: number(start)?,
            end: None,
        }),
        (false, false) => {
            let (start, end) = (number(start)?, number(end)?);
            (end >= start).then_some(RangeSpec::From {
                start,
                end: Some(end),
            })
        }
        (true, true) => None,
    }
}

/// Characters that may stand unencoded in an RFC 5987 `filename*` value (`attr-char`).
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment` with an ASCII fallback name and the exact name in RFC 5987 encoding, so no name
/// can break out of the header or be shown inline.
pub fn content_disposition(filename: &str) -> HeaderValue {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(filename, ATTR_CHAR);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Types a browser would run or render as a document are sent as plain bytes.
fn safe_content_type(mime: &str) -> HeaderValue {
    let active = ["html", "xml", "svg", "javascript", "ecmascript", "xhtml"]
        .iter()
        .any(|word| mime.contains(word));
    if active {
        HeaderValue::from_static("application/octet-stream")
    } else {
        HeaderValue::from_str(mime)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
    }
}

/// 200 with the whole file or 206 with the requested range; the body streams.
pub fn download_response(download: Download) -> Response {
    let Download {
        file,
        range,
        accepts_ranges,
        body,
    } = download;
    let size = file.size.max(0) as u64;
    let (status, length) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, end - start + 1),
        None => (StatusCode::OK, size),
    };
    let mut response = (status, Body::from_stream(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, safe_content_type(&file.mime_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&file.filename),
    );
    headers.insert(
        header::ACCEPT_RANGES,
        HeaderValue::from_static(if accepts_ranges { "bytes" } else { "none" }),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", file.sha256)) {
        headers.insert(header::ETAG, etag);
    }
    if let Some((start, end)) = range {
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
            headers.insert(header::CONTENT_RANGE, value);
        }
    }
    response
}

/// How many of a link's files a zip left out (not scanned clean); `GET …/files` says which.
pub const LEFT_OUT_HEADER: &str = "x-coffer-left-out";

/// A link's files as one zip: its length is not known before it is written, so it is sent
/// chunked.
pub fn zip_response(zip: ZipDownload) -> Response {
    let mut response = (StatusCode::OK, Body::from_stream(zip.body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&zip.filename),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(LEFT_OUT_HEADER, HeaderValue::from(zip.left_out.len()));
    response
}

/// Whatever a link's download answers with: its file, or its files as a zip.
pub fn link_response(download: LinkDownload) -> Response {
    match download {
        LinkDownload::File(file) => download_response(*file),
        LinkDownload::Zip(zip) => zip_response(zip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str) -> Option<RangeSpec> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        parse_range(&headers)
    }

    #[test]
    fn single_byte_ranges_parse_and_others_are_ignored() {
        assert_eq!(
            range("bytes=0-99"),
            Some(RangeSpec::From {
                start: 0,
                end: Some(99)
            })
        );
        assert_eq!(
            range("bytes=100-"),
            Some(RangeSpec::From {
                start: 100,
                end: None
            })
        );
        assert_eq!(range("bytes=-5"), Some(RangeSpec::Suffix(5)));
        for ignored in [
            "bytes=5-1",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=-",
            "bytes=a-b",
        ] {
            assert_eq!(range(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn content_disposition_cannot_be_broken_out_of() {
        let v = content_disposition("a\"b\\c;\r\nSet-Cookie: x=y.txt");
        let s = v.to_str().unwrap();
        assert!(
            s.starts_with("attachment; filename=\"a_b_c;__Set-Cookie: x=y.txt\""),
            "{s}"
        );
        assert!(
            s.contains("filename*=UTF-8''a%22b%5Cc%3B%0D%0ASet-Cookie%3A%20x%3Dy.txt"),
            "{s}"
        );
        let s = content_disposition("résumé €.pdf");
        assert_eq!(
            s.to_str().unwrap(),
            "attachment; filename=\"r_sum_ _.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.pdf"
        );
    }

    #[test]
    fn active_types_are_sent_as_bytes() {
        assert_eq!(safe_content_type("text/html"), "application/octet-stream");
        assert_eq!(
            safe_content_type("image/svg+xml"),
            "application/octet-stream"
        );
        assert_eq!(safe_content_type("application/pdf"), "application/pdf");
    }
}
