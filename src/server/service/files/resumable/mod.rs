//! Resumable uploads (the tus 1.0 protocol's rules; `http::api::uploads` speaks its headers).
//!
//! An upload is created with its length and name, then its bytes arrive in as many requests as
//! it takes, through any instance: everything about it is in its `resumable_uploads` row and in
//! storage. Each request's bytes are checked, hashed and sealed like a plain upload's, into a
//! part of the blob of their own ([`BlobStore::create_part`](crate::server::storage::BlobStore));
//! the segments stay those of one blob, numbered on from the part before. What a request ends
//! in the middle of (the start of a segment, the running SHA-256) is sealed aside under the
//! file's data key into the row, never stored in the clear (`carried`).
//!
//! Here: the protocol's state (creation, status, termination, expiry); `lease` (one request at
//! a time), `patch` (one request's bytes), `carried` (what a request leaves the next).
//!
//! Rules:
//! - Creation checks the name, the extension, the size limit and the quota (the whole length
//!   is reserved at once) and counts against the per-user upload rate; requests do not.
//! - One request at a time writes to an upload (a lease in the row, across instances); a
//!   second gets [`Error::UploadBusy`]. A request must start where the upload is
//!   ([`Error::UploadOffsetMismatch`]).
//! - A request cut short keeps the bytes that arrived (tus asks for that), unless it carried an
//!   `Upload-Checksum`: then, as when the checksum does not match, none of its bytes are kept.
//! - The content is checked once its first bytes are in; a type that does not match ends the
//!   upload.
//! - The file is added (and queued for its scan) by the request that brings the last byte; its
//!   id is the upload's.
//! - An unfinished upload expires `COFFER_UPLOAD_EXPIRE_HOURS` after its last bytes and is
//!   swept with its blob; a finished one is still answered for until then.

mod carried;
mod lease;
mod patch;

use bytes::Bytes;

pub use self::patch::append;
use super::{discard_blob, owner_gone_or, quota::Reservation};
use crate::server::{
    db::{self, uploads::UploadRow, users::UserRow},
    error::{Error, Result},
    service::{
        file_types, key_rotation,
        rate_limits::{self, Bucket},
        RequestMeta,
    },
    state::AppState,
    storage::BlobKey,
};
use coffer_crypto::{DataKey, NoncePrefix};

/// An upload as a client sees it.
#[derive(Clone, Debug)]
pub struct UploadStatus {
    pub id: String,
    pub length: u64,
    pub received: u64,
    /// `Upload-Metadata` as the client sent it.
    pub metadata: String,
    /// Unix seconds after which an unfinished upload is gone.
    pub expires_at: i64,
    pub completed: bool,
}

impl From<&UploadRow> for UploadStatus {
    fn from(row: &UploadRow) -> Self {
        Self {
            id: row.id.clone(),
            length: row.length.max(0) as u64,
            received: row.received.max(0) as u64,
            metadata: row.metadata.clone(),
            expires_at: row.expires_at,
            completed: row.completed == 1,
        }
    }
}

/// What a client declares when it creates an upload.
pub struct NewUpload<'a> {
    pub length: u64,
    pub filename: &'a str,
    /// `Upload-Metadata` as sent, answered back as it is.
    pub metadata: &'a str,
}

/// Creates an upload: checks its name, type and length, reserves its length against the
/// owner's quota.
pub async fn create(
    state: &AppState,
    owner: &UserRow,
    meta: &RequestMeta,
    new: NewUpload<'_>,
) -> Result<UploadStatus> {
    rate_limits::hit(state, Bucket::UploadPerUser, &owner.id).await?;
    let policy = state.settings().uploads.policy();
    let filename = file_types::normalise_filename(new.filename)?;
    file_types::check_extension(&filename, &policy)?;
    policy.check_size(new.length).map_err(Error::FileTooLarge)?;

    let pool = &state.db().pool;
    let blob_key = BlobKey::generate();
    db::files::begin_upload(pool, blob_key.as_str(), &owner.id, state.now()).await?;
    let id = db::new_id();
    let row = match reserve_and_describe(state, owner, &blob_key, &id, &filename, &new).await {
        Ok(row) => row,
        Err(e) => {
            discard_blob(state, &blob_key).await;
            return Err(e);
        }
    };
    if let Err(e) = db::uploads::insert(pool, &row).await {
        discard_blob(state, &blob_key).await;
        return Err(owner_gone_or(e));
    }
    if row.length == 0 {
        // Nothing will be sent: the upload is complete as it is.
        let nothing = futures::stream::empty::<std::result::Result<Bytes, std::io::Error>>();
        return append(state, owner, meta, &id, 0, None, nothing).await;
    }
    Ok(UploadStatus::from(&row))
}

