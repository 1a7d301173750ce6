//! Upload requests ("reverse shares"): a user makes a link, `/r/<token>`, through which people
//! without an account send files into the user's Coffer until it expires, is closed, or has
//! the files or bytes it asked for.
//!
//! A sent file goes through the same pipeline as the owner's own uploads (name, type, size and
//! content checks, encryption, the owner's quota, the virus scan) and also holds one of the
//! request's places from its first byte and the request's bytes as they arrive, so concurrent
//! senders cannot pass its limits together. Senders get a receipt (name, size, SHA-256), never
//! a way to fetch the file back.

use bytes::Bytes;
use futures::Stream;
use tower_sessions::Session;

use crate::{
    model::{
        request_path, CreatedUploadRequest, FileInfo, NewUploadRequest, Paging, Receipt,
        RequestForSender, RequestStatus, SenderReceipts, UploadRequestInfo, DEFAULT_REQUEST_HOURS,
        MAX_EXPIRY_HOURS, MAX_OPEN_REQUESTS, MAX_REQUEST_FILES, MAX_REQUEST_MESSAGE_CHARS,
        MAX_REQUEST_TITLE_CHARS,
    },
    server::{
        db::{
            self,
            requests::{Received, Refused, RequestRow},
            users::UserRow,
        },
        error::{Error, Result},
        service::{
            audit::{action, Event},
            files,
            rate_limits::{self, Bucket},
            secret_tokens::{self, digest as token_hash},
            unlock::{self, Lock, Pass},
            RequestMeta,
        },
        state::AppState,
    },
};

const HOUR: i64 = 3600;
/// The receipts a browser keeps in its session per request (the newest).
const MAX_RECEIPTS: usize = 200;

fn status_of(row: &RequestRow, received: Received, now: i64) -> RequestStatus {
    let full = row.max_files.is_some_and(|max| received.files >= max)
        || row.max_bytes.is_some_and(|max| received.bytes >= max);
    if row.closed_at.is_some() {
        RequestStatus::Closed
    } else if row.expires_at <= now {
        RequestStatus::Expired
    } else if full {
        RequestStatus::Full
    } else {
        RequestStatus::Open
    }
}

fn info(row: RequestRow, received: Received, now: i64) -> UploadRequestInfo {
    UploadRequestInfo {
        status: status_of(&row, received, now),
        created_at: db::to_datetime(row.created_at),
        expires_at: db::to_datetime(row.expires_at),
        max_files: row.max_files.map(|n| n.max(0) as u64),
        max_bytes: row.max_bytes.map(|n| n.max(0) as u64),
        has_password: row.password_hash.is_some(),
        notify: row.notify != 0,
        closed_at: row.closed_at.map(db::to_datetime),
        files_received: received.files.max(0) as u64,
        bytes_received: received.bytes.max(0) as u64,
        id: row.id,
        title: row.title,
        message: row.message,
    }
}

/// Makes an upload request; its link is in the answer, and only there.
pub async fn create(
    state: &AppState,
    owner: &UserRow,
    meta: &RequestMeta,
    new: NewUploadRequest,
) -> Result<CreatedUploadRequest> {
    // Lengths are counted as given (the schema's limits), emptiness after trimming.
    let title = new.title.trim().to_owned();
    if title.is_empty() || new.title.chars().count() > MAX_REQUEST_TITLE_CHARS {
        return Err(Error::Validation(format!(
            "Give the request a title of 1 to {MAX_REQUEST_TITLE_CHARS} characters"
        )));
    }
    let message = new.message.trim().to_owned();
    if new.message.chars().count() > MAX_REQUEST_MESSAGE_CHARS {
        return Err(Error::Validation(format!(
            "The message can have at most {MAX_REQUEST_MESSAGE_CHARS} characters"
        )));
    }
    let hours = new.expires_hours.unwrap_or(DEFAULT_REQUEST_HOURS);
    if !(1..=MAX_EXPIRY_HOURS).contains(&hours) {
        return Err(Error::Validation(format!(
            "A request can stay open from 1 to {MAX_EXPIRY_HOURS} hours"
        )));
    }
    let max_files = match new.max_files {
        Some(n) if !(1..=MAX_REQUEST_FILES).contains(&n) => {
            return Err(Error::Validation(format!(
                "A request can ask for 1 to {MAX_REQUEST_FILES} files"
            )))
        }
        limit => limit.map(i64::from),
    };
    let max_bytes = match new.max_bytes.map(i64::try_from) {
        None => None,
        Some(Ok(n)) if n >= 1 => Some(n),
        Some(_) => {
            return Err(Error::Validation(format!(
                "A request's byte limit must be from 1 to {}",
                i64::MAX
            )))
        }
    };
    let password = new.password.filter(|p| !p.is_empty());
    rate_limits::making_link(state, &owner.id, password.is_some()).await?;
    let now = state.now();
    if db::requests::count_open_by_owner(&state.db().pool, &owner.id, now).await?
        >= MAX_OPEN_REQUESTS
    {
        return Err(Error::Validation(format!(
            "You have {MAX_OPEN_REQUESTS} open requests, the most one account may have: close \
             some, or wait for some to expire"
        )));
    }
    let password_hash = unlock::hash_new_password(Lock::Request, password).await?;
    let token = secret_tokens::generate("");
    let row = RequestRow {
        id: db::new_id(),
        owner_id: owner.id.clone(),
        token_hash: token_hash(&token),
        title,
        message,
        created_at: now,
        expires_at: now + i64::from(hours) * HOUR,
        max_files,
        max_bytes,
        password_hash,
        notify: i64::from(new.notify),
        closed_at: None,
    };
    db::requests::insert(&state.db().pool, &row).await?;
    Event::by(&owner.id, action::REQUEST_CREATED)
        .on(&row.id)
        .detail(format!(
            "title={:?} expires_at={} max_files={max_files:?} max_bytes={max_bytes:?} password={}",
            row.title,
            row.expires_at,
            row.password_hash.is_some()
        ))
        .record(state, meta)
        .await;
    Ok(CreatedUploadRequest {
        url: state.settings().site.public_link(&request_path(&token)),
        token,
        request: info(row, Received::default(), state.now()),
    })
}

