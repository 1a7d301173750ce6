//! The `upload_requests` table, and the places and bytes uploads into a request hold on their
//! `blob_uploads` rows (see the migration).

use sqlx::{AnyPool, FromRow};

use super::{files::FileRow, webhooks::Event};

#[derive(Clone, Debug, FromRow)]
pub struct RequestRow {
    pub id: String,
    pub owner_id: String,
    pub token_hash: String,
    pub title: String,
    pub message: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub max_files: Option<i64>,
    pub max_bytes: Option<i64>,
    pub password_hash: Option<String>,
    pub notify: i64,
    pub closed_at: Option<i64>,
}

const COLUMNS: &str = "id, owner_id, token_hash, title, message, created_at, expires_at, \
     max_files, max_bytes, password_hash, notify, closed_at";

/// What a request has received: its files and their bytes.
#[derive(Clone, Copy, Debug, Default, FromRow, PartialEq, Eq)]
pub struct Received {
    pub files: i64,
    pub bytes: i64,
}

pub async fn insert(pool: &AnyPool, row: &RequestRow) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO upload_requests ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&row.id)
    .bind(&row.owner_id)
    .bind(&row.token_hash)
    .bind(&row.title)
    .bind(&row.message)
    .bind(row.created_at)
    .bind(row.expires_at)
    .bind(row.max_files)
    .bind(row.max_bytes)
    .bind(&row.password_hash)
    .bind(row.notify)
    .bind(row.closed_at)
    .execute(pool)
    .await
    .map(|_| ())
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM upload_requests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn find_by_token_hash(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM upload_requests WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

/// A user's requests, newest first, each with what it has received.
pub async fn list_by_owner(
    pool: &AnyPool,
    owner_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<(RequestRow, Received)>, sqlx::Error> {
    let rows: Vec<RequestRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM upload_requests WHERE owner_id = $1 \
         ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(owner_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let sql = format!(
        "SELECT f.request_id, CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(f.size), 0) AS BIGINT) \
         FROM files f WHERE f.request_id IN ({}) GROUP BY f.request_id",
        super::placeholders(1, rows.len())
    );
    let mut query = sqlx::query_as(&sql);
    for row in &rows {
        query = query.bind(&row.id);
    }
    let totals: Vec<(String, i64, i64)> = query.fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let received = totals
                .iter()
                .find(|(id, _, _)| *id == row.id)
                .map(|&(_, files, bytes)| Received { files, bytes })
                .unwrap_or_default();
            (row, received)
        })
        .collect())
}

/// What a request has received.
pub async fn received(pool: &AnyPool, id: &str) -> Result<Received, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) AS files, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes \
         FROM files WHERE request_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
}

