//! Webhooks: a user's URLs that Coffer tells, by a signed JSON `POST`, when a file arrives
//! through one of their upload requests (with "notify" on) and when someone downloads through
//! one of their share links.
//!
//! Events go through an outbox: each is queued for its webhooks in the database transaction of
//! what happened, so nothing that happened is left untold after a crash, and nothing is told
//! that did not happen. A worker on every instance leases due deliveries (one instance gets
//! each) and posts them; a failed one (no answer, or not 2xx) is tried again after
//! `COFFER_WEBHOOK_RETRY_SECS`, doubling up to an hour, [`MAX_ATTEMPTS`] times in all.
//!
//! Each body is signed with the webhook's secret: `X-Coffer-Signature-256:
//! sha256=<HMAC-SHA256 of the body, hex>`. Unless `COFFER_WEBHOOK_ALLOW_PRIVATE` is on,
//! deliveries go only to public addresses, checked after resolving the name and then connected
//! to that same address, so a webhook cannot be pointed into the server's own network.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use serde_json::json;

use crate::{
    app::model::{
        CreatedWebhook, DeliveryInfo, NewWebhook, WebhookInfo, EVENT_REQUEST_FILE_RECEIVED,
        EVENT_SHARE_DOWNLOADED, MAX_WEBHOOKS, WEBHOOK_EVENTS,
    },
    server::{
        crypto::{signature, Binding, WrappedKey},
        db::{
            self,
            files::FileRow,
            requests::RequestRow,
            shares::ShareRow,
            users::UserRow,
            webhooks::{DeliveryRow, Event, Outcome, WebhookRow},
        },
        error::{Error, Result},
        service::key_rotation,
        state::AppState,
    },
};

/// What webhook secrets are sealed as, bound to their webhook's id.
pub const SECRET_PURPOSE: &[u8] = b"coffer/webhook-secret/v1";
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// The longest pause between attempts.
const MAX_RETRY_SECS: i64 = 3600;
/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// A leased delivery is another worker's again after this long.
const LEASE_SECS: i64 = 60;
/// How often the worker looks for due deliveries.
const POLL: Duration = Duration::from_secs(1);
const MAX_URL_CHARS: usize = 2048;
/// Deliveries listed per webhook.
const LISTED_DELIVERIES: i64 = 50;
/// Deliveries that arrived or were given up are kept this long (for the list), then pruned.
pub const DELIVERY_RETENTION_DAYS: i64 = 30;

fn info(row: &WebhookRow) -> WebhookInfo {
    WebhookInfo {
        id: row.id.clone(),
        url: row.url.clone(),
        events: row.events.split(',').map(str::to_owned).collect(),
        created_at: db::to_datetime(row.created_at),
    }
}

