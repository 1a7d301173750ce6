//! Webhooks: URLs Coffer posts signed JSON events to, as their owner sees them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A file arrived through one of the user's upload requests (that has "notify" on).
pub const EVENT_REQUEST_FILE_RECEIVED: &str = "request.file_received";
/// Someone downloaded through one of the user's share links (a file, or the zip).
pub const EVENT_SHARE_DOWNLOADED: &str = "share.downloaded";
/// Every event a webhook can listen to.
pub const WEBHOOK_EVENTS: [&str; 2] = [EVENT_REQUEST_FILE_RECEIVED, EVENT_SHARE_DOWNLOADED];
/// The most webhooks one user can have.
pub const MAX_WEBHOOKS: usize = 10;

/// A new webhook (`POST /api/v1/webhooks`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    /// An `http` or `https` URL, at most 2048 characters.
    #[cfg_attr(feature = "ssr", schema(max_length = 2048))]
    pub url: String,
    /// The events to send (`request.file_received`, `share.downloaded`); all when absent.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 2))]
    pub events: Option<Vec<String>>,
}

/// A webhook as its owner sees it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookInfo {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Attempts that failed in a row (a delivery that arrives resets it).
    pub consecutive_failures: u64,
    /// When it was suspended for failing too often in a row: nothing is sent to it until it is
    /// resumed (`POST /api/v1/webhooks/{id}/resume`). Events still queue meanwhile.
    #[serde(with = "time::serde::rfc3339::option")]
    pub suspended_at: Option<OffsetDateTime>,
    /// Events it did not get because 1,000 deliveries were already waiting for it.
    pub missed_events: u64,
}

/// A webhook just made, with its signing secret, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    pub webhook: WebhookInfo,
    /// The HMAC-SHA256 key of the `X-Coffer-Signature-256` header.
    pub secret: String,
}

/// One event's delivery to a webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryInfo {
    pub id: String,
    pub event: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub attempts: u64,
    /// `pending` (waiting for its next attempt), `delivered` or `failed` (given up).
    pub status: String,
    /// The receiver's last HTTP status.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
}
