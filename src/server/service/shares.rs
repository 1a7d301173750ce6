//! Share links: sharing a file with people who have no account, through a link that is stored,
//! counted, revocable and optionally password-protected. (Pre-signed URLs, stateless and
//! minutes long, are `signed_urls`.) The REST API, the owner's page and the recipient's page
//! all come here.
//!
//! A share token is 256 random bits, shown once; only its SHA-256 is stored, looked up by that
//! hash and compared again in constant time. A download by link counts when its response
//! starts, through one conditional UPDATE, so a limit of N lets at most N downloads start
//! however many run at once.

use tower_sessions::Session;

use crate::{
    model::{
        recipient_path, CreatedShare, Paging, ShareInfo, ShareRequest, SharedFile, SharedFiles,
        SharedLink, DEFAULT_EXPIRY_HOURS, MAX_ACTIVE_LINKS, MAX_EXPIRY_HOURS, MAX_LINK_DOWNLOADS,
        MAX_LINK_FILES, MAX_LINK_PASSWORD_CHARS,
    },
    server::{
        db::{self, files::FileRow, shares::ShareRow, users::UserRow},
        error::{Error, Result},
        service::{
            audit::{action, Event},
            files::{self, Download},
            passwords, rate_limits,
            secret_tokens::{self, digest as token_hash},
            unlock::{self, Checked, Lock, Pass},
            webhooks, RequestMeta,
        },
        state::AppState,
    },
};

const HOUR: i64 = 3600;

/// Where a link stands at a moment; a link is revoked before expired before used up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkState {
    Active,
    Revoked,
    Expired,
    UsedUp,
}

impl LinkState {
    fn of(link: &ShareRow, now: i64) -> Self {
        if link.revoked_at.is_some() {
            LinkState::Revoked
        } else if link.expires_at <= now {
            LinkState::Expired
        } else if link
            .max_downloads
            .is_some_and(|max| link.download_count >= max)
        {
            LinkState::UsedUp
        } else {
            LinkState::Active
        }
    }

    /// In the words of [`ShareInfo::status`].
    fn as_str(self) -> &'static str {
        match self {
            LinkState::Active => "active",
            LinkState::Revoked => "revoked",
            LinkState::Expired => "expired",
            LinkState::UsedUp => "used_up",
        }
    }

    /// Why a link in this state cannot be used; `None` when it can.
    fn refusal(self) -> Option<Error> {
        match self {
            LinkState::Active => None,
            LinkState::Revoked => Some(Error::LinkRevoked),
            LinkState::Expired => Some(Error::LinkExpired),
            LinkState::UsedUp => Some(Error::DownloadLimitReached),
        }
    }
}

/// A link as its owner's lists show it, in its state at `now`.
fn share_info((link, file_ids): (ShareRow, Vec<String>), now: i64) -> ShareInfo {
    {
        ShareInfo {
            status: LinkState::of(&link, now).as_str().to_owned(),
            id: link.id,
            file_id: file_ids.first().cloned().unwrap_or_default(),
            file_ids,
            created_at: db::to_datetime(link.created_at),
            expires_at: db::to_datetime(link.expires_at),
            max_downloads: link.max_downloads.map(|n| n.max(0) as u64),
            download_count: link.download_count.max(0) as u64,
            has_password: link.password_hash.is_some(),
        }
    }
}

/// The expiry a request asks for, as unix seconds, checked against the limits.
fn expiry(request: &ShareRequest, now: i64) -> Result<i64> {
    match (request.expires_hours, request.expires_at) {
        (Some(_), Some(_)) => Err(Error::Validation(
            "Give either expires_hours or expires_at, not both".into(),
        )),
        (hours, None) => {
            let hours = hours.unwrap_or(DEFAULT_EXPIRY_HOURS);
            if !(1..=MAX_EXPIRY_HOURS).contains(&hours) {
                return Err(Error::Validation(format!(
                    "A link can last from 1 to {MAX_EXPIRY_HOURS} hours"
                )));
            }
            Ok(now + i64::from(hours) * HOUR)
        }
        (None, Some(at)) => {
            let at = at.unix_timestamp();
            if at <= now {
                return Err(Error::Validation("The expiry must be in the future".into()));
            }
            if at > now + i64::from(MAX_EXPIRY_HOURS) * HOUR {
                return Err(Error::Validation("A link can last at most 30 days".into()));
            }
            Ok(at)
        }
    }
}

