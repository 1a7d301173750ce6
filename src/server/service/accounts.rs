//! Accounts: registration, password login, password changes, and the admin's changes to users.

use crate::{
    app::model::UserInfo,
    server::{
        db::{self, users, users::UserRow},
        error::{Error, Result},
        service::{
            audit::{self, action, Event},
            passwords,
            rate_limit::Bucket,
            RequestMeta,
        },
        state::AppState,
    },
};

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Bounds the work argon2 does on attacker-chosen input.
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(Error::Validation(format!(
                "role must be \"admin\" or \"user\", not {other:?}"
            ))),
        }
    }
}

impl From<UserRow> for UserInfo {
    fn from(row: UserRow) -> Self {
        let is_active = row.is_active();
        let two_factor_enabled = row.has_two_factor();
        UserInfo {
            id: row.id,
            email: row.email,
            username: row.username,
            role: row.role,
            is_active,
            two_factor_enabled,
            created_at: db::to_datetime(row.created_at),
            last_login: row.last_login.map(db::to_datetime),
        }
    }
}

pub struct Registration {
    pub email: String,
    pub username: String,
    pub password: String,
}

/// Lower-cased, trimmed, and a syntactically valid address.
pub fn normalise_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254
        || email.parse::<email_address::EmailAddress>().is_err()
        || !email.contains('.')
    {
        return Err(Error::Validation(
            "Enter a valid email address, like name@example.org".into(),
        ));
    }
    Ok(email)
}

fn validate_username(raw: &str) -> Result<String> {
    let username = raw.trim();
    let count = username.chars().count();
    if !USERNAME_CHARS.contains(&count)
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::Validation(format!(
            "Username must be {} to {} characters: letters, digits, '_', '-' or '.'",
            USERNAME_CHARS.start(),
            USERNAME_CHARS.end()
        )));
    }
    Ok(username.to_owned())
}

pub fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Validation(format!(
            "Password must be at least {MIN_PASSWORD_CHARS} characters long"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::Validation(format!(
            "Password must be at most {MAX_PASSWORD_BYTES} bytes long"
        )));
    }
    Ok(())
}

/// Creates an account. The first account of an installation becomes admin.
pub async fn register(
    state: &AppState,
    input: Registration,
    meta: &RequestMeta,
) -> Result<UserRow> {
    let user = create(state, input, None).await?;
    audit::record(
        state,
        meta,
        Event {
            actor_id: Some(&user.id),
            action: action::REGISTER,
            target: Some(&user.id),
            detail: Some(format!("role={}", user.role)),
        },
    )
    .await;
    Ok(user)
}

/// Creates an admin account (the `create-admin` command).
pub async fn create_admin(state: &AppState, input: Registration) -> Result<UserRow> {
    let user = create(state, input, Some(Role::Admin)).await?;
    audit::record(
        state,
        &RequestMeta::default(),
        Event {
            actor_id: None,
            action: action::ADMIN_CREATED,
            target: Some(&user.id),
            detail: Some(format!("username={}", user.username)),
        },
    )
    .await;
    Ok(user)
}

async fn create(state: &AppState, input: Registration, role: Option<Role>) -> Result<UserRow> {
    let email = normalise_email(&input.email)?;
    let username = validate_username(&input.username)?;
    validate_password(&input.password)?;
    let pool = &state.db().pool;
    if users::email_exists(pool, &email).await? {
        return Err(Error::EmailTaken);
    }
    if users::username_exists(pool, &username).await? {
        return Err(Error::UsernameTaken);
    }
    let hash = passwords::hash(input.password).await?;
    let id = db::new_id();
    let now = db::now();
    let new_user = users::NewUser {
        id: &id,
        email: &email,
        username: &username,
        password_hash: &hash,
        role: role.map(Role::as_str),
        now,
    };
    match users::insert(pool, &new_user).await {
        Ok(_) => {}
        // Lost a race with a concurrent registration of the same name.
        Err(e) if db::is_unique_violation(&e) => {
            return Err(if users::email_exists(pool, &email).await? {
                Error::EmailTaken
            } else {
                Error::UsernameTaken
            });
        }
        Err(e) => return Err(e.into()),
    }
    users::find_by_id(pool, &id)
        .await?
        .ok_or_else(|| Error::internal("register", "user vanished"))
}

/// Checks email and password; rate-limited per client and per account; audited either way.
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: String,
    meta: &RequestMeta,
) -> Result<UserRow> {
    let email = email.trim().to_lowercase();
    let client = meta.ip.as_deref().unwrap_or("unknown");
    state.limiter().hit(Bucket::LoginPerClient, client).await?;
    state.limiter().hit(Bucket::LoginPerAccount, &email).await?;

    let pool = &state.db().pool;
    let user = if password.len() > MAX_PASSWORD_BYTES {
        None
    } else {
        users::find_by_email(pool, &email).await?
    };
    let ok = passwords::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        (_, user) => {
            audit::record(
                state,
                meta,
                Event {
                    actor_id: user.as_ref().map(|u| u.id.as_str()),
                    action: action::LOGIN_FAILED,
                    target: None,
                    detail: Some(format!("email={email}")),
                },
            )
            .await;
            return Err(Error::InvalidCredentials);
        }
    };
    if !user.is_active() {
        audit::record(
            state,
            meta,
            Event {
                actor_id: Some(&user.id),
                action: action::LOGIN_FAILED,
                target: None,
                detail: Some("account disabled".into()),
            },
        )
        .await;
        return Err(Error::AccountDisabled);
    }
    Ok(user)
}

