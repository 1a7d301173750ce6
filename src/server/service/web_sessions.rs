//! Browser sign-in. The cookie session (tower-sessions, in SQL or Redis) holds only the id of a
//! `web_sessions` row; that row is the authority. Deleting it signs the browser out at once,
//! whichever store keeps the cookie session, which is how logout, password changes and
//! disabling a user take effect immediately.

use tower_sessions::Session;

use crate::server::{
    db::{self, users::UserRow, web_sessions::WebSessionRow},
    error::{Error, Result},
    service::{
        accounts,
        audit::{self, action, Event},
        RequestMeta,
    },
    state::AppState,
};

const WEB_SESSION_KEY: &str = "web_session_id";
/// `last_seen_at` is refreshed at most this often, to keep page views from writing every time.
const TOUCH_EVERY_SECS: i64 = 60;

fn session_error(e: tower_sessions::session::Error) -> Error {
    Error::Unavailable(format!("session store: {e}"))
}

/// Signs `user` in on this browser: a new session id (no fixation), a new `web_sessions` row.
pub async fn start(
    state: &AppState,
    session: &Session,
    user: &UserRow,
    meta: &RequestMeta,
) -> Result<()> {
    session.cycle_id().await.map_err(session_error)?;
    let now = db::now();
    let row = WebSessionRow {
        id: db::new_id(),
        user_id: user.id.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + state.settings().session_lifetime.as_secs() as i64,
        ip: meta.ip.clone(),
        user_agent: meta
            .user_agent
            .as_deref()
            .map(|ua| ua.chars().take(256).collect()),
    };
    db::web_sessions::insert(&state.db().pool, &row).await?;
    session
        .insert(WEB_SESSION_KEY, &row.id)
        .await
        .map_err(session_error)?;
    accounts::login_succeeded(state, user, "password", meta).await
}

/// The signed-in user of this browser, if any.
pub async fn current(state: &AppState, session: &Session) -> Result<Option<(UserRow, String)>> {
    let Some(id) = session
        .get::<String>(WEB_SESSION_KEY)
        .await
        .map_err(session_error)?
    else {
        return Ok(None);
    };
    let pool = &state.db().pool;
    let now = db::now();
    let Some(row) = db::web_sessions::find_live(pool, &id, now).await? else {
        // Ended elsewhere (logout everywhere, password change, disabled) or past its lifetime.
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    };
    let Some(user) = accounts::find_active(state, &row.user_id).await? else {
        db::web_sessions::delete(pool, &id).await?;
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    };
    if now - row.last_seen_at >= TOUCH_EVERY_SECS {
        db::web_sessions::touch(pool, &id, now).await?;
    }
    Ok(Some((user, id)))
}

/// The signed-in user, or `Unauthenticated`.
pub async fn require(state: &AppState, session: &Session) -> Result<UserRow> {
    current(state, session)
        .await?
        .map(|(user, _)| user)
        .ok_or(Error::Unauthenticated)
}

/// Signs this browser out: the row goes, and so does the cookie session.
pub async fn end(state: &AppState, session: &Session, meta: &RequestMeta) -> Result<()> {
    if let Some((user, id)) = current(state, session).await? {
        db::web_sessions::delete(&state.db().pool, &id).await?;
        audit::record(
            state,
            meta,
            Event {
                actor_id: Some(&user.id),
                action: action::LOGOUT,
                target: None,
                detail: Some("browser".into()),
            },
        )
        .await;
    }
    session.flush().await.map_err(session_error)
}
