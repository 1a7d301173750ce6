//! What admins do to other accounts: list them, change their role, disable them. Every action
//! here is for admins only and is audited.

use time::OffsetDateTime;

use crate::{
    app::model::{AdminStats, DayTransfers, FileCounts, Paging, Role, Transfers, UserCounts},
    server::{
        db::{
            self,
            users::{self, Guarded, UserRow},
        },
        error::{Error, Result},
        service::{
            accounts::{end_other_sessions, CurrentSession},
            audit::{action, Event},
            files, RequestMeta,
        },
        state::AppState,
    },
};

pub fn is_admin(user: &UserRow) -> bool {
    user.role == Role::Admin
}

pub fn require_admin(user: &UserRow) -> Result<()> {
    if is_admin(user) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Every user, oldest first.
pub async fn list_users(state: &AppState, actor: &UserRow, page: Paging) -> Result<Vec<UserRow>> {
    require_admin(actor)?;
    Ok(users::list(&state.db().pool, page.limit(), page.offset()).await?)
}

pub struct UserChanges {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// An admin changes a user's role or active flag (their own too). Disabling ends the user's
/// sessions and tokens at once. The last active admin cannot be demoted or disabled, whoever
/// asks, however many ask at once: the installation always keeps someone who can manage it.
pub async fn update_user(
    state: &AppState,
    actor: &UserRow,
    user_id: &str,
    changes: UserChanges,
    meta: &RequestMeta,
) -> Result<UserRow> {
    require_admin(actor)?;
    let role = changes.role;
    let pool = &state.db().pool;
    guarded(users::change_standing(pool, user_id, role, changes.is_active, db::now()).await?)?;
    if changes.is_active == Some(false) {
        end_other_sessions(state, user_id, CurrentSession::None).await?;
    }
    Event::by(&actor.id, action::ADMIN_USER_UPDATED)
        .on(user_id)
        .detail(format!(
            "role={:?} is_active={:?}",
            role.map(Role::as_str),
            changes.is_active
        ))
        .record(state, meta)
        .await;
    users::find_by_id(pool, user_id)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// The answer to a change the last-active-admin guard may refuse.
fn guarded<T>(outcome: Guarded<T>) -> Result<T> {
    match outcome {
        Guarded::Done(value) => Ok(value),
        Guarded::NoSuchUser => Err(Error::NotFound("user")),
        Guarded::LastActiveAdmin => Err(Error::LastActiveAdmin),
    }
}

/// An admin deletes a user: their sessions and tokens end at once (their rows go with the
/// user's, in one transaction), and their files (blobs through the same crash-safe path as a
/// file deletion), share links and 2FA go. Their audit rows stay. The last active admin cannot
/// be deleted.
pub async fn delete_user(
    state: &AppState,
    actor: &UserRow,
    user_id: &str,
    meta: &RequestMeta,
) -> Result<()> {
    require_admin(actor)?;
    let pool = &state.db().pool;
    let belongings = users::belongings(pool, user_id).await?;
    let blob_keys = guarded(users::delete(pool, user_id, db::now()).await?)?;
    files::discard_blobs(state, blob_keys).await;
    Event::by(&actor.id, action::ADMIN_USER_DELETED)
        .on(user_id)
        .detail(format!(
            "files={} bytes={} share_links={}",
            belongings.files, belongings.bytes, belongings.share_links
        ))
        .record(state, meta)
        .await;
    Ok(())
}

/// An admin switches a user's 2FA off (a lost phone with no recovery codes left) and ends their
/// sessions and tokens, so they sign in again with their password and can enrol anew. A user
/// without 2FA is left as they are.
pub async fn reset_two_factor(
    state: &AppState,
    actor: &UserRow,
    user_id: &str,
    meta: &RequestMeta,
) -> Result<()> {
    require_admin(actor)?;
    let pool = &state.db().pool;
    if users::find_by_id(pool, user_id).await?.is_none() {
        return Err(Error::NotFound("user"));
    }
    if db::two_factor::disable(pool, user_id).await? {
        end_other_sessions(state, user_id, CurrentSession::None).await?;
        Event::by(&actor.id, action::ADMIN_TWO_FACTOR_RESET)
            .on(user_id)
            .record(state, meta)
            .await;
    }
    Ok(())
}

const DAY: i64 = 86_400;
/// How many days the overview's chart shows.
pub const CHART_DAYS: i64 = 30;

/// The installation's numbers for the overview. Transfers are counted from the audit log (an
/// upload; a download by owner or admin, share link or pre-signed URL).
pub async fn stats(state: &AppState, actor: &UserRow) -> Result<AdminStats> {
    require_admin(actor)?;
    let pool = &state.db().pool;
    let now = db::now();
    let downloads = [
        action::FILE_DOWNLOADED,
        action::SHARE_DOWNLOADED,
        action::SIGNED_URL_DOWNLOADED,
    ];
    let counts = db::stats::counts(pool, now).await?;
    let (uploads, downloaded) =
        db::stats::transfers_since(pool, now - DAY, action::FILE_UPLOADED, downloads).await?;
    let today = now.div_euclid(DAY);
    let first = today - (CHART_DAYS - 1);
    let days =
        db::stats::transfers_per_day(pool, first * DAY, action::FILE_UPLOADED, downloads).await?;
    let daily = (first..=today)
        .map(|day| {
            let found = days.iter().find(|d| d.day == day);
            DayTransfers {
                day: OffsetDateTime::from_unix_timestamp(day * DAY)
                    .map(|t| t.date().to_string())
                    .unwrap_or_default(),
                uploads: found.map_or(0, |d| count(d.uploads)),
                downloads: found.map_or(0, |d| count(d.downloads)),
            }
        })
        .collect();
    Ok(AdminStats {
        users: UserCounts {
            active: count(counts.users_active),
            disabled: count(counts.users_disabled),
            admins: count(counts.admins),
        },
        files: FileCounts {
            count: count(counts.files),
            bytes: count(counts.bytes),
            scan_pending: count(counts.scan_pending),
            scan_infected: count(counts.scan_infected),
            scan_error: count(counts.scan_error),
        },
        active_share_links: count(counts.active_share_links),
        last_24_hours: Transfers {
            uploads: count(uploads),
            downloads: count(downloaded),
        },
        daily,
    })
}

/// A database count as the API's unsigned number.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
