//! The `scan_jobs` table: a lease-based queue that runs each job once across instances.

use sqlx::{AnyPool, FromRow};

use crate::app::model::ScanStatus;

#[derive(Clone, Debug, FromRow)]
pub struct ScanJob {
    pub file_id: String,
    pub attempts: i64,
}

/// Leases the next due job until `lease_until`, counting the attempt. Two workers racing for
/// the same job: the second's UPDATE finds it leased and gets nothing.
pub async fn lease_next(
    pool: &AnyPool,
    now: i64,
    lease_until: i64,
) -> Result<Option<ScanJob>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE scan_jobs SET locked_until = $2, attempts = attempts + 1 \
         WHERE file_id = (SELECT file_id FROM scan_jobs \
                          WHERE run_after <= $1 AND (locked_until IS NULL OR locked_until < $1) \
                          ORDER BY run_after, file_id LIMIT 1) \
           AND (locked_until IS NULL OR locked_until < $1) \
         RETURNING file_id, attempts",
    )
    .bind(now)
    .bind(lease_until)
    .fetch_optional(pool)
    .await
}

/// Extends a lease while a long scan runs.
pub async fn extend_lease(
    pool: &AnyPool,
    file_id: &str,
    lease_until: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE scan_jobs SET locked_until = $2 WHERE file_id = $1")
        .bind(file_id)
        .bind(lease_until)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Scans a file again (an admin's rescan): it is `pending` (downloads close) and its job is due
/// now, as a new upload's. False when the file is gone.
pub async fn requeue(pool: &AnyPool, file_id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query("UPDATE files SET scan_status = $2, scan_detail = NULL WHERE id = $1")
        .bind(file_id)
        .bind(ScanStatus::Pending.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !found {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO scan_jobs (file_id, attempts, run_after) VALUES ($1, 0, $2) \
         ON CONFLICT (file_id) DO UPDATE \
         SET attempts = 0, run_after = $2, locked_until = NULL, last_error = NULL",
    )
    .bind(file_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Records the verdict and removes the job, together.
pub async fn complete(
    pool: &AnyPool,
    file_id: &str,
    status: ScanStatus,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE files SET scan_status = $2, scan_detail = $3 WHERE id = $1")
        .bind(file_id)
        .bind(status.as_str())
        .bind(detail)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM scan_jobs WHERE file_id = $1")
        .bind(file_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Marks the file `error` and schedules another attempt at `run_after`.
pub async fn fail(
    pool: &AnyPool,
    file_id: &str,
    error: &str,
    run_after: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE files SET scan_status = $2, scan_detail = $3 WHERE id = $1")
        .bind(file_id)
        .bind(ScanStatus::Error.as_str())
        .bind(error)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE scan_jobs SET locked_until = NULL, run_after = $2, last_error = $3 \
         WHERE file_id = $1",
    )
    .bind(file_id)
    .bind(run_after)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The earliest time a job becomes due, to know how long a worker may sleep.
pub async fn next_due(pool: &AnyPool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(CASE WHEN locked_until IS NULL OR locked_until < run_after \
                         THEN run_after ELSE locked_until END) FROM scan_jobs",
    )
    .fetch_one(pool)
    .await
}
