//! Resumable uploads (the tus 1.0 protocol's rules; `http::api::uploads` speaks its headers).
//!
//! An upload is created with its length and name, then its bytes arrive in as many requests as
//! it takes, through any instance: everything about it is in its `resumable_uploads` row and in
//! storage. Each request's bytes are checked, hashed and sealed like a plain upload's, into a
//! part of the blob of their own ([`BlobStore::create_part`](crate::server::storage::BlobStore));
//! the segments stay those of one blob, numbered on from the part before. What a request ends
//! in the middle of (the start of a segment, the running SHA-256) is sealed aside under the
//! file's data key (`crypto::aside`) into the row, never stored in the clear.
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

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{digest::common::hazmat::SerializableState, Digest, Sha256};
use zeroize::Zeroizing;

use super::{
    discard_blob, integrity_error,
    quota::Reservation,
    storage_error,
    upload::{write_sealed, writer_gone},
};
use crate::{
    app::model::ScanStatus,
    server::{
        crypto::{
            aside,
            segments::{SEALED_SEGMENT_LEN, SEGMENT_LEN},
            DataKey, NoncePrefix, SegmentEncryptor, WrappedKey,
        },
        db::{
            self,
            files::FileRow,
            uploads::{Advance, UploadRow},
            users::UserRow,
        },
        error::{Error, Result},
        pace::Pace,
        service::{
            audit::{action, Event},
            file_types, key_rotation,
            limits::{self, Bucket},
            RequestMeta,
        },
        state::AppState,
        storage::BlobKey,
    },
};

/// How long a request holds an upload without showing it is alive; renewed while bytes flow,
/// so a request on an instance that died frees the upload after at most this long.
const LEASE_SECS: i64 = 20;
const LEASE_RENEW_SECS: i64 = 5;

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
    limits::hit(state, Bucket::UploadPerUser, &owner.id).await?;
    let policy = state.settings().upload_policy();
    let filename = file_types::normalise_filename(new.filename)?;
    file_types::check_extension(&filename, &policy)?;
    policy.check_size(new.length).map_err(Error::FileTooLarge)?;

    let pool = &state.db().pool;
    let blob_key = BlobKey::generate();
    db::files::begin_upload(pool, blob_key.as_str(), &owner.id, db::now()).await?;
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
    let now = db::now();
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
    match db::uploads::terminate(&state.db().pool, id, &owner.id, db::now()).await? {
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
    let now = db::now();
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
async fn find(state: &AppState, owner: &UserRow, id: &str) -> Result<UploadRow> {
    let row = db::uploads::find(&state.db().pool, id, &owner.id)
        .await?
        .ok_or(Error::NotFound("upload"))?;
    if row.completed == 0 && row.expires_at <= db::now() {
        return Err(Error::UploadExpired {
            hours: state.settings().upload_expire.as_secs() / 3600,
        });
    }
    Ok(row)
}

/// Adds a request's bytes to an upload, starting at `offset` (tus `PATCH`). `checksum` is the
/// SHA-256 the request's bytes must have. The file is added when the last byte is in.
pub async fn append<S, E>(
    state: &AppState,
    owner: &UserRow,
    meta: &RequestMeta,
    id: &str,
    offset: u64,
    checksum: Option<[u8; 32]>,
    body: S,
) -> Result<UploadStatus>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let row = find(state, owner, id).await?;
    let received = row.received.max(0) as u64;
    if offset != received {
        return Err(Error::UploadOffsetMismatch { received });
    }
    if row.completed == 1 {
        return Ok(UploadStatus::from(&row));
    }
    let lease = Lease::take(state, &row).await?;
    let _slot = state.upload_slots().take(&owner.id)?;
    let request = Request {
        state,
        row: &row,
        lease: &lease,
        checksum,
    };
    let recorded = match request.receive(body).await {
        Ok(recorded) => recorded,
        Err(e @ Error::UnsupportedType(_)) => {
            // The content is not what its name says: the upload ends here.
            lease.give_back().await;
            let _ = terminate(state, owner, id).await;
            return Err(e);
        }
        Err(e) => {
            lease.give_back().await;
            return Err(e);
        }
    };
    lease.recorded();
    if let Some(file) = &recorded.file {
        state.scan_queue().job_added();
        Event::by(&owner.id, action::FILE_UPLOADED)
            .on(&file.id)
            .detail(format!(
                "name={:?} size={} resumable",
                file.filename, file.size
            ))
            .record(state, meta)
            .await;
    }
    Ok(recorded.status)
}

