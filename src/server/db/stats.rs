//! Counts for the admin overview, each one query over the tables the rest of Coffer writes.

use sqlx::{AnyPool, FromRow};

#[derive(Debug, Default, FromRow)]
pub struct Counts {
    pub users_active: i64,
    pub users_disabled: i64,
    pub admins: i64,
    pub files: i64,
    pub bytes: i64,
    pub scan_pending: i64,
    pub scan_infected: i64,
    pub scan_error: i64,
    pub active_share_links: i64,
}

pub async fn counts(pool: &AnyPool, now: i64) -> Result<Counts, sqlx::Error> {
    sqlx::query_as(
        "SELECT \
         (SELECT COUNT(*) FROM users WHERE is_active = 1) AS users_active, \
         (SELECT COUNT(*) FROM users WHERE is_active = 0) AS users_disabled, \
         (SELECT COUNT(*) FROM users WHERE is_active = 1 AND role = 'admin') AS admins, \
         (SELECT COUNT(*) FROM files) AS files, \
         CAST((SELECT COALESCE(SUM(size), 0) FROM files) AS BIGINT) AS bytes, \
         (SELECT COUNT(*) FROM files WHERE scan_status = 'pending') AS scan_pending, \
         (SELECT COUNT(*) FROM files WHERE scan_status = 'infected') AS scan_infected, \
         (SELECT COUNT(*) FROM files WHERE scan_status = 'error') AS scan_error, \
         (SELECT COUNT(*) FROM share_links s WHERE revoked_at IS NULL AND expires_at > $1 \
          AND EXISTS (SELECT 1 FROM share_link_files l WHERE l.share_id = s.id) \
          AND (max_downloads IS NULL OR download_count < max_downloads)) AS active_share_links",
    )
    .bind(now)
    .fetch_one(pool)
    .await
}

/// Uploads and downloads per UTC day (days since the epoch) from `since`, as the audit log
/// recorded them, and of those, the ones at or after `recent` (the last 24 hours, which no
/// series of whole days can give); days without any are absent. One pass over the log.
#[derive(Debug, FromRow)]
pub struct Day {
    pub day: i64,
    pub uploads: i64,
    pub downloads: i64,
    pub recent_uploads: i64,
    pub recent_downloads: i64,
}

pub async fn transfers_per_day(
    pool: &AnyPool,
    since: i64,
    recent: i64,
    upload: &str,
    downloads: [&str; 4],
) -> Result<Vec<Day>, sqlx::Error> {
    sqlx::query_as(
        "SELECT at / 86400 AS day, \
         SUM(CASE WHEN action = $2 THEN 1 ELSE 0 END) AS uploads, \
         SUM(CASE WHEN action <> $2 THEN 1 ELSE 0 END) AS downloads, \
         SUM(CASE WHEN action = $2 AND at >= $7 THEN 1 ELSE 0 END) AS recent_uploads, \
         SUM(CASE WHEN action <> $2 AND at >= $7 THEN 1 ELSE 0 END) AS recent_downloads \
         FROM audit_log WHERE at >= $1 AND action IN ($2, $3, $4, $5, $6) \
         GROUP BY at / 86400 ORDER BY day",
    )
    .bind(since)
    .bind(upload)
    .bind(downloads[0])
    .bind(downloads[1])
    .bind(downloads[2])
    .bind(downloads[3])
    .bind(recent)
    .fetch_all(pool)
    .await
}
