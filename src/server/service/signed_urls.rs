//! Pre-signed URLs: stateless download URLs for a file, minutes long. Nothing is stored: the
//! token is the file id and the expiry, signed with HMAC-SHA256 under a key derived from the
//! master key, so a URL cannot be revoked before it expires, and one signed before a master key
//! rotation works for as long as its key stays loaded.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use time::OffsetDateTime;

use crate::{
    model::SignedUrl,
    server::{
        db::{self, users::UserRow},
        error::{Error, Result},
        service::{
            audit::{action, Event},
            files::{self, Download, RangeSpec},
            RequestMeta,
        },
        state::AppState,
    },
};

/// Pre-signed URLs live at most this long (and this long by default).
pub const MAX_SIGNED_URL_SECS: u64 = 300;
const SIGNED_URL_PURPOSE: &[u8] = b"coffer:signed-url:v1";

/// The message a pre-signed URL's tag covers.
fn signed_message(file_id: &str, expires_at: i64) -> String {
    format!("{file_id}\n{expires_at}")
}

/// A stateless download URL for a file the actor may see, valid for `expires_seconds` (1 to
/// 300, default 300). Nothing is stored: the token is the file id and the expiry, signed with a
/// key derived from the master key.
pub async fn create(
    state: &AppState,
    actor: &UserRow,
    meta: &RequestMeta,
    file_id: &str,
    expires_seconds: Option<u32>,
) -> Result<SignedUrl> {
    let file = files::find_visible(state, actor, file_id).await?;
    let seconds = expires_seconds.map_or(MAX_SIGNED_URL_SECS, u64::from);
    if !(1..=MAX_SIGNED_URL_SECS).contains(&seconds) {
        return Err(Error::Validation(format!(
            "A pre-signed URL can last from 1 to {MAX_SIGNED_URL_SECS} seconds"
        )));
    }
    let expires_at = state.now() + seconds as i64;
    let tag = state.keys().ring().sign(
        SIGNED_URL_PURPOSE,
        signed_message(&file.id, expires_at).as_bytes(),
    );
    let token = format!("{}.{expires_at}.{}", file.id, URL_SAFE_NO_PAD.encode(tag));
    Event::by(&actor.id, action::SIGNED_URL_CREATED)
        .on(&file.id)
        .detail(format!("expires_at={expires_at}"))
        .record(state, meta)
        .await;
    Ok(SignedUrl {
        url: state
            .settings()
            .site
            .public_link(&format!("/api/v1/files/token-download?token={token}")),
        token,
        expires_at: db::to_datetime(expires_at),
    })
}

/// The file id a pre-signed token is good for: 401 if it is malformed or its signature does not
/// match, 410 once expired.
fn verify_signed(state: &AppState, token: &str, now: OffsetDateTime) -> Result<String> {
    let mut parts = token.splitn(3, '.');
    let (Some(file_id), Some(expires_at), Some(tag)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::InvalidToken);
    };
    let expires_at: i64 = expires_at.parse().map_err(|_| Error::InvalidToken)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| Error::InvalidToken)?;
    let message = signed_message(file_id, expires_at);
    if !state
        .keys()
        .ring()
        .verify(SIGNED_URL_PURPOSE, message.as_bytes(), &tag)
    {
        return Err(Error::InvalidToken);
    }
    if expires_at <= now.unix_timestamp() {
        return Err(Error::LinkExpired);
    }
    Ok(file_id.to_owned())
}

/// A download by pre-signed URL. Ranges are allowed: the URL is short-lived and has no
/// download limit of its own.
pub async fn download(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    range: Option<RangeSpec>,
) -> Result<Download> {
    files::limit_downloads(state, meta).await?;
    let file_id = verify_signed(state, token, state.clock().now_utc())?;
    let file = db::files::find(&state.db().pool, &file_id)
        .await?
        .ok_or(Error::NotFound("file"))?;
    if !files::owner_is_active(state, &file).await? {
        return Err(Error::NotFound("file"));
    }
    let download = files::open_download(state, file, range).await?;
    files::record_download(
        state,
        meta,
        None,
        &download.file,
        download.range,
        action::SIGNED_URL_DOWNLOADED,
        None,
    )
    .await?;
    Ok(download)
}