/// One request's hold on an upload. Given back (unchanged) if the request fails; recorded
/// with its bytes if it succeeds; given back from a task of its own if the request is dropped.
struct Lease {
    state: AppState,
    id: String,
    token: Option<String>,
}

impl Lease {
    async fn take(state: &AppState, row: &UploadRow) -> Result<Self> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let now = db::now();
        let pool = &state.db().pool;
        if !db::uploads::lease(pool, &row.id, row.received, &token, now, now + LEASE_SECS).await? {
            // Another request holds it, or has just moved it on.
            let now_at = db::uploads::find(pool, &row.id, &row.owner_id).await?;
            return Err(match now_at {
                Some(now_at) if now_at.received != row.received => Error::UploadOffsetMismatch {
                    received: now_at.received.max(0) as u64,
                },
                Some(_) => Error::UploadBusy,
                None => Error::NotFound("upload"),
            });
        }
        Ok(Self {
            state: state.clone(),
            id: row.id.clone(),
            token: Some(token),
        })
    }

    fn token(&self) -> &str {
        self.token.as_deref().expect("held until given back")
    }

    async fn extend(&self) -> Result<()> {
        let until = db::now() + LEASE_SECS;
        if db::uploads::extend_lease(&self.state.db().pool, &self.id, self.token(), until).await? {
            Ok(())
        } else {
            Err(Error::UploadBusy)
        }
    }

    /// The request's bytes were recorded, which gave the lease back.
    fn recorded(mut self) {
        self.token = None;
    }

    async fn give_back(mut self) {
        if let Some(token) = self.token.take() {
            if let Err(e) = db::uploads::release(&self.state.db().pool, &self.id, &token).await {
                tracing::warn!(error = %e, "could not give back an upload's lease; it runs out");
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            let (state, id) = (self.state.clone(), self.id.clone());
            tokio::spawn(async move {
                let _ = db::uploads::release(&state.db().pool, &id, &token).await;
            });
        }
    }
}

/// One request writing to an upload.
struct Request<'a> {
    state: &'a AppState,
    row: &'a UploadRow,
    lease: &'a Lease,
    checksum: Option<[u8; 32]>,
}

/// What the previous requests left this one, opened.
struct Carried {
    hash: Sha256,
    /// The plaintext of the segment not yet complete.
    partial: Zeroizing<Vec<u8>>,
}

/// How a request's reading ended.
enum Ending {
    /// The last byte is in: the last segment is sealed.
    Complete { sha256: String, mime_type: String },
    /// More is to come: what the next request needs, sealed.
    Paused {
        carried: Vec<u8>,
        mime_type: Option<String>,
    },
}

/// What a request recorded: where the upload is now, and the file if it completed it.
struct Recorded {
    status: UploadStatus,
    file: Option<FileRow>,
}

/// A request's bytes, read.
struct Read {
    received: u64,
    sealed_bytes: u64,
    ending: Ending,
}