/// The files a new link may point at: 1 to [`MAX_LINK_FILES`], each once, each one the actor
/// may see; in the order given.
pub async fn selection(
    state: &AppState,
    actor: &UserRow,
    file_ids: &[String],
) -> Result<Vec<FileRow>> {
    if file_ids.is_empty() {
        return Err(Error::Validation(
            "Choose at least one file to share".into(),
        ));
    }
    if file_ids.len() > MAX_LINK_FILES {
        return Err(Error::Validation(format!(
            "A link can share at most {MAX_LINK_FILES} files"
        )));
    }
    let mut files: Vec<FileRow> = Vec::with_capacity(file_ids.len());
    for id in file_ids {
        let file = files::find_visible(state, actor, id).await?;
        if files.iter().any(|f| f.id == file.id) {
            return Err(Error::Validation(format!(
                "{} is chosen twice",
                file.filename
            )));
        }
        files.push(file);
    }
    Ok(files)
}

/// Makes a share link for one or more files the actor may see.
pub async fn create(
    state: &AppState,
    actor: &UserRow,
    meta: &RequestMeta,
    file_ids: &[String],
    request: ShareRequest,
) -> Result<CreatedShare> {
    let files = selection(state, actor, file_ids).await?;
    let now = state.now();
    let expires_at = expiry(&request, now)?;
    let protected = request.password.as_ref().is_some_and(|p| !p.is_empty());
    rate_limits::making_link(state, &actor.id, protected).await?;
    if db::shares::count_active_by_creator(&state.db().pool, &actor.id, now).await?
        >= MAX_ACTIVE_LINKS
    {
        return Err(Error::Validation(format!(
            "You have {MAX_ACTIVE_LINKS} share links that can still be used, the most one account \
             may have: revoke some, or wait for some to expire"
        )));
    }
    let max_downloads = match request.max_downloads {
        Some(n) if !(1..=MAX_LINK_DOWNLOADS).contains(&n) => {
            return Err(Error::Validation(format!(
                "A download limit must be from 1 to {MAX_LINK_DOWNLOADS}"
            )))
        }
        limit => limit.map(i64::from),
    };
    let password = request.password.filter(|p| !p.is_empty());
    let password_hash = match password {
        Some(p) if p.chars().count() > MAX_LINK_PASSWORD_CHARS => {
            return Err(Error::Validation(format!(
                "A link's password can have at most {MAX_LINK_PASSWORD_CHARS} characters"
            )))
        }
        Some(p) => Some(passwords::hash_for_link(p).await?),
        None => None,
    };
    let token = secret_tokens::generate("");
    let link = ShareRow {
        id: db::new_id(),
        token_hash: token_hash(&token),
        created_by: actor.id.clone(),
        created_at: now,
        expires_at,
        max_downloads,
        download_count: 0,
        password_hash,
        revoked_at: None,
    };
    let ids: Vec<String> = files.iter().map(|f| f.id.clone()).collect();
    // A file may be deleted while the password above was hashed.
    db::shares::insert(&state.db().pool, &link, &ids)
        .await
        .map_err(|e| {
            if db::is_foreign_key_violation(&e) {
                Error::NotFound("file")
            } else {
                e.into()
            }
        })?;
    Event::by(&actor.id, action::SHARE_CREATED)
        .on(&ids[0])
        .detail(format!(
            "link={} files={} expires_at={expires_at} max_downloads={max_downloads:?} password={}",
            link.id,
            ids.join(","),
            link.password_hash.is_some()
        ))
        .record(state, meta)
        .await;
    Ok(CreatedShare {
        id: link.id,
        share_url: state.settings().public_link(&recipient_path(&token)),
        share_token: token,
        expires_at: db::to_datetime(expires_at),
        max_downloads: max_downloads.map(|n| n as u64),
    })
}

/// A page of the links the actor made that still point at a file, newest first.
pub async fn list_mine(state: &AppState, actor: &UserRow, page: Paging) -> Result<Vec<ShareInfo>> {
    let links =
        db::shares::list_by_creator(&state.db().pool, &actor.id, page.limit(), page.offset())
            .await?;
    let now = state.now();
    Ok(links.into_iter().map(|l| share_info(l, now)).collect())
}

/// A page of a file's links, newest first, for whoever may see the file.
pub async fn list(
    state: &AppState,
    actor: &UserRow,
    file_id: &str,
    page: Paging,
) -> Result<Vec<ShareInfo>> {
    Ok(file_with_links(state, actor, file_id, page).await?.1)
}

/// A file the actor may see, with a page of its links newest first (the owner's share page).
pub async fn file_with_links(
    state: &AppState,
    actor: &UserRow,
    file_id: &str,
    page: Paging,
) -> Result<(FileRow, Vec<ShareInfo>)> {
    let file = files::find_visible(state, actor, file_id).await?;
    let links =
        db::shares::list_for_file(&state.db().pool, &file.id, page.limit(), page.offset()).await?;
    let now = state.now();
    Ok((
        file,
        links.into_iter().map(|l| share_info(l, now)).collect(),
    ))
}