/// Adds a webhook; its signing secret is in the answer, and only there.
pub async fn create(state: &AppState, user: &UserRow, new: NewWebhook) -> Result<CreatedWebhook> {
    let url = new.url.trim().to_owned();
    check_url(state, &url)?;
    let events = match new.events {
        None => WEBHOOK_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
        Some(events) if events.is_empty() => {
            return Err(Error::Validation("Choose at least one event".into()))
        }
        Some(events) => {
            let mut chosen: Vec<String> = Vec::new();
            for event in events {
                if !WEBHOOK_EVENTS.contains(&event.as_str()) {
                    return Err(Error::Validation(format!(
                        "Unknown event {event:?}: the events are {}",
                        WEBHOOK_EVENTS.join(", ")
                    )));
                }
                if !chosen.contains(&event) {
                    chosen.push(event);
                }
            }
            chosen
        }
    };
    let pool = &state.db().pool;
    if db::webhooks::count_by_user(pool, &user.id).await? >= MAX_WEBHOOKS as i64 {
        return Err(Error::Validation(format!(
            "You can have at most {MAX_WEBHOOKS} webhooks; delete one first"
        )));
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let secret = format!("whsec_{}", URL_SAFE_NO_PAD.encode(secret));
    let id = db::new_id();
    let sealed = key_rotation::sealing_ring(state)
        .await?
        .seal(Binding::row(SECRET_PURPOSE, &id), secret.as_bytes());
    let row = WebhookRow {
        id,
        user_id: user.id.clone(),
        url,
        events: events.join(","),
        master_key_id: sealed.master_key_id,
        secret: sealed.sealed,
        created_at: db::now(),
    };
    db::webhooks::insert(pool, &row).await?;
    Ok(CreatedWebhook {
        webhook: info(&row),
        secret,
    })
}

pub async fn list(state: &AppState, user: &UserRow) -> Result<Vec<WebhookInfo>> {
    let rows = db::webhooks::list_by_user(&state.db().pool, &user.id).await?;
    Ok(rows.iter().map(info).collect())
}

pub async fn delete(state: &AppState, user: &UserRow, id: &str) -> Result<()> {
    if db::webhooks::delete(&state.db().pool, &user.id, id).await? {
        Ok(())
    } else {
        Err(Error::NotFound("webhook"))
    }
}

/// A webhook's latest deliveries, newest first.
pub async fn deliveries(state: &AppState, user: &UserRow, id: &str) -> Result<Vec<DeliveryInfo>> {
    let pool = &state.db().pool;
    db::webhooks::find(pool, id)
        .await?
        .filter(|hook| hook.user_id == user.id)
        .ok_or(Error::NotFound("webhook"))?;
    let rows = db::webhooks::deliveries(pool, id, LISTED_DELIVERIES).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let status = if row.delivered_at.is_some() {
                "delivered"
            } else if row.gave_up_at.is_some() {
                "failed"
            } else {
                "pending"
            };
            DeliveryInfo {
                next_attempt_at: (status == "pending")
                    .then(|| db::to_datetime(row.next_attempt_at)),
                id: row.id,
                event: row.event,
                created_at: db::to_datetime(row.created_at),
                attempts: row.attempts.max(0) as u64,
                status: status.to_owned(),
                last_status: row.last_status.and_then(|s| u16::try_from(s).ok()),
                last_error: row.last_error,
            }
        })
        .collect())
}

/// Whether `url` may be a webhook: http or https, with a host; and, unless private addresses
/// are allowed, not an address literal of the server's own networks (names are checked when
/// they are resolved, at each delivery).
fn check_url(state: &AppState, url: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::Validation(format!("The webhook URL {why}")));
    if url.chars().count() > MAX_URL_CHARS {
        return bad(&format!("can have at most {MAX_URL_CHARS} characters"));
    }
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return bad("is not a URL");
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return bad("must start with http:// or https://");
    }
    let Some(host) = parsed.host_str() else {
        return bad("has no host");
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return bad("must not carry a user name or password");
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        if !state.settings().webhook_allow_private && !is_public(ip) {
            return bad("points into a private network, which this server does not post to");
        }
    }
    Ok(())
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared,
/// unspecified, broadcast, documentation or multicast (IPv4-mapped IPv6 as its IPv4).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// The event "a file arrived through this request", for its owner's webhooks.
pub(crate) fn file_received(request: &RequestRow, file: &FileRow) -> Event {
    event(
        &request.owner_id,
        EVENT_REQUEST_FILE_RECEIVED,
        json!({
            "request": {"id": request.id, "title": request.title},
            "file": {
                "id": file.id,
                "filename": file.filename,
                "size": file.size,
                "mime_type": file.mime_type,
                "sha256": file.sha256,
            },
        }),
    )
}

/// The event "someone downloaded these files through this link", for its maker's webhooks.
pub(crate) fn share_downloaded(link: &ShareRow, files: &[&FileRow]) -> Event {
    let files: Vec<_> = files
        .iter()
        .map(|f| json!({"id": f.id, "filename": f.filename, "size": f.size}))
        .collect();
    event(
        &link.created_by,
        EVENT_SHARE_DOWNLOADED,
        json!({
            "link": {"id": link.id, "max_downloads": link.max_downloads},
            "files": files,
            "as_zip": files.len() > 1,
        }),
    )
}

