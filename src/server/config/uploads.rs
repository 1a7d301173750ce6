//! What may be uploaded, how much, how fast and how many at once.

use std::time::Duration;

use super::{source::Source, ConfigError};

pub const DEFAULT_ALLOWED_EXTENSIONS: &str =
    ".pdf,.doc,.docx,.xls,.xlsx,.txt,.csv,.jpg,.jpeg,.png,.gif,.zip";

#[derive(Clone, Debug)]
pub struct UploadSettings {
    /// The largest file taken (`COFFER_MAX_UPLOAD_BYTES`, 100 MiB).
    pub max_bytes: u64,
    /// Lower-case, each with its leading dot (`COFFER_ALLOWED_EXTENSIONS`).
    pub allowed_extensions: Vec<String>,
    /// The storage quota of users an admin gave none of their own (`COFFER_USER_QUOTA_BYTES`);
    /// `None`: no quota.
    pub user_quota_bytes: Option<u64>,
    /// Uploads running at once on this instance (`COFFER_MAX_CONCURRENT_UPLOADS`, 64) and per
    /// user (`COFFER_MAX_UPLOADS_PER_USER`, 4); 0: no cap.
    pub max_at_once: usize,
    pub max_per_user: usize,
    /// The slowest an upload's body may arrive, in bytes a second over each
    /// [`min_rate_window`](Self::min_rate_window) (`COFFER_UPLOAD_MIN_BYTES_PER_SEC`, 2048;
    /// 0: no minimum): a body that trickles in slower holds an upload slot for hours.
    pub min_rate: u64,
    /// The stretch over which an upload's rate is measured (60 s; settable in tests only).
    pub min_rate_window: Duration,
    /// How long an unfinished resumable upload is kept after its last bytes
    /// (`COFFER_UPLOAD_EXPIRE_HOURS`, 24); then the sweeper removes it.
    pub expire: Duration,
}

impl UploadSettings {
    pub(super) fn read(src: &mut Source) -> Result<Self, ConfigError> {
        Ok(Self {
            max_bytes: src.number("COFFER_MAX_UPLOAD_BYTES", 100 * 1024 * 1024)?,
            allowed_extensions: parse_extensions(
                &src.text("COFFER_ALLOWED_EXTENSIONS", DEFAULT_ALLOWED_EXTENSIONS)?,
            ),
            user_quota_bytes: src.optional_number("COFFER_USER_QUOTA_BYTES")?,
            max_at_once: src.count("COFFER_MAX_CONCURRENT_UPLOADS", 64)?,
            max_per_user: src.count("COFFER_MAX_UPLOADS_PER_USER", 4)?,
            min_rate: src.number("COFFER_UPLOAD_MIN_BYTES_PER_SEC", 2048)?,
            min_rate_window: Duration::from_secs(60),
            expire: src.period("COFFER_UPLOAD_EXPIRE_HOURS", 24, Duration::from_secs(3600))?,
        })
    }

    /// What the pages need to check a file before sending it.
    pub fn policy(&self) -> crate::model::UploadPolicy {
        crate::model::UploadPolicy {
            max_upload_bytes: self.max_bytes,
            allowed_extensions: self.allowed_extensions.clone(),
        }
    }
}

/// `".PDF, txt,.csv"` → `[".pdf", ".txt", ".csv"]`.
fn parse_extensions(list: &str) -> Vec<String> {
    list.split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != ".")
        .map(|e| {
            if e.starts_with('.') {
                e
            } else {
                format!(".{e}")
            }
        })
        .collect()
}