/// Revokes one of a file's active links, named by its id or by its token.
pub async fn revoke(
    state: &AppState,
    actor: &UserRow,
    meta: &RequestMeta,
    file_id: &str,
    id_or_token: &str,
) -> Result<()> {
    let file = files::find_visible(state, actor, file_id).await?;
    let pool = &state.db().pool;
    let link = db::shares::find_for_file(pool, &file.id, id_or_token, &token_hash(id_or_token))
        .await?
        .ok_or(Error::NotFound("share link"))?;
    // Revoking a revoked link changes nothing (DELETE is idempotent), and is not audited again.
    if db::shares::revoke(pool, &link.id, state.now()).await? {
        Event::by(&actor.id, action::SHARE_REVOKED)
            .on(&file.id)
            .detail(format!("link={}", link.id))
            .record(state, meta)
            .await;
    }
    Ok(())
}

/// Revokes a link the actor made (or any, for an admin), named by its id.
pub async fn revoke_link(
    state: &AppState,
    actor: &UserRow,
    meta: &RequestMeta,
    link_id: &str,
) -> Result<()> {
    let pool = &state.db().pool;
    let unknown = || Error::NotFound("share link");
    let link = db::shares::find(pool, link_id).await?.ok_or_else(unknown)?;
    if link.created_by != actor.id && !super::admin::is_admin(actor) {
        return Err(unknown());
    }
    if !db::shares::revoke(pool, &link.id, state.now()).await? {
        // Revoked already: nothing changes (DELETE is idempotent).
        return Ok(());
    }
    let first = db::shares::files(pool, &link.id).await?.into_iter().next();
    let event = Event::by(&actor.id, action::SHARE_REVOKED).detail(format!("link={}", link.id));
    match &first {
        Some(file) => event.on(&file.id),
        None => event,
    }
    .record(state, meta)
    .await;
    Ok(())
}