async fn reserve_and_describe(
    state: &AppState,
    owner: &UserRow,
    blob_key: &BlobKey,
    id: &str,
    filename: &str,
    new: &NewUpload<'_>,
) -> Result<UploadRow> {
    Reservation::new(state, owner, blob_key.as_str())
        .cover(new.length)
        .await?;
    let data_key = DataKey::generate();
    let wrapped = key_rotation::sealing_ring(state)
        .await?
        .wrap_data_key(&data_key, id);
    let now = state.now();
    Ok(UploadRow {
        id: id.to_owned(),
        owner_id: owner.id.clone(),
        filename: filename.to_owned(),
        metadata: new.metadata.to_owned(),
        length: to_i64(new.length),
        received: 0,
        parts: 0,
        blob_key: blob_key.as_str().to_owned(),
        master_key_id: wrapped.master_key_id,
        wrapped_key: wrapped.sealed,
        nonce_prefix: NoncePrefix::generate().as_bytes().to_vec(),
        carried: None,
        mime_type: None,
        completed: 0,
        created_at: now,
        expires_at: now + expire_secs(state),
    })
}

/// Where an upload is (tus `HEAD`).
pub async fn status(state: &AppState, owner: &UserRow, id: &str) -> Result<UploadStatus> {
    let row = find(state, owner, id).await?;
    Ok(UploadStatus::from(&row))
}

/// Ends an unfinished upload and deletes what it stored (tus termination).
pub async fn terminate(state: &AppState, owner: &UserRow, id: &str) -> Result<()> {
    let row = find(state, owner, id).await?;
    if row.completed == 1 {
        return Err(Error::UploadComplete);
    }
    match db::uploads::terminate(&state.db().pool, id, &owner.id, state.now()).await? {
        Some(key) => {
            discard_blob(state, &BlobKey::from_stored(key)).await;
            Ok(())
        }
        None => Err(Error::UploadBusy),
    }
}

/// Removes uploads past their expiry: unfinished ones with their blobs, finished ones' rows.
pub async fn sweep_expired(state: &AppState) -> Result<usize> {
    let pool = &state.db().pool;
    let now = state.now();
    let expired = db::uploads::expired(pool, now).await?;
    let count = expired.len();
    for (id, owner_id, unfinished_blob) in expired {
        match unfinished_blob {
            Some(_) => {
                if let Some(key) = db::uploads::terminate(pool, &id, &owner_id, now).await? {
                    discard_blob(state, &BlobKey::from_stored(key)).await;
                }
            }
            None => db::uploads::forget_completed(pool, &id).await?,
        }
    }
    Ok(count)
}

/// An upload of the owner's that a client may still act on.
pub(super) async fn find(state: &AppState, owner: &UserRow, id: &str) -> Result<UploadRow> {
    let row = db::uploads::find(&state.db().pool, id, &owner.id)
        .await?
        .ok_or(Error::NotFound("upload"))?;
    if row.completed == 0 && row.expires_at <= state.now() {
        return Err(Error::UploadExpired {
            hours: state.settings().uploads.expire.as_secs() / 3600,
        });
    }
    Ok(row)
}

pub(super) fn expire_secs(state: &AppState) -> i64 {
    i64::try_from(state.settings().uploads.expire.as_secs()).unwrap_or(i64::MAX)
}

pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
