//! The `resumable_uploads` table (tus uploads in progress, and for a while after) and the
//! `blob_parts` their blobs are stored in.

use sqlx::{AnyPool, FromRow};

use super::files::FileRow;

#[derive(Clone, Debug, FromRow)]
pub struct UploadRow {
    pub id: String,
    pub owner_id: String,
    pub filename: String,
    pub metadata: String,
    pub length: i64,
    pub received: i64,
    pub parts: i64,
    pub blob_key: String,
    pub master_key_id: String,
    pub wrapped_key: Vec<u8>,
    pub nonce_prefix: Vec<u8>,
    pub carried: Option<Vec<u8>>,
    pub mime_type: Option<String>,
    pub completed: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

const COLUMNS: &str = "id, owner_id, filename, metadata, length, received, parts, blob_key, \
     master_key_id, wrapped_key, nonce_prefix, carried, mime_type, completed, created_at, expires_at";

/// One stored part of a blob.
#[derive(Clone, Debug, FromRow)]
pub struct PartRow {
    pub name: String,
    pub len: i64,
}

/// Adds an upload, with the `blob_uploads` marker of its blob dated at its expiry: the sweeper
/// leaves the blob (and the quota reservation on the marker counts) until the upload expires.
pub async fn insert(pool: &AnyPool, upload: &UploadRow) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!(
        "INSERT INTO resumable_uploads ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    ))
    .bind(&upload.id)
    .bind(&upload.owner_id)
    .bind(&upload.filename)
    .bind(&upload.metadata)
    .bind(upload.length)
    .bind(upload.received)
    .bind(upload.parts)
    .bind(&upload.blob_key)
    .bind(&upload.master_key_id)
    .bind(&upload.wrapped_key)
    .bind(&upload.nonce_prefix)
    .bind(upload.carried.as_deref())
    .bind(upload.mime_type.as_deref())
    .bind(upload.completed)
    .bind(upload.created_at)
    .bind(upload.expires_at)
    .execute(&mut *tx)
    .await?;
    touch_marker(&mut tx, &upload.blob_key, upload.expires_at).await?;
    tx.commit().await
}

async fn touch_marker(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    blob_key: &str,
    until: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE blob_uploads SET touched_at = $2 WHERE blob_key = $1")
        .bind(blob_key)
        .bind(until)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// An upload of `owner_id`'s (anyone else's is not found).
pub async fn find(
    pool: &AnyPool,
    id: &str,
    owner_id: &str,
) -> Result<Option<UploadRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM resumable_uploads WHERE id = $1 AND owner_id = $2"
    ))
    .bind(id)
    .bind(owner_id)
    .fetch_optional(pool)
    .await
}

/// Takes the upload for one request until `until`, if it is unfinished, unexpired, at
/// `received` bytes and no other request holds it. False otherwise (the caller reads the row
/// again to say why).
pub async fn lease(
    pool: &AnyPool,
    id: &str,
    received: i64,
    token: &str,
    now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE resumable_uploads SET lease_token = $3, lease_until = $5 \
         WHERE id = $1 AND received = $2 AND completed = 0 AND expires_at > $4 \
         AND (lease_until IS NULL OR lease_until < $4)",
    )
    .bind(id)
    .bind(received)
    .bind(token)
    .bind(now)
    .bind(until)
    .execute(pool)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Keeps the lease of a long request; false when it was lost.
pub async fn extend_lease(
    pool: &AnyPool,
    id: &str,
    token: &str,
    until: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE resumable_uploads SET lease_until = $3 WHERE id = $1 AND lease_token = $2")
        .bind(id)
        .bind(token)
        .bind(until)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Gives the lease back without a change (the request failed).
pub async fn release(pool: &AnyPool, id: &str, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE resumable_uploads SET lease_token = NULL, lease_until = NULL \
         WHERE id = $1 AND lease_token = $2",
    )
    .bind(id)
    .bind(token)
    .execute(pool)
    .await
    .map(|_| ())
}

/// What a request added to an upload.
pub struct Advance<'a> {
    pub id: &'a str,
    pub blob_key: &'a str,
    pub lease_token: &'a str,
    /// The part it stored, if any: its index, name and length.
    pub part: Option<(i64, &'a str, i64)>,
    pub received: i64,
    pub carried: Option<&'a [u8]>,
    pub mime_type: Option<&'a str>,
    pub expires_at: i64,
}

