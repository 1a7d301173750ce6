//! The rate limiter: counts attempts per key in windows of a minute or an hour and says when a
//! key is over its quota. It is a sliding-window counter: the count of the previous window
//! weighs in for the part of it that the last `window` seconds still cover, so a key cannot
//! reset its allowance by waiting for a window edge, nor spend two allowances across one.
//! In-process counters by default; with Redis, the same counters kept in Redis so that every
//! instance behind a load balancer counts the same attempts.
//!
//! It knows nothing of logins or downloads: which quotas exist and what they are keyed by is
//! the service layer's (`service::limits`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tower_sessions_redis_store::fred::{clients::Pool as RedisPool, interfaces::KeysInterface};

use crate::server::{
    clock::Clock,
    error::{Error, Result},
};

/// A named allowance of attempts per window; the name is part of every counter's key, so two
/// quotas never share a count. A limit of 0 switches the quota off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    pub name: &'static str,
    pub limit: u32,
    pub window_secs: u64,
}

impl Quota {
    pub const fn per_minute(name: &'static str, limit: u32) -> Self {
        Self {
            name,
            limit,
            window_secs: 60,
        }
    }

    pub const fn per_hour(name: &'static str, limit: u32) -> Self {
        Self {
            name,
            limit,
            window_secs: 3600,
        }
    }

    /// The window `now` (unix seconds) falls in, named by the second it ends, and the seconds
    /// until then.
    fn window(&self, now: i64) -> (i64, u64) {
        let len = self.window_secs as i64;
        let ends_at = (now.div_euclid(len) + 1) * len;
        (ends_at, (ends_at - now) as u64)
    }
}

/// An attempt [`RateLimiter::hit`] counted: the window it was counted in, so that
/// [`RateLimiter::forgive`] takes it back from that window even once the next has begun.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    window: i64,
}

/// A key's attempts in the window that ends at `ends_at`, and in the window before it.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    ends_at: i64,
    /// The window's length, in seconds.
    len: i64,
    current: u32,
    previous: u32,
}

impl Counts {
    /// These counts as of the window ending at `window_end` (which may have moved on).
    fn at(self, window_end: i64, len: i64) -> Self {
        match window_end - self.ends_at {
            0 => self,
            moved if moved == len => Counts {
                ends_at: window_end,
                len,
                current: 0,
                previous: self.current,
            },
            _ => Counts {
                ends_at: window_end,
                len,
                ..Counts::default()
            },
        }
    }
}

/// Whether `current` attempts in this window, plus the part of `previous` that the sliding
/// window still covers (`left` of `len` seconds), pass `limit`.
fn over(limit: u32, len: u64, left: u64, current: u64, previous: u64) -> bool {
    current * len + previous * left > u64::from(limit) * len
}

#[derive(Clone)]
pub struct RateLimiter {
    backend: Backend,
    clock: Clock,
}

#[derive(Clone)]
enum Backend {
    /// `quota:key` → counts of its current window and the one before.
    Memory(Arc<Mutex<HashMap<String, Counts>>>),
    Redis {
        pool: RedisPool,
        prefix: String,
    },
}

impl RateLimiter {
    pub fn in_memory(clock: Clock) -> Self {
        Self {
            backend: Backend::Memory(Arc::default()),
            clock,
        }
    }

    pub fn redis(pool: RedisPool, prefix: &str, clock: Clock) -> Self {
        Self {
            backend: Backend::Redis {
                pool,
                prefix: prefix.to_owned(),
            },
            clock,
        }
    }

    /// Counts one attempt of `key` against `quota`; `Err(RateLimited)` once the key is over it
    /// for this window (the refused attempt counts too).
    pub async fn hit(&self, quota: Quota, key: &str) -> Result<Counted> {
        self.hit_at(quota, key, self.clock.now()).await
    }

    async fn hit_at(&self, quota: Quota, key: &str, now: i64) -> Result<Counted> {
        let (window, left) = quota.window(now);
        if quota.limit == 0 {
            return Ok(Counted { window });
        }
        let len = quota.window_secs as i64;
        let (current, previous) = match &self.backend {
            Backend::Memory(counters) => {
                let mut counters = counters.lock().expect("rate limit lock");
                let entry = counters.entry(format!("{}:{key}", quota.name)).or_default();
                *entry = entry.at(window, len);
                entry.current = entry.current.saturating_add(1);
                (u64::from(entry.current), u64::from(entry.previous))
            }
            Backend::Redis { pool, prefix } => {
                let unavailable = |e| Error::unavailable("redis rate limit", e);
                let key_of = |w: i64| format!("{prefix}:rl:{}:{key}:{w}", quota.name);
                let current: i64 = pool.incr(key_of(window)).await.map_err(unavailable)?;
                if current == 1 {
                    let ttl = (quota.window_secs * 2) as i64;
                    let _: () = pool
                        .expire(key_of(window), ttl, None)
                        .await
                        .map_err(unavailable)?;
                }
                let previous: Option<i64> =
                    pool.get(key_of(window - len)).await.map_err(unavailable)?;
                (current.max(0) as u64, previous.unwrap_or(0).max(0) as u64)
            }
        };
        if over(quota.limit, quota.window_secs, left, current, previous) {
            crate::server::metrics::rate_limited(quota.name);
            // The earliest the count can be back within the limit is this window's end.
            Err(Error::RateLimited {
                retry_after_secs: left,
            })
        } else {
            Ok(Counted { window })
        }
    }

