//! The `users` table.

use sqlx::{AnyPool, FromRow};

use crate::model::{QuotaSetting, Role};

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
    /// Their own quota when `own_quota` is 1 (`None`: no quota); else unused.
    pub quota_bytes: Option<i64>,
    /// 0: the installation's default quota applies; 1: `quota_bytes` does.
    pub own_quota: i64,
}

impl UserRow {
    pub fn is_active(&self) -> bool {
        self.active_flag != 0
    }

    pub fn has_two_factor(&self) -> bool {
        self.two_factor != 0
    }

    /// The quota an admin gave this user, if they gave one (`Some(None)`: no quota).
    pub fn own_quota(&self) -> Option<Option<u64>> {
        (self.own_quota != 0).then(|| self.quota_bytes.map(|q| q.max(0) as u64))
    }
}

/// Every query of users reads these; `two_factor` comes from `user_totp`.
const COLUMNS: &str = "id, email, username, password_hash, role, is_active, created_at, \
     updated_at, last_login, (SELECT COUNT(*) FROM user_totp t \
     WHERE t.user_id = users.id AND t.enabled_at IS NOT NULL) AS two_factor, \
     quota_bytes, own_quota";

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

/// A user with what they store, for the admin's table.
#[derive(Clone, Debug, FromRow)]
pub struct UserWithUsage {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub file_count: i64,
    pub used_bytes: i64,
}

/// Users whose email or username contains `search` (any case; `None`: everyone), oldest first,
/// with their files' count and bytes.
pub async fn list(
    pool: &AnyPool,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserWithUsage>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS}, \
         (SELECT COUNT(*) FROM files f WHERE f.owner_id = users.id) AS file_count, \
         CAST((SELECT COALESCE(SUM(f.size), 0) FROM files f WHERE f.owner_id = users.id) AS BIGINT) \
           AS used_bytes \
         FROM users \
         WHERE (CAST($1 AS TEXT) IS NULL \
                OR lower(email) LIKE $1 ESCAPE '\\' OR lower(username) LIKE $1 ESCAPE '\\') \
         ORDER BY created_at, id LIMIT $2 OFFSET $3"
    ))
    .bind(search.map(contains_pattern))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// A `LIKE` pattern matching values that contain `text` (compared lower-case), with `%`, `_`
/// and `\` in it taken literally.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The user an admin means by `who`: their id, email or username (any case).
pub async fn find_by_reference(pool: &AnyPool, who: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 OR email = lower($1) OR lower(username) = lower($1) \
         ORDER BY created_at LIMIT 1"
    ))
    .bind(who)
    .fetch_optional(pool)
    .await
}

