//! The `audit_log` table: append-only. Rows are only ever inserted, read, and deleted by the
//! retention sweep once they are older than the retention period.

use sqlx::{AnyPool, FromRow};

use crate::model::AuditOutcome;

#[derive(Clone, Debug, FromRow)]
pub struct AuditRow {
    pub id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    #[sqlx(try_from = "String")]
    pub outcome: AuditOutcome,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

/// An entry as admins read it: the row and its actor's email while the account exists.
#[derive(Clone, Debug, FromRow)]
pub struct AuditListRow {
    #[sqlx(flatten)]
    pub row: AuditRow,
    pub actor_email: Option<String>,
}

pub async fn insert(pool: &AnyPool, row: &AuditRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log \
         (id, at, actor_id, action, target, outcome, ip, user_agent, detail, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&row.id)
    .bind(row.at)
    .bind(row.actor_id.as_deref())
    .bind(&row.action)
    .bind(row.target.as_deref())
    .bind(row.outcome.as_str())
    .bind(row.ip.as_deref())
    .bind(row.user_agent.as_deref())
    .bind(row.detail.as_deref())
    .bind(row.request_id.as_deref())
    .execute(pool)
    .await
    .map(|_| ())
}

/// Which rows to read; `None` fields do not narrow.
#[derive(Clone, Debug, Default)]
pub struct Selection<'a> {
    pub actor_id: Option<&'a str>,
    pub action: Option<&'a str>,
    pub target: Option<&'a str>,
    pub outcome: Option<AuditOutcome>,
    /// `at >= since`.
    pub since: Option<i64>,
    /// `at < until`.
    pub until: Option<i64>,
    /// Only rows after this one, newest first: `(at, id)` below it.
    pub after: Option<(i64, &'a str)>,
}

/// Up to `limit` selected rows, newest first (ties by id, so that paging is stable).
pub async fn list(
    pool: &AnyPool,
    selection: &Selection<'_>,
    limit: i64,
) -> Result<Vec<AuditListRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, a.at, a.actor_id, a.action, a.target, a.outcome, a.ip, a.user_agent, \
                a.detail, a.request_id, u.email AS actor_email \
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
         WHERE (CAST($1 AS TEXT) IS NULL OR a.actor_id = $1) \
           AND (CAST($2 AS TEXT) IS NULL OR a.action = $2) \
           AND (CAST($3 AS TEXT) IS NULL OR a.target = $3) \
           AND (CAST($4 AS TEXT) IS NULL OR a.outcome = $4) \
           AND (CAST($5 AS BIGINT) IS NULL OR a.at >= $5) \
           AND (CAST($6 AS BIGINT) IS NULL OR a.at < $6) \
           AND (CAST($7 AS BIGINT) IS NULL OR a.at < $7 OR (a.at = $7 AND a.id < $8)) \
         ORDER BY a.at DESC, a.id DESC LIMIT $9",
    )
    .bind(selection.actor_id)
    .bind(selection.action)
    .bind(selection.target)
    .bind(selection.outcome.map(AuditOutcome::as_str))
    .bind(selection.since)
    .bind(selection.until)
    .bind(selection.after.map(|(at, _)| at))
    .bind(selection.after.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Deletes the rows older than `before` (the retention sweep); how many went.
pub async fn prune(pool: &AnyPool, before: i64) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM audit_log WHERE at < $1")
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
}