    /// Takes back one attempt [`hit`](Self::hit) counted, from the window it was counted in
    /// (also when the next window has begun since): for quotas that count failures, the caller
    /// hits before trying and forgives when the attempt succeeds, so concurrent attempts can
    /// never slip past the count. Best effort.
    pub async fn forgive(&self, quota: Quota, key: &str, counted: Counted) {
        if quota.limit == 0 {
            return;
        }
        let window = counted.window;
        match &self.backend {
            Backend::Memory(counters) => {
                let mut counters = counters.lock().expect("rate limit lock");
                if let Some(entry) = counters.get_mut(&format!("{}:{key}", quota.name)) {
                    if entry.ends_at == window {
                        entry.current = entry.current.saturating_sub(1);
                    } else if entry.ends_at == window + entry.len {
                        entry.previous = entry.previous.saturating_sub(1);
                    }
                }
            }
            Backend::Redis { pool, prefix } => {
                let redis_key = format!("{prefix}:rl:{}:{key}:{window}", quota.name);
                let taken: std::result::Result<i64, _> = pool.decr(&redis_key).await;
                if let Err(e) = taken {
                    tracing::warn!(error = %e, "could not take back a rate-limit count");
                }
            }
        }
    }

    /// Forgets in-process counters that no longer weigh in (their window and the next one have
    /// ended); called periodically.
    pub fn sweep(&self) {
        if let Backend::Memory(counters) = &self.backend {
            let now = self.clock.now();
            counters
                .lock()
                .expect("rate limit lock")
                .retain(|_, counts| counts.ends_at + counts.len > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_quota_counts_per_key_and_quotas_count_apart() {
        let limiter = RateLimiter::in_memory(Clock::system());
        let two = Quota::per_minute("two", 2);
        let other = Quota::per_minute("other", 2);
        assert!(limiter.hit(two, "a").await.is_ok());
        assert!(limiter.hit(two, "a").await.is_ok());
        let refused = limiter.hit(two, "a").await.unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        assert!(limiter.hit(two, "b").await.is_ok(), "another key");
        assert!(limiter.hit(other, "a").await.is_ok(), "another quota");
        let off = Quota::per_minute("off", 0);
        for _ in 0..10 {
            assert!(limiter.hit(off, "a").await.is_ok());
        }
    }

    #[tokio::test]
    async fn windows_end_and_forgiven_attempts_do_not_count() {
        let limiter = RateLimiter::in_memory(Clock::system());
        let one = Quota::per_hour("one", 1);
        let start = 7200;
        let counted = limiter.hit_at(one, "k", start).await.unwrap();
        limiter.forgive(one, "k", counted).await;
        limiter.hit_at(one, "k", start + 2).await.unwrap();
        let refused = limiter.hit_at(one, "k", start + 3).await.unwrap_err();
        assert!(
            matches!(refused, Error::RateLimited { retry_after_secs } if retry_after_secs == 3597)
        );
        // The previous window still weighs in for the part the sliding window covers.
        let refused = limiter.hit_at(one, "k", start + 3600).await.unwrap_err();
        assert!(matches!(refused, Error::RateLimited { .. }));
        // Once a whole window has passed since the last attempt, nothing weighs in.
        limiter.hit_at(one, "k", start + 3600 * 3).await.unwrap();
    }

    #[tokio::test]
    async fn a_window_edge_does_not_reset_the_allowance() {
        let limiter = RateLimiter::in_memory(Clock::system());
        let ten = Quota::per_minute("ten", 10);
        // Ten attempts in the last second of a window; the first ones of the next are refused.
        for _ in 0..10 {
            limiter.hit_at(ten, "k", 119).await.unwrap();
        }
        assert!(limiter.hit_at(ten, "k", 120).await.is_err());
        // Halfway through the next window, half of the previous ten still count.
        let limiter = RateLimiter::in_memory(Clock::system());
        for _ in 0..10 {
            limiter.hit_at(ten, "k", 100).await.unwrap();
        }
        for _ in 0..5 {
            limiter.hit_at(ten, "k", 150).await.unwrap();
        }
        assert!(limiter.hit_at(ten, "k", 150).await.is_err());
    }

    #[tokio::test]
    async fn an_attempt_is_forgiven_in_its_window_after_the_next_has_begun() {
        let limiter = RateLimiter::in_memory(Clock::system());
        let two = Quota::per_minute("two", 2);
        // Counted in the last second of a window, forgiven once the next began: it weighs
        // nothing in the next window, so two attempts fit there.
        let counted = limiter.hit_at(two, "a", 119).await.unwrap();
        limiter.forgive(two, "a", counted).await;
        limiter.hit_at(two, "a", 120).await.unwrap();
        limiter.hit_at(two, "a", 120).await.unwrap();
        assert!(limiter.hit_at(two, "a", 120).await.is_err());
        // The same with another attempt counted in the next window before the forgiving.
        let counted = limiter.hit_at(two, "b", 119).await.unwrap();
        limiter.hit_at(two, "b", 120).await.unwrap();
        limiter.forgive(two, "b", counted).await;
        limiter.hit_at(two, "b", 120).await.unwrap();
        assert!(limiter.hit_at(two, "b", 120).await.is_err());
    }
}
