//! The `user_totp` and `recovery_codes` tables.

use sqlx::{AnyPool, FromRow};

#[derive(Clone, Debug, FromRow)]
pub struct TotpRow {
    pub user_id: String,
    pub master_key_id: String,
    /// Sealed by the master key `master_key_id`.
    pub secret: Vec<u8>,
    pub enabled_at: Option<i64>,
    pub last_step: Option<i64>,
    pub created_at: i64,
    /// Wrong codes in a row since the last right one.
    pub failed_codes: i64,
    /// The code step is refused until then (unix seconds) after too many wrong codes.
    pub locked_until: Option<i64>,
}

impl TotpRow {
    pub fn is_enabled(&self) -> bool {
        self.enabled_at.is_some()
    }
}

const COLUMNS: &str =
    "user_id, master_key_id, secret, enabled_at, last_step, created_at, failed_codes, locked_until";

pub async fn find(pool: &AnyPool, user_id: &str) -> Result<Option<TotpRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM user_totp WHERE user_id = $1"
    ))
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// Starts (or restarts) an enrolment with a new secret. False when 2FA is already on: that row
/// stays as it is.
pub async fn start_enrolment(pool: &AnyPool, row: &TotpRow) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM user_totp WHERE user_id = $1 AND enabled_at IS NULL")
        .bind(&row.user_id)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO user_totp (user_id, master_key_id, secret, created_at) \
         SELECT $1, $2, $3, $4 \
         WHERE NOT EXISTS (SELECT 1 FROM user_totp WHERE user_id = $1)",
    )
    .bind(&row.user_id)
    .bind(&row.master_key_id)
    .bind(&row.secret)
    .bind(row.created_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(inserted == 1)
}

/// Switches a pending enrolment on, with the step of the code that proved it and a fresh set
/// of recovery codes (replacing any old ones), all or nothing. False when there was no pending
/// enrolment (none started, or already switched on meanwhile).
pub async fn enable(
    pool: &AnyPool,
    user_id: &str,
    step: i64,
    now: i64,
    recovery_code_hashes: &[String],
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE user_totp SET enabled_at = $2, last_step = $3 \
         WHERE user_id = $1 AND enabled_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .bind(step)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Ok(false);
    }
    put_recovery_codes(&mut tx, user_id, recovery_code_hashes).await?;
    tx.commit().await?;
    Ok(true)
}

/// Accepts a code of time step `step` if no code of that step or a later one was accepted
/// before: one statement, so two requests with the same code cannot both pass.
pub async fn accept_step(pool: &AnyPool, user_id: &str, step: i64) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND enabled_at IS NOT NULL \
         AND (last_step IS NULL OR last_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Spends a recovery code; false if it is not one of the user's unspent codes.
pub async fn use_recovery_code(
    pool: &AnyPool,
    user_id: &str,
    code_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(code_hash)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

pub async fn unused_recovery_codes(pool: &AnyPool, user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(pool)
        .await
}

/// Switches 2FA off: the secret and the recovery codes go.
pub async fn disable(pool: &AnyPool, user_id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let deleted =
        sqlx::query("DELETE FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted == 1)
}

/// Counts a wrong code; the `limit`-th in a row locks the code step until `lock_until` (and
/// starts the count again). True when this failure set the lock.
pub async fn code_failed(
    pool: &AnyPool,
    user_id: &str,
    limit: i64,
    lock_until: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE user_totp SET \
           failed_codes = CASE WHEN failed_codes + 1 >= $2 THEN 0 ELSE failed_codes + 1 END, \
           locked_until = CASE WHEN failed_codes + 1 >= $2 THEN $3 ELSE locked_until END \
         WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(limit)
    .bind(lock_until)
    .execute(pool)
    .await?;
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM user_totp WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await?
            .flatten();
    Ok(locked == Some(lock_until))
}

/// A right code ends the run of wrong ones.
pub async fn code_accepted(pool: &AnyPool, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE user_totp SET failed_codes = 0 WHERE user_id = $1 AND failed_codes <> 0")
        .bind(user_id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Replaces the user's recovery codes with a fresh set (while 2FA is on); false if it is off.
pub async fn replace_recovery_codes(
    pool: &AnyPool,
    user_id: &str,
    hashes: &[String],
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let on: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM user_totp WHERE user_id = $1 AND enabled_at IS NOT NULL")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    if on.is_none() {
        return Ok(false);
    }
    put_recovery_codes(&mut tx, user_id, hashes).await?;
    tx.commit().await?;
    Ok(true)
}

/// Replaces every recovery code of the user, inside the caller's transaction.
async fn put_recovery_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    hashes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)",
        )
        .bind(user_id)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
