//! How a visitor without an account shows they may use a password-protected link (a share link
//! or an upload request): the password with each request (the API's header), or a browser
//! session that was given the password once (the pages' form).

use tower_sessions::Session;

use crate::server::error::{Error, Result};

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
}

/// The most links of a kind one session remembers (the oldest are forgotten).
const MAX_REMEMBERED: usize = 100;

async fn remembered(session: &Session, lock: Lock) -> Result<Vec<String>> {
    Ok(session.get(lock.key()).await?.unwrap_or_default())
}

/// Whether this session was given the password of link `id`.
pub async fn is_unlocked(session: &Session, lock: Lock, id: &str) -> Result<bool> {
    Ok(remembered(session, lock)
        .await?
        .iter()
        .any(|known| known == id))
}

/// Remembers that this session was given the password of link `id`.
pub async fn remember(session: &Session, lock: Lock, id: &str) -> Result<()> {
    let mut ids = remembered(session, lock).await?;
    if ids.iter().any(|known| known == id) {
        return Ok(());
    }
    ids.push(id.to_owned());
    if ids.len() > MAX_REMEMBERED {
        ids.drain(..ids.len() - MAX_REMEMBERED);
    }
    session.insert(lock.key(), ids).await.map_err(Error::from)
}
