//! Where webhooks may post, and how they are retried.

use std::time::Duration;

use super::{source::Source, ConfigError};

#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Whether webhooks may post to loopback, private and link-local addresses
    /// (`COFFER_WEBHOOK_ALLOW_PRIVATE`, default false), that is, into the server's own network.
    pub allow_private: bool,
    /// The pause before a failed delivery is tried again (`COFFER_WEBHOOK_RETRY_SECS`, 30); it
    /// doubles with each attempt, up to an hour.
    pub retry: Duration,
    /// Failed attempts in a row after which a webhook is suspended until its owner resumes it
    /// (`COFFER_WEBHOOK_SUSPEND_AFTER`, 15; 0: never).
    pub suspend_after: u32,
}

impl WebhookSettings {
    pub(super) fn read(src: &mut Source) -> Result<Self, ConfigError> {
        Ok(Self {
            allow_private: src.flag("COFFER_WEBHOOK_ALLOW_PRIVATE", false)?,
            retry: src.period("COFFER_WEBHOOK_RETRY_SECS", 30, Duration::from_secs(1))?,
            suspend_after: src.count("COFFER_WEBHOOK_SUSPEND_AFTER", 15)?,
        })
    }
}
