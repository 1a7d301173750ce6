//! Virus scanners: what reads a file's plaintext and gives a verdict. The built-in one knows
//! the EICAR test signature and a block list of SHA-256 digests; the clamd one asks ClamAV.
//! When and how often files are scanned, and what a verdict means for downloads, is the
//! service layer's (`service::scanning`).

mod builtin;
mod clamd;

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use tokio::sync::Notify;

pub use builtin::BuiltinScanner;
pub use clamd::{ClamdAddr, ClamdScanner};

use crate::server::config::Settings;

/// The EICAR anti-virus test file's signature; scanners everywhere report it as a virus.
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// A scanner's verdict on one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected(String),
}

/// Why a scan gave no verdict. The file is then `error`, never `clean`; `retry` says whether
/// trying again later may help (clamd down or slow) or not (the file is over clamd's
/// `StreamMaxLength`: only an operator's change, then a rescan, helps).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ScanError {
    pub reason: String,
    pub retry: bool,
}

impl ScanError {
    /// A failure that may pass: the job is tried again later.
    pub fn retry(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry: true,
        }
    }

    /// A failure that will not pass by itself: the job stops until a rescan.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry: false,
        }
    }
}

/// The plaintext of a file, in order, as the scanner reads it.
pub type Content = BoxStream<'static, Result<Bytes, ScanError>>;

/// A virus scanner: it reads the whole content stream and gives a verdict, or fails.
#[async_trait::async_trait]
pub trait Scanner: Send + Sync {
    fn name(&self) -> &'static str;

    /// Whether the scanner can take work now, and what it is (its version and signatures).
    async fn check(&self) -> Result<String, ScanError>;

    async fn scan(&self, content: Content) -> Result<Verdict, ScanError>;
}

/// The scanner the settings choose: clamd when `CLAMD_ADDR` is set, else the built-in one.
pub fn from_settings(settings: &Settings) -> Arc<dyn Scanner> {
    match &settings.scanning.clamd_addr {
        Some(addr) => Arc::new(ClamdScanner::new(
            ClamdAddr::parse(addr),
            settings.scanning.clamd_timeout,
        )),
        None => Arc::new(BuiltinScanner::new(settings.scanning.blocklist.clone())),
    }
}

/// Wakes the worker when a job is queued, so new uploads are scanned at once.
#[derive(Clone, Default)]
pub struct ScanQueue {
    wake: Arc<Notify>,
}

impl ScanQueue {
    pub fn job_added(&self) {
        self.wake.notify_one();
    }

    /// Resolves when a job is added (or at once if one was added since the last wait).
    pub async fn job_waiting(&self) {
        self.wake.notified().await
    }
}