/// The link a token names and its files: unknown (or its owner disabled, or all its files
/// gone) is 404. Whether it can still be used is [`ensure_usable`]'s, asked only once the
/// password (if any) was given: a protected link tells nothing of itself before.
async fn known_link(state: &AppState, token: &str) -> Result<(ShareRow, Vec<FileRow>)> {
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
fn ensure_usable(state: &AppState, link: &ShareRow) -> Result<()> {
    match LinkState::of(link, state.now()).refusal() {
        Some(refused) => Err(refused),
        None => Ok(()),
    }
}

/// The link a token names and its files, once the pass opens it (a protected link asks for
/// its password before anything else), if it can still be used.
async fn open_link(
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

/// A download by share link of one of its files: the whole file (ranges would let one count
/// stand for many downloads). Checks the link, then its password (attempts limited per link),
/// then the scan; the download counts once the first chunk is ready to send. Every download
/// through a link counts one, whichever file.
pub async fn download(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
    file_id: &str,
) -> Result<Download> {
    files::limit_downloads(state, meta).await?;
    let (link, files) = open_link(state, meta, token, pass).await?;
    download_file(state, meta, &link, files, file_id).await
}

/// What a link's own download gives: its file, or its files as one zip.
pub enum LinkDownload {
    File(Box<Download>),
    Zip(ZipDownload),
}

/// The link's download: a link to one file sends the file ([`download`]), a link to several
/// sends them all as a zip ([`download_all`]).
pub async fn download_link(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
) -> Result<LinkDownload> {
    files::limit_downloads(state, meta).await?;
    let (link, files) = open_link(state, meta, token, pass).await?;
    Ok(match files.as_slice() {
        [only] => {
            let id = only.id.clone();
            LinkDownload::File(Box::new(
                download_file(state, meta, &link, files, &id).await?,
            ))
        }
        _ => LinkDownload::Zip(zip_files(state, meta, &link, files).await?),
    })
}

/// One file of an opened link.
async fn download_file(
    state: &AppState,
    meta: &RequestMeta,
    link: &ShareRow,
    files: Vec<FileRow>,
    file_id: &str,
) -> Result<Download> {
    let file = files
        .into_iter()
        .find(|f| f.id == file_id)
        .ok_or(Error::NotFound("file"))?;
    let mut download = files::open_download(state, file, None).await?;
    download.accepts_ranges = false;
    count_download(state, link, &[&download.file]).await?;
    files::record_download(
        state,
        meta,
        None,
        &download.file,
        download.range,
        action::SHARE_DOWNLOADED,
        Some(format!("link={}", link.id)),
    )
    .await?;
    Ok(download)
}

/// All of a link's files that can be downloaded, as one zip.
pub struct ZipDownload {
    /// What the archive is called when saved.
    pub filename: String,
    /// The files in it, in order.
    pub files: Vec<FileRow>,
    /// Names of the link's files left out: not scanned clean (yet).
    pub left_out: Vec<String>,
    pub body: files::PlainStream,
}

/// "Download all": every file of the link that is scanned clean, as one streamed zip; files
/// still being scanned, or infected, or whose scan failed are left out (and named). Counts one
/// download of the link, like any other download through it.
pub async fn download_all(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
) -> Result<ZipDownload> {
    files::limit_downloads(state, meta).await?;
    let (link, files) = open_link(state, meta, token, pass).await?;
    zip_files(state, meta, &link, files).await
}

/// The files of an opened link that are scanned clean, as one zip.
async fn zip_files(
    state: &AppState,
    meta: &RequestMeta,
    link: &ShareRow,
    all: Vec<FileRow>,
) -> Result<ZipDownload> {
    let (ready, left_out): (Vec<FileRow>, Vec<FileRow>) = all
        .into_iter()
        .partition(|f| f.scan_status.is_downloadable());
    if ready.is_empty() {
        // Why the first file cannot be sent says why none can.
        files::ensure_scanned_clean(&left_out[0])?;
    }
    count_download(state, link, &ready.iter().collect::<Vec<_>>()).await?;
    files::record_zip_download(
        state,
        meta,
        &ready,
        action::SHARE_DOWNLOADED,
        format!("link={} zip", link.id),
    )
    .await?;
    Ok(ZipDownload {
        filename: "shared-files.zip".to_owned(),
        body: files::zip(state, ready.clone()),
        files: ready,
        left_out: left_out.into_iter().map(|f| f.filename).collect(),
    })
}

/// Counts a download through `link`, or says why it may not start.
/// The link's maker's webhooks are told in the same transaction.
async fn count_download(state: &AppState, link: &ShareRow, files: &[&FileRow]) -> Result<()> {
    let event = webhooks::share_downloaded(link, files, state.now());
    let pool = &state.db().pool;
    if db::shares::count_download(pool, &link.id, state.now(), &event).await? {
        return Ok(());
    }
    // Another download took the last one, or the link ran out or was revoked meanwhile: its
    // row as it is now says which.
    if let Some(now) = db::shares::find(pool, &link.id).await? {
        ensure_usable(state, &now)?;
    }
    Err(Error::DownloadLimitReached)
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
    if link.password_hash.is_some() {
        unlock::remember(session, Lock::Share, &link.id).await?;
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
    let hash = link.password_hash.as_deref();
    if unlock::check(state, meta, Lock::Share, &link.id, hash, pass).await? == Checked::Open {
        return Ok(());
    }
    Event::new(action::SHARE_PASSWORD_FAILED)
        .on(&files[0].id)
        .detail(format!("link={}", link.id))
        .record(state, meta)
        .await;
    Err(Error::WrongPassword)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(expires_at: i64, max: Option<i64>, count: i64, revoked: bool) -> ShareRow {
        ShareRow {
            id: "l".into(),
            token_hash: String::new(),
            created_by: "u".into(),
            created_at: 0,
            expires_at,
            max_downloads: max,
            download_count: count,
            password_hash: None,
            revoked_at: revoked.then_some(1),
        }
    }

    #[test]
    fn a_link_is_revoked_before_expired_before_used_up() {
        let status = |link: &ShareRow, now| LinkState::of(link, now).as_str();
        assert_eq!(status(&link(100, Some(1), 1, true), 200), "revoked");
        assert_eq!(status(&link(100, Some(1), 1, false), 100), "expired");
        assert_eq!(status(&link(100, Some(1), 1, false), 99), "used_up");
        assert_eq!(status(&link(100, Some(2), 1, false), 99), "active");
        assert_eq!(status(&link(100, None, 1000, false), 99), "active");
    }

    #[test]
    fn expiry_defaults_to_a_day_and_stays_within_thirty_days() {
        let now = 1_000_000;
        let hours = |h| ShareRequest {
            expires_hours: Some(h),
            ..Default::default()
        };
        let at = |secs: i64| ShareRequest {
            expires_at: Some(db::to_datetime(now + secs)),
            ..Default::default()
        };
        assert_eq!(
            expiry(&ShareRequest::default(), now).unwrap(),
            now + 24 * HOUR
        );
        assert_eq!(expiry(&hours(1), now).unwrap(), now + HOUR);
        assert_eq!(expiry(&hours(720), now).unwrap(), now + 720 * HOUR);
        assert_eq!(expiry(&at(60), now).unwrap(), now + 60);
        assert_eq!(expiry(&at(720 * HOUR), now).unwrap(), now + 720 * HOUR);
        let both = ShareRequest {
            expires_hours: Some(1),
            expires_at: Some(db::to_datetime(now + 60)),
            ..Default::default()
        };
        for bad in [
            hours(0),
            hours(721),
            at(0),
            at(-60),
            at(720 * HOUR + 1),
            both,
        ] {
            assert_eq!(expiry(&bad, now).unwrap_err().code(), "validation_error");
        }
    }
}
