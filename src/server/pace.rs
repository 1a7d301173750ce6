//! Sharing the runtime's threads. Encrypting, decrypting and hashing are CPU work done between
//! awaits. A transfer whose data is always ready (a fast client, a file in the page cache) would
//! keep a runtime thread for many milliseconds at a stretch — tokio's cooperative budget counts
//! I/O operations, not CPU time — and every small request queued behind it, a health probe or a
//! page, would wait that long. A [`Pace`] hands the thread back after every [`SLICE`] of bytes.

/// Bytes processed between two yields: about half a millisecond of sealing on one core.
pub const SLICE: usize = 256 * 1024;

/// Counts the bytes a stream has processed and yields to the runtime every [`SLICE`].
#[derive(Debug, Default)]
pub struct Pace {
    since_yield: usize,
}

impl Pace {
    pub async fn processed(&mut self, bytes: usize) {
        self.since_yield += bytes;
        if self.since_yield >= SLICE {
            self.since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_busy_stream_lets_other_tasks_run_every_slice() {
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let other = {
            let ran = ran.clone();
            tokio::spawn(async move { ran.store(true, std::sync::atomic::Ordering::SeqCst) })
        };
        let mut pace = Pace::default();
        pace.processed(SLICE - 1).await;
        assert!(
            !ran.load(std::sync::atomic::Ordering::SeqCst),
            "yielded too early"
        );
        pace.processed(1).await;
        assert!(
            ran.load(std::sync::atomic::Ordering::SeqCst),
            "did not yield"
        );
        other.await.unwrap();
    }
}
