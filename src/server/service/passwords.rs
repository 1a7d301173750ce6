//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1), always on a
//! blocking thread so that a burst of logins never stalls other requests, in two pools of
//! slots: accounts' passwords (sign-in, registration, changes) and links' passwords (share links
//! and upload requests, made and opened). Making protected links cannot then slow anyone's
//! sign-in. Each pool runs at most its slots at once (a burst queues instead of allocating
//! 19 MiB per request), and refuses at once (503 `server_busy`) when its queue is deep.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    LazyLock,
};

use tokio::sync::Semaphore;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use crate::server::{
    error::{Error, Result},
    service::{
        rate_limits::{self, Bucket},
        RequestMeta,
    },
    state::AppState,
};

/// Compared against when the account does not exist, so that "no such user" and "wrong
/// password" take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking("coffer-timing-equaliser").expect("hashing a constant cannot fail")
});

/// Slots for hashing and a bounded queue for them.
struct HashPool {
    slots: Semaphore,
    /// Computations waiting for a slot or running.
    queued: AtomicUsize,
    /// Past this many queued, a new one is refused at once.
    max_queued: usize,
}

impl HashPool {
    fn new(slots: usize, max_queued: usize) -> Self {
        Self {
            slots: Semaphore::new(slots),
            queued: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// Runs one argon2 computation on a blocking thread once a slot is free; 503 at once when
    /// the queue is full.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let queued = Queued::join(self)?;
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| Error::internal("argon2 slot", e))?;
        let done = tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::internal("argon2 task", e));
        drop(queued);
        done
    }
}

/// One place in a pool's queue, given back when dropped (also when the request is dropped).
struct Queued<'a>(&'a HashPool);

impl<'a> Queued<'a> {
    fn join(pool: &'a HashPool) -> Result<Self> {
        let before = pool.queued.fetch_add(1, Ordering::AcqRel);
        if before >= pool.max_queued {
            pool.queued.fetch_sub(1, Ordering::AcqRel);
            crate::server::metrics::rate_limited("password-hashing");
            return Err(Error::ServerBusy);
        }
        Ok(Queued(pool))
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Accounts' passwords: one core fewer than the machine has (at least one), so that a stream of
/// logins never takes every core from the runtime's threads. On two cores, two hashes at once
/// took 20 % of the uploads' throughput for 20 % more logins a second (`scripts/bench.sh`,
/// latency part). Up to 64 wait (about 3 s of sign-ins on one slot).
static ACCOUNTS: LazyLock<HashPool> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    HashPool::new(cores.saturating_sub(1).max(1), 64)
});

/// Links' passwords: one slot of their own, and a short queue.
static LINKS: LazyLock<HashPool> = LazyLock::new(|| HashPool::new(1, 8));

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

/// Hashes an account's password.
pub async fn hash(password: String) -> Result<String> {
    ACCOUNTS.run(move || hash_blocking(&password)).await?
}

/// Hashes a link's (a share link's or an upload request's) password, in the links' own pool.
pub async fn hash_for_link(password: String) -> Result<String> {
    LINKS.run(move || hash_blocking(&password)).await?
}

/// Verifies an account's password against `hash`, or against a dummy hash when there is none
/// (unknown account).
pub async fn verify(password: String, hash: Option<String>) -> Result<bool> {
    ACCOUNTS
        .run(move || match hash {
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
    let counted = rate_limits::hit_all(state, &buckets).await?;
    let hash = hash.to_owned();
    let right = LINKS.run(move || verify_blocking(&given, &hash)).await?;
    if right {
        rate_limits::forgive_all(state, &buckets, &counted).await;
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
        use std::sync::atomic::AtomicUsize;
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let pool = HashPool::new(2, 64);
        let burst = (0..32).map(|_| {
            pool.run(|| {
                let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
                PEAK.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                RUNNING.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for done in futures::future::join_all(burst).await {
            done.unwrap();
        }
        let peak = PEAK.load(Ordering::SeqCst);
        assert!((1..=2).contains(&peak), "peak {peak}");
    }

    /// Past its queue, a pool refuses at once with 503 instead of making everyone wait; the
    /// places come back as the work ends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_deep_queue_is_refused_at_once_and_drains() {
        let pool = std::sync::Arc::new(HashPool::new(1, 3));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = std::sync::Arc::new(std::sync::Mutex::new(gate));
        let mut held = Vec::new();
        for _ in 0..3 {
            let (pool, gate) = (pool.clone(), gate.clone());
            held.push(tokio::spawn(async move {
                pool.run(move || gate.lock().unwrap().recv().unwrap()).await
            }));
        }
        while pool.queued.load(Ordering::SeqCst) < 3 {
            tokio::task::yield_now().await;
        }
        let refused = pool.run(|| ()).await.unwrap_err();
        assert_eq!(refused.code(), "server_busy");
        assert_eq!(
            refused.status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        );
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        for done in held {
            done.await.unwrap().unwrap();
        }
        assert_eq!(pool.queued.load(Ordering::SeqCst), 0);
        pool.run(|| ()).await.unwrap();
    }

    /// Links' passwords have their own slots: while every one of them is taken, an account's
    /// password is still checked.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_busy_link_pool_does_not_hold_up_sign_ins() {
        let account = hash("correct horse".into()).await.unwrap();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let busy = tokio::spawn(LINKS.run(move || gate.recv().unwrap()));
        while LINKS.slots.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let checked = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            verify("correct horse".into(), Some(account)),
        )
        .await
        .expect("a sign-in does not wait for the links' pool");
        assert!(checked.unwrap());
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn same_password_gets_different_salts() {
        let a = hash("pw-12345678".into()).await.unwrap();
        let b = hash("pw-12345678".into()).await.unwrap();
        assert_ne!(a, b);
    }
}