/// A page of the files a request has received, newest first.
pub async fn files(
    pool: &AnyPool,
    id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<FileRow>, sqlx::Error> {
    let columns = super::files::columns_of("f");
    sqlx::query_as(&format!(
        "SELECT {columns} FROM files f WHERE f.request_id = $1 \
         ORDER BY f.created_at DESC, f.id LIMIT $2 OFFSET $3"
    ))
    .bind(id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// The newest `each` files of each of these requests, in one query: `(request id, file)`,
/// newest first within a request.
pub async fn latest_files_of(
    pool: &AnyPool,
    ids: &[&str],
    each: i64,
) -> Result<Vec<FileRow>, sqlx::Error> {
    let columns = super::files::columns_of("f");
    let sql = format!(
        "SELECT {columns} FROM (SELECT f.*, ROW_NUMBER() OVER \
             (PARTITION BY f.request_id ORDER BY f.created_at DESC, f.id) AS place \
             FROM files f WHERE f.request_id IN ({})) f \
         WHERE f.place <= $1 ORDER BY f.request_id, f.created_at DESC, f.id",
        super::placeholders(2, ids.len())
    );
    let mut query = sqlx::query_as(&sql).bind(each);
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_all(pool).await
}

/// How many of a user's requests still take files by their date (not closed, not expired).
pub async fn count_open_by_owner(
    pool: &AnyPool,
    owner_id: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM upload_requests \
         WHERE owner_id = $1 AND closed_at IS NULL AND expires_at > $2",
    )
    .bind(owner_id)
    .bind(now)
    .fetch_one(pool)
    .await
}

/// Closes a request that is still open; `false` when it was closed already.
pub async fn close(pool: &AnyPool, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE upload_requests SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Why a request took no more.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Closed by its owner, expired, or deleted.
    Closed,
    /// All its file places are taken (by files received and uploads under way).
    NoPlace,
    /// The bytes would pass its limit: the limit, and what files and other uploads hold.
    NoRoom { max: i64, used: i64 },
}

/// Takes turns on the request's row (a no-op UPDATE: the row lock on PostgreSQL, the write lock
/// on SQLite) while it is still open at `now`; its limits, or `None` when it is not open.
async fn lock_open(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    now: i64,
) -> Result<Option<(Option<i64>, Option<i64>)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE upload_requests SET notify = notify \
         WHERE id = $1 AND closed_at IS NULL AND expires_at > $2 \
         RETURNING max_files, max_bytes",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
}

/// Starts an upload into a request: notes its blob (as `files::begin_upload` does) holding one
/// of the request's file places, if one is free. Uploads quiet since `live_since` hold nothing.
pub async fn begin_upload(
    pool: &AnyPool,
    request_id: &str,
    owner_id: &str,
    blob_key: &str,
    now: i64,
    live_since: i64,
) -> Result<Result<(), Refused>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some((max_files, _)) = lock_open(&mut tx, request_id, now).await? else {
        return Ok(Err(Refused::Closed));
    };
    if let Some(max_files) = max_files {
        let taken: i64 = sqlx::query_scalar(
            "SELECT CAST((SELECT COUNT(*) FROM files WHERE request_id = $1) \
                       + (SELECT COUNT(*) FROM blob_uploads \
                          WHERE request_id = $1 AND touched_at >= $2) AS BIGINT)",
        )
        .bind(request_id)
        .bind(live_since)
        .fetch_one(&mut *tx)
        .await?;
        if taken >= max_files {
            return Ok(Err(Refused::NoPlace));
        }
    }
    sqlx::query(
        "INSERT INTO blob_uploads (blob_key, owner_id, touched_at, request_id) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(blob_key)
    .bind(owner_id)
    .bind(now)
    .bind(request_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Holds `needed` bytes of the request's limit for the upload of `blob_key`, and up to `ahead`
/// more (never more than half the room left beyond them); the bytes held, or why not.
pub async fn reserve_bytes(
    pool: &AnyPool,
    request_id: &str,
    blob_key: &str,
    needed: i64,
    ahead: i64,
    now: i64,
    live_since: i64,
) -> Result<Result<i64, Refused>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some((_, max_bytes)) = lock_open(&mut tx, request_id, now).await? else {
        return Ok(Err(Refused::Closed));
    };
    let Some(max) = max_bytes else {
        return Ok(Ok(i64::MAX));
    };
    let used: i64 = sqlx::query_scalar(
        "SELECT CAST((SELECT COALESCE(SUM(size), 0) FROM files WHERE request_id = $1) \
                   + (SELECT COALESCE(SUM(request_bytes), 0) FROM blob_uploads \
                      WHERE request_id = $1 AND blob_key <> $2 AND touched_at >= $3) AS BIGINT)",
    )
    .bind(request_id)
    .bind(blob_key)
    .bind(live_since)
    .fetch_one(&mut *tx)
    .await?;
    let room = max - used;
    if needed > room {
        return Ok(Err(Refused::NoRoom { max, used }));
    }
    let held = needed + ahead.min((room - needed) / 2);
    sqlx::query("UPDATE blob_uploads SET request_bytes = $2, touched_at = $3 WHERE blob_key = $1")
        .bind(blob_key)
        .bind(held)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(held))
}

/// Adds a file received through a request (as `files::insert_with_scan_job` does) if the
/// request is still open: one closed or expired while the file arrived does not take it. The
/// owner's webhooks are told in the same transaction (`notify`).
pub async fn insert_file(
    pool: &AnyPool,
    file: &FileRow,
    request_id: &str,
    notify: Option<&Event>,
) -> Result<Result<(), Refused>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if lock_open(&mut tx, request_id, file.created_at)
        .await?
        .is_none()
    {
        return Ok(Err(Refused::Closed));
    }
    super::files::insert_with_scan_job_in(&mut tx, file).await?;
    if let Some(event) = notify {
        super::webhooks::enqueue_in(&mut tx, event).await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}
