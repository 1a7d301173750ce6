//! Upload requests: links through which people without an account send files to a user, as
//! their owner and their senders see them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::whole_number;

/// How long a request stays open when it names no expiry: 7 days.
pub const DEFAULT_REQUEST_HOURS: u32 = 168;
/// The most files a request can ask for.
pub const MAX_REQUEST_FILES: u32 = 10_000;
/// The most upload requests one user may have open (neither closed nor expired).
pub const MAX_OPEN_REQUESTS: i64 = 200;
pub const MAX_REQUEST_TITLE_CHARS: usize = 200;
pub const MAX_REQUEST_MESSAGE_CHARS: usize = 4_000;

/// A new upload request (`POST /api/v1/requests`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewUploadRequest {
    /// What is asked for, shown to senders: 1 to 200 characters, not only spaces.
    #[cfg_attr(
        feature = "ssr",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub title: String,
    /// A message for senders, at most 4000 characters.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 4000))]
    pub message: String,
    /// 1 to 720 hours; the default is 168 (7 days).
    #[serde(default, deserialize_with = "whole_number::option")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 720))]
    pub expires_hours: Option<u32>,
    /// 1 to 10,000 files; no limit when absent (the owner's quota still applies).
    #[serde(default, deserialize_with = "whole_number::option")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 10000))]
    pub max_files: Option<u32>,
    /// The most bytes all files together may have (1 to 2^63 - 1); no limit when absent.
    #[serde(default, deserialize_with = "whole_number::option")]
    #[cfg_attr(
        feature = "ssr",
        schema(minimum = 1, maximum = 9_223_372_036_854_775_807_i64)
    )]
    pub max_bytes: Option<u64>,
    /// Senders must give it (header `X-Request-Password`, or the link's page). Empty means
    /// none; at most 1024 characters.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 1024))]
    pub password: Option<String>,
    /// Tell the owner's webhooks when a file arrives.
    #[serde(default)]
    pub notify: bool,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Takes files.
    Open,
    /// Closed early by its owner.
    Closed,
    Expired,
    /// It has all the files or bytes it asked for.
    Full,
}

impl RequestStatus {
    pub fn label(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Closed => "closed",
            RequestStatus::Expired => "expired",
            RequestStatus::Full => "full",
        }
    }
}

/// An upload request as its owner sees it (never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadRequestInfo {
    pub id: String,
    pub title: String,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub max_files: Option<u64>,
    pub max_bytes: Option<u64>,
    pub has_password: bool,
    pub notify: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub status: RequestStatus,
    pub files_received: u64,
    pub bytes_received: u64,
}

/// A request just made. The token (and so the URL) is shown this once: only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedUploadRequest {
    /// The senders' page, `<public url>/r/<token>`.
    pub url: String,
    pub token: String,
    pub request: UploadRequestInfo,
}

/// What a sender sees of an open request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestForSender {
    pub title: String,
    pub message: String,
    /// The owner's username.
    pub requested_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// How many more files it takes; `null`: no limit.
    pub files_left: Option<u64>,
    /// How many more bytes it takes; `null`: no limit.
    pub bytes_left: Option<u64>,
    /// The largest one file may be.
    pub max_upload_bytes: u64,
    /// Lower-case, each with its leading dot.
    pub allowed_extensions: Vec<String>,
}

/// What a browser sent through a request, newest first, and whether the request is now full
/// (told only to a browser that sent something).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderReceipts {
    pub receipts: Vec<Receipt>,
    pub full: bool,
}

/// What a sender is told of a file they sent: enough to prove what arrived, nothing to fetch
/// it back with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub filename: String,
    pub size: u64,
    /// SHA-256 of the content as received, hex.
    pub sha256: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}
