//! Files as the API and the pages show them, their scan status, and the upload rules both
//! sides check.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::UnknownWord;

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
    /// The upload request it was sent through by someone without an account; `null` for the
    /// owner's own uploads.
    #[serde(default)]
    pub request_id: Option<String>,
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
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return super::count(bytes, "byte", "bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
