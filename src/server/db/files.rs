//! The `files` and `blob_uploads` tables, and `blob_parts`: the parts of blobs stored in parts.

use sqlx::{AnyPool, FromRow};

use crate::model::ScanStatus;

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
    /// How many parts the blob is stored in (see `db::blob_parts`); 0: one object.
    pub blob_parts: i64,
    /// The upload request it was sent through, by someone without an account.
    pub request_id: Option<String>,
}

const COLUMNS: &str = "id, owner_id, filename, size, mime_type, sha256, scan_status, scan_detail, \
     blob_key, master_key_id, wrapped_key, nonce_prefix, download_count, created_at, blob_parts, \
     request_id";

/// The columns of a `FileRow` read from `files` under another name in a join.
pub(super) fn columns_of(alias: &str) -> String {
    COLUMNS
        .split_whitespace()
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Notes a blob about to be written for `owner_id`'s upload (see the migration: unclaimed blobs
/// are swept).
pub async fn begin_upload(
    pool: &AnyPool,
    blob_key: &str,
    owner_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO blob_uploads (blob_key, owner_id, touched_at) VALUES ($1, $2, $3)")
        .bind(blob_key)
        .bind(owner_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Notes the blob of a file about to be deleted, untouched since 0, so that the sweeper deletes
/// it should this process not get to it; no owner, so it reserves no quota. True when this call
/// made the note, false when one was there already (a delete of the same file running at the
/// same moment): only the call that made it may take it back.
pub async fn mark_for_deletion(pool: &AnyPool, blob_key: &str) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "INSERT INTO blob_uploads (blob_key, touched_at) VALUES ($1, 0) \
         ON CONFLICT (blob_key) DO NOTHING",
    )
    .bind(blob_key)
    .execute(pool)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// A user's storage quota and what counts against it.
pub struct QuotaCheck<'a> {
    pub owner_id: &'a str,
    /// The upload asking: its own reservation is not counted as someone else's.
    pub blob_key: &'a str,
    /// The installation's default, for a user without a quota of their own.
    pub default_quota: Option<i64>,
    /// Reservations untouched since then belong to abandoned uploads and no longer count.
    pub live_since: i64,
    pub now: i64,
}

/// What [`reserve`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reserved {
    /// The upload now holds this many bytes of the quota (at least what it needed).
    Held(i64),
    /// No quota applies to the user.
    Unlimited,
    /// `needed` does not fit: the quota, and what the user's files and other uploads use.
    Refused { quota: i64, used: i64 },
    /// The user was deleted while uploading.
    OwnerGone,
}

/// Reserves bytes of the owner's quota for an upload: the `needed` bytes it has received, and
/// up to `ahead` more, but never more than half of the room left beyond them, so that uploads
/// running beside it find room too. Concurrent reservations of one user take turns on the
/// user's row (the no-op UPDATE below takes its row lock on PostgreSQL and the write lock on
/// SQLite), so each sees what the others hold and together they never pass the quota.
pub async fn reserve(
    pool: &AnyPool,
    check: &QuotaCheck<'_>,
    needed: i64,
    ahead: i64,
) -> Result<Reserved, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some((quota_bytes, own_quota)) = sqlx::query_as::<_, (Option<i64>, i64)>(
        "UPDATE users SET own_quota = own_quota WHERE id = $1 RETURNING quota_bytes, own_quota",
    )
    .bind(check.owner_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Reserved::OwnerGone);
    };
    let quota = if own_quota != 0 {
        quota_bytes
    } else {
        check.default_quota
    };
    let Some(quota) = quota else {
        return Ok(Reserved::Unlimited);
    };
    let used: i64 = sqlx::query_scalar(
        "SELECT CAST((SELECT COALESCE(SUM(size), 0) FROM files WHERE owner_id = $1) \
                   + (SELECT COALESCE(SUM(reserved_bytes), 0) FROM blob_uploads \
                      WHERE owner_id = $1 AND blob_key <> $2 AND touched_at >= $3) AS BIGINT)",
    )
    .bind(check.owner_id)
    .bind(check.blob_key)
    .bind(check.live_since)
    .fetch_one(&mut *tx)
    .await?;
    let room = quota - used;
    if needed > room {
        return Ok(Reserved::Refused { quota, used });
    }
    let held = needed + ahead.min((room - needed) / 2);
    sqlx::query("UPDATE blob_uploads SET reserved_bytes = $2, touched_at = $3 WHERE blob_key = $1")
        .bind(check.blob_key)
        .bind(held)
        .bind(check.now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Reserved::Held(held))
}

