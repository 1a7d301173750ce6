//! The `share_links` table and `share_link_files`, the files each link points at.

use sqlx::{AnyPool, FromRow};

use super::{files::FileRow, webhooks::Event};

#[derive(Clone, Debug, FromRow)]
pub struct ShareRow {
    pub id: String,
    pub token_hash: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub max_downloads: Option<i64>,
    pub download_count: i64,
    pub password_hash: Option<String>,
    pub revoked_at: Option<i64>,
    /// What the owner calls the link.
    pub label: Option<String>,
}

const COLUMNS: &str = "id, token_hash, created_by, created_at, expires_at, \
     max_downloads, download_count, password_hash, revoked_at, label";

/// Stores a link and the files it points at, in that order, together.
pub async fn insert(
    pool: &AnyPool,
    link: &ShareRow,
    file_ids: &[String],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO share_links (id, token_hash, created_by, created_at, expires_at, \
         max_downloads, download_count, password_hash, revoked_at, label) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&link.id)
    .bind(&link.token_hash)
    .bind(&link.created_by)
    .bind(link.created_at)
    .bind(link.expires_at)
    .bind(link.max_downloads)
    .bind(link.download_count)
    .bind(&link.password_hash)
    .bind(link.revoked_at)
    .bind(&link.label)
    .execute(&mut *tx)
    .await?;
    insert_files(&mut tx, &link.id, file_ids).await?;
    tx.commit().await
}

/// The files a link points at, in this order.
async fn insert_files(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    share_id: &str,
    file_ids: &[String],
) -> Result<(), sqlx::Error> {
    for (position, file_id) in file_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO share_link_files (share_id, file_id, position) VALUES ($1, $2, $3)",
        )
        .bind(share_id)
        .bind(file_id)
        .bind(position as i64)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Writes a link's settings as `link` has them (label, expiry, limit, password) and, given
/// `file_ids`, points it at those files instead, together; only while it is not revoked
/// (`false` when it was).
pub async fn update(
    pool: &AnyPool,
    link: &ShareRow,
    file_ids: Option<&[String]>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let result = sqlx::query(
        "UPDATE share_links SET label = $2, expires_at = $3, max_downloads = $4, \
         password_hash = $5 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(&link.id)
    .bind(&link.label)
    .bind(link.expires_at)
    .bind(link.max_downloads)
    .bind(&link.password_hash)
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(file_ids) = file_ids {
        sqlx::query("DELETE FROM share_link_files WHERE share_id = $1")
            .bind(&link.id)
            .execute(&mut *tx)
            .await?;
        insert_files(&mut tx, &link.id, file_ids).await?;
    }
    tx.commit().await?;
    Ok(true)
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

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<ShareRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM share_links WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The files a link still points at, in the order they were chosen.
pub async fn files(pool: &AnyPool, share_id: &str) -> Result<Vec<FileRow>, sqlx::Error> {
    let columns = super::files::columns_of("f");
    sqlx::query_as(&format!(
        "SELECT {columns} FROM share_link_files l JOIN files f ON f.id = l.file_id \
         WHERE l.share_id = $1 ORDER BY l.position"
    ))
    .bind(share_id)
    .fetch_all(pool)
    .await
}

/// Each of these links' file ids, in their order: `(share_id, file_id)`.
async fn file_ids_of(
    pool: &AnyPool,
    links: &[ShareRow],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let sql = format!(
        "SELECT l.share_id, l.file_id FROM share_link_files l \
         WHERE l.share_id IN ({}) ORDER BY l.share_id, l.position",
        super::placeholders(1, links.len())
    );
    let mut query = sqlx::query_as(&sql);
    for link in links {
        query = query.bind(&link.id);
    }
    query.fetch_all(pool).await
}

/// Links with the ids of the files they still point at.
fn with_files(links: Vec<ShareRow>, pairs: Vec<(String, String)>) -> Vec<(ShareRow, Vec<String>)> {
    links
        .into_iter()
        .map(|link| {
            let ids = pairs
                .iter()
                .filter(|(share, _)| *share == link.id)
                .map(|(_, file)| file.clone())
                .collect();
            (link, ids)
        })
        .collect()
}

/// A page of a file's links, newest first, each with all the files it points at.
pub async fn list_for_file(
    pool: &AnyPool,
    file_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<(ShareRow, Vec<String>)>, sqlx::Error> {
    let links: Vec<ShareRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM share_links s \
         WHERE s.id IN (SELECT share_id FROM share_link_files WHERE file_id = $1) \
         ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(file_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let pairs = file_ids_of(pool, &links).await?;
    Ok(with_files(links, pairs))
}

/// A page of the links a user made that still point at a file, newest first.
pub async fn list_by_creator(
    pool: &AnyPool,
    user_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<(ShareRow, Vec<String>)>, sqlx::Error> {
    let links: Vec<ShareRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM share_links s WHERE created_by = $1 \
         AND EXISTS (SELECT 1 FROM share_link_files l WHERE l.share_id = s.id) \
         ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let pairs = file_ids_of(pool, &links).await?;
    Ok(with_files(links, pairs))
}

/// How many links a user made that can still be used (neither revoked nor expired).
pub async fn count_active_by_creator(
    pool: &AnyPool,
    user_id: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM share_links \
         WHERE created_by = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(user_id)
    .bind(now)
    .fetch_one(pool)
    .await
}

/// One of a file's links (revoked or not), found by its id or by its token's hash.
pub async fn find_for_file(
    pool: &AnyPool,
    file_id: &str,
    id: &str,
    token_hash: &str,
) -> Result<Option<ShareRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM share_links WHERE (id = $2 OR token_hash = $3) \
         AND id IN (SELECT share_id FROM share_link_files WHERE file_id = $1)"
    ))
    .bind(file_id)
    .bind(id)
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

/// Revokes a link if it is still active; `false` when it was not.
pub async fn revoke(pool: &AnyPool, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("UPDATE share_links SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Counts one download if the link is still usable at `now`: not revoked, not expired, under
/// its limit. One statement, so concurrent downloads cannot pass the limit together; `event`
/// is queued for the maker's webhooks in the same transaction.
pub async fn count_download(
    pool: &AnyPool,
    id: &str,
    now: i64,
    event: &Event,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let result = sqlx::query(
        "UPDATE share_links SET download_count = download_count + 1 \
         WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         AND (max_downloads IS NULL OR download_count < max_downloads)",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() != 1 {
        return Ok(false);
    }
    super::webhooks::enqueue_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(true)
}
