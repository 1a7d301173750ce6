//! The `audit_log` table: append-only.

use sqlx::{AnyPool, FromRow};

#[derive(Clone, Debug, FromRow)]
pub struct AuditRow {
    pub id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

pub async fn insert(pool: &AnyPool, row: &AuditRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, action, target, ip, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&row.id)
    .bind(row.at)
    .bind(row.actor_id.as_deref())
    .bind(&row.action)
    .bind(row.target.as_deref())
    .bind(row.ip.as_deref())
    .bind(row.detail.as_deref())
    .execute(pool)
    .await
    .map(|_| ())
}

/// Newest first, optionally filtered by actor and action.
pub async fn list(
    pool: &AnyPool,
    actor_id: Option<&str>,
    action: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor_id, action, target, ip, detail FROM audit_log \
         WHERE (CAST($1 AS TEXT) IS NULL OR actor_id = $1) AND (CAST($2 AS TEXT) IS NULL OR action = $2) \
         ORDER BY at DESC, id DESC LIMIT $3",
    )
    .bind(actor_id)
    .bind(action)
    .bind(limit)
    .fetch_all(pool)
    .await
}
