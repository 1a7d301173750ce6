//! Browser sign-in. The cookie session (tower-sessions, in SQL or Redis) holds only the id of a
//! `web_sessions` row; that row is the authority. Deleting it signs the browser out at once,
//! whichever store keeps the cookie session, which is how logout, password changes and
//! disabling a user take effect immediately.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use tower_sessions::Session;

use crate::{
    model::SessionInfo,
    server::{
        db::{self, users::UserRow, web_sessions::WebSessionRow},
        error::{Error, Result},
        service::{
            accounts::{self, SignedIn},
            audit::{action, Event},
            two_factor, RequestMeta,
        },
        state::AppState,
        user_agent,
    },
};

const WEB_SESSION_KEY: &str = "web_session_id";
/// A login whose password was right, waiting for its second factor.
const PENDING_LOGIN_KEY: &str = "pending_login";
/// How long the second step may take.
const PENDING_LOGIN_SECS: i64 = 5 * 60;
/// `last_seen_at` is refreshed at most this often, to keep page views from writing every time.
const TOUCH_EVERY_SECS: i64 = 60;

#[derive(serde::Serialize, serde::Deserialize)]
struct PendingLogin {
    user_id: String,
    since: i64,
}

/// What a flash cookie's signature is bound to.
const FLASH_PURPOSE: &[u8] = b"coffer/flash-cookie/v1";

/// A plain form's outcome for a visitor without a session, as its cookie carries it (the
/// `http::flash` layer keeps it there): base64url of `json`, a dot, base64url of its HMAC under
/// the master keyring, so nobody else can put words on our pages through it.
pub fn seal_flash(state: &AppState, json: &[u8]) -> String {
    let tag = state.keys().ring().sign(FLASH_PURPOSE, json);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The JSON a cookie [`seal_flash`] made carries; `None` for anything else.
pub fn open_flash(state: &AppState, sealed: &str) -> Option<Vec<u8>> {
    let (json, tag) = sealed.split_once('.')?;
    let json = URL_SAFE_NO_PAD.decode(json).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    state
        .keys()
        .ring()
        .verify(FLASH_PURPOSE, &json, &tag)
        .then_some(json)
}

/// Where a browser login stands after its password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInStep {
    SignedIn,
    /// The account has 2FA: [`second_step`] must follow, within five minutes.
    NeedsCode,
}

/// The password step of a browser login. Without 2FA the browser is signed in; with it, the
/// session only remembers who passed the password (under a new session id) until
/// [`second_step`].
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    email: &str,
    password: String,
    meta: &RequestMeta,
) -> Result<SignInStep> {
    let user = accounts::authenticate(state, email, password, meta).await?;
    if user.has_two_factor() {
        session.cycle_id().await?;
        let pending = PendingLogin {
            user_id: user.id,
            since: state.now(),
        };
        session.insert(PENDING_LOGIN_KEY, &pending).await?;
        return Ok(SignInStep::NeedsCode);
    }
    let login = two_factor::complete_login(state, user, None, meta).await?;
    start(state, session, &login, meta).await?;
    Ok(SignInStep::SignedIn)
}

/// Whether this browser passed a password step that waits for its code.
pub async fn has_pending_login(state: &AppState, session: &Session) -> Result<bool> {
    Ok(pending_login(state, session).await?.is_some())
}

async fn pending_login(state: &AppState, session: &Session) -> Result<Option<PendingLogin>> {
    let pending = session.get::<PendingLogin>(PENDING_LOGIN_KEY).await?;
    Ok(pending.filter(|p| state.now() - p.since < PENDING_LOGIN_SECS))
}

/// The second step of a browser login: a code from the authenticator app or a recovery code.
/// Only now is the browser signed in, under yet another session id.
pub async fn second_step(
    state: &AppState,
    session: &Session,
    code: &str,
    meta: &RequestMeta,
) -> Result<()> {
    let pending = pending_login(state, session)
        .await?
        .ok_or(Error::LoginStepExpired)?;
    let user = accounts::find_active(state, &pending.user_id)
        .await?
        .ok_or(Error::LoginStepExpired)?;
    let login = two_factor::complete_login(state, user, Some(code), meta).await?;
    session.remove::<PendingLogin>(PENDING_LOGIN_KEY).await?;
    start(state, session, &login, meta).await
}

