//! The `web_sessions` table: one row per signed-in browser.

use sqlx::{AnyPool, FromRow};

#[derive(Clone, Debug, FromRow)]
pub struct WebSessionRow {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

const COLUMNS: &str = "id, user_id, created_at, last_seen_at, expires_at, ip, user_agent";

pub async fn insert(pool: &AnyPool, row: &WebSessionRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO web_sessions (id, user_id, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&row.id)
    .bind(&row.user_id)
    .bind(row.created_at)
    .bind(row.last_seen_at)
    .bind(row.expires_at)
    .bind(row.ip.as_deref())
    .bind(row.user_agent.as_deref())
    .execute(pool)
    .await
    .map(|_| ())
}

/// The session if it exists and has not passed its absolute lifetime.
pub async fn find_live(
    pool: &AnyPool,
    id: &str,
    now: i64,
) -> Result<Option<WebSessionRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM web_sessions WHERE id = $1 AND expires_at > $2"
    ))
    .bind(id)
    .bind(now)
    .fetch_optional(pool)
    .await
}

pub async fn touch(pool: &AnyPool, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn delete(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM web_sessions WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Ends every browser session of a user, or every one but `keep`.
pub async fn delete_for_user(
    pool: &AnyPool,
    user_id: &str,
    keep: Option<&str>,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM web_sessions WHERE user_id = $1 AND id <> COALESCE(CAST($2 AS TEXT), '')",
    )
    .bind(user_id)
    .bind(keep)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}

pub async fn delete_expired(pool: &AnyPool, now: i64) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
}

/// A user's live sessions, the most recently seen first.
pub async fn list_for_user(
    pool: &AnyPool,
    user_id: &str,
    now: i64,
) -> Result<Vec<WebSessionRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM web_sessions WHERE user_id = $1 AND expires_at > $2 \
         ORDER BY last_seen_at DESC, id"
    ))
    .bind(user_id)
    .bind(now)
    .fetch_all(pool)
    .await
}

/// Ends one of a user's sessions; false if the user has no such session.
pub async fn delete_for_user_one(
    pool: &AnyPool,
    user_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM web_sessions WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
}
