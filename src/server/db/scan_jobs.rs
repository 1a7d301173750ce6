//! The `scan_jobs` table: a lease-based queue that runs each job once across instances.

use sqlx::{AnyPool, FromRow};

use super::{Backend, Database};

use crate::model::ScanStatus;

#[derive(Clone, Debug, FromRow)]
pub struct ScanJob {
    pub file_id: String,
    pub attempts: i64,
    /// Names this lease: the verdict is recorded only while the job still carries it.
    pub lease_token: String,
}

/// Leases the next due job until `lease_until`, counting the attempt. On PostgreSQL, workers of
/// several instances skip the rows another is taking (`FOR UPDATE SKIP LOCKED`); SQLite has one
/// writer at a time. Either way the outer condition re-checks the lease, so two workers racing
/// for one job: the second gets nothing.
pub async fn lease_next(
    db: &Database,
    now: i64,
    lease_until: i64,
) -> Result<Option<ScanJob>, sqlx::Error> {
    let skip_locked = match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    sqlx::query_as(&format!(
        "UPDATE scan_jobs SET locked_until = $2, attempts = attempts + 1, lease_token = $3 \
         WHERE file_id = (SELECT file_id FROM scan_jobs \
                          WHERE run_after <= $1 AND (locked_until IS NULL OR locked_until < $1) \
                          ORDER BY run_after, file_id LIMIT 1 {skip_locked}) \
           AND (locked_until IS NULL OR locked_until < $1) \
         RETURNING file_id, attempts, lease_token",
    ))
    .bind(now)
    .bind(lease_until)
    .bind(super::new_id())
    .fetch_optional(&db.pool)
    .await
}

/// Extends a lease while a long scan runs; false when the lease is no longer this worker's.
pub async fn extend_lease(
    pool: &AnyPool,
    job: &ScanJob,
    lease_until: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE scan_jobs SET locked_until = $3 WHERE file_id = $1 AND lease_token = $2",
    )
    .bind(&job.file_id)
    .bind(&job.lease_token)
    .bind(lease_until)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
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
         SET attempts = 0, run_after = $2, locked_until = NULL, last_error = NULL, \
             lease_token = NULL",
    )
    .bind(file_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Records the verdict and removes the job, together, if the job still holds this lease;
/// false (and nothing written) when it does not: the lease ran out and another worker took the
/// job, or an admin re-queued it, and a newer verdict is coming.
pub async fn complete(
    pool: &AnyPool,
    job: &ScanJob,
    status: ScanStatus,
    detail: Option<&str>,
) -> Result<bool, sqlx::Error> {
    settle(
        pool,
        job,
        status,
        detail,
        "DELETE FROM scan_jobs WHERE file_id = $1 AND lease_token = $2",
        None,
    )
    .await
}

/// Marks the file `error` and schedules another attempt at `run_after`, if the job still holds
/// this lease (as [`complete`]).
pub async fn fail(
    pool: &AnyPool,
    job: &ScanJob,
    error: &str,
    run_after: i64,
) -> Result<bool, sqlx::Error> {
    settle(
        pool,
        job,
        ScanStatus::Error,
        Some(error),
        "UPDATE scan_jobs SET locked_until = NULL, lease_token = NULL, run_after = $3, \
         last_error = $4 WHERE file_id = $1 AND lease_token = $2",
        Some(run_after),
    )
    .await
}

/// Writes the verdict, then `job_statement` (`$1` file id, `$2` lease token, `$3` run_after,
/// `$4` the detail) on the job, in one transaction that commits only if the job still holds
/// the lease at both steps.
async fn settle(
    pool: &AnyPool,
    job: &ScanJob,
    status: ScanStatus,
    detail: Option<&str>,
    job_statement: &str,
    run_after: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !set_status_if_held(&mut tx, job, status, detail).await? {
        return Ok(false);
    }
    let mut query = sqlx::query(job_statement)
        .bind(&job.file_id)
        .bind(&job.lease_token);
    if let Some(run_after) = run_after {
        query = query.bind(run_after).bind(detail);
    }
    if query.execute(&mut *tx).await?.rows_affected() != 1 {
        return Ok(false); // the transaction rolls back
    }
    tx.commit().await?;
    Ok(true)
}

/// Sets the file's verdict while its job holds this lease. The `files` row is written before
/// the `scan_jobs` row, the order a file's delete takes them in (its cascade), so that a
/// verdict and a delete at once wait for each other on PostgreSQL instead of deadlocking.
async fn set_status_if_held(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    job: &ScanJob,
    status: ScanStatus,
    detail: Option<&str>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE files SET scan_status = $2, scan_detail = $3 WHERE id = $1 \
         AND EXISTS (SELECT 1 FROM scan_jobs WHERE file_id = $1 AND lease_token = $4)",
    )
    .bind(&job.file_id)
    .bind(status.as_str())
    .bind(detail)
    .bind(&job.lease_token)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Jobs waiting (`queued`) and leased by a worker now (`running`), for the metrics.
pub async fn counts(pool: &AnyPool, now: i64) -> Result<(i64, i64), sqlx::Error> {
    let (queued, running): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT SUM(CASE WHEN locked_until IS NULL OR locked_until < $1 THEN 1 ELSE 0 END), \
                SUM(CASE WHEN locked_until >= $1 THEN 1 ELSE 0 END) FROM scan_jobs",
    )
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok((queued.unwrap_or(0), running.unwrap_or(0)))
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
