//! Webhooks: a user's URLs that Coffer tells, by a signed JSON `POST`, when a file arrives
//! through one of their upload requests (with "notify" on) and when someone downloads through
//! one of their share links.
//!
//! Events go through an outbox: each is queued for its webhooks in the database transaction of
//! what happened, so nothing that happened is left untold after a crash, and nothing is told
//! that did not happen. A webhook with [`MAX_PENDING_DELIVERIES`] waiting gets no more until
//! they drain (it counts the events it missed). [`delivery`] posts them; [`addresses`] decides
//! which addresses a webhook may reach.

mod addresses;
mod delivery;

pub use crate::server::db::webhooks::MAX_PENDING_DELIVERIES;
pub use delivery::{run_worker, LOOKUP_TIMEOUT, MAX_ATTEMPTS, PER_USER, POOL};

use std::net::IpAddr;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use serde_json::json;

use crate::{
    model::{
        CreatedWebhook, DeliveryInfo, NewWebhook, WebhookInfo, EVENT_REQUEST_FILE_RECEIVED,
        EVENT_SHARE_DOWNLOADED, MAX_WEBHOOKS, WEBHOOK_EVENTS,
    },
    server::{
        db::{
            self,
            files::FileRow,
            requests::RequestRow,
            shares::ShareRow,
            users::UserRow,
            webhooks::{Event, WebhookRow},
        },
        error::{Error, Result},
        service::key_rotation,
        state::AppState,
    },
};
use coffer_crypto::{keyring::WEBHOOK_SECRET_PURPOSE, Binding};

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
        consecutive_failures: row.consecutive_failures.max(0) as u64,
        suspended_at: row.suspended_at.map(db::to_datetime),
        missed_events: row.missed_events.max(0) as u64,
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
        .seal(Binding::row(WEBHOOK_SECRET_PURPOSE, &id), secret.as_bytes());
    let row = WebhookRow {
        id,
        user_id: user.id.clone(),
        url,
        events: events.join(","),
        master_key_id: sealed.master_key_id,
        secret: sealed.sealed,
        created_at: state.now(),
        consecutive_failures: 0,
        suspended_at: None,
        missed_events: 0,
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

/// Lifts a webhook's suspension: the deliveries it kept waiting are tried now.
pub async fn resume(state: &AppState, user: &UserRow, id: &str) -> Result<WebhookInfo> {
    let pool = &state.db().pool;
    if !db::webhooks::resume(pool, &user.id, id, state.now()).await? {
        return Err(Error::NotFound("webhook"));
    }
    db::webhooks::find(pool, id)
        .await?
        .map(|row| info(&row))
        .ok_or(Error::NotFound("webhook"))
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
        if !state.settings().webhooks.allow_private && !addresses::is_public(ip) {
            return bad("points into a private network, which this server does not post to");
        }
    }
    Ok(())
}

/// The event "a file arrived through this request" at `now`, for its owner's webhooks.
pub(crate) fn file_received(request: &RequestRow, file: &FileRow, now: i64) -> Event {
    event(
        now,
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

/// The event "someone downloaded these files through this link" at `now`, for its maker's
/// webhooks.
pub(crate) fn share_downloaded(link: &ShareRow, files: &[&FileRow], now: i64) -> Event {
    let files: Vec<_> = files
        .iter()
        .map(|f| json!({"id": f.id, "filename": f.filename, "size": f.size}))
        .collect();
    event(
        now,
        &link.created_by,
        EVENT_SHARE_DOWNLOADED,
        json!({
            "link": {"id": link.id, "max_downloads": link.max_downloads},
            "files": files,
            "as_zip": files.len() > 1,
        }),
    )
}

fn event(created_at: i64, user_id: &str, name: &'static str, data: serde_json::Value) -> Event {
    let id = db::new_id();
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
    let before = state.now() - DELIVERY_RETENTION_DAYS * 86_400;
    Ok(db::webhooks::prune(&state.db().pool, before).await?)
}
