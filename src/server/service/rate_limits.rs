//! Which rate limits Coffer applies, what each counts and how many attempts the settings allow.
//! The counting itself is the [`RateLimiter`](crate::server::rate_limiter)'s.
//!
//! Login failures are counted three ways so that nobody can lock a user out of their own
//! account from elsewhere: per (account, client) at the login rate, per client across
//! accounts at three times that, and per account from everywhere only as a slow backstop
//! against a distributed guesser (ten times the login rate per hour).

pub use crate::server::rate_limiter::Counted;
use crate::server::{config::Settings, error::Result, rate_limiter::Quota, state::AppState};

/// Wrong second-factor codes per account per minute, whatever the login setting says: six
/// digits are too few to leave unlimited.
const TWO_FACTOR_PER_MIN: u32 = 5;

/// Share links and upload requests one user may make a minute.
pub const LINKS_PER_MIN: u32 = 60;

/// What is being limited, and per what.
#[derive(Clone, Copy, Debug)]
pub enum Bucket {
    /// Failed logins to one account from one client.
    LoginFailuresPerAccountClient,
    /// Failed logins from one client, to any account.
    LoginFailuresPerClient,
    /// Failed logins to one account from anywhere: the backstop.
    LoginFailuresPerAccount,
    /// Accounts created from one client.
    RegisterPerClient,
    /// Wrong `current_password`s given by one signed-in account.
    PasswordCheckPerAccount,
    UploadPerUser,
    DownloadPerClient,
    /// Wrong passwords for one protected link (share link or upload request) from one client:
    /// the login limit.
    LinkPasswordPerLinkClient,
    /// Wrong passwords for one protected link from anywhere: ten times that per hour, a slow
    /// backstop like logins'.
    LinkPasswordPerLink,
    /// Wrong second-factor codes for one account (from anywhere).
    TwoFactorPerAccount,
    /// Share links and upload requests made by one user.
    LinkCreatePerUser,
    /// Share links and upload requests with a password made by one user (each costs a hash):
    /// the login limit.
    ProtectedLinkPerUser,
    /// Files sent through upload requests from one client.
    RequestUploadPerClient,
    /// Files sent through one upload request, from anywhere: five clients' worth.
    RequestUploadPerRequest,
}

impl Bucket {
    /// The bucket's quota under these settings (stable names: they are part of Redis keys).
    pub fn quota(self, settings: &Settings) -> Quota {
        let login = settings.rates.login_per_min;
        match self {
            Bucket::LoginFailuresPerAccountClient => {
                Quota::per_minute("login-account-client", login)
            }
            Bucket::LoginFailuresPerClient => {
                Quota::per_minute("login-client", login.saturating_mul(3))
            }
            Bucket::LoginFailuresPerAccount => {
                Quota::per_hour("login-account", login.saturating_mul(10))
            }
            Bucket::RegisterPerClient => {
                Quota::per_hour("register-client", settings.rates.register_per_hour)
            }
            Bucket::PasswordCheckPerAccount => Quota::per_minute("password-check", login),
            Bucket::UploadPerUser => {
                Quota::per_minute("upload-user", settings.rates.upload_per_min)
            }
            Bucket::DownloadPerClient => {
                Quota::per_minute("download-client", settings.rates.download_per_min)
            }
            Bucket::LinkPasswordPerLinkClient => Quota::per_minute("link-password-client", login),
            Bucket::LinkPasswordPerLink => {
                Quota::per_hour("link-password", login.saturating_mul(10))
            }
            Bucket::LinkCreatePerUser => Quota::per_minute("link-create-user", LINKS_PER_MIN),
            Bucket::ProtectedLinkPerUser => Quota::per_minute("protected-link-user", login),
            Bucket::RequestUploadPerClient => {
                Quota::per_minute("request-upload-client", settings.rates.upload_per_min)
            }
            Bucket::RequestUploadPerRequest => Quota::per_minute(
                "request-upload-request",
                settings.rates.upload_per_min.saturating_mul(5),
            ),
            Bucket::TwoFactorPerAccount => {
                Quota::per_minute("two-factor-account", TWO_FACTOR_PER_MIN)
            }
        }
    }
}

/// Counts one attempt in `bucket` for `key`; 429 once the key is over the bucket's quota.
pub async fn hit(state: &AppState, bucket: Bucket, key: &str) -> Result<Counted> {
    state
        .limiter()
        .hit(bucket.quota(state.settings()), key)
        .await
}

/// Counts the making of a share link or an upload request by `user_id` (and, for a protected
/// one, of the password hash it costs): 429 past [`LINKS_PER_MIN`] a minute, or the login rate
/// for protected ones.
pub async fn making_link(state: &AppState, user_id: &str, protected: bool) -> Result<()> {
    hit(state, Bucket::LinkCreatePerUser, user_id).await?;
    if protected {
        hit(state, Bucket::ProtectedLinkPerUser, user_id).await?;
    }
    Ok(())
}

/// Takes back an attempt [`hit`] counted, when it turned out not to be a failure: buckets that
/// count failures are hit before the attempt (so concurrent ones cannot slip past) and
/// forgiven after a success.
pub async fn forgive(state: &AppState, bucket: Bucket, key: &str, counted: Counted) {
    state
        .limiter()
        .forgive(bucket.quota(state.settings()), key, counted)
        .await
}

/// Counts one attempt in each of `buckets`, in order; at the first one over its quota (429),
/// takes back what the earlier ones counted (a refused attempt is not a guess) and refuses.
pub async fn hit_all(state: &AppState, buckets: &[(Bucket, &str)]) -> Result<Vec<Counted>> {
    let mut counted = Vec::with_capacity(buckets.len());
    for (bucket, key) in buckets {
        match hit(state, *bucket, key).await {
            Ok(one) => counted.push(one),
            Err(refused) => {
                forgive_all(state, buckets, &counted).await;
                return Err(refused);
            }
        }
    }
    Ok(counted)
}

/// Takes back what [`hit_all`] counted (`counted`, bucket by bucket): the attempt was not a
/// failure.
pub async fn forgive_all(state: &AppState, buckets: &[(Bucket, &str)], counted: &[Counted]) {
    for ((bucket, key), counted) in buckets.iter().zip(counted) {
        forgive(state, *bucket, key, *counted).await;
    }
}