fn event(user_id: &str, name: &'static str, data: serde_json::Value) -> Event {
    let id = db::new_id();
    let created_at = db::now();
    let payload = json!({
        "id": id,
        "event": name,
        "created_at": db::to_datetime(created_at)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "data": data,
    });
    Event {
        id,
        user_id: user_id.to_owned(),
        event: name,
        payload: payload.to_string(),
        created_at,
    }
}

/// Deletes deliveries finished more than [`DELIVERY_RETENTION_DAYS`] ago (the sweeper's job);
/// how many.
pub async fn prune_finished(state: &AppState) -> Result<u64> {
    let before = db::now() - DELIVERY_RETENTION_DAYS * 86_400;
    Ok(db::webhooks::prune(&state.db().pool, before).await?)
}

/// Delivers due webhook events until the process ends.
pub async fn run_worker(state: AppState) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    loop {
        match deliver_due(&state).await {
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.chain(), "webhook deliveries failed to run"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Delivers every delivery due now; how many were attempted.
pub async fn deliver_due(state: &AppState) -> Result<usize> {
    let mut attempted = 0;
    loop {
        let now = db::now();
        let Some(delivery) = db::webhooks::lease_next(state.db(), now, now + LEASE_SECS).await?
        else {
            return Ok(attempted);
        };
        attempted += 1;
        let outcome = attempt(state, &delivery).await;
        let now = db::now();
        let recorded = match outcome {
            Ok(status) => {
                db::webhooks::record(
                    &state.db().pool,
                    &delivery,
                    Outcome::Delivered { status },
                    now,
                )
                .await
            }
            Err((status, error)) => {
                let retry_at = (delivery.attempts < MAX_ATTEMPTS)
                    .then(|| now + backoff(state, delivery.attempts));
                tracing::info!(delivery = %delivery.id, attempts = delivery.attempts, %error, "webhook delivery failed");
                let outcome = Outcome::Failed {
                    status,
                    error: &error,
                    retry_at,
                };
                db::webhooks::record(&state.db().pool, &delivery, outcome, now).await
            }
        };
        recorded?;
    }
}

/// The pause after attempt `attempts` (from 1) failed: the setting, doubling, at most an hour.
fn backoff(state: &AppState, attempts: i64) -> i64 {
    let base = i64::try_from(state.settings().webhook_retry.as_secs()).unwrap_or(MAX_RETRY_SECS);
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
            Binding::row(SECRET_PURPOSE, &hook.id),
            &WrappedKey {
                master_key_id: hook.master_key_id.clone(),
                sealed: hook.secret.clone(),
            },
        )
        .map_err(|e| (None, format!("the webhook's secret cannot be opened: {e}")))?;
    let url = reqwest::Url::parse(&hook.url).map_err(|e| (None, format!("bad URL: {e}")))?;
    let client = client_for(state, &url).await.map_err(|e| (None, e))?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("Coffer-Webhook/", env!("CARGO_PKG_VERSION")),
        )
        .header("x-coffer-event", &delivery.event)
        .header("x-coffer-delivery", &delivery.id)
        .header(
            "x-coffer-signature-256",
            signature::sign(&secret, delivery.payload.as_bytes()),
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

/// A client that connects only to the address the URL's host was checked at (no redirects).
async fn client_for(
    state: &AppState,
    url: &reqwest::Url,
) -> std::result::Result<reqwest::Client, String> {
    let host = url.host_str().ok_or("the URL has no host")?.to_owned();
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let allowed: Vec<SocketAddr> = addresses
        .into_iter()
        .filter(|a| state.settings().webhook_allow_private || is_public(a.ip()))
        .collect();
    let Some(first) = allowed.first() else {
        return Err(format!("{host} resolves to no public address"));
    };
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&lookup_host, *first)
        .build()
        .map_err(|e| format!("client: {e}"))
}

/// A transport error in words, with its causes.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "no answer within 10 seconds".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        e.to_string()
    };
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "2001:db8::1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
