//! The `token_families` and `api_tokens` tables. Tokens are stored only as SHA-256 hashes.

use sqlx::{AnyPool, FromRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// A token looked up by its hash, with its family's state.
#[derive(Clone, Debug, FromRow)]
pub struct TokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub user_id: String,
    pub kind: String,
    pub expires_at: i64,
    pub spent_at: Option<i64>,
    pub family_revoked_at: Option<i64>,
}

pub async fn insert_family(
    pool: &AnyPool,
    id: &str,
    user_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO token_families (id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(user_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn insert_token(
    pool: &AnyPool,
    hash: &str,
    family_id: &str,
    kind: TokenKind,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (token_hash, family_id, kind, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(family_id)
    .bind(kind.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await
    .map(|_| ())
}

pub async fn find(pool: &AnyPool, hash: &str) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.token_hash, t.family_id, f.user_id, t.kind, t.expires_at, t.spent_at, \
                f.revoked_at AS family_revoked_at \
         FROM api_tokens t JOIN token_families f ON f.id = t.family_id \
         WHERE t.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await
}

/// Marks a refresh token spent. False when another request spent it first: only one
/// concurrent refresh with the same token can win.
pub async fn spend(pool: &AnyPool, hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET spent_at = $1 WHERE token_hash = $2 AND spent_at IS NULL")
        .bind(now)
        .bind(hash)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
}

pub async fn revoke_family(pool: &AnyPool, family_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE token_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(family_id)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn revoke_all_for_user(
    pool: &AnyPool,
    user_id: &str,
    keep_family: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE token_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
         AND id <> COALESCE(CAST($3 AS TEXT), '')",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep_family)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}

/// Drops tokens past their expiry and families with no token left.
pub async fn delete_expired(pool: &AnyPool, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM api_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query(
        "DELETE FROM token_families WHERE NOT EXISTS \
         (SELECT 1 FROM api_tokens t WHERE t.family_id = token_families.id)",
    )
    .execute(pool)
    .await?;
    Ok(())
}