/// A page of the owner's requests, newest first.
pub async fn list_mine(
    state: &AppState,
    owner: &UserRow,
    page: Paging,
) -> Result<Vec<UploadRequestInfo>> {
    let rows =
        db::requests::list_by_owner(&state.db().pool, &owner.id, page.limit(), page.offset())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(row, received)| info(row, received, state.now()))
        .collect())
}

/// One of the owner's requests (another user's is unknown, as for files).
async fn find_mine(state: &AppState, owner: &UserRow, id: &str) -> Result<RequestRow> {
    db::requests::find(&state.db().pool, id)
        .await?
        .filter(|row| row.owner_id == owner.id)
        .ok_or(Error::NotFound("upload request"))
}

/// One of the owner's requests with what it has received.
pub async fn get(state: &AppState, owner: &UserRow, id: &str) -> Result<UploadRequestInfo> {
    let row = find_mine(state, owner, id).await?;
    let received = db::requests::received(&state.db().pool, &row.id).await?;
    Ok(info(row, received, state.now()))
}

/// A page of the files a request of the owner's has received, newest first.
pub async fn files(
    state: &AppState,
    owner: &UserRow,
    id: &str,
    page: Paging,
) -> Result<Vec<FileInfo>> {
    let row = find_mine(state, owner, id).await?;
    let files = db::requests::files(&state.db().pool, &row.id, page.limit(), page.offset()).await?;
    Ok(files.into_iter().map(FileInfo::from).collect())
}

/// The newest `each` files of each of the owner's requests in `requests` (a page of them), in
/// one query: request id → files, newest first.
pub async fn latest_files(
    state: &AppState,
    owner: &UserRow,
    requests: &[UploadRequestInfo],
    each: i64,
) -> Result<std::collections::HashMap<String, Vec<FileInfo>>> {
    let ids: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
    let rows = db::requests::latest_files_of(&state.db().pool, &ids, each).await?;
    let mut by_request: std::collections::HashMap<String, Vec<FileInfo>> = Default::default();
    for row in rows {
        // Only the owner's files, whatever ids were asked for.
        if row.owner_id != owner.id {
            continue;
        }
        if let Some(request) = row.request_id.clone() {
            by_request
                .entry(request)
                .or_default()
                .push(FileInfo::from(row));
        }
    }
    Ok(by_request)
}

/// Closes a request early; closing a closed one changes nothing.
pub async fn close(
    state: &AppState,
    owner: &UserRow,
    meta: &RequestMeta,
    id: &str,
) -> Result<UploadRequestInfo> {
    let row = find_mine(state, owner, id).await?;
    if db::requests::close(&state.db().pool, &row.id, state.now()).await? {
        Event::by(&owner.id, action::REQUEST_CLOSED)
            .on(&row.id)
            .record(state, meta)
            .await;
    }
    get(state, owner, id).await
}

