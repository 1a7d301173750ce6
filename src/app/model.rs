//! Types the browser and the server both see.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A user as the API and the pages show it (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserInfo {
    /// Opaque id (a UUID).
    pub id: String,
    pub email: String,
    pub username: String,
    pub role: Role,
    pub is_active: bool,
    pub two_factor_enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
}

impl UserInfo {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What an account may do: an admin manages users and sees every file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    /// The stored and serialised word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    /// The role this word names, else why not, in words.
    pub fn parse(word: &str) -> Result<Self, String> {
        match word {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(format!("role must be \"admin\" or \"user\", not {other:?}")),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownWord;

    fn try_from(word: String) -> Result<Self, UnknownWord> {
        Role::parse(&word).map_err(|_| UnknownWord(word))
    }
}

/// A stored state (a role, a scan status) that is none of its words.
#[derive(Debug, thiserror::Error)]
#[error("unknown stored value {0:?}")]
pub struct UnknownWord(String);

/// A stored file as the API and the pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileInfo {
    /// Opaque id (a UUID).
    pub id: String,
    /// The normalised name it was uploaded under.
    pub filename: String,
    /// Size in bytes (of the plaintext).
    pub size: u64,
    pub mime_type: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub scan_status: ScanStatus,
    pub owner_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub download_count: u64,
}

/// Where a file's virus scan stands. Only a `clean` file can be downloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ScanStatus {
    /// Not scanned yet (or being scanned).
    Pending,
    /// Scanned; no threat found.
    Clean,
    /// Malware found.
    Infected,
    /// The scan failed; it is retried, and downloads stay closed until it passes.
    Error,
}

impl ScanStatus {
    /// The stored and serialised word.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Pending => "pending",
            ScanStatus::Clean => "clean",
            ScanStatus::Infected => "infected",
            ScanStatus::Error => "error",
        }
    }

    pub fn is_downloadable(self) -> bool {
        self == ScanStatus::Clean
    }
}

impl TryFrom<String> for ScanStatus {
    type Error = UnknownWord;

    fn try_from(word: String) -> Result<Self, UnknownWord> {
        [
            ScanStatus::Pending,
            ScanStatus::Clean,
            ScanStatus::Infected,
            ScanStatus::Error,
        ]
        .into_iter()
        .find(|status| status.as_str() == word)
        .ok_or(UnknownWord(word))
    }
}

/// One page of a list: at most `limit` items (100 by default, 500 at most) after `offset`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
pub struct Paging {
    /// 1 to 500; the default is 100.
    pub limit: Option<i64>,
    /// How many items to skip; the default is 0.
    pub offset: Option<i64>,
}

impl Paging {
    pub const DEFAULT_LIMIT: i64 = 100;
    pub const MAX_LIMIT: i64 = 500;

    /// The longest first page.
    pub fn largest() -> Self {
        Paging {
            limit: Some(Self::MAX_LIMIT),
            offset: None,
        }
    }

    /// The limit, defaulted and brought within bounds.
    pub fn limit(&self) -> i64 {
        self.limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .clamp(1, Self::MAX_LIMIT)
    }

    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }
}

/// The account rules: what the server checks and what the forms tell people before they send.
pub mod account_rules {
    use std::ops::RangeInclusive;

    pub const USERNAME_CHARS: RangeInclusive<usize> = 3..=32;
    /// The characters a username may have, as an HTML `pattern`.
    pub const USERNAME_PATTERN: &str = "[A-Za-z0-9_.\\-]+";
    pub const MIN_PASSWORD_CHARS: usize = 8;
    /// Bounds the work argon2 does on attacker-chosen input.
    pub const MAX_PASSWORD_BYTES: usize = 1024;

    /// What a username may be, in words.
    pub fn username_hint() -> String {
        format!(
            "{} to {} characters: letters, digits, '_', '-' or '.'",
            USERNAME_CHARS.start(),
            USERNAME_CHARS.end()
        )
    }

    /// What a password must be, in words.
    pub fn password_hint() -> String {
        format!("At least {MIN_PASSWORD_CHARS} characters.")
    }

    /// The trimmed username if it follows the rules, else why not.
    pub fn check_username(raw: &str) -> Result<String, String> {
        let username = raw.trim();
        let plain = username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if USERNAME_CHARS.contains(&username.chars().count()) && plain {
            Ok(username.to_owned())
        } else {
            Err(format!("Username must be {}", username_hint()))
        }
    }

    /// Whether a new password follows the rules, else why not.
    pub fn check_password(password: &str) -> Result<(), String> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(format!(
                "Password must be at least {MIN_PASSWORD_CHARS} characters long"
            ));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(format!(
                "Password must be at most {MAX_PASSWORD_BYTES} bytes long"
            ));
        }
        Ok(())
    }
}

