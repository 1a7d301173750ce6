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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(100 * 1024 * 1024), "100 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(0), "0 bytes");
    }
}
