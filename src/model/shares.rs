//! Share links and pre-signed URLs as the API and the pages show them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{whole_number, ScanStatus};

/// How long a link lasts when its request names no expiry.
pub const DEFAULT_EXPIRY_HOURS: u32 = 24;
/// The longest a link can last: 30 days.
pub const MAX_EXPIRY_HOURS: u32 = 720;
/// The highest download limit a link can have; a larger one would not fit the 32-bit integers
/// clients generate from the schema, and no real link needs it.
pub const MAX_LINK_DOWNLOADS: u32 = 1_000_000;
/// The longest password a link can have, in characters.
pub const MAX_LINK_PASSWORD_CHARS: usize = 1024;

/// What a new share link should be: when it expires (in hours from now, or at a moment, at most
/// 30 days ahead; 24 hours when neither is given), how many downloads it allows, and an optional
/// password.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShareRequest {
    /// 1 to 720; the default is 24.
    #[serde(default, deserialize_with = "whole_number::option")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 720))]
    pub expires_hours: Option<u32>,
    /// Instead of `expires_hours`: an RFC 3339 moment in the future, at most 30 days ahead.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// 1 to 1,000,000; no limit when absent.
    #[serde(default, deserialize_with = "whole_number::option")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 1_000_000))]
    pub max_downloads: Option<u32>,
    /// Recipients must give it (header `X-Share-Password`, or the link's page). Empty means
    /// none; at most 1024 characters.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 1024))]
    pub password: Option<String>,
    /// What the owner calls the link, to tell their links apart; at most 100 characters.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub label: Option<String>,
}

/// Changes to a share link (`PATCH /api/v1/shares/{id}`): a field left out stays as it is;
/// `null` removes a label, a download limit or a password.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShareChanges {
    /// What the owner calls the link, at most 100 characters; `null` or `""` removes it.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, max_length = 100))]
    pub label: Option<Option<String>>,
    /// A new expiry, counted from now: 1 to 720 hours.
    #[serde(default, deserialize_with = "whole_number::option")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 720))]
    pub expires_hours: Option<u32>,
    /// Instead of `expires_hours`: an RFC 3339 moment in the future, at most 30 days ahead.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// 1 to 1,000,000; `null` removes the limit. A limit at or below the downloads made so far
    /// leaves the link used up.
    #[serde(default, deserialize_with = "whole_number::nullable")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000))]
    pub max_downloads: Option<Option<u32>>,
    /// A new password, at most 1024 characters; `null` or `""` removes it. Browsers that were
    /// given the old one are asked again.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, max_length = 1024))]
    pub password: Option<Option<String>>,
    /// The files the link points at from now on, in order: 1 to 100 ids of files you may share.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(min_items = 1, max_items = 100))]
    pub file_ids: Option<Vec<String>>,
}

/// For a text field that is there, `null` included (which then means "remove").
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The longest label a link can have, in characters.
pub const MAX_LINK_LABEL_CHARS: usize = 100;

/// The most files one link can point at.
pub const MAX_LINK_FILES: usize = 100;
/// The most share links one user may have that can still be used (neither revoked nor
/// expired).
pub const MAX_ACTIVE_LINKS: i64 = 1000;

/// A link to several files (`POST /api/v1/shares`): the files, in the order the recipient sees
/// them, and the same options as a one-file link.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MultiShareRequest {
    /// 1 to 100 ids of files the caller may share, each once.
    #[cfg_attr(feature = "ssr", schema(min_items = 1, max_items = 100))]
    pub file_ids: Vec<String>,
    #[serde(flatten)]
    pub options: ShareRequest,
}

/// A share link just made. The token (and so the URL) is shown this once: only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedShare {
    /// The link's id, for listing and revoking it later.
    pub id: String,
    /// The recipient page, `<public url>/s/<token>`.
    pub share_url: String,
    pub share_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub max_downloads: Option<u64>,
}

/// A link made for a page to show once (a share link, an upload request's), with its QR code:
/// an SVG `data:` URL for an `<img>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithQrCode<T> {
    pub value: T,
    pub qr_code: String,
}

/// One of a file's share links, as its owner sees it (never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShareInfo {
    pub id: String,
    /// The first of `file_ids`: the file of a one-file link.
    pub file_id: String,
    /// The files the link points at, in the order its recipients see them (deleted files drop
    /// out).
    pub file_ids: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub max_downloads: Option<u64>,
    pub download_count: u64,
    pub has_password: bool,
    /// `active`, `expired`, `used_up` or `revoked`.
    pub status: String,
    /// What the owner calls the link.
    pub label: Option<String>,
}

/// A pre-signed download URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignedUrl {
    /// `<public url>/api/v1/files/token-download?token=<token>`.
    pub url: String,
    /// The URL's token alone.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What a recipient's page shows of a link that can be used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SharedLink {
    /// Protected by a password: nothing about the files or who sent them shows before the
    /// password is given.
    PasswordRequired,
    Open(SharedFiles),
}

/// The recipient's page: the link, and the download its form just started, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkForRecipient {
    pub link: SharedLink,
    pub started: Option<DownloadStarted>,
}

/// A download the recipient's page started: the page says so and fetches it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadStarted {
    /// One of the link's files; `None` for the link's own download (its file, or the zip).
    pub file_id: Option<String>,
}

/// A link's files as its recipient sees them (a link without a password, or unlocked).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SharedFiles {
    pub files: Vec<SharedFile>,
    pub shared_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// `None`: no limit.
    pub downloads_left: Option<u64>,
}

impl SharedFiles {
    /// The files that can be downloaded now (scanned clean).
    pub fn ready(&self) -> impl Iterator<Item = &SharedFile> {
        self.files
            .iter()
            .filter(|f| f.scan_status == ScanStatus::Clean)
    }
}

/// One file of a link, as its recipient sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SharedFile {
    pub id: String,
    pub filename: String,
    pub size: u64,
    pub mime_type: String,
    pub scan_status: ScanStatus,
}
