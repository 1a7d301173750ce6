//! Values sealed by a master key, wherever they are stored (a file's data key, a user's TOTP
//! secret), read and written alike so that a master key rotation re-seals all of them the same
//! way. Each sits beside the id of the master key that sealed it.

use sqlx::{AnyPool, FromRow};

/// A column of sealed values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealedColumn {
    /// `files.wrapped_key`, by file id.
    FileDataKeys,
    /// `resumable_uploads.wrapped_key`, by upload id (the id of the file it becomes).
    UploadDataKeys,
    /// `user_totp.secret`, by user id.
    TotpSecrets,
    /// `webhooks.secret`, by webhook id.
    WebhookSecrets,
}

impl SealedColumn {
    /// Table, row id column, sealed column.
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            SealedColumn::FileDataKeys => ("files", "id", "wrapped_key"),
            SealedColumn::UploadDataKeys => ("resumable_uploads", "id", "wrapped_key"),
            SealedColumn::TotpSecrets => ("user_totp", "user_id", "secret"),
            SealedColumn::WebhookSecrets => ("webhooks", "id", "secret"),
        }
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct SealedValue {
    /// The row's id (a file id, a user id).
    pub id: String,
    pub master_key_id: String,
    pub sealed: Vec<u8>,
}

/// `seal_version` of values bound to their row; 1 marks those sealed before.
pub const BOUND: i64 = 2;
const UNBOUND: i64 = 1;

/// Up to `limit` bound values sealed by a master key other than `current`.
pub async fn sealed_by_other_keys(
    pool: &AnyPool,
    column: SealedColumn,
    current: &str,
    limit: i64,
) -> Result<Vec<SealedValue>, sqlx::Error> {
    let (table, id, sealed) = column.parts();
    sqlx::query_as(&format!(
        "SELECT {id} AS id, master_key_id, {sealed} AS sealed FROM {table} \
         WHERE master_key_id <> $1 AND seal_version = {BOUND} ORDER BY {id} LIMIT $2"
    ))
    .bind(current)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Stores a value re-sealed under `new_key`, unless the row changed since it was read (it is
/// no longer sealed by `old_key`).
pub async fn reseal(
    pool: &AnyPool,
    column: SealedColumn,
    row_id: &str,
    old_key: &str,
    new_key: &str,
    sealed: &[u8],
) -> Result<bool, sqlx::Error> {
    let (table, id, sealed_column) = column.parts();
    sqlx::query(&format!(
        "UPDATE {table} SET master_key_id = $3, {sealed_column} = $4 \
         WHERE {id} = $1 AND master_key_id = $2 AND seal_version = {BOUND}"
    ))
    .bind(row_id)
    .bind(old_key)
    .bind(new_key)
    .bind(sealed)
    .execute(pool)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Up to `limit` values sealed before values were bound to their rows, skipping `after` and
/// anything before it (ids in order), so rows that cannot be re-sealed are passed over.
pub async fn unbound(
    pool: &AnyPool,
    column: SealedColumn,
    after: &str,
    limit: i64,
) -> Result<Vec<SealedValue>, sqlx::Error> {
    let (table, id, sealed) = column.parts();
    sqlx::query_as(&format!(
        "SELECT {id} AS id, master_key_id, {sealed} AS sealed FROM {table} \
         WHERE seal_version = {UNBOUND} AND {id} > $1 ORDER BY {id} LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Stores an unbound value re-sealed bound to its row, unless another process did it first.
pub async fn bind(
    pool: &AnyPool,
    column: SealedColumn,
    row_id: &str,
    new_key: &str,
    sealed: &[u8],
) -> Result<bool, sqlx::Error> {
    let (table, id, sealed_column) = column.parts();
    sqlx::query(&format!(
        "UPDATE {table} SET master_key_id = $2, {sealed_column} = $3, seal_version = {BOUND} \
         WHERE {id} = $1 AND seal_version = {UNBOUND}"
    ))
    .bind(row_id)
    .bind(new_key)
    .bind(sealed)
    .execute(pool)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// How many values of every sealed column each master key seals, by key id.
pub async fn counts_by_key(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT master_key_id, COUNT(*) FROM ( \
           SELECT master_key_id FROM files UNION ALL SELECT master_key_id FROM user_totp \
           UNION ALL SELECT master_key_id FROM resumable_uploads \
           UNION ALL SELECT master_key_id FROM webhooks \
         ) AS sealed GROUP BY master_key_id ORDER BY master_key_id",
    )
    .fetch_all(pool)
    .await
}

/// The master key the last rotation made current, if any rotation ran.
pub async fn rotated_to(pool: &AnyPool) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT current_key_id FROM master_key_state WHERE id = 1")
        .fetch_optional(pool)
        .await
}

/// Records `key_id` as the key every server must seal with from now on.
pub async fn set_rotated_to(pool: &AnyPool, key_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO master_key_state (id, current_key_id, rotated_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET current_key_id = $1, rotated_at = $2",
    )
    .bind(key_id)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ())
}
