//! The sweeper: how often it runs and how long the audit log is kept.

use std::time::Duration;

use super::{source::Source, ConfigError};

#[derive(Clone, Debug)]
pub struct UpkeepSettings {
    /// How often the sweeper runs (`COFFER_SWEEP_INTERVAL_SECS`, 300): expired sessions and
    /// tokens, blobs of abandoned uploads, audit entries past their retention.
    pub sweep_interval: Duration,
    /// Audit rows older than this many days are pruned (`COFFER_AUDIT_RETENTION_DAYS`, default
    /// 365; 0 keeps them forever).
    pub audit_retention_days: u64,
}

impl UpkeepSettings {
    pub(super) fn read(src: &mut Source) -> Result<Self, ConfigError> {
        Ok(Self {
            sweep_interval: src.period(
                "COFFER_SWEEP_INTERVAL_SECS",
                300,
                Duration::from_secs(1),
            )?,
            audit_retention_days: src.number("COFFER_AUDIT_RETENTION_DAYS", 365)?,
        })
    }
}
