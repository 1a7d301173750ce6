//! A link as its recipient opens it: the token looked up by its hash, the password asked
//! before anything is told, then whether it can still be used; the recipient's page.

use tower_sessions::Session;

use crate::{
    model::{SharedFile, SharedFiles, SharedLink},
    server::{
        db::{self, files::FileRow, shares::ShareRow},
        error::{Error, Result},
        service::{
            audit::{action, Event},
            files,
            secret_tokens::{self, digest as token_hash},
            unlock::{self, Lock, Pass},
            RequestMeta,
        },
        state::AppState,
    },
};

use super::LinkState;

/// The link a token names and its files: unknown (or its owner disabled, or all its files
/// gone) is 404. Whether it can still be used is [`ensure_usable`]'s, asked only once the
/// password (if any) was given: a protected link tells nothing of itself before.
pub(super) async fn known_link(state: &AppState, token: &str) -> Result<(ShareRow, Vec<FileRow>)> {
    let unknown = || Error::NotFound("share link");
    let pool = &state.db().pool;
    let hash = token_hash(token);
    let link = db::shares::find_by_token_hash(pool, &hash)
        .await?
        .filter(|link| secret_tokens::same_digest(&link.token_hash, &hash))
        .ok_or_else(unknown)?;
    // Deleted files have left the link (ON DELETE CASCADE), and a disabled owner's files are
    // not shown; a link with nothing left is unknown.
    let mut files = Vec::new();
    for file in db::shares::files(pool, &link.id).await? {
        if files::owner_is_active(state, &file).await? {
            files.push(file);
        }
    }
    if files.is_empty() {
        return Err(unknown());
    }
    Ok((link, files))
}

/// Why a known link cannot be used now: revoked 404 (`link_revoked`), expired 410, used up 403.
pub(super) fn ensure_usable(state: &AppState, link: &ShareRow) -> Result<()> {
    match LinkState::of(link, state.now()).refusal() {
        Some(refused) => Err(refused),
        None => Ok(()),
    }
}

/// The link a token names and its files, once the pass opens it (a protected link asks for
/// its password before anything else), if it can still be used.
pub(super) async fn open_link(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
) -> Result<(ShareRow, Vec<FileRow>)> {
    let (link, files) = known_link(state, token).await?;
    check_pass(state, meta, &link, &files, pass).await?;
    ensure_usable(state, &link)?;
    Ok((link, files))
}

fn shared_files(state_link: &ShareRow, files: &[FileRow], shared_by: String) -> SharedFiles {
    SharedFiles {
        files: files
            .iter()
            .map(|file| SharedFile {
                id: file.id.clone(),
                filename: file.filename.clone(),
                size: file.size.max(0) as u64,
                mime_type: file.mime_type.clone(),
                scan_status: file.scan_status,
            })
            .collect(),
        shared_by,
        expires_at: db::to_datetime(state_link.expires_at),
        downloads_left: state_link
            .max_downloads
            .map(|max| (max - state_link.download_count).max(0) as u64),
    }
}

async fn creator_name(state: &AppState, link: &ShareRow) -> Result<String> {
    Ok(db::users::find_by_id(&state.db().pool, &link.created_by)
        .await?
        .map(|user| user.username)
        .unwrap_or_default())
}

/// What the recipient's page shows for a token, or why the link cannot be used. A link with a
/// password shows only that it needs one until the pass opens it.
pub async fn view(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
) -> Result<SharedLink> {
    let (link, files) = known_link(state, token).await?;
    match check_pass(state, meta, &link, &files, pass).await {
        Err(Error::PasswordRequired) => return Ok(SharedLink::PasswordRequired),
        checked => checked?,
    }
    ensure_usable(state, &link)?;
    Ok(SharedLink::Open(shared_files(
        &link,
        &files,
        creator_name(state, &link).await?,
    )))
}

/// The page's password form: checks the password and opens the link for this browser's
/// session. How many files the link has.
pub async fn unlock(
    state: &AppState,
    meta: &RequestMeta,
    session: &Session,
    token: &str,
    password: String,
) -> Result<usize> {
    let (link, files) = known_link(state, token).await?;
    check_pass(state, meta, &link, &files, &Pass::Password(Some(password))).await?;
    // Whoever gave the password may learn the link's state: its page tells it from now on.
    if let Some(hash) = link.password_hash.as_deref() {
        unlock::remember(session, Lock::Share, &link.id, hash).await?;
    }
    ensure_usable(state, &link)?;
    Ok(files.len())
}

async fn check_pass(
    state: &AppState,
    meta: &RequestMeta,
    link: &ShareRow,
    files: &[FileRow],
    pass: &Pass,
) -> Result<()> {
    let wrong = Event::new(action::SHARE_PASSWORD_FAILED)
        .on(&files[0].id)
        .detail(format!("link={}", link.id));
    let hash = link.password_hash.as_deref();
    unlock::check(state, meta, Lock::Share, &link.id, hash, pass, wrong).await
}
