//! What the admin dashboard shows: the installation's numbers, users with their storage, every
//! file with its owner.

use serde::{Deserialize, Serialize};

use super::{FileInfo, ScanStatus, UserInfo};

/// The installation at a glance (`GET /api/v1/admin/stats`, the admin overview page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminStats {
    pub users: UserCounts,
    pub files: FileCounts,
    /// Links not revoked, not expired and not used up.
    pub active_share_links: u64,
    /// Uploads and downloads (by owners and admins, share links and pre-signed URLs) in the
    /// last 24 hours.
    pub last_24_hours: Transfers,
    /// The last 30 days, oldest first, today last (UTC days).
    pub daily: Vec<DayTransfers>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserCounts {
    pub active: u64,
    pub disabled: u64,
    /// Active admins.
    pub admins: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileCounts {
    pub count: u64,
    /// Plaintext bytes stored.
    pub bytes: u64,
    pub scan_pending: u64,
    pub scan_infected: u64,
    pub scan_error: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Transfers {
    pub uploads: u64,
    pub downloads: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DayTransfers {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub uploads: u64,
    pub downloads: u64,
}

/// A user as the admin's table shows them: the account, what they store, and their quota.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminUser {
    #[serde(flatten)]
    pub user: UserInfo,
    pub file_count: u64,
    /// Plaintext bytes of their files.
    pub used_bytes: u64,
    /// The quota that applies to them; `null`: none.
    pub quota_bytes: Option<u64>,
    /// Whether that quota is the installation's default (`COFFER_USER_QUOTA_BYTES`) rather than
    /// one an admin gave them.
    pub quota_is_default: bool,
}

/// A file as the admin's table shows it: the file, whose it is, and its active share links.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminFile {
    #[serde(flatten)]
    pub file: FileInfo,
    pub owner_email: String,
    pub owner_username: String,
    /// Links not revoked, not expired and not used up.
    pub active_share_links: u64,
}

/// What deleting a user takes with them, shown on the confirmation page before it is done.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Belongings {
    pub files: u64,
    pub bytes: u64,
    pub share_links: u64,
}

/// A user's storage: what they use against their quota (`None`: no quota).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used_bytes: u64,
    pub quota_bytes: Option<u64>,
}

impl Usage {
    /// The share of the quota in use, 0 to 100 (more than 100 when an admin lowered the quota
    /// below what is stored); `None` without a quota.
    pub fn percent(&self) -> Option<u64> {
        self.quota_bytes.map(|quota| {
            if quota == 0 {
                if self.used_bytes == 0 {
                    0
                } else {
                    100
                }
            } else {
                (u128::from(self.used_bytes) * 100 / u128::from(quota)) as u64
            }
        })
    }
}

/// How an admin sets a user's quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuotaSetting {
    /// Follow the installation's default (`COFFER_USER_QUOTA_BYTES`).
    Default,
    /// No quota for this user, whatever the default.
    Unlimited,
    /// This many bytes.
    Bytes(u64),
}

/// Which files the admin's table lists. Every field narrows the list; none given: every file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFilter {
    pub scan_status: Option<ScanStatus>,
    /// The owner's id, email or username.
    pub owner: Option<String>,
    /// Part of the file's name, in any case.
    pub name: Option<String>,
}
