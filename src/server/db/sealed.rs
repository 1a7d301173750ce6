//! Values sealed by a master key, wherever they are stored (a file's data key, a user's TOTP
//! secret), read and written alike so that a master key rotation re-seals all of them the same
//! way. Each sits beside the id of the master key that sealed it.

use sqlx::{AnyPool, FromRow};

/// A column of sealed values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealedColumn {
    /// `files.wrapped_key`, by file id.
    FileDataKeys,
    /// `user_totp.secret`, by user id.
    TotpSecrets,
}

impl SealedColumn {
    /// Table, row id column, sealed column.
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            SealedColumn::FileDataKeys => ("files", "id", "wrapped_key"),
            SealedColumn::TotpSecrets => ("user_totp", "user_id", "secret"),
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

/// Up to `limit` values sealed by a master key other than `current`.
pub async fn sealed_by_other_keys(
    pool: &AnyPool,
    column: SealedColumn,
    current: &str,
    limit: i64,
) -> Result<Vec<SealedValue>, sqlx::Error> {
    let (table, id, sealed) = column.parts();
    sqlx::query_as(&format!(
        "SELECT {id} AS id, master_key_id, {sealed} AS sealed FROM {table} \
         WHERE master_key_id <> $1 ORDER BY {id} LIMIT $2"
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
         WHERE {id} = $1 AND master_key_id = $2"
    ))
    .bind(row_id)
    .bind(old_key)
    .bind(new_key)
    .bind(sealed)
    .execute(pool)
    .await
    .map(|r| r.rows_affected() == 1)
}