/// Why a request took no more, as the sender is told.
pub(crate) async fn refusal(state: &AppState, id: &str, refused: Refused) -> Error {
    match refused {
        Refused::NoRoom { max, used } => Error::RequestNoRoom {
            max: max.max(0) as u64,
            used: used.max(0) as u64,
        },
        Refused::NoPlace => Error::RequestFull,
        Refused::Closed => match db::requests::find(&state.db().pool, id).await {
            Ok(Some(row)) if row.closed_at.is_some() => Error::RequestClosed,
            Ok(Some(_)) => Error::RequestExpired,
            Ok(None) => Error::NotFound("upload request"),
            Err(e) => e.into(),
        },
    }
}

/// The request a token names, whatever its state.
async fn by_token(state: &AppState, token: &str) -> Result<Option<RequestRow>> {
    let hash = token_hash(token);
    Ok(db::requests::find_by_token_hash(&state.db().pool, &hash)
        .await?
        .filter(|row| secret_tokens::same_digest(&row.token_hash, &hash)))
}

/// The request a token names, with its owner: unknown (or its owner disabled) is 404.
/// Whether it still takes files is [`ensure_open`]'s, asked only once the password (if any)
/// was given: a protected request tells nothing of itself before.
async fn known_request(state: &AppState, token: &str) -> Result<(RequestRow, UserRow)> {
    let unknown = || Error::NotFound("upload request");
    let row = by_token(state, token).await?.ok_or_else(unknown)?;
    // A disabled owner's requests are unknown, like their share links.
    let owner = db::users::find_by_id(&state.db().pool, &row.owner_id)
        .await?
        .filter(|owner| owner.is_active())
        .ok_or_else(unknown)?;
    Ok((row, owner))
}

/// What a known request has received, while it takes files; else why not (410).
async fn ensure_open(state: &AppState, row: &RequestRow) -> Result<Received> {
    let received = db::requests::received(&state.db().pool, &row.id).await?;
    match status_of(row, received, state.now()) {
        RequestStatus::Open => Ok(received),
        RequestStatus::Closed => Err(Error::RequestClosed),
        RequestStatus::Expired => Err(Error::RequestExpired),
        RequestStatus::Full => Err(Error::RequestFull),
    }
}

/// The request a token names, once the pass opens it, while it takes files: with its owner
/// and what it has received.
async fn open_request(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
) -> Result<(RequestRow, UserRow, Received)> {
    let (row, owner) = known_request(state, token).await?;
    check_pass(state, meta, &row, pass).await?;
    let received = ensure_open(state, &row).await?;
    Ok((row, owner, received))
}

const RECEIPTS_KEY: &str = "request_receipts";

async fn check_pass(
    state: &AppState,
    meta: &RequestMeta,
    row: &RequestRow,
    pass: &Pass,
) -> Result<()> {
    let wrong = Event::new(action::REQUEST_PASSWORD_FAILED).on(&row.id);
    let hash = row.password_hash.as_deref();
    unlock::check(state, meta, Lock::Request, &row.id, hash, pass, wrong).await
}

/// What the sender sees: the request's title and message, what it still takes, and the upload
/// policy. A protected request shows nothing before its password.
pub async fn for_sender(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
) -> Result<RequestForSender> {
    let (row, owner, received) = open_request(state, meta, token, pass).await?;
    let policy = state.settings().uploads.policy();
    Ok(RequestForSender {
        title: row.title,
        message: row.message,
        requested_by: owner.username,
        expires_at: db::to_datetime(row.expires_at),
        files_left: row
            .max_files
            .map(|max| (max - received.files).max(0) as u64),
        bytes_left: row
            .max_bytes
            .map(|max| (max - received.bytes).max(0) as u64),
        max_upload_bytes: policy.max_upload_bytes,
        allowed_extensions: policy.allowed_extensions,
    })
}

/// Whether the request behind `token` is protected by a password (and so what its page asks
/// first, whatever the request's state); 404 for an unknown one.
pub async fn needs_password(state: &AppState, token: &str) -> Result<bool> {
    let (row, _) = known_request(state, token).await?;
    Ok(row.password_hash.is_some())
}

/// The page's password form: unlocks the request for this browser's session.
pub async fn unlock(
    state: &AppState,
    meta: &RequestMeta,
    session: &Session,
    token: &str,
    password: String,
) -> Result<()> {
    let (row, _) = known_request(state, token).await?;
    let Some(hash) = row.password_hash.as_deref() else {
        return Ok(());
    };
    check_pass(state, meta, &row, &Pass::Password(Some(password))).await?;
    // Whoever gave the password may learn the request's state: its page tells it from now on.
    unlock::remember(session, Lock::Request, &row.id, hash).await?;
    ensure_open(state, &row).await.map(|_| ())
}

