//! Accounts as admins manage them: the table (search, storage, quota), role and active changes,
//! quotas, deleting a user, resetting a lost second factor. The last active admin stays, however
//! many admins ask at once (`db::users::guarded_standing` makes such changes take turns).

use crate::{
    model::{AdminUser, Belongings, Paging, QuotaSetting, Role},
    server::{
        db::{
            self,
            users::{self, Guarded, UserRow, UserWithUsage},
        },
        error::{Error, Result},
        service::{
            accounts::{end_other_sessions, CurrentSession},
            audit::{action, Event},
            files::{self, quota},
            RequestMeta,
        },
        state::AppState,
    },
};

use super::{filter_value, require_admin};

/// The largest quota an admin can set: 1 PiB (any larger is "no quota" in practice, and stays
/// exact in every client's numbers).
pub const MAX_QUOTA_BYTES: u64 = 1 << 50;

/// Users whose email or username contains `search` (blank: everyone), oldest first, with what
/// they store and their quota.
pub async fn list_users(
    state: &AppState,
    actor: &UserRow,
    search: Option<&str>,
    page: Paging,
) -> Result<Vec<AdminUser>> {
    require_admin(actor)?;
    let search = filter_value("The search", search)?;
    let rows = users::list(
        &state.db().pool,
        search.as_deref(),
        page.limit(),
        page.offset(),
    )
    .await?;
    Ok(rows.into_iter().map(|row| admin_user(state, row)).collect())
}

fn admin_user(state: &AppState, row: UserWithUsage) -> AdminUser {
    let own = row.user.own_quota();
    let quota_bytes = quota::effective(state.settings(), &row.user);
    AdminUser {
        file_count: count(row.file_count),
        used_bytes: count(row.used_bytes),
        quota_bytes,
        quota_is_default: own.is_none(),
        user: row.user.into(),
    }
}

/// One user as the admin's table shows them, and what deleting them would take.
async fn find_admin_user(state: &AppState, user_id: &str) -> Result<(AdminUser, Belongings)> {
    let pool = &state.db().pool;
    let user = users::find_by_id(pool, user_id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    let b = users::belongings(pool, user_id).await?;
    let row = UserWithUsage {
        user,
        file_count: b.files,
        used_bytes: b.bytes,
    };
    let belongings = Belongings {
        files: count(b.files),
        bytes: count(b.bytes),
        share_links: count(b.share_links),
    };
    Ok((admin_user(state, row), belongings))
}

/// A user and what deleting them would take, for the confirmation page.
pub async fn user_with_belongings(
    state: &AppState,
    actor: &UserRow,
    user_id: &str,
) -> Result<(AdminUser, Belongings)> {
    require_admin(actor)?;
    find_admin_user(state, user_id).await
}

/// What an admin changes about a user; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    pub quota: Option<QuotaSetting>,
}

/// An admin changes a user's role, active flag or quota (their own too). Disabling ends the
/// user's sessions and tokens at once. The last active admin cannot be demoted or disabled,
/// whoever asks, however many ask at once: the installation always keeps someone who can
/// manage it. Each change is audited.
pub async fn update_user(
    state: &AppState,
    actor: &UserRow,
    user_id: &str,
    changes: UserChanges,
    meta: &RequestMeta,
) -> Result<AdminUser> {
    require_admin(actor)?;
    let pool = &state.db().pool;
    if let Some(QuotaSetting::Bytes(n)) = changes.quota {
        if n > MAX_QUOTA_BYTES {
            return Err(Error::Validation(format!(
                "A quota can be at most {MAX_QUOTA_BYTES} bytes (1 PiB); for more, set no quota"
            )));
        }
    }
    if changes.role.is_some() || changes.is_active.is_some() {
        let (role, active) = (changes.role, changes.is_active);
        guarded(users::change_standing(pool, user_id, role, active, state.now()).await?)?;
        if active == Some(false) {
            end_other_sessions(state, user_id, CurrentSession::None).await?;
        }
        Event::by(&actor.id, action::ADMIN_USER_UPDATED)
            .on(user_id)
            .detail(format!(
                "role={:?} is_active={:?}",
                role.map(Role::as_str),
                active
            ))
            .record(state, meta)
            .await;
    }
    if let Some(setting) = changes.quota {
        if !users::set_quota(pool, user_id, setting, state.now()).await? {
            return Err(Error::NotFound("user"));
        }
        Event::by(&actor.id, action::ADMIN_QUOTA_SET)
            .on(user_id)
            .detail(match setting {
                QuotaSetting::Default => "quota=default".to_owned(),
                QuotaSetting::Unlimited => "quota=none".to_owned(),
                QuotaSetting::Bytes(n) => format!("quota={n}"),
            })
            .record(state, meta)
            .await;
    }
    // Also the answer (404) to a patch that changes nothing, for a user who does not exist.
    Ok(find_admin_user(state, user_id).await?.0)
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
    let blob_keys = guarded(users::delete(pool, user_id, state.now()).await?)?;
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

/// A database count as the API's unsigned number.
pub(super) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
