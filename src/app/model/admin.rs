//! What the admin dashboard shows: the installation's numbers.

use serde::{Deserialize, Serialize};

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
