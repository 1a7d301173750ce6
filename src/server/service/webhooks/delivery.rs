//! Posting deliveries from the outbox. Every instance runs one worker with a bounded pool of
//! deliveries in flight ([`POOL`]); a user takes at most [`PER_USER`] of its places, so an
//! account whose receivers never answer slows only its own deliveries. A failed attempt is
//! tried again after `COFFER_WEBHOOK_RETRY_SECS`, doubling up to an hour, [`MAX_ATTEMPTS`]
//! times in all; a webhook that fails `COFFER_WEBHOOK_SUSPEND_AFTER` attempts in a row is
//! suspended until its owner resumes it.
//!
//! Each request is signed: `X-Coffer-Timestamp: <unix seconds>` and `X-Coffer-Signature-256:
//! sha256=<HMAC-SHA256 of "<timestamp>.<body>">` (see [`signature`]), so a receiver can refuse
//! an old request replayed to it. Unless `COFFER_WEBHOOK_ALLOW_PRIVATE` is on, a delivery goes
//! only to a public address ([`is_public`]): the name is resolved (within
//! [`LOOKUP_TIMEOUT`]), checked, and the connection made to that same address, directly (never
//! through a proxy from the environment, which would resolve the name again).

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use tokio::task::JoinSet;

use super::addresses::is_public;
use crate::server::{
    db::{
        self,
        webhooks::{DeliveryRow, Outcome},
    },
    error,
    state::AppState,
};
use coffer_crypto::{keyring::WEBHOOK_SECRET_PURPOSE, signature, Binding, WrappedKey};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// Deliveries in flight at once on one instance.
pub const POOL: usize = 16;
/// One user's deliveries in flight at once on one instance.
pub const PER_USER: usize = 2;
/// How long resolving a receiver's name may take.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest pause between attempts.
const MAX_RETRY_SECS: i64 = 3600;
/// A leased delivery is another worker's again after this long (well past [`TIMEOUT`] and
/// [`LOOKUP_TIMEOUT`] together).
const LEASE_SECS: i64 = 60;
/// How often the worker looks for due deliveries when none is in flight to wake it.
const POLL: Duration = Duration::from_secs(1);

