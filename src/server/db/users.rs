//! The `users` table.

use sqlx::{AnyPool, FromRow};

use crate::app::model::Role;

#[derive(Clone, Debug, FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub username: String,
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// 0 or 1 (see the migration); read through [`UserRow::is_active`].
    #[sqlx(rename = "is_active")]
    pub active_flag: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login: Option<i64>,
    /// 1 when two-factor authentication is on (computed, see [`COLUMNS`]).
    pub two_factor: i64,
}

impl UserRow {
    pub fn is_active(&self) -> bool {
        self.active_flag != 0
    }

    pub fn has_two_factor(&self) -> bool {
        self.two_factor != 0
    }
}

/// Every query of users reads these; `two_factor` comes from `user_totp`.
const COLUMNS: &str = "id, email, username, password_hash, role, is_active, created_at, \
     updated_at, last_login, (SELECT COUNT(*) FROM user_totp t \
     WHERE t.user_id = users.id AND t.enabled_at IS NOT NULL) AS two_factor";

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
    /// `None`: admin if this is the first account of the installation, else user.
    pub role: Option<Role>,
    pub now: i64,
}

/// Inserts a user and returns the role it got. Every insert tries to take the `first_admin`
/// claim in the same transaction; the primary key lets exactly one account ever hold it, however
/// many register at once, and a failed insert gives the claim back.
pub async fn insert(pool: &AnyPool, user: &NewUser<'_>) -> Result<Role, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let claimed = sqlx::query(
        "INSERT INTO instance_claims (name, user_id, claimed_at) VALUES ('first_admin', $1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(user.id)
    .bind(user.now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let role = user
        .role
        .unwrap_or(if claimed { Role::Admin } else { Role::User });
    sqlx::query(
        "INSERT INTO users (id, email, username, password_hash, role, is_active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(user.id)
    .bind(user.email)
    .bind(user.username)
    .bind(user.password_hash)
    .bind(role.as_str())
    .bind(1_i64)
    .bind(user.now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(role)
}

pub async fn find_by_id(pool: &AnyPool, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn find_by_email(pool: &AnyPool, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(pool)
        .await
}

pub async fn email_exists(pool: &AnyPool, email: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .map(|n: i64| n > 0)
}

pub async fn username_exists(pool: &AnyPool, username: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE lower(username) = lower($1)")
        .bind(username)
        .fetch_one(pool)
        .await
        .map(|n: i64| n > 0)
}

pub async fn list(pool: &AnyPool, limit: i64, offset: i64) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

pub async fn record_login(pool: &AnyPool, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn set_password_hash(
    pool: &AnyPool,
    id: &str,
    hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
}

pub async fn set_active(
    pool: &AnyPool,
    id: &str,
    active: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE users SET is_active = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(active))
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
}

pub async fn set_role(pool: &AnyPool, id: &str, role: Role, now: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role.as_str())
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
}
