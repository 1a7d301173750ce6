//! Accounts: registration, password login, password changes, and ending a user's sessions.

use crate::{
    model::{
        account_rules::{self, MAX_CHECKED_PASSWORD_BYTES},
        Role, UserInfo,
    },
    server::{
        db::{self, users, users::UserRow},
        error::{Error, Result},
        service::{
            audit::{action, Event},
            passwords,
            rate_limits::{self, Bucket},
            RequestMeta,
        },
        state::AppState,
    },
};

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

/// Lower-cased, and a syntactically valid address of at most 254 characters (spaces around
/// it are refused, as the OpenAPI document's `format: email` says).
pub fn normalise_email(raw: &str) -> Result<String> {
    let email = raw.to_lowercase();
    if raw.chars().count() > 254
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
    account_rules::check_username(raw).map_err(Error::Validation)
}

pub fn validate_password(password: &str) -> Result<()> {
    account_rules::check_password(password).map_err(Error::Validation)
}

/// Creates an account. The first account of an installation becomes admin. Limited per client
/// address per hour (each costs a password hash); a form refused for its content is not counted.
pub async fn register(
    state: &AppState,
    input: Registration,
    meta: &RequestMeta,
) -> Result<UserRow> {
    let client = meta.client();
    let counted = rate_limits::hit(state, Bucket::RegisterPerClient, &client).await?;
    let user = match create(state, input, None).await {
        Ok(user) => user,
        Err(e) => {
            if matches!(e, Error::Validation(_)) {
                rate_limits::forgive(state, Bucket::RegisterPerClient, &client, counted).await;
            }
            return Err(e);
        }
    };
    Event::by(&user.id, action::REGISTER)
        .on(&user.id)
        .detail(format!("role={}", user.role.as_str()))
        .record(state, meta)
        .await;
    Ok(user)
}

/// Creates an admin account (the `create-admin` command).
pub async fn create_admin(state: &AppState, input: Registration) -> Result<UserRow> {
    let user = create(state, input, Some(Role::Admin)).await?;
    Event::new(action::ADMIN_CREATED)
        .on(&user.id)
        .detail(format!("username={}", user.username))
        .record(state, &RequestMeta::default())
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
    let now = state.now();
    let new_user = users::NewUser {
        id: &id,
        email: &email,
        username: &username,
        password_hash: &hash,
        role,
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

/// Checks email and password; audited either way.
///
/// Failures are limited per (account, client), per client and, slowly, per account (see
/// [`limits`]); each bucket is counted before the password is checked, so parallel guesses
/// cannot slip past it, and forgiven when the password was right.
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: String,
    meta: &RequestMeta,
) -> Result<UserRow> {
    let email = email.trim().to_lowercase();
    let client = meta.client();
    let account_client = format!("{email}|{client}");
    let buckets = [
        (
            Bucket::LoginFailuresPerAccountClient,
            account_client.as_str(),
        ),
        (Bucket::LoginFailuresPerClient, client.as_str()),
        (Bucket::LoginFailuresPerAccount, email.as_str()),
    ];
    let counted = rate_limits::hit_all(state, &buckets).await?;

    let pool = &state.db().pool;
    let overlong = password.len() > MAX_CHECKED_PASSWORD_BYTES;
    let user = if overlong {
        None
    } else {
        users::find_by_email(pool, &email).await?
    };
    let ok = passwords::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        (_, user) => {
            let reason = match (&user, overlong) {
                (_, true) => "password_too_long",
                (Some(_), false) => "wrong_password",
                (None, false) => "unknown_email",
            };
            Event::new(action::LOGIN_FAILED)
                .by_opt(user.as_ref().map(|u| u.id.as_str()))
                .detail(format!("reason={reason} email={email}"))
                .record(state, meta)
                .await;
            return Err(Error::InvalidCredentials);
        }
    };
    rate_limits::forgive_all(state, &buckets, &counted).await;
    if !user.is_active() {
        Event::by(&user.id, action::LOGIN_FAILED)
            .detail("reason=account_disabled")
            .record(state, meta)
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
    users::record_login(&state.db().pool, &user.id, state.now()).await?;
    Event::by(&user.id, action::LOGIN_OK)
        .detail(format!("channel={channel} via={}", login.via))
        .record(state, meta)
        .await;
    Ok(())
}

/// The user with this id if it exists and is active: the one rule every way of signing in
/// (browser session, access token, refresh) applies on each use.
pub async fn find_active(state: &AppState, id: &str) -> Result<Option<UserRow>> {
    let user = users::find_by_id(&state.db().pool, id).await?;
    let user = user.filter(UserRow::is_active);
    if let Some(user) = &user {
        // Every later log line of this request (an internal error, say) names the user.
        tracing::Span::current().record("user_id", user.id.as_str());
    }
    Ok(user)
}

/// Re-authentication for changes to an account's security (2FA, recovery codes, password): the
/// user's current password, whatever the session or token the request came with. Wrong ones
/// are limited per account and audited.
pub async fn confirm_password(
    state: &AppState,
    user: &UserRow,
    current_password: String,
    meta: &RequestMeta,
) -> Result<()> {
    if current_password.is_empty() {
        return Err(Error::Validation(
            "Enter your current password to confirm this change".into(),
        ));
    }
    let counted = rate_limits::hit(state, Bucket::PasswordCheckPerAccount, &user.id).await?;
    if passwords::verify(current_password, Some(user.password_hash.clone())).await? {
        rate_limits::forgive(state, Bucket::PasswordCheckPerAccount, &user.id, counted).await;
        return Ok(());
    }
    Event::by(&user.id, action::PASSWORD_CHECK_FAILED)
        .on(&user.id)
        .record(state, meta)
        .await;
    Err(Error::WrongPassword)
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
    confirm_password(state, user, current, meta).await?;
    let hash = passwords::hash(new).await?;
    users::set_password_hash(&state.db().pool, &user.id, &hash, state.now()).await?;
    end_other_sessions(state, &user.id, asking).await?;
    Event::by(&user.id, action::PASSWORD_CHANGED)
        .on(&user.id)
        .record(state, meta)
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
    db::tokens::revoke_all_for_user(pool, user_id, keep_family, state.now()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::account_rules::MAX_PASSWORD_CHARS;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("Alice@Example.ORG").unwrap(),
            "alice@example.org"
        );
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.org",
            "a b@example.org",
            "alice@localhost",
            " alice@example.org",
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
            " alice",
        ] {
            assert!(validate_username(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password(&"é".repeat(MAX_PASSWORD_CHARS)).is_ok());
        assert!(validate_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }
}
