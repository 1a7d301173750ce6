//! Rate limits, in one place. Each limit is a number of attempts per minute per key (a client
//! address, an account). In-process counters (governor) by default; with Redis, fixed one-minute
//! windows in Redis so that every instance behind a load balancer counts the same attempts.

use std::{num::NonZeroU32, sync::Arc};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota};
use tower_sessions_redis_store::fred::{clients::Pool as RedisPool, interfaces::KeysInterface};

use crate::server::error::{Error, Result};

/// What is being limited; part of the counter key.
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
    const ALL: [Bucket; 6] = [
        Bucket::LoginPerClient,
        Bucket::LoginPerAccount,
        Bucket::UploadPerUser,
        Bucket::DownloadPerClient,
        Bucket::SharePasswordPerLink,
        Bucket::TwoFactorPerAccount,
    ];

    fn name(self) -> &'static str {
        match self {
            Bucket::LoginPerClient => "login-client",
            Bucket::LoginPerAccount => "login-account",
            Bucket::UploadPerUser => "upload-user",
            Bucket::DownloadPerClient => "download-client",
            Bucket::SharePasswordPerLink => "share-password",
            Bucket::TwoFactorPerAccount => "two-factor-account",
        }
    }

    fn per_min(self, limits: &Limits) -> u32 {
        match self {
            Bucket::LoginPerClient
            | Bucket::LoginPerAccount
            | Bucket::SharePasswordPerLink
            | Bucket::TwoFactorPerAccount => limits.login_per_min,
            Bucket::UploadPerUser => limits.upload_per_min,
            Bucket::DownloadPerClient => limits.download_per_min,
        }
    }
}

#[derive(Clone)]
pub struct RateLimiter {
    backend: Backend,
    limits: Limits,
}

#[derive(Clone)]
enum Backend {
    Memory(Arc<MemoryLimits>),
    Redis { pool: RedisPool, prefix: String },
}

/// One in-process limiter per bucket, in `Bucket::ALL` order; `None` when switched off.
struct MemoryLimits([Option<DefaultKeyedRateLimiter<String>>; Bucket::ALL.len()]);

/// Per-minute limits; 0 switches one off.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub login_per_min: u32,
    pub upload_per_min: u32,
    pub download_per_min: u32,
}

impl RateLimiter {
    pub fn in_memory(limits: Limits) -> Self {
        let keyed =
            |n: u32| NonZeroU32::new(n).map(|n| governor::RateLimiter::keyed(Quota::per_minute(n)));
        Self {
            backend: Backend::Memory(Arc::new(MemoryLimits(
                Bucket::ALL.map(|bucket| keyed(bucket.per_min(&limits))),
            ))),
            limits,
        }
    }

    pub fn redis(pool: RedisPool, prefix: &str, limits: Limits) -> Self {
        Self {
            backend: Backend::Redis {
                pool,
                prefix: prefix.to_owned(),
            },
            limits,
        }
    }

    /// Counts one attempt; `Err(RateLimited)` once the key is over its limit for this minute.
    pub async fn hit(&self, bucket: Bucket, key: &str) -> Result<()> {
        let per_min = bucket.per_min(&self.limits);
        if per_min == 0 {
            return Ok(());
        }
        match &self.backend {
            Backend::Memory(limits) => {
                let Some(limiter) = &limits.0[bucket as usize] else {
                    return Ok(());
                };
                limiter.check_key(&key.to_owned()).map_err(|not_until| {
                    let wait =
                        not_until.wait_time_from(governor::clock::DefaultClock::default().now());
                    Error::RateLimited {
                        retry_after_secs: wait.as_secs().max(1),
                    }
                })
            }
            Backend::Redis { pool, prefix } => {
                let now = crate::server::db::now();
                let window = now / 60;
                let redis_key = format!("{prefix}:rl:{}:{}:{}", bucket.name(), key, window);
                let count: i64 = pool
                    .incr(&redis_key)
                    .await
                    .map_err(|e| Error::Unavailable(format!("redis rate limit: {e}")))?;
                if count == 1 {
                    let _: () = pool
                        .expire(&redis_key, 120, None)
                        .await
                        .map_err(|e| Error::Unavailable(format!("redis rate limit: {e}")))?;
                }
                if count > i64::from(per_min) {
                    Err(Error::RateLimited {
                        retry_after_secs: (60 - now % 60).max(1) as u64,
                    })
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Forgets idle in-process counters; called periodically.
    pub fn sweep(&self) {
        if let Backend::Memory(limits) = &self.backend {
            for limiter in limits.0.iter().flatten() {
                limiter.retain_recent();
            }
        }
    }
}
