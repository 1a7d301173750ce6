//! The `files` and `blob_uploads` tables.

use sqlx::{AnyPool, FromRow};

use crate::app::model::ScanStatus;

#[derive(Clone, Debug, FromRow)]
pub struct FileRow {
    pub id: String,
    pub owner_id: String,
    pub filename: String,
    pub size: i64,
    pub mime_type: String,
    pub sha256: String,
    #[sqlx(try_from = "String")]
    pub scan_status: ScanStatus,
    pub scan_detail: Option<String>,
    pub blob_key: String,
    pub master_key_id: String,
    pub wrapped_key: Vec<u8>,
    pub nonce_prefix: Vec<u8>,
    pub download_count: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, owner_id, filename, size, mime_type, sha256, scan_status, scan_detail, \
     blob_key, master_key_id, wrapped_key, nonce_prefix, download_count, created_at";

/// Notes a blob about to be written (see the migration: unclaimed blobs are swept).
pub async fn begin_upload(pool: &AnyPool, blob_key: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO blob_uploads (blob_key, touched_at) VALUES ($1, $2)")
        .bind(blob_key)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Keeps a long upload from looking abandoned.
pub async fn touch_upload(pool: &AnyPool, blob_key: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE blob_uploads SET touched_at = $2 WHERE blob_key = $1")
        .bind(blob_key)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Forgets an upload whose blob has been deleted.
pub async fn forget_upload(pool: &AnyPool, blob_key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM blob_uploads WHERE blob_key = $1")
        .bind(blob_key)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Drops upload markers, untouched since `before`, of blobs a file does refer to (a delete
/// that failed half-way): those blobs stay.
pub async fn forget_claimed_uploads(pool: &AnyPool, before: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM blob_uploads WHERE touched_at < $1 \
         AND blob_key IN (SELECT blob_key FROM files)",
    )
    .bind(before)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Blob keys of uploads untouched since `before` that no file refers to.
pub async fn abandoned_uploads(pool: &AnyPool, before: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT blob_key FROM blob_uploads WHERE touched_at < $1 \
         AND blob_key NOT IN (SELECT blob_key FROM files) LIMIT 100",
    )
    .bind(before)
    .fetch_all(pool)
    .await
}

/// Adds the file, claims its blob and queues its scan, all or nothing.
pub async fn insert_with_scan_job(pool: &AnyPool, file: &FileRow) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!(
        "INSERT INTO files ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&file.id)
    .bind(&file.owner_id)
    .bind(&file.filename)
    .bind(file.size)
    .bind(&file.mime_type)
    .bind(&file.sha256)
    .bind(file.scan_status.as_str())
    .bind(file.scan_detail.as_deref())
    .bind(&file.blob_key)
    .bind(&file.master_key_id)
    .bind(&file.wrapped_key)
    .bind(&file.nonce_prefix)
    .bind(file.download_count)
    .bind(file.created_at)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM blob_uploads WHERE blob_key = $1")
        .bind(&file.blob_key)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO scan_jobs (file_id, attempts, run_after) VALUES ($1, 0, $2)")
        .bind(&file.id)
        .bind(file.created_at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<FileRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM files WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Newest first; `owner` `None` lists everyone's.
pub async fn list(
    pool: &AnyPool,
    owner: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<FileRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM files WHERE (CAST($1 AS TEXT) IS NULL OR owner_id = $1) \
         ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(owner)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// Deletes the row (its scan job goes with it); false when it was already gone.
pub async fn delete(pool: &AnyPool, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM files WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0)
}

pub async fn increment_downloads(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE files SET download_count = download_count + 1 WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}
