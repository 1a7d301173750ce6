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
    /// `admin` or `user`.
    pub role: String,
    pub is_active: bool,
    pub two_factor_enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
}

impl UserInfo {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

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
    /// `pending`, `clean`, `infected` or `error`.
    pub scan_status: String,
    pub owner_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub download_count: u64,
}
