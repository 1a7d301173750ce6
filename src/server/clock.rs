//! The time every rule reads. One [`Clock`] sits in the application state; nothing else asks
//! the system for the time of day. In production it is the system's; a test moves its own
//! instance's clock forward ([`Clock::advance`]) instead of waiting for an expiry, a rate-limit
//! window or a TOTP step.
//!
//! Timeouts and pacing (how long a request may take, how fast a body must arrive) are not
//! times of day: they stay on tokio's timers.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use time::OffsetDateTime;

/// The time of day, in whole seconds since the Unix epoch, with an offset only tests set.
/// Clones share the offset, so instances started from one test's clock agree.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    ahead_secs: Arc<AtomicI64>,
}

impl Clock {
    /// The system's time.
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, in unix seconds.
    pub fn now(&self) -> i64 {
        self.now_utc().unix_timestamp()
    }

    /// Now, as a date.
    pub fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.ahead_secs.load(Ordering::Relaxed))
    }

    /// Moves this clock (and its clones) `secs` seconds forward, for tests: whatever expires,
    /// ends its window or changes step in that time does so at once.
    pub fn advance(&self, secs: i64) {
        assert!(secs >= 0, "a clock only moves forward");
        self.ahead_secs.fetch_add(secs, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_and_its_clones_are_ahead_by_as_much() {
        let clock = Clock::system();
        let clone = clock.clone();
        let before = OffsetDateTime::now_utc().unix_timestamp();
        clock.advance(3600);
        let (a, b) = (clock.now(), clone.now());
        let after = OffsetDateTime::now_utc().unix_timestamp();
        for t in [a, b] {
            assert!((before + 3600..=after + 3600).contains(&t), "{t}");
        }
        assert!(
            Clock::system().now() <= after + 1,
            "other clocks stay on the system's time"
        );
    }
}
