//! The `share_links` table.

use sqlx::{AnyPool, FromRow};

#[derive(Clone, Debug, FromRow)]
pub struct ShareRow {
    pub id: String,
    pub file_id: String,
    pub token_hash: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub max_downloads: Option<i64>,
    pub download_count: i64,
    pub password_hash: Option<String>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, file_id, token_hash, created_by, created_at, expires_at, \
     max_downloads, download_count, password_hash, revoked_at";

pub async fn insert(pool: &AnyPool, link: &ShareRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO share_links (id, file_id, token_hash, created_by, created_at, expires_at, \
         max_downloads, download_count, password_hash, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&link.id)
    .bind(&link.file_id)
    .bind(&link.token_hash)
    .bind(&link.created_by)
    .bind(link.created_at)
    .bind(link.expires_at)
    .bind(link.max_downloads)
    .bind(link.download_count)
    .bind(&link.password_hash)
    .bind(link.revoked_at)
    .execute(pool)
    .await
    .map(|_| ())
}

/// The link whose token hashes to `token_hash`, revoked or not.
pub async fn find_by_token_hash(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<ShareRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM share_links WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

/// A file's links, newest first.
pub async fn list_for_file(pool: &AnyPool, file_id: &str) -> Result<Vec<ShareRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM share_links WHERE file_id = $1 ORDER BY created_at DESC, id"
    ))
    .bind(file_id)
    .fetch_all(pool)
    .await
}

/// Revokes one of a file's active links, found by its id or by its token's hash; returns the
/// revoked link's id, or `None` when the file has no such active link.
pub async fn revoke(
    pool: &AnyPool,
    file_id: &str,
    id: &str,
    token_hash: &str,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE share_links SET revoked_at = $4 \
         WHERE file_id = $1 AND (id = $2 OR token_hash = $3) AND revoked_at IS NULL \
         RETURNING id",
    )
    .bind(file_id)
    .bind(id)
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// Counts one download if the link is still usable at `now`: not revoked, not expired, under
/// its limit. One statement, so concurrent downloads cannot pass the limit together.
pub async fn count_download(pool: &AnyPool, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE share_links SET download_count = download_count + 1 \
         WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         AND (max_downloads IS NULL OR download_count < max_downloads)",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}
