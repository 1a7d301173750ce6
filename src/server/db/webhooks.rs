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
}

const COLUMNS: &str = "id, user_id, url, events, master_key_id, secret, created_at";

#[derive(Clone, Debug, FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
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

const DELIVERY_COLUMNS: &str = "id, webhook_id, event, payload, created_at, attempts, \
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
    sqlx::query(&format!(
        "INSERT INTO webhooks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
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
/// event's id and the webhook's.
pub async fn enqueue_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    event: &Event,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, payload, created_at, next_attempt_at) \
         SELECT CAST($1 AS TEXT) || '.' || w.id, w.id, $2, $3, $4, $4 FROM webhooks w \
         WHERE w.user_id = $5 \
           AND (',' || w.events || ',') LIKE ('%,' || CAST($2 AS TEXT) || ',%')",
    )
    .bind(&event.id)
    .bind(event.event)
    .bind(&event.payload)
    .bind(event.created_at)
    .bind(&event.user_id)
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
/// leases a job: one worker of one instance gets it).
pub async fn lease_next(
    db: &Database,
    now: i64,
    lease_until: i64,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    let skip_locked = match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    sqlx::query_as(&format!(
        "UPDATE webhook_deliveries \
         SET locked_until = $2, attempts = attempts + 1, lease_token = $3 \
         WHERE id = (SELECT id FROM webhook_deliveries \
                     WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1 \
                       AND (locked_until IS NULL OR locked_until < $1) \
                     ORDER BY next_attempt_at, id LIMIT 1 {skip_locked}) \
           AND (locked_until IS NULL OR locked_until < $1) \
         RETURNING {DELIVERY_COLUMNS}",
    ))
    .bind(now)
    .bind(lease_until)
    .bind(super::new_id())
    .fetch_optional(&db.pool)
    .await
}

/// How a delivery attempt ended.
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

/// Records an attempt's outcome, if the delivery is still leased to it.
pub async fn record(
    pool: &AnyPool,
    delivery: &DeliveryRow,
    outcome: Outcome<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let token = delivery.lease_token.as_deref().unwrap_or_default();
    let query = match outcome {
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
    };
    query.execute(pool).await.map(|_| ())
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
