//! How uploads are scanned: the built-in blocklist, clamd, and which instances run the scans.

use std::time::Duration;

use super::{source::Source, ConfigError};

#[derive(Clone, Debug)]
pub struct ScanSettings {
    /// SHA-256 digests the built-in scanner reports as infected (`COFFER_SCAN_BLOCKLIST`).
    pub blocklist: Vec<[u8; 32]>,
    /// Whether this instance runs scan jobs (`COFFER_SCAN_WORKER`, default true). Instances that
    /// do not still queue them for those that do.
    pub worker: bool,
    /// clamd's address (`CLAMD_ADDR`: `host:port` or a unix socket path); `None`: the built-in
    /// scanner.
    pub clamd_addr: Option<String>,
    /// How long one step of a clamd conversation may take (`COFFER_CLAMD_TIMEOUT_SECS`, 120).
    pub clamd_timeout: Duration,
}

impl ScanSettings {
    pub(super) fn read(src: &mut Source) -> Result<Self, ConfigError> {
        Ok(Self {
            blocklist: parse_blocklist(
                &src.optional_text("COFFER_SCAN_BLOCKLIST")?
                    .unwrap_or_default(),
            )?,
            worker: src.flag("COFFER_SCAN_WORKER", true)?,
            clamd_addr: src.optional_text("CLAMD_ADDR")?,
            clamd_timeout: src.period("COFFER_CLAMD_TIMEOUT_SECS", 120, Duration::from_secs(1))?,
        })
    }
}

/// Comma- or whitespace-separated SHA-256 digests in hex.
fn parse_blocklist(list: &str) -> Result<Vec<[u8; 32]>, ConfigError> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(|digest| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(digest, &mut out).map_err(|_| ConfigError::Value {
                name: "COFFER_SCAN_BLOCKLIST",
                value: digest.to_owned(),
                message: "expected SHA-256 digests as 64 hex digits".into(),
            })?;
            Ok(out)
        })
        .collect()
}