/// Delivers due webhook events until the process ends.
pub async fn run_worker(state: AppState) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut running: JoinSet<String> = JoinSet::new();
    // Deliveries in flight per user id.
    let mut in_flight: HashMap<String, usize> = HashMap::new();
    loop {
        while running.len() < POOL {
            let busy: Vec<&str> = in_flight
                .iter()
                .filter(|(_, n)| **n >= PER_USER)
                .map(|(user, _)| user.as_str())
                .collect();
            let now = state.now();
            match db::webhooks::lease_next(state.db(), now, now + LEASE_SECS, &busy).await {
                Ok(Some(delivery)) => {
                    *in_flight.entry(delivery.user_id.clone()).or_default() += 1;
                    let state = state.clone();
                    running.spawn(async move {
                        deliver(&state, &delivery).await;
                        delivery.user_id
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook deliveries could not be leased");
                    break;
                }
            }
        }
        tokio::select! {
            Some(done) = running.join_next() => {
                if let Ok(user) = done {
                    if let Some(n) = in_flight.get_mut(&user) {
                        *n -= 1;
                        if *n == 0 {
                            in_flight.remove(&user);
                        }
                    }
                } else {
                    // A delivery task panicked; its lease runs out and another attempt
                    // follows. Its user's count cannot be told, so start counting afresh.
                    in_flight.clear();
                }
            }
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Attempts one leased delivery and records how it went.
async fn deliver(state: &AppState, delivery: &DeliveryRow) {
    let outcome = attempt(state, delivery).await;
    let now = state.now();
    let failure;
    let outcome = match &outcome {
        Ok(status) => Outcome::Delivered { status: *status },
        Err((status, error)) => {
            tracing::info!(delivery = %delivery.id, attempts = delivery.attempts, %error, "webhook delivery failed");
            failure = error.clone();
            Outcome::Failed {
                status: *status,
                error: &failure,
                retry_at: (delivery.attempts < MAX_ATTEMPTS)
                    .then(|| now + backoff(state, delivery.attempts)),
            }
        }
    };
    let suspend_after = i64::from(state.settings().webhooks.suspend_after);
    if let Err(e) =
        db::webhooks::record(&state.db().pool, delivery, outcome, now, suspend_after).await
    {
        tracing::warn!(delivery = %delivery.id, error = %e, "a webhook delivery's outcome was not recorded");
    }
}

/// The pause after attempt `attempts` (from 1) failed: the setting, doubling, at most an hour.
fn backoff(state: &AppState, attempts: i64) -> i64 {
    let base = i64::try_from(state.settings().webhooks.retry.as_secs()).unwrap_or(MAX_RETRY_SECS);
    let doublings = u32::try_from((attempts - 1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(1 << doublings).min(MAX_RETRY_SECS)
}

/// Posts one delivery: the receiver's status when it was 2xx, else the status (if any) and why.
async fn attempt(
    state: &AppState,
    delivery: &DeliveryRow,
) -> std::result::Result<i64, (Option<i64>, String)> {
    let gone = || (None, "the webhook was deleted".to_owned());
    let hook = db::webhooks::find(&state.db().pool, &delivery.webhook_id)
        .await
        .map_err(|e| (None, format!("database: {e}")))?
        .ok_or_else(gone)?;
    let secret = state
        .keys()
        .open(
            Binding::row(WEBHOOK_SECRET_PURPOSE, &hook.id),
            &WrappedKey {
                master_key_id: hook.master_key_id.clone(),
                sealed: hook.secret.clone(),
            },
        )
        .map_err(|e| (None, format!("the webhook's secret cannot be opened: {e}")))?;
    let url = reqwest::Url::parse(&hook.url).map_err(|e| (None, format!("bad URL: {e}")))?;
    let client = client_for(&url, state.settings().webhooks.allow_private)
        .await
        .map_err(|e| (None, e))?;
    let timestamp = state.now();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("Coffer-Webhook/", env!("CARGO_PKG_VERSION")),
        )
        .header("x-coffer-event", &delivery.event)
        .header("x-coffer-delivery", &delivery.id)
        .header("x-coffer-timestamp", timestamp.to_string())
        .header(
            "x-coffer-signature-256",
            signature::sign(&secret, timestamp, delivery.payload.as_bytes()),
        )
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|e| (None, describe(&e)))?;
    let status = i64::from(response.status().as_u16());
    if response.status().is_success() {
        Ok(status)
    } else {
        Err((
            Some(status),
            format!("the receiver answered {}", response.status()),
        ))
    }
}

/// A client that connects only to an address the URL's host was checked at: directly (no
/// proxy), following no redirect. A name that cannot be resolved in time and one that resolves
/// only to addresses that are not public get the same words, so the recorded error does not
/// tell a user which names the server's network knows.
pub(crate) async fn client_for(
    url: &reqwest::Url,
    allow_private: bool,
) -> std::result::Result<reqwest::Client, String> {
    let host = url.host_str().ok_or("the URL has no host")?.to_owned();
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let no_address = || format!("{host} does not resolve to a public address");
    let addresses: Vec<SocketAddr> = match tokio::time::timeout(
        LOOKUP_TIMEOUT,
        tokio::net::lookup_host((lookup_host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(addresses)) => addresses.collect(),
        Ok(Err(e)) => {
            tracing::debug!(%host, error = %e, "a webhook's host did not resolve");
            return Err(no_address());
        }
        Err(_) => {
            tracing::debug!(%host, "a webhook's host took too long to resolve");
            return Err(no_address());
        }
    };
    let Some(address) = addresses
        .into_iter()
        .find(|a| allow_private || is_public(a.ip()))
    else {
        return Err(no_address());
    };
    reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&lookup_host, address)
        .build()
        .map_err(|e| format!("client: {e}"))
}

/// A transport error in words, with its causes.
fn describe(e: &reqwest::Error) -> String {
    let head = if e.is_timeout() {
        format!("no answer within {} seconds", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        e.to_string()
    };
    head + &error::causes(e)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// A loopback server that answers every request 200 and counts them.
    fn counting_server() -> (std::net::SocketAddr, std::sync::mpsc::Receiver<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = [0u8; 4096];
                let n = stream.read(&mut head).unwrap_or(0);
                let first_line = String::from_utf8_lossy(&head[..n])
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                let _ = tx.send(first_line);
            }
        });
        (addr, rx)
    }

    /// With `HTTP_PROXY` and `HTTPS_PROXY` set, a delivery still goes straight to the address
    /// that was checked: a proxy would resolve the name again (DNS rebinding). The proxy
    /// variables are the process's, so the check runs in a child process of its own.
    #[test]
    fn deliveries_ignore_proxies_from_the_environment() {
        const CHILD: &str = "COFFER_TEST_PROXY_CHILD";
        if let Ok(target) = std::env::var(CHILD) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let status = runtime.block_on(async {
                let url = reqwest::Url::parse(&format!("http://localhost:{target}/hook")).unwrap();
                let client = client_for(&url, true).await.unwrap();
                client.post(url).body("{}").send().await.unwrap().status()
            });
            assert_eq!(status, 200);
            return;
        }
        let (proxy, proxied) = counting_server();
        let (target, received) = counting_server();
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "server::service::webhooks::delivery::tests::deliveries_ignore_proxies_from_the_environment",
                "--nocapture",
            ])
            .env(CHILD, target.port().to_string())
            .env("HTTP_PROXY", format!("http://{proxy}"))
            .env("http_proxy", format!("http://{proxy}"))
            .env("HTTPS_PROXY", format!("http://{proxy}"))
            .env("ALL_PROXY", format!("http://{proxy}"))
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let got = received
            .recv_timeout(Duration::from_secs(10))
            .expect("the receiver got the delivery");
        assert!(got.starts_with("POST /hook "), "{got}");
        assert!(
            proxied.try_recv().is_err(),
            "nothing went through the proxy"
        );
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_and_a_private_one_read_the_same() {
        let unknown = reqwest::Url::parse("http://no-such-host.invalid/hook").unwrap();
        let private = reqwest::Url::parse("http://localhost/hook").unwrap();
        let unknown = client_for(&unknown, false).await.unwrap_err();
        let private = client_for(&private, false).await.unwrap_err();
        assert_eq!(
            unknown.replace("no-such-host.invalid", "HOST"),
            private.replace("localhost", "HOST")
        );
        assert!(private.contains("does not resolve to a public address"));
    }
}
