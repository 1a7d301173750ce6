//! The time every rule reads. One [`Clock`] sits in the application state; nothing else asks
//! the system for the time of day. In production it is the system's; a test moves its own
//! instance's clock forward ([`Clock::advance`]) instead of waiting for an expiry, a rate-limit
//! window or a TOTP step, or holds it still ([`Clock::stop`]) while it counts attempts.
//!
//! Timeouts and pacing (how long a request may take, how fast a body must arrive) are not
//! times of day: they stay on tokio's timers.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use time::OffsetDateTime;

/// The time of day, in whole seconds since the Unix epoch, with an offset only tests set, and
/// (tests only) held still. Clones share both, so instances started from one test's clock agree.
#[derive(Clone, Debug)]
pub struct Clock {
    ahead_secs: Arc<AtomicI64>,
    /// The system's second the clock was stopped at, or [`RUNNING`].
    stopped_at: Arc<AtomicI64>,
}

const RUNNING: i64 = i64::MIN;

impl Default for Clock {
    fn default() -> Self {
        Self {
            ahead_secs: Arc::default(),
            stopped_at: Arc::new(AtomicI64::new(RUNNING)),
        }
    }
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
        let ahead = time::Duration::seconds(self.ahead_secs.load(Ordering::Relaxed));
        match self.stopped_at.load(Ordering::Relaxed) {
            RUNNING => OffsetDateTime::now_utc() + ahead,
            stopped => {
                OffsetDateTime::from_unix_timestamp(stopped).unwrap_or(OffsetDateTime::UNIX_EPOCH)
                    + ahead
            }
        }
    }

    /// Moves this clock (and its clones) `secs` seconds forward, for tests: whatever expires,
    /// ends its window or changes step in that time does so at once.
    pub fn advance(&self, secs: i64) {
        assert!(secs >= 0, "a clock only moves forward");
        self.ahead_secs.fetch_add(secs, Ordering::Relaxed);
    }

    /// Holds this clock (and its clones) at the current second, for tests that count attempts
    /// within one rate-limit window: however slowly the test runs, the window does not move on
    /// under it. [`advance`](Self::advance) still moves it.
    pub fn stop(&self) {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let _ =
            self.stopped_at
                .compare_exchange(RUNNING, now, Ordering::Relaxed, Ordering::Relaxed);
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

    #[test]
    fn a_stopped_clock_holds_still_but_advances() {
        let clock = Clock::system();
        clock.stop();
        let held = clock.now();
        // Until the system's second has moved on (at most a second).
        while OffsetDateTime::now_utc().unix_timestamp() <= held {
            std::thread::yield_now();
        }
        assert_eq!(clock.clone().now(), held);
        clock.advance(60);
        assert_eq!(clock.now(), held + 60);
    }
}
