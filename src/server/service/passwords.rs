//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1), always on a
//! blocking thread so that a burst of logins never stalls other requests, and never more at
//! once than there are CPUs less one: a burst queues instead of allocating 19 MiB per request.

use std::sync::LazyLock;

use tokio::sync::Semaphore;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use crate::server::{
    error::{Error, Result},
    service::{
        limits::{self, Bucket},
        RequestMeta,
    },
    state::AppState,
};

/// Compared against when the account does not exist, so that "no such user" and "wrong
/// password" take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking("coffer-timing-equaliser").expect("hashing a constant cannot fail")
});

/// Hashes running at once, process-wide: one core fewer than the machine has (at least one),
/// so that a stream of logins never takes every core from the runtime's threads. On two cores,
/// two hashes at once took 20 % of the uploads' throughput for 20 % more logins a second
/// (`scripts/bench.sh`, latency part).
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Semaphore::new(cores.saturating_sub(1).max(1))
});

/// Runs one argon2 computation on a blocking thread once a hashing slot is free.
async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _slot = HASHING
        .acquire()
        .await
        .map_err(|e| Error::internal("argon2 slot", e))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal("argon2 task", e))
}

fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("argon2 hash", e))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub async fn hash(password: String) -> Result<String> {
    run(move || hash_blocking(&password)).await?
}

/// Verifies against `hash`, or against a dummy hash when there is none (unknown account).
pub async fn verify(password: String, hash: Option<String>) -> Result<bool> {
    run(move || match hash {
        Some(hash) => verify_blocking(&password, &hash),
        None => {
            verify_blocking(&password, &DUMMY_HASH);
            false
        }
    })
    .await
}

/// Checks the password a link (a share link or an upload request) is protected with. Wrong
/// ones are limited as failed logins are: per link and client at the login rate, and per link
/// from everywhere at ten times that an hour (a backstop against guessing from many
/// addresses). Each attempt is counted before the check, so parallel guesses cannot slip past,
/// and taken back when the password was right: recipients and the owner's scripts that know
/// it are never refused for using it often.
pub async fn check_link(
    state: &AppState,
    meta: &RequestMeta,
    link_id: &str,
    hash: &str,
    given: String,
) -> Result<bool> {
    let link_client = format!("{link_id}|{}", meta.client());
    let buckets = [
        (Bucket::LinkPasswordPerLinkClient, link_client.as_str()),
        (Bucket::LinkPasswordPerLink, link_id),
    ];
    let counted = limits::hit_all(state, &buckets).await?;
    let right = verify(given, Some(hash.to_owned())).await?;
    if right {
        limits::forgive_all(state, &buckets, &counted).await;
    }
    Ok(right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_hashes_never_runs_more_at_once_than_the_cap() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let burst = (0..32).map(|_| {
            run(|| {
                let now = RUNNING.fetch_add(1, SeqCst) + 1;
                PEAK.fetch_max(now, SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                RUNNING.fetch_sub(1, SeqCst);
            })
        });
        for done in futures::future::join_all(burst).await {
            done.unwrap();
        }
        let cap = std::thread::available_parallelism().map_or(2, |n| n.get());
        let peak = PEAK.load(SeqCst);
        assert!(peak >= 1 && peak <= cap, "peak {peak}, cap {cap}");
    }

    #[tokio::test]
    async fn same_password_gets_different_salts() {
        let a = hash("pw-12345678".into()).await.unwrap();
        let b = hash("pw-12345678".into()).await.unwrap();
        assert_ne!(a, b);
    }
}
