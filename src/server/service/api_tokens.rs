//! Bearer tokens for the REST API. Tokens are 256 random bits, shown once, stored as SHA-256
//! hashes (a database leak yields nothing usable). Access tokens live 30 minutes; refresh tokens
//! 7 days and are single-use: refreshing spends the old one and issues a new pair in the same
//! family. Presenting a spent refresh token means it was stolen or replayed, so the whole family
//! is revoked.

use crate::server::{
    db::{self, tokens, tokens::TokenKind, users::UserRow},
    error::{Error, Result},
    service::{
        accounts::{self, SignedIn},
        audit::{action, Event},
        secret_tokens::{digest, generate},
        RequestMeta,
    },
    state::AppState,
};

const ACCESS_PREFIX: &str = "cfa_";
const REFRESH_PREFIX: &str = "cfr_";

/// A freshly issued pair; the only time the plaintext tokens exist.
#[derive(Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

async fn issue_in_family(state: &AppState, family_id: &str) -> Result<TokenPair> {
    let pool = &state.db().pool;
    let now = state.now();
    let settings = state.settings();
    let access = generate(ACCESS_PREFIX);
    let refresh = generate(REFRESH_PREFIX);
    let access_ttl = settings.sessions.access_token_ttl.as_secs();
    tokens::insert_token(
        pool,
        &digest(&access),
        family_id,
        TokenKind::Access,
        now,
        now + access_ttl as i64,
    )
    .await?;
    tokens::insert_token(
        pool,
        &digest(&refresh),
        family_id,
        TokenKind::Refresh,
        now,
        now + settings.sessions.refresh_token_ttl.as_secs() as i64,
    )
    .await?;
    Ok(TokenPair {
        access_token: access,
        refresh_token: refresh,
        expires_in: access_ttl,
    })
}

/// Starts a new token family for a user who has just passed every login factor.
pub async fn issue(state: &AppState, login: &SignedIn, meta: &RequestMeta) -> Result<TokenPair> {
    let family = db::new_id();
    tokens::insert_family(&state.db().pool, &family, &login.user().id, state.now()).await?;
    let pair = issue_in_family(state, &family).await?;
    accounts::login_succeeded(state, login, "api", meta).await?;
    Ok(pair)
}

/// Exchanges a refresh token for a new pair.
pub async fn refresh(
    state: &AppState,
    refresh_token: &str,
    meta: &RequestMeta,
) -> Result<TokenPair> {
    let pool = &state.db().pool;
    let now = state.now();
    let hash = digest(refresh_token.trim());
    let row = tokens::find(pool, &hash)
        .await?
        .ok_or(Error::InvalidToken)?;
    if row.kind != TokenKind::Refresh.as_str()
        || row.family_revoked_at.is_some()
        || row.expires_at <= now
    {
        return Err(Error::InvalidToken);
    }
    if row.spent_at.is_some() || !tokens::spend(pool, &hash, now).await? {
        tokens::revoke_family(pool, &row.family_id, now).await?;
        Event::by(&row.user_id, action::TOKEN_REUSE)
            .on(&row.family_id)
            .detail("spent refresh token presented again; family revoked")
            .record(state, meta)
            .await;
        return Err(Error::InvalidToken);
    }
    accounts::find_active(state, &row.user_id)
        .await?
        .ok_or(Error::InvalidToken)?;
    issue_in_family(state, &row.family_id).await
}

/// The user behind a live access token.
pub async fn authenticate(state: &AppState, access_token: &str) -> Result<(UserRow, String)> {
    let row = tokens::find(&state.db().pool, &digest(access_token))
        .await?
        .ok_or(Error::InvalidToken)?;
    if row.kind != TokenKind::Access.as_str()
        || row.family_revoked_at.is_some()
        || row.expires_at <= state.now()
    {
        return Err(Error::InvalidToken);
    }
    let user = accounts::find_active(state, &row.user_id)
        .await?
        .ok_or(Error::InvalidToken)?;
    Ok((user, row.family_id))
}

/// Revokes the family of the presented access token (this login's tokens, refresh included).
pub async fn logout(
    state: &AppState,
    user: &UserRow,
    family_id: &str,
    meta: &RequestMeta,
) -> Result<()> {
    tokens::revoke_family(&state.db().pool, family_id, state.now()).await?;
    Event::by(&user.id, action::LOGOUT)
        .on(family_id)
        .detail("api")
        .record(state, meta)
        .await;
    Ok(())
}
