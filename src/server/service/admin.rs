//! What admins do to other accounts: list them, change their role, disable them. Every action
//! here is for admins only and is audited.

use crate::{
    app::model::{Paging, Role},
    server::{
        db::{self, users, users::UserRow},
        error::{Error, Result},
        service::{
            accounts::{end_other_sessions, CurrentSession},
            audit::{action, Event},
            RequestMeta,
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

/// An admin changes another user's role or active flag. Disabling ends the user's sessions and
/// tokens at once. Admins cannot demote or disable themselves (no installation loses its last
/// admin by accident).
pub async fn update_user(
    state: &AppState,
    actor: &UserRow,
    user_id: &str,
    changes: UserChanges,
    meta: &RequestMeta,
) -> Result<UserRow> {
    require_admin(actor)?;
    let role = changes.role;
    if user_id == actor.id && (role == Some(Role::User) || changes.is_active == Some(false)) {
        return Err(Error::OwnAccount);
    }
    let pool = &state.db().pool;
    let now = db::now();
    if users::find_by_id(pool, user_id).await?.is_none() {
        return Err(Error::NotFound("user"));
    }
    if let Some(role) = role {
        users::set_role(pool, user_id, role, now).await?;
    }
    if let Some(active) = changes.is_active {
        users::set_active(pool, user_id, active, now).await?;
        if !active {
            end_other_sessions(state, user_id, CurrentSession::None).await?;
        }
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