/// What a user stores: their files' bytes.
pub async fn used_bytes(pool: &AnyPool, owner_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE owner_id = $1",
    )
    .bind(owner_id)
    .fetch_one(pool)
    .await
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

/// Forgets an upload whose blob has been deleted (its parts' rows too, if it had parts).
pub async fn forget_upload(pool: &AnyPool, blob_key: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for statement in [
        "DELETE FROM blob_parts WHERE blob_key = $1",
        "DELETE FROM blob_uploads WHERE blob_key = $1",
    ] {
        sqlx::query(statement)
            .bind(blob_key)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
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
    insert_with_scan_job_in(&mut tx, file).await?;
    tx.commit().await
}

/// [`insert_with_scan_job`] within a transaction of the caller's.
pub async fn insert_with_scan_job_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    file: &FileRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO files ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
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
    .bind(file.blob_parts)
    .bind(file.request_id.as_deref())
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM blob_uploads WHERE blob_key = $1")
        .bind(&file.blob_key)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO scan_jobs (file_id, attempts, run_after) VALUES ($1, 0, $2)")
        .bind(&file.id)
        .bind(file.created_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
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

/// A file with its owner and its active share links, for the admin's table.
#[derive(Clone, Debug, FromRow)]
pub struct FileWithOwner {
    #[sqlx(flatten)]
    pub file: FileRow,
    pub owner_email: String,
    pub owner_username: String,
    pub active_share_links: i64,
}

/// Which files an admin lists; `None` fields do not narrow.
#[derive(Clone, Debug, Default)]
pub struct FileSelection<'a> {
    pub scan_status: Option<ScanStatus>,
    pub owner_id: Option<&'a str>,
    /// A `LIKE` pattern for the name (see `users::contains_pattern`), compared lower-case.
    pub name_pattern: Option<&'a str>,
}

/// Every user's files, newest first, narrowed by `selection`.
pub async fn list_with_owners(
    pool: &AnyPool,
    selection: &FileSelection<'_>,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<FileWithOwner>, sqlx::Error> {
    let columns = columns_of("f");
    sqlx::query_as(&format!(
        "SELECT {columns}, u.email AS owner_email, u.username AS owner_username, \
         (SELECT COUNT(*) FROM share_links s JOIN share_link_files l ON l.share_id = s.id \
          WHERE l.file_id = f.id AND s.revoked_at IS NULL \
          AND s.expires_at > $4 \
          AND (s.max_downloads IS NULL OR s.download_count < s.max_downloads)) AS active_share_links \
         FROM files f JOIN users u ON u.id = f.owner_id \
         WHERE (CAST($1 AS TEXT) IS NULL OR f.scan_status = $1) \
           AND (CAST($2 AS TEXT) IS NULL OR f.owner_id = $2) \
           AND (CAST($3 AS TEXT) IS NULL OR lower(f.filename) LIKE $3 ESCAPE '\\') \
         ORDER BY f.created_at DESC, f.id LIMIT $5 OFFSET $6"
    ))
    .bind(selection.scan_status.map(ScanStatus::as_str))
    .bind(selection.owner_id)
    .bind(selection.name_pattern)
    .bind(now)
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

/// Counts one download of each of `ids` (the files of one zip), in one statement.
pub async fn increment_downloads_of(pool: &AnyPool, ids: &[&str]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE files SET download_count = download_count + 1 WHERE id IN ({})",
        super::placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(pool).await.map(|_| ())
}

pub async fn increment_downloads(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE files SET download_count = download_count + 1 WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}