/// A user who has passed every factor their account asks for. Only
/// [`two_factor::complete_login`](super::two_factor::complete_login) makes one, and nothing
/// signs a browser in or issues API tokens without one.
pub struct SignedIn {
    user: UserRow,
    /// The factors used, for the audit log: `password`, `password+totp`, …
    via: &'static str,
}

impl SignedIn {
    pub(super) fn new(user: UserRow, via: &'static str) -> Self {
        Self { user, via }
    }

    pub fn user(&self) -> &UserRow {
        &self.user
    }
}

/// Records a completed login; `channel` is `browser` or `api`.
pub async fn login_succeeded(
    state: &AppState,
    login: &SignedIn,
    channel: &str,
    meta: &RequestMeta,
) -> Result<()> {
    let user = login.user();
    users::record_login(&state.db().pool, &user.id, db::now()).await?;
    audit::record(
        state,
        meta,
        Event {
            actor_id: Some(&user.id),
            action: action::LOGIN_OK,
            target: None,
            detail: Some(format!("channel={channel} via={}", login.via)),
        },
    )
    .await;
    Ok(())
}

/// The user with this id if it exists and is active: the one rule every way of signing in
/// (browser session, access token, refresh) applies on each use.
pub async fn find_active(state: &AppState, id: &str) -> Result<Option<UserRow>> {
    let user = users::find_by_id(&state.db().pool, id).await?;
    Ok(user.filter(UserRow::is_active))
}

/// Changes a password after checking the current one, then ends every other session and token
/// of the user (`asking`: the session the change came from, which stays).
pub async fn change_password(
    state: &AppState,
    user: &UserRow,
    current: String,
    new: String,
    asking: CurrentSession<'_>,
    meta: &RequestMeta,
) -> Result<()> {
    validate_password(&new)?;
    if !passwords::verify(current, Some(user.password_hash.clone())).await? {
        return Err(Error::WrongPassword);
    }
    let hash = passwords::hash(new).await?;
    users::set_password_hash(&state.db().pool, &user.id, &hash, db::now()).await?;
    end_other_sessions(state, &user.id, asking).await?;
    audit::record(
        state,
        meta,
        Event {
            actor_id: Some(&user.id),
            action: action::PASSWORD_CHANGED,
            target: Some(&user.id),
            detail: None,
        },
    )
    .await;
    Ok(())
}

/// The session a request comes from: what "end the other sessions" leaves alone.
#[derive(Clone, Copy, Debug)]
pub enum CurrentSession<'a> {
    /// A signed-in browser (its `web_sessions` id).
    Browser(&'a str),
    /// An API client (its token family).
    Api(&'a str),
    /// None: every session ends.
    None,
}

/// Ends a user's browser sessions and API token families, all but `current`.
pub async fn end_other_sessions(
    state: &AppState,
    user_id: &str,
    current: CurrentSession<'_>,
) -> Result<()> {
    let pool = &state.db().pool;
    let (keep_browser, keep_family) = match current {
        CurrentSession::Browser(id) => (Some(id), None),
        CurrentSession::Api(family) => (None, Some(family)),
        CurrentSession::None => (None, None),
    };
    db::web_sessions::delete_for_user(pool, user_id, keep_browser).await?;
    db::tokens::revoke_all_for_user(pool, user_id, keep_family, db::now()).await?;
    Ok(())
}

pub fn is_admin(user: &UserRow) -> bool {
    user.role == Role::Admin.as_str()
}

pub fn require_admin(user: &UserRow) -> Result<()> {
    if is_admin(user) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

pub async fn list_users(
    state: &AppState,
    actor: &UserRow,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserRow>> {
    require_admin(actor)?;
    Ok(users::list(&state.db().pool, limit.clamp(1, 500), offset.max(0)).await?)
}

pub struct UserChanges {
    pub role: Option<String>,
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
    let role = changes.role.as_deref().map(Role::parse).transpose()?;
    if user_id == actor.id && (role == Some(Role::User) || changes.is_active == Some(false)) {
        return Err(Error::Validation(
            "Admins cannot demote or disable their own account".into(),
        ));
    }
    let pool = &state.db().pool;
    let now = db::now();
    if users::find_by_id(pool, user_id).await?.is_none() {
        return Err(Error::NotFound("user"));
    }
    if let Some(role) = role {
        users::set_role(pool, user_id, role.as_str(), now).await?;
    }
    if let Some(active) = changes.is_active {
        users::set_active(pool, user_id, active, now).await?;
        if !active {
            end_other_sessions(state, user_id, CurrentSession::None).await?;
        }
    }
    audit::record(
        state,
        meta,
        Event {
            actor_id: Some(&actor.id),
            action: action::ADMIN_USER_UPDATED,
            target: Some(user_id),
            detail: Some(format!(
                "role={:?} is_active={:?}",
                role.map(Role::as_str),
                changes.is_active
            )),
        },
    )
    .await;
    users::find_by_id(pool, user_id)
        .await?
        .ok_or(Error::NotFound("user"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Alice@Example.ORG ").unwrap(),
            "alice@example.org"
        );
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.org",
            "a b@example.org",
            "alice@localhost",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn usernames_are_bounded_and_plain() {
        assert!(validate_username("alice_01").is_ok());
        for bad in [
            "ab",
            "a".repeat(33).as_str(),
            "al ice",
            "<script>",
            "ali/ce",
        ] {
            assert!(validate_username(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