/// Gives a user their own quota (a number of bytes, or none at all), or puts them back on the
/// installation's default; false when there is no such user.
pub async fn set_quota(
    pool: &AnyPool,
    id: &str,
    quota: QuotaSetting,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let (bytes, own) = match quota {
        QuotaSetting::Default => (None, 0_i64),
        QuotaSetting::Unlimited => (None, 1),
        QuotaSetting::Bytes(n) => (Some(i64::try_from(n).unwrap_or(i64::MAX)), 1),
    };
    sqlx::query("UPDATE users SET quota_bytes = $1, own_quota = $2, updated_at = $3 WHERE id = $4")
        .bind(bytes)
        .bind(own)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
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

/// What a change to a user's standing ([`change_standing`], [`delete`]) did.
#[derive(Debug, PartialEq, Eq)]
pub enum Guarded<T> {
    Done(T),
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
) -> Result<Guarded<()>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(standing) = guarded_standing(&mut tx, id, now).await? else {
        return Ok(Guarded::NoSuchUser);
    };
    let stays_admin = role.map_or(standing.is_admin, |r| r == Role::Admin)
        && active.unwrap_or(standing.is_active);
    if standing.is_last_active_admin && !stays_admin {
        return Ok(Guarded::LastActiveAdmin);
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
    Ok(Guarded::Done(()))
}

/// Deletes a user and everything that is theirs but the audit rows, in one transaction, unless
/// they are the last active admin. The `first_admin` claim stays, so the next account to
/// register never becomes admin by it. Done with the keys of the user's blobs, marked in
/// `blob_uploads` (as a file deletion marks its blob) for the caller to delete.
pub async fn delete(
    pool: &AnyPool,
    id: &str,
    now: i64,
) -> Result<Guarded<Vec<String>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(standing) = guarded_standing(&mut tx, id, now).await? else {
        return Ok(Guarded::NoSuchUser);
    };
    if standing.is_last_active_admin {
        return Ok(Guarded::LastActiveAdmin);
    }
    let blob_keys: Vec<String> = sqlx::query_scalar(
        "SELECT blob_key FROM files WHERE owner_id = $1 UNION ALL \
         SELECT blob_key FROM resumable_uploads WHERE owner_id = $1 AND completed = 0",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    // Untouched since 0: the sweeper deletes any of these blobs that this process does not.
    // Unfinished resumable uploads have their marker already; their rows go with the user's.
    for statement in [
        "INSERT INTO blob_uploads (blob_key, touched_at) \
         SELECT blob_key, 0 FROM files WHERE owner_id = $1 \
         ON CONFLICT (blob_key) DO NOTHING",
        "UPDATE blob_uploads SET touched_at = 0, owner_id = NULL WHERE blob_key IN \
         (SELECT blob_key FROM resumable_uploads WHERE owner_id = $1 AND completed = 0)",
    ] {
        sqlx::query(statement).bind(id).execute(&mut *tx).await?;
    }
    for statement in [
        // Links they made on other people's files (an admin's); their own files' links and
        // scan jobs go with the files.
        "DELETE FROM share_links WHERE created_by = $1",
        "DELETE FROM files WHERE owner_id = $1",
        // Sessions, token families, 2FA and recovery codes go with the row.
        "DELETE FROM users WHERE id = $1",
    ] {
        sqlx::query(statement).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(Guarded::Done(blob_keys))
}

/// A user's standing, read after taking the admin guard.
struct Standing {
    is_admin: bool,
    is_active: bool,
    /// An active admin, and no other active admin exists.
    is_last_active_admin: bool,
}

/// Takes the `admin_guard` row (changes to who is an active admin take turns on it; see its
/// migration), then reads the user's standing: `None` for no such user.
async fn guarded_standing(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    now: i64,
) -> Result<Option<Standing>, sqlx::Error> {
    sqlx::query("UPDATE admin_guard SET changed_at = $1 WHERE id = 1")
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let Some((role, active)) =
        sqlx::query_as::<_, (String, i64)>("SELECT role, is_active FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
    else {
        return Ok(None);
    };
    let is_admin = role == Role::Admin.as_str();
    let is_active = active != 0;
    let is_last_active_admin = is_admin && is_active && {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = $1 AND is_active = 1 AND id <> $2",
        )
        .bind(Role::Admin.as_str())
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        others == 0
    };
    Ok(Some(Standing {
        is_admin,
        is_active,
        is_last_active_admin,
    }))
}

/// What deleting a user takes with them, for the confirmation an admin sees first.
#[derive(Debug, Default, sqlx::FromRow)]
pub struct Belongings {
    pub files: i64,
    pub bytes: i64,
    pub share_links: i64,
}

pub async fn belongings(pool: &AnyPool, id: &str) -> Result<Belongings, sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM files WHERE owner_id = $1) AS files, \
         CAST((SELECT COALESCE(SUM(size), 0) FROM files WHERE owner_id = $1) AS BIGINT) AS bytes, \
         (SELECT COUNT(*) FROM share_links s WHERE s.created_by = $1 \
          OR s.id IN (SELECT l.share_id FROM share_link_files l JOIN files f ON f.id = l.file_id \
                      WHERE f.owner_id = $1)) AS share_links",
    )
    .bind(id)
    .fetch_one(pool)
    .await
}
