//! The `webhooks` table and its outbox, `webhook_deliveries` (see the migration).

use sqlx::{AnyPool, FromRow};

use super::{Backend, Database};

#[derive(Clone, Debug, FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub user_id: String,
    pub url: String,
    /// Comma-separated event names.
    pub events: String,
    pub master_key_id: String,
    pub secret: Vec<u8>,
    pub created_at: i64,
    /// Attempts that failed in a row, across its deliveries (a delivered one resets it).
    pub consecutive_failures: i64,
    /// When it was suspended for failing: no delivery is attempted until its owner resumes it.
    pub suspended_at: Option<i64>,
    /// Events not queued for it because [`MAX_PENDING_DELIVERIES`] were already waiting.
    pub missed_events: i64,
}

const COLUMNS: &str = "id, user_id, url, events, master_key_id, secret, created_at, \
     consecutive_failures, suspended_at, missed_events";

/// The most deliveries one webhook may have waiting: past it, an event is not queued for that
/// webhook (and counted in `missed_events`), so a receiver that is down cannot grow the outbox
/// without bound.
pub const MAX_PENDING_DELIVERIES: i64 = 1000;

#[derive(Clone, Debug, FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    /// The webhook's owner.
    pub user_id: String,
    pub event: String,
    pub payload: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub gave_up_at: Option<i64>,
    /// Names this lease: the outcome is recorded only while the delivery still carries it.
    pub lease_token: Option<String>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, \
     (SELECT w.user_id FROM webhooks w WHERE w.id = webhook_id) AS user_id, \
     event, payload, created_at, attempts, \
     next_attempt_at, last_status, last_error, delivered_at, gave_up_at, lease_token";

/// Something that happened, for the webhooks of `user_id` that listen to `event`.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub user_id: String,
    pub event: &'static str,
    /// The JSON body every webhook receives.
    pub payload: String,
    pub created_at: i64,
}

pub async fn insert(pool: &AnyPool, row: &WebhookRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhooks (id, user_id, url, events, master_key_id, secret, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&row.id)
    .bind(&row.user_id)
    .bind(&row.url)
    .bind(&row.events)
    .bind(&row.master_key_id)
    .bind(&row.secret)
    .bind(row.created_at)
    .execute(pool)
    .await
    .map(|_| ())
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<WebhookRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn list_by_user(pool: &AnyPool, user_id: &str) -> Result<Vec<WebhookRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}

pub async fn count_by_user(pool: &AnyPool, user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM webhooks WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(pool)
        .await
}

/// Deletes a user's webhook and its deliveries; `false` when there was none.
pub async fn delete(pool: &AnyPool, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Queues `event` for each of its user's webhooks that listen to it, within the transaction of
/// what happened: it is delivered if and only if that is committed. Each delivery's id is the
/// event's id and the webhook's. A webhook that already has [`MAX_PENDING_DELIVERIES`] waiting
/// does not get it: its `missed_events` counts it instead.
pub async fn enqueue_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    event: &Event,
) -> Result<(), sqlx::Error> {
    const LISTENING: &str = "w.user_id = $1 \
         AND (',' || w.events || ',') LIKE ('%,' || CAST($2 AS TEXT) || ',%')";
    const PENDING: &str = "(SELECT COUNT(*) FROM webhook_deliveries d \
         WHERE d.webhook_id = w.id AND d.delivered_at IS NULL AND d.gave_up_at IS NULL)";
    sqlx::query(&format!(
        "UPDATE webhooks SET missed_events = missed_events + 1 WHERE id IN \
         (SELECT w.id FROM webhooks w WHERE {LISTENING} AND {PENDING} >= $3)"
    ))
    .bind(&event.user_id)
    .bind(event.event)
    .bind(MAX_PENDING_DELIVERIES)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, payload, created_at, next_attempt_at) \
         SELECT CAST($3 AS TEXT) || '.' || w.id, w.id, $2, $4, $5, $5 FROM webhooks w \
         WHERE {LISTENING} AND {PENDING} < $6"
    ))
    .bind(&event.user_id)
    .bind(event.event)
    .bind(&event.id)
    .bind(&event.payload)
    .bind(event.created_at)
    .bind(MAX_PENDING_DELIVERIES)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A webhook's latest deliveries, newest first.