/// What a new share link should be: when it expires (in hours from now, or at a moment, at most
/// 30 days ahead; 24 hours when neither is given), how many downloads it allows, and an optional
/// password.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShareRequest {
    /// 1 to 720; the default is 24.
    #[serde(default)]
    pub expires_hours: Option<u32>,
    /// Instead of `expires_hours`: an RFC 3339 moment in the future, at most 30 days ahead.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// At least 1; no limit when absent.
    #[serde(default)]
    pub max_downloads: Option<u64>,
    /// Recipients must give it (header `X-Share-Password`, or the link's page).
    #[serde(default)]
    pub password: Option<String>,
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

/// One of a file's share links, as its owner sees it (never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShareInfo {
    pub id: String,
    pub file_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub max_downloads: Option<u64>,
    pub download_count: u64,
    pub has_password: bool,
    /// `active`, `expired`, `used_up` or `revoked`.
    pub status: String,
}

/// A pre-signed download URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignedUrl {
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What a recipient's page shows of a link that can be used. The name and size of a
/// password-protected file stay hidden until the password is given (with the download).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedFile {
    pub filename: Option<String>,
    pub size: Option<u64>,
    pub shared_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// `None`: no limit.
    pub downloads_left: Option<u64>,
    pub needs_password: bool,
    pub scan_status: ScanStatus,
}

/// A two-factor enrolment waiting for its first code: the secret to scan or type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TotpSetup {
    /// The secret, base32 (what authenticator apps take when typed in).
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub otpauth_url: String,
    /// The QR code: a `data:image/svg+xml;base64,…` URL, drawn by the server.
    pub qr_code: String,
}

impl TotpSetup {
    /// The secret in groups of four, for typing it in by hand.
    pub fn grouped_secret(&self) -> String {
        self.secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A signed-in browser of the user, as the security settings list them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The browser looking at the list.
    pub current: bool,
}

/// What may be uploaded: the one statement of the size limit and the type allow-list, used by
/// the server when a file arrives and by the page before it sends one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadPolicy {
    pub max_upload_bytes: u64,
    /// Lower-case, each with its leading dot.
    pub allowed_extensions: Vec<String>,
}

impl UploadPolicy {
    /// The name's extension if it is allowed, else why not, in words.
    pub fn check_type(&self, name: &str) -> Result<String, String> {
        let allowed = self.allowed_extensions.join(", ");
        match file_extension(name) {
            Some(ext) if self.allowed_extensions.contains(&ext) => Ok(ext),
            Some(ext) => Err(format!(
                "Files of type {ext} are not accepted. Allowed: {allowed}"
            )),
            None => Err(format!("The file has no extension. Allowed: {allowed}")),
        }
    }

    /// Whether `size` bytes are within the limit, else why not, in words.
    pub fn check_size(&self, size: u64) -> Result<(), String> {
        if size > self.max_upload_bytes {
            Err(format!(
                "The file is larger than the limit of {}",
                human_bytes(self.max_upload_bytes)
            ))
        } else {
            Ok(())
        }
    }
}

/// The lower-cased extension with its dot (`".pdf"`), if the name has one (a leading dot alone,
/// as in `.profile`, is not one).
pub fn file_extension(name: &str) -> Option<String> {
    let dot = name.rfind('.')?;
    (dot > 0 && dot + 1 < name.len()).then(|| name[dot..].to_ascii_lowercase())
}

/// A size as people write it: "12 bytes", "1.5 KiB", "100 MiB".
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The owner's page of a file's share links.
pub fn share_page_path(file_id: &str) -> String {
    format!("/files/{}/share", path_segment(file_id))
}

/// The recipient page of a share token (share links point here).
pub fn recipient_path(token: &str) -> String {
    format!("/s/{}", path_segment(token))
}

/// An id or token as a path segment: anything outside the alphabet ids and tokens are made of
/// (letters, digits, `-`, `_`) is dropped, so a crafted value cannot leave the page it names.
fn path_segment(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// A moment as the pages show it: `2026-11-23 14:05 UTC`.
pub fn format_utc(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths_keep_ids_and_tokens_inside_their_segment() {
        assert_eq!(recipient_path("aZ09-_x"), "/s/aZ09-_x");
        assert_eq!(recipient_path("../../admin?x=1"), "/s/adminx1");
        assert_eq!(share_page_path("0b2c-41/../x"), "/files/0b2c-41x/share");
    }

    #[test]
    fn the_upload_policy_reads_the_same_in_browser_and_server() {
        let policy = UploadPolicy {
            max_upload_bytes: 1024,
            allowed_extensions: vec![".pdf".into(), ".txt".into()],
        };
        assert_eq!(policy.check_type("Report.PDF").unwrap(), ".pdf");
        assert!(policy
            .check_type("tool.exe")
            .unwrap_err()
            .contains(".exe are not accepted"));
        assert!(policy
            .check_type(".pdf")
            .unwrap_err()
            .contains("no extension"));
        assert!(policy
            .check_type("trailing.")
            .unwrap_err()
            .contains("no extension"));
        assert!(policy.check_size(1024).is_ok());
        assert_eq!(
            policy.check_size(1025).unwrap_err(),
            "The file is larger than the limit of 1 KiB"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(100 * 1024 * 1024), "100 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(0), "0 bytes");
    }
}
