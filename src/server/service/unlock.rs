//! How a visitor without an account shows they may use a password-protected link (a share link
//! or an upload request): the password with each request (the API's header), or a browser
//! session that was given the password once (the pages' form).

use tower_sessions::Session;

use crate::{
    model::MAX_LINK_PASSWORD_CHARS,
    server::{
        error::{Error, Result},
        service::{audit::Event, passwords, secret_tokens, RequestMeta},
        state::AppState,
    },
};

/// What a request brings to open a protected link.
pub enum Pass {
    /// The password, with this request.
    Password(Option<String>),
    /// This browser's session; it opens the links it was given the password of.
    Session(Session),
}

/// The kinds of links a session remembers separately.
#[derive(Clone, Copy, Debug)]
pub enum Lock {
    Share,
    Request,
}

impl Lock {
    fn key(self) -> &'static str {
        match self {
            Lock::Share => "unlocked_shares",
            Lock::Request => "unlocked_requests",
        }
    }

    /// What a request that brings no password is told.
    fn password_required(self) -> Error {
        match self {
            Lock::Share => Error::PasswordRequired,
            Lock::Request => Error::RequestPasswordRequired,
        }
    }

    /// The kind of link, as a sentence starts with it.
    fn whose(self) -> &'static str {
        match self {
            Lock::Share => "A link's",
            Lock::Request => "A request's",
        }
    }
}

/// The hash of a new link's password (`None`, or blank: no password), once it is within
/// [`MAX_LINK_PASSWORD_CHARS`]; hashed in the links' own pool.
pub async fn hash_new_password(lock: Lock, password: Option<String>) -> Result<Option<String>> {
    match password.filter(|p| !p.is_empty()) {
        Some(p) if p.chars().count() > MAX_LINK_PASSWORD_CHARS => Err(Error::Validation(format!(
            "{} password can have at most {MAX_LINK_PASSWORD_CHARS} characters",
            lock.whose()
        ))),
        Some(p) => Ok(Some(passwords::hash_for_link(p).await?)),
        None => Ok(None),
    }
}

/// The one password rule of protected links: a link `id` of kind `lock`, protected by `hash`
/// (none: open to all), opens for a session that was given its password before, or for the
/// right password with this request (counted against the link's password limits,
/// `passwords::check_link`). No password at all is refused with the lock's "password
/// required"; a wrong one is audited as `on_wrong` and refused with [`Error::WrongPassword`].
pub async fn check(
    state: &AppState,
    meta: &RequestMeta,
    lock: Lock,
    id: &str,
    hash: Option<&str>,
    pass: &Pass,
    on_wrong: Event<'_>,
) -> Result<()> {
    let Some(hash) = hash else {
        return Ok(());
    };
    let password = match pass {
        Pass::Session(session) if is_unlocked(session, lock, id, hash).await? => return Ok(()),
        Pass::Session(_) => None,
        Pass::Password(password) => password.clone(),
    };
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Err(lock.password_required());
    };
    if passwords::check_link(state, meta, id, hash, password).await? {
        return Ok(());
    }
    on_wrong.record(state, meta).await;
    Err(Error::WrongPassword)
}

/// The most links of a kind one session remembers (the oldest are forgotten).
const MAX_REMEMBERED: usize = 100;

async fn remembered(session: &Session, lock: Lock) -> Result<Vec<String>> {
    Ok(session.get(lock.key()).await?.unwrap_or_default())
}

/// How a session remembers link `id` under the password hashed as `hash`: a new password (a
/// new hash, with its own salt) is not the one the session was given, so it asks again.
fn entry(id: &str, hash: &str) -> String {
    let digest = secret_tokens::digest(hash);
    format!("{id}:{}", &digest[..16.min(digest.len())])
}

/// Whether this session was given the password (hashed as `hash`) of link `id`.
pub async fn is_unlocked(session: &Session, lock: Lock, id: &str, hash: &str) -> Result<bool> {
    let entry = entry(id, hash);
    Ok(remembered(session, lock).await?.contains(&entry))
}

/// Remembers that this session was given the password (hashed as `hash`) of link `id`.
pub async fn remember(session: &Session, lock: Lock, id: &str, hash: &str) -> Result<()> {
    let entry = entry(id, hash);
    let mut entries = remembered(session, lock).await?;
    if entries.contains(&entry) {
        return Ok(());
    }
    entries.push(entry);
    if entries.len() > MAX_REMEMBERED {
        entries.drain(..entries.len() - MAX_REMEMBERED);
    }
    session
        .insert(lock.key(), entries)
        .await
        .map_err(Error::from)
}
