//! The rate limiter: counts attempts per minute per key, and says when a key is over its quota.
//! In-process counters (governor) by default; with Redis, fixed one-minute windows in Redis so
//! that every instance behind a load balancer counts the same attempts.
//!
//! It knows nothing of logins or downloads: which quotas exist and what they are keyed by is
//! the service layer's (`service::limits`).

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, RwLock},
};

use governor::{clock::Clock, DefaultKeyedRateLimiter};
use tower_sessions_redis_store::fred::{clients::Pool as RedisPool, interfaces::KeysInterface};

use crate::server::error::{Error, Result};

/// A named allowance of attempts per minute; the name is part of every counter's key, so two
/// quotas never share a count. 0 attempts switches the quota off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    pub name: &'static str,
    pub per_min: u32,
}

#[derive(Clone)]
pub struct RateLimiter {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// One keyed limiter per quota, made the first time the quota is used.
    Memory(Arc<RwLock<HashMap<Quota, Arc<DefaultKeyedRateLimiter<String>>>>>),
    Redis {
        pool: RedisPool,
        prefix: String,
    },
}

impl RateLimiter {
    pub fn in_memory() -> Self {
        Self {
            backend: Backend::Memory(Arc::default()),
        }
    }

    pub fn redis(pool: RedisPool, prefix: &str) -> Self {
        Self {
            backend: Backend::Redis {
                pool,
                prefix: prefix.to_owned(),
            },
        }
    }

    /// Counts one attempt of `key` against `quota`; `Err(RateLimited)` once the key is over it
    /// for this minute.
    pub async fn hit(&self, quota: Quota, key: &str) -> Result<()> {
        let Some(per_min) = NonZeroU32::new(quota.per_min) else {
            return Ok(());
        };
        match &self.backend {
            Backend::Memory(limiters) => {
                let limiter = memory_limiter(limiters, quota, per_min);
                limiter.check_key(&key.to_owned()).map_err(|not_until| {
                    let wait =
                        not_until.wait_time_from(governor::clock::DefaultClock::default().now());
                    Error::RateLimited {
                        retry_after_secs: wait.as_secs().max(1),
                    }
                })
            }
            Backend::Redis { pool, prefix } => {
                let unavailable = |e| Error::unavailable("redis rate limit", e);
                let now = crate::server::db::now();
                let window = now / 60;
                let redis_key = format!("{prefix}:rl:{}:{}:{}", quota.name, key, window);
                let count: i64 = pool.incr(&redis_key).await.map_err(unavailable)?;
                if count == 1 {
                    let _: () = pool
                        .expire(&redis_key, 120, None)
                        .await
                        .map_err(unavailable)?;
                }
                if count > i64::from(per_min.get()) {
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
        if let Backend::Memory(limiters) = &self.backend {
            for limiter in limiters.read().expect("limiter lock").values() {
                limiter.retain_recent();
            }
        }
    }
}

fn memory_limiter(
    limiters: &RwLock<HashMap<Quota, Arc<DefaultKeyedRateLimiter<String>>>>,
    quota: Quota,
    per_min: NonZeroU32,
) -> Arc<DefaultKeyedRateLimiter<String>> {
    if let Some(limiter) = limiters.read().expect("limiter lock").get(&quota) {
        return limiter.clone();
    }
    limiters
        .write()
        .expect("limiter lock")
        .entry(quota)
        .or_insert_with(|| {
            Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(
                per_min,
            )))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_quota_counts_per_key_and_quotas_count_apart() {
        let limiter = RateLimiter::in_memory();
        let two = Quota {
            name: "two",
            per_min: 2,
        };
        let other = Quota {
            name: "other",
            per_min: 2,
        };
        assert!(limiter.hit(two, "a").await.is_ok());
        assert!(limiter.hit(two, "a").await.is_ok());
        let refused = limiter.hit(two, "a").await.unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        assert!(limiter.hit(two, "b").await.is_ok(), "another key");
        assert!(limiter.hit(other, "a").await.is_ok(), "another quota");
        let off = Quota {
            name: "off",
            per_min: 0,
        };
        for _ in 0..10 {
            assert!(limiter.hit(off, "a").await.is_ok());
        }
    }
}
