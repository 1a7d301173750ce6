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

/// What [`change_standing`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum StandingChange {
    Changed,
    NoSuchUser,
    /// Refused: nothing changed, since the user is the last active admin.
    LastActiveAdmin,
}

/// Sets a user's role and/or active flag, unless that would leave no active admin. Concurrent
/// calls take turns on the `admin_guard` row (see its migration), so each counts the admins the
/// others left.
pub async fn change_standing(
    pool: &AnyPool,
    id: &str,
    role: Option<Role>,
    active: Option<bool>,
    now: i64,
) -> Result<StandingChange, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE admin_guard SET changed_at = $1 WHERE id = 1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let Some((role_now, active_now)) =
        sqlx::query_as::<_, (String, i64)>("SELECT role, is_active FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(StandingChange::NoSuchUser);
    };
    let is_admin = role_now == Role::Admin.as_str() && active_now != 0;
    let stays_admin = role.map_or(role_now == Role::Admin.as_str(), |r| r == Role::Admin)
        && active.unwrap_or(active_now != 0);
    if is_admin && !stays_admin {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = $1 AND is_active = 1 AND id <> $2",
        )
        .bind(Role::Admin.as_str())
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if others == 0 {
            return Ok(StandingChange::LastActiveAdmin);
        }
    }
    if let Some(role) = role {
        sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(active) = active {
        sqlx::query("UPDATE users SET is_active = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(active))
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(StandingChange::Changed)
}
