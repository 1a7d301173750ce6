//! How long a sign-in lasts: browser sessions and API tokens.

use std::time::Duration;

use super::{source::Source, ConfigError};

#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// A browser session ends after this long unused (`COFFER_SESSION_IDLE_HOURS`, 12)…
    pub idle: Duration,
    /// …and after this long in any case (`COFFER_SESSION_LIFETIME_DAYS`, 7).
    pub lifetime: Duration,
    /// API access tokens last 30 minutes, refresh tokens 7 days (spec, not settable).
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

impl SessionSettings {
    pub(super) fn read(src: &mut Source) -> Result<Self, ConfigError> {
        let hours = src.number("COFFER_SESSION_IDLE_HOURS", 12)?;
        let days = src.number("COFFER_SESSION_LIFETIME_DAYS", 7)?;
        Ok(Self {
            idle: Duration::from_secs(hours.saturating_mul(3600)),
            lifetime: Duration::from_secs(days.saturating_mul(86_400)),
            access_token_ttl: Duration::from_secs(30 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 86_400),
        })
    }
}
