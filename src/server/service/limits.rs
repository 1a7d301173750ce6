//! Which rate limits Coffer applies, what each counts and how many attempts per minute the
//! settings allow. The counting itself is the [`RateLimiter`](crate::server::rate_limit)'s.

use crate::server::{config::Settings, error::Result, rate_limit::Quota, state::AppState};

/// What is being limited, and per what.
#[derive(Clone, Copy, Debug)]
pub enum Bucket {
    LoginPerClient,
    LoginPerAccount,
    UploadPerUser,
    DownloadPerClient,
    /// Password attempts on one share link (from anywhere): the login limit.
    SharePasswordPerLink,
    /// Second-factor codes tried for one account (from anywhere): the login limit.
    TwoFactorPerAccount,
}

impl Bucket {
    /// The bucket's quota under these settings (stable names: they are part of Redis keys).
    pub fn quota(self, settings: &Settings) -> Quota {
        let (name, per_min) = match self {
            Bucket::LoginPerClient => ("login-client", settings.rate_login_per_min),
            Bucket::LoginPerAccount => ("login-account", settings.rate_login_per_min),
            Bucket::UploadPerUser => ("upload-user", settings.rate_upload_per_min),
            Bucket::DownloadPerClient => ("download-client", settings.rate_download_per_min),
            Bucket::SharePasswordPerLink => ("share-password", settings.rate_login_per_min),
            Bucket::TwoFactorPerAccount => ("two-factor-account", settings.rate_login_per_min),
        };
        Quota { name, per_min }
    }
}

/// Counts one attempt in `bucket` for `key`; 429 once the key is over the bucket's quota.
pub async fn hit(state: &AppState, bucket: Bucket, key: &str) -> Result<()> {
    state
        .limiter()
        .hit(bucket.quota(state.settings()), key)
        .await
}