pub async fn deliveries(
    pool: &AnyPool,
    webhook_id: &str,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(webhook_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Leases the next due delivery until `lease_until`, counting the attempt (as `scan_jobs`
/// leases a job: one worker of one instance gets it). Deliveries of suspended webhooks, and of
/// the users in `busy` (who have as many in flight as they may), are left for later.
pub async fn lease_next(
    db: &Database,
    now: i64,
    lease_until: i64,
    busy: &[&str],
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    let skip_locked = match db.backend {
        Backend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let not_busy = if busy.is_empty() {
        String::new()
    } else {
        format!(
            "AND w.user_id NOT IN ({})",
            super::placeholders(4, busy.len())
        )
    };
    let sql = format!(
        "UPDATE webhook_deliveries \
         SET locked_until = $2, attempts = attempts + 1, lease_token = $3 \
         WHERE id = (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                     WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.next_attempt_at <= $1 \
                       AND (d.locked_until IS NULL OR d.locked_until < $1) \
                       AND w.suspended_at IS NULL {not_busy} \
                     ORDER BY d.next_attempt_at, d.id LIMIT 1 {skip_locked}) \
           AND (locked_until IS NULL OR locked_until < $1) \
         RETURNING {DELIVERY_COLUMNS}",
    );
    let mut query = sqlx::query_as(&sql)
        .bind(now)
        .bind(lease_until)
        .bind(super::new_id());
    for user in busy {
        query = query.bind(*user);
    }
    query.fetch_optional(&db.pool).await
}

/// How a delivery attempt ended.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    Delivered {
        status: i64,
    },
    /// Try again at `retry_at`, or give up when `None`.
    Failed {
        status: Option<i64>,
        error: &'a str,
        retry_at: Option<i64>,
    },
}

/// Records an attempt's outcome, if the delivery is still leased to it, and its webhook's
/// failures in a row: reset by a delivery, counted by a failure, and suspending the webhook
/// when they reach `suspend_after` (never when 0).
pub async fn record(
    pool: &AnyPool,
    delivery: &DeliveryRow,
    outcome: Outcome<'_>,
    now: i64,
    suspend_after: i64,
) -> Result<(), sqlx::Error> {
    let token = delivery.lease_token.as_deref().unwrap_or_default();
    let mut tx = pool.begin().await?;
    let recorded = match outcome {
        Outcome::Delivered { status } => sqlx::query(
            "UPDATE webhook_deliveries SET delivered_at = $3, last_status = $4, last_error = NULL, \
             locked_until = NULL WHERE id = $1 AND lease_token = $2",
        )
        .bind(&delivery.id)
        .bind(token)
        .bind(now)
        .bind(status),
        Outcome::Failed {
            status,
            error,
            retry_at,
        } => sqlx::query(
            "UPDATE webhook_deliveries SET last_status = $3, last_error = $4, locked_until = NULL, \
             next_attempt_at = COALESCE($5, next_attempt_at), \
             gave_up_at = CASE WHEN $5 IS NULL THEN $6 ELSE NULL END \
             WHERE id = $1 AND lease_token = $2",
        )
        .bind(&delivery.id)
        .bind(token)
        .bind(status)
        .bind(error)
        .bind(retry_at)
        .bind(now),
    }
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() == 1 {
        let webhook = match outcome {
            Outcome::Delivered { .. } => {
                sqlx::query("UPDATE webhooks SET consecutive_failures = 0 WHERE id = $1")
                    .bind(&delivery.webhook_id)
            }
            Outcome::Failed { .. } => sqlx::query(
                "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, \
                 suspended_at = CASE WHEN suspended_at IS NULL AND $2 > 0 \
                     AND consecutive_failures + 1 >= $2 THEN $3 ELSE suspended_at END \
                 WHERE id = $1",
            )
            .bind(&delivery.webhook_id)
            .bind(suspend_after)
            .bind(now),
        };
        webhook.execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// Lifts a user's webhook's suspension: its failures in a row start again from 0 and the
/// deliveries it kept waiting are due now. `false` when the user has no such webhook.
pub async fn resume(
    pool: &AnyPool,
    user_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query(
        "UPDATE webhooks SET suspended_at = NULL, consecutive_failures = 0 \
         WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if found {
        sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $2 \
             WHERE webhook_id = $1 AND delivered_at IS NULL AND gave_up_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// Deletes deliveries that arrived or were given up before `before`; how many.
pub async fn prune(pool: &AnyPool, before: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM webhook_deliveries \
         WHERE (delivered_at IS NOT NULL AND delivered_at < $1) \
            OR (gave_up_at IS NOT NULL AND gave_up_at < $1)",
    )
    .bind(before)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}