impl Request<'_> {
    /// Reads, seals and stores the request's bytes as a new part, and records them.
    async fn receive<S, E>(&self, body: S) -> Result<Recorded>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let (state, row) = (self.state, self.row);
        let pool = &state.db().pool;
        let key = self.data_key()?;
        let prefix =
            NoncePrefix::from_slice(&row.nonce_prefix).map_err(|e| integrity_error(&row.id, e))?;
        let carried = self.open_carried(&key)?;
        let blob_key = BlobKey::from_stored(row.blob_key.clone());
        let index = row.parts;
        let mut part = state
            .storage()
            .create_part(&blob_key, u32::try_from(index).unwrap_or(u32::MAX))
            .await
            .map_err(storage_error)?;
        let read = write_sealed(part.writer(), |sealed| {
            self.read_body(&key, &prefix, carried, body, sealed)
        })
        .await;
        let read = match read {
            Ok(read) => read,
            Err(e) => {
                part.abort().await;
                return Err(e);
            }
        };
        let stored = if read.sealed_bytes > 0 {
            Some(part.finish().await.map_err(storage_error)?)
        } else {
            part.abort().await;
            None
        };
        let step = Advance {
            id: &row.id,
            blob_key: &row.blob_key,
            lease_token: self.lease.token(),
            part: stored
                .as_ref()
                .map(|p| (index, p.name.as_str(), to_i64(p.len))),
            received: to_i64(read.received),
            carried: None,
            mime_type: None,
            expires_at: db::now() + expire_secs(state),
        };
        let (recorded, file) = match &read.ending {
            Ending::Paused { carried, mime_type } => {
                let step = Advance {
                    carried: Some(carried),
                    mime_type: mime_type.as_deref(),
                    ..step
                };
                (db::uploads::advance(pool, &step).await?, None)
            }
            Ending::Complete { sha256, mime_type } => {
                let file = FileRow {
                    id: row.id.clone(),
                    owner_id: row.owner_id.clone(),
                    filename: row.filename.clone(),
                    size: row.length,
                    mime_type: mime_type.clone(),
                    sha256: sha256.clone(),
                    scan_status: ScanStatus::Pending,
                    scan_detail: None,
                    blob_key: row.blob_key.clone(),
                    master_key_id: row.master_key_id.clone(),
                    wrapped_key: row.wrapped_key.clone(),
                    nonce_prefix: row.nonce_prefix.clone(),
                    download_count: 0,
                    created_at: db::now(),
                    blob_parts: index + 1,
                    request_id: None,
                };
                let step = Advance {
                    mime_type: Some(mime_type),
                    ..step
                };
                let recorded = db::uploads::complete(pool, &step, &file)
                    .await
                    .map_err(owner_gone_or)?;
                (recorded, Some(file))
            }
        };
        if !recorded {
            // The lease ran out and another request took the upload on: this one's part is
            // left unrecorded (deleted with the blob).
            return Err(Error::UploadBusy);
        }
        let status = UploadStatus {
            received: read.received,
            expires_at: step.expires_at,
            completed: file.is_some(),
            ..UploadStatus::from(row)
        };
        Ok(Recorded { status, file })
    }

    fn data_key(&self) -> Result<DataKey> {
        let wrapped = WrappedKey {
            master_key_id: self.row.master_key_id.clone(),
            sealed: self.row.wrapped_key.clone(),
        };
        self.state
            .keys()
            .unwrap_data_key(&wrapped, &self.row.id)
            .map_err(|e| integrity_error(&self.row.id, e))
    }

    /// What sealed values of the upload are bound to: it, and how far it had got.
    fn context(&self, received: u64) -> Vec<u8> {
        format!("resumable upload {} at {received}", self.row.id).into_bytes()
    }

    fn open_carried(&self, key: &DataKey) -> Result<Carried> {
        let Some(sealed) = &self.row.carried else {
            return Ok(Carried {
                hash: Sha256::new(),
                partial: Zeroizing::new(Vec::new()),
            });
        };
        let received = self.row.received.max(0) as u64;
        let broken = |e| integrity_error(&self.row.id, e);
        let plain = aside::open(key, &self.context(received), sealed).map_err(broken)?;
        let state_len = Sha256::new().serialize().len();
        if plain.len() < state_len || plain.len() - state_len >= SEGMENT_LEN {
            return Err(broken(crate::server::crypto::CryptoError::Integrity));
        }
        let (hash_state, partial) = plain.split_at(state_len);
        let hash = hash_state
            .try_into()
            .ok()
            .and_then(|state| Sha256::deserialize(state).ok())
            .ok_or_else(|| broken(crate::server::crypto::CryptoError::Integrity))?;
        Ok(Carried {
            hash,
            partial: Zeroizing::new(partial.to_vec()),
        })
    }

    /// The reading half: checks, hashes and seals the body after what was carried over,
    /// queueing sealed segments on `sealed`.
    async fn read_body<S, E>(
        &self,
        key: &DataKey,
        prefix: &NoncePrefix,
        carried: Carried,
        mut body: S,
        sealed: tokio::sync::mpsc::Sender<Bytes>,
    ) -> Result<Read>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let row = self.row;
        let length = row.length.max(0) as u64;
        let mut received = row.received.max(0) as u64;
        let before = received - carried.partial.len() as u64;
        if before % SEGMENT_LEN as u64 != 0 {
            return Err(integrity_error(
                &row.id,
                crate::server::crypto::CryptoError::Integrity,
            ));
        }
        let mut encryptor = SegmentEncryptor::resume(key, prefix, before / SEGMENT_LEN as u64);
        // Less than a segment: nothing is sealed yet, it waits for the rest.
        let none = encryptor
            .update(&carried.partial)
            .map_err(|e| Error::internal("encrypt", e))?;
        debug_assert!(none.is_empty());
        let ext =
            file_types::check_extension(&row.filename, &self.state.settings().upload_policy())?;
        // Until the type is checked, the file's first bytes are all in the partial segment.
        let mut content =
            file_types::ContentCheck::resume(ext, row.mime_type.clone(), &carried.partial);
        let mut hasher = carried.hash;
        let mut request_hash = self.checksum.map(|_| Sha256::new());
        let mut sealed_bytes = 0u64;
        let mut last_renewal = db::now();
        let mut pace = Pace::default();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                // Cut short: keep what arrived, unless it is to be checked as a whole.
                Err(_) if self.checksum.is_none() => break,
                Err(e) => return Err(Error::BadUpload(e.to_string())),
            };
            received += chunk.len() as u64;
            if received > length {
                return Err(Error::FileTooLarge(format!(
                    "the request sends more than the upload's length of {length} bytes"
                )));
            }
            content.feed(&chunk)?;
            hasher.update(&chunk);
            if let Some(request_hash) = request_hash.as_mut() {
                request_hash.update(&chunk);
            }
            for segment in encryptor
                .update(&chunk)
                .map_err(|e| Error::internal("encrypt", e))?
            {
                sealed_bytes += segment.len() as u64;
                sealed.send(segment).await.map_err(|_| writer_gone())?;
            }
            if db::now() - last_renewal >= LEASE_RENEW_SECS {
                self.lease.extend().await?;
                last_renewal = db::now();
            }
            pace.processed(chunk.len()).await;
        }
        if let (Some(expected), Some(request_hash)) = (self.checksum, request_hash) {
            if request_hash.finalize().as_slice() != expected {
                return Err(Error::ChecksumMismatch);
            }
        }
        if received == length {
            let mime_type = content.finish()?;
            let last = encryptor
                .finish()
                .map_err(|e| Error::internal("encrypt", e))?;
            sealed_bytes += last.len() as u64;
            sealed.send(last).await.map_err(|_| writer_gone())?;
            let sha256 = hex::encode(hasher.finalize());
            return Ok(Read {
                received,
                sealed_bytes,
                ending: Ending::Complete { sha256, mime_type },
            });
        }
        let (full, partial) = encryptor
            .pause()
            .map_err(|e| Error::internal("encrypt", e))?;
        if let Some(full) = full {
            debug_assert_eq!(full.len(), SEALED_SEGMENT_LEN);
            sealed_bytes += full.len() as u64;
            sealed.send(full).await.map_err(|_| writer_gone())?;
        }
        let mut plain = Zeroizing::new(hasher.serialize().to_vec());
        plain.extend_from_slice(&partial);
        let carried = aside::seal(key, &self.context(received), &plain)
            .map_err(|e| Error::internal("encrypt", e))?;
        Ok(Read {
            received,
            sealed_bytes,
            ending: Ending::Paused {
                carried,
                mime_type: content.checked_type().map(str::to_owned),
            },
        })
    }
}

/// A database error, or (a foreign key failing) the owner deleted while their upload ran.
fn owner_gone_or(e: sqlx::Error) -> Error {
    if db::is_foreign_key_violation(&e) {
        Error::Unauthenticated
    } else {
        e.into()
    }
}

fn expire_secs(state: &AppState) -> i64 {
    i64::try_from(state.settings().upload_expire.as_secs()).unwrap_or(i64::MAX)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