/// Signs a user who has passed every factor in on this browser: a new session id (no
/// fixation), a new `web_sessions` row.
pub async fn start(
    state: &AppState,
    session: &Session,
    login: &SignedIn,
    meta: &RequestMeta,
) -> Result<()> {
    let user = login.user();
    session.cycle_id().await?;
    let now = state.now();
    let row = WebSessionRow {
        id: db::new_id(),
        user_id: user.id.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + state.settings().sessions.lifetime.as_secs() as i64,
        ip: meta.ip.clone(),
        user_agent: meta
            .user_agent
            .as_deref()
            .map(|ua| ua.chars().take(256).collect()),
    };
    db::web_sessions::insert(&state.db().pool, &row).await?;
    session.insert(WEB_SESSION_KEY, &row.id).await?;
    accounts::login_succeeded(state, login, "browser", meta).await
}

/// The signed-in user of this browser, if any.
pub async fn current(state: &AppState, session: &Session) -> Result<Option<(UserRow, String)>> {
    let Some(id) = session.get::<String>(WEB_SESSION_KEY).await? else {
        return Ok(None);
    };
    let pool = &state.db().pool;
    let now = state.now();
    let Some(row) = db::web_sessions::find_live(pool, &id, now).await? else {
        // Ended elsewhere (logout everywhere, password change, disabled) or past its lifetime.
        session.flush().await?;
        return Ok(None);
    };
    let Some(user) = accounts::find_active(state, &row.user_id).await? else {
        db::web_sessions::delete(pool, &id).await?;
        session.flush().await?;
        return Ok(None);
    };
    if now - row.last_seen_at >= TOUCH_EVERY_SECS {
        db::web_sessions::touch(pool, &id, now).await?;
    }
    Ok(Some((user, id)))
}

/// The signed-in user, or `Unauthenticated`.
pub async fn require(state: &AppState, session: &Session) -> Result<UserRow> {
    Ok(require_current(state, session).await?.0)
}

/// The signed-in user and this browser's session id, or `Unauthenticated`.
pub async fn require_current(state: &AppState, session: &Session) -> Result<(UserRow, String)> {
    current(state, session).await?.ok_or(Error::Unauthenticated)
}

/// Signs this browser out: the row goes, and so does the cookie session.
pub async fn end(state: &AppState, session: &Session, meta: &RequestMeta) -> Result<()> {
    if let Some((user, id)) = current(state, session).await? {
        db::web_sessions::delete(&state.db().pool, &id).await?;
        Event::by(&user.id, action::LOGOUT)
            .detail("browser")
            .record(state, meta)
            .await;
    }
    session.flush().await.map_err(Error::from)
}

/// The user's signed-in browsers, marking `current` (the one asking).
pub async fn list(state: &AppState, user: &UserRow, current: &str) -> Result<Vec<SessionInfo>> {
    let rows = db::web_sessions::list_for_user(&state.db().pool, &user.id, state.now()).await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionInfo {
            current: row.id == current,
            id: row.id,
            created_at: db::to_datetime(row.created_at),
            last_seen_at: db::to_datetime(row.last_seen_at),
            ip: row.ip,
            device: user_agent::describe(row.user_agent.as_deref()),
            user_agent: row.user_agent,
        })
        .collect())
}

/// Signs one of the user's other browsers out (this one signs out with [`end`]).
pub async fn end_other(
    state: &AppState,
    user: &UserRow,
    current: &str,
    id: &str,
    meta: &RequestMeta,
) -> Result<()> {
    if id == current {
        return Err(Error::Validation(
            "To sign this browser out, use “Sign out”".into(),
        ));
    }
    if !db::web_sessions::delete_for_user_one(&state.db().pool, &user.id, id).await? {
        return Err(Error::NotFound("session"));
    }
    record_ended(state, user, meta, "one").await;
    Ok(())
}

/// Signs out every other browser and API client of the user.
pub async fn end_all_others(
    state: &AppState,
    user: &UserRow,
    current: &str,
    meta: &RequestMeta,
) -> Result<()> {
    accounts::end_other_sessions(state, &user.id, accounts::CurrentSession::Browser(current))
        .await?;
    record_ended(state, user, meta, "all others").await;
    Ok(())
}

async fn record_ended(state: &AppState, user: &UserRow, meta: &RequestMeta, which: &str) {
    Event::by(&user.id, action::SESSION_ENDED)
        .on(&user.id)
        .detail(which)
        .record(state, meta)
        .await;
}