/// Records a request's bytes and gives its lease back, all or nothing; false when the request
/// no longer held the lease (nothing is recorded then).
pub async fn advance(pool: &AnyPool, step: &Advance<'_>) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !record_step(&mut tx, step, false).await? {
        return Ok(false);
    }
    touch_marker(&mut tx, step.blob_key, step.expires_at).await?;
    tx.commit().await?;
    Ok(true)
}

/// Records a request's last bytes and adds the file they make (with its scan job, claiming
/// the blob), all or nothing; false when the request no longer held the lease. The file's
/// wrapped data key is the upload's as it is now: a master key rotation may have re-wrapped it
/// while the request ran.
pub async fn complete(
    pool: &AnyPool,
    step: &Advance<'_>,
    file: &FileRow,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !record_step(&mut tx, step, true).await? {
        return Ok(false);
    }
    let (master_key_id, wrapped_key): (String, Vec<u8>) =
        sqlx::query_as("SELECT master_key_id, wrapped_key FROM resumable_uploads WHERE id = $1")
            .bind(step.id)
            .fetch_one(&mut *tx)
            .await?;
    let file = FileRow {
        master_key_id,
        wrapped_key,
        ..file.clone()
    };
    super::files::insert_with_scan_job_in(&mut tx, &file).await?;
    tx.commit().await?;
    Ok(true)
}

async fn record_step(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    step: &Advance<'_>,
    completed: bool,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE resumable_uploads SET received = $3, carried = $4, mime_type = $5, \
         expires_at = $6, completed = $7, parts = parts + $8, lease_token = NULL, \
         lease_until = NULL WHERE id = $1 AND lease_token = $2",
    )
    .bind(step.id)
    .bind(step.lease_token)
    .bind(step.received)
    .bind(step.carried)
    .bind(step.mime_type)
    .bind(step.expires_at)
    .bind(i64::from(completed))
    .bind(i64::from(step.part.is_some()))
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some((index, name, len)) = step.part {
        sqlx::query("INSERT INTO blob_parts (blob_key, idx, name, len) VALUES ($1, $2, $3, $4)")
            .bind(step.blob_key)
            .bind(index)
            .bind(name)
            .bind(len)
            .execute(&mut **tx)
            .await?;
    }
    Ok(true)
}

/// A blob's parts, in order.
pub async fn parts(pool: &AnyPool, blob_key: &str) -> Result<Vec<PartRow>, sqlx::Error> {
    sqlx::query_as("SELECT name, len FROM blob_parts WHERE blob_key = $1 ORDER BY idx")
        .bind(blob_key)
        .fetch_all(pool)
        .await
}

/// Removes an unfinished upload no request is writing to, marking its blob for deletion (as a
/// file deletion does). The blob key when it was removed.
pub async fn terminate(
    pool: &AnyPool,
    id: &str,
    owner_id: &str,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let blob_key: Option<String> = sqlx::query_scalar(
        "DELETE FROM resumable_uploads WHERE id = $1 AND owner_id = $2 AND completed = 0 \
         AND (lease_until IS NULL OR lease_until < $3) RETURNING blob_key",
    )
    .bind(id)
    .bind(owner_id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(key) = &blob_key {
        // Untouched since 0 and owned by no one: swept if this process does not delete it.
        sqlx::query("UPDATE blob_uploads SET touched_at = 0, owner_id = NULL WHERE blob_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(blob_key)
}

/// Up to 100 uploads past their expiry that no request holds: `(id, owner, unfinished blob)`.
pub async fn expired(
    pool: &AnyPool,
    now: i64,
) -> Result<Vec<(String, String, Option<String>)>, sqlx::Error> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT id, owner_id, blob_key, completed FROM resumable_uploads \
         WHERE expires_at < $1 AND (lease_until IS NULL OR lease_until < $1) LIMIT 100",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, owner, key, completed)| (id, owner, (completed == 0).then_some(key)))
        .collect())
}

/// Forgets a completed upload past its expiry (its file stays).
pub async fn forget_completed(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM resumable_uploads WHERE id = $1 AND completed = 1")
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}