/// Receives one file through a request: checked, encrypted and stored for the request's owner
/// like their own uploads, within the request's limits. The sender's receipt.
pub async fn receive<S, E>(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
    raw_name: &str,
    body: S,
) -> Result<Receipt>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let (row, owner, _) = open_request(state, meta, token, pass).await?;
    rate_limits::hit(state, Bucket::RequestUploadPerClient, &meta.client()).await?;
    rate_limits::hit(state, Bucket::RequestUploadPerRequest, &row.id).await?;
    let _slot = state.upload_slots().take_for_request(&owner.id, &row.id)?;
    let file = files::store(
        state,
        &owner,
        files::Destination::Request(&row),
        raw_name,
        body,
    )
    .await
    .map_err(|e| match e {
        // The sender is not told the owner's quota or what the owner stores.
        Error::QuotaExceeded { .. } => Error::OwnerQuotaExceeded,
        e => e,
    })?;
    Event::new(action::REQUEST_FILE_RECEIVED)
        .on(&file.id)
        .detail(format!(
            "request={} owner={} name={:?} size={}",
            row.id, owner.id, file.filename, file.size
        ))
        .record(state, meta)
        .await;
    let receipt = Receipt {
        filename: file.filename,
        size: file.size.max(0) as u64,
        sha256: file.sha256,
        received_at: db::to_datetime(file.created_at),
    };
    if let Pass::Session(session) = pass {
        keep_receipt(session, &row.id, &receipt).await;
    }
    Ok(receipt)
}

/// The receipts of what this browser sent through the request behind `token`, newest first,
/// and whether the request is now full.
pub async fn receipts(state: &AppState, session: &Session, token: &str) -> Result<SenderReceipts> {
    let Some(row) = by_token(state, token).await? else {
        return Ok(SenderReceipts::default());
    };
    let all: Vec<(String, Receipt)> = session.get(RECEIPTS_KEY).await?.unwrap_or_default();
    let receipts: Vec<Receipt> = all
        .into_iter()
        .filter(|(id, _)| *id == row.id)
        .map(|(_, receipt)| receipt)
        .rev()
        .collect();
    // Only someone who sent through it learns that the request filled up.
    let full = !receipts.is_empty() && {
        let received = db::requests::received(&state.db().pool, &row.id).await?;
        status_of(&row, received, state.now()) == RequestStatus::Full
    };
    Ok(SenderReceipts { receipts, full })
}

/// Keeps a receipt in the sender's session for the page to show; a failure to keep it loses
/// only the page's list (the upload answered with the receipt already).
async fn keep_receipt(session: &Session, request_id: &str, receipt: &Receipt) {
    let kept: Result<()> = async {
        let mut all: Vec<(String, Receipt)> = session.get(RECEIPTS_KEY).await?.unwrap_or_default();
        all.push((request_id.to_owned(), receipt.clone()));
        if all.len() > MAX_RECEIPTS {
            all.drain(..all.len() - MAX_RECEIPTS);
        }
        session.insert(RECEIPTS_KEY, all).await.map_err(Error::from)
    }
    .await;
    if let Err(e) = kept {
        tracing::warn!(error = %e.chain(), "could not keep a request receipt in the session");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(max_files: Option<i64>, max_bytes: Option<i64>) -> RequestRow {
        RequestRow {
            id: "r".into(),
            owner_id: "o".into(),
            token_hash: "h".into(),
            title: "t".into(),
            message: String::new(),
            created_at: 0,
            expires_at: 100,
            max_files,
            max_bytes,
            password_hash: None,
            notify: 0,
            closed_at: None,
        }
    }

    #[test]
    fn a_request_is_closed_before_expired_before_full() {
        let got = |files, bytes| Received { files, bytes };
        let open = row(Some(2), Some(10));
        assert_eq!(status_of(&open, got(1, 9), 50), RequestStatus::Open);
        assert_eq!(status_of(&open, got(2, 5), 50), RequestStatus::Full);
        assert_eq!(status_of(&open, got(1, 10), 50), RequestStatus::Full);
        assert_eq!(status_of(&open, got(2, 10), 100), RequestStatus::Expired);
        let closed = RequestRow {
            closed_at: Some(10),
            ..open
        };
        assert_eq!(status_of(&closed, got(2, 10), 100), RequestStatus::Closed);
        assert_eq!(
            status_of(&row(None, None), got(1_000, 1 << 40), 50),
            RequestStatus::Open
        );
    }
}
