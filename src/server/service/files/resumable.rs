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
use coffer_crypto::{
    aside, segments::SEGMENT_LEN, DataKey, NoncePrefix, SegmentEncryptor, WrappedKey,
};
use futures::Stream;
use sha2::{Digest, Sha256};

use super::{
    discard_blob, integrity_error, owner_gone_or,
    quota::Reservation,
    sealing::{Intake, Paused, Sealer},
    storage_error,
};
use crate::{
    model::ScanStatus,
    server::{
        db::{
            self,
            files::FileRow,
            uploads::{Advance, UploadRow},
            users::UserRow,
        },
        error::{Error, Result},
        service::{
            audit::{action, Event},
            file_types, key_rotation,
            rate_limits::{self, Bucket},
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
    rate_limits::hit(state, Bucket::UploadPerUser, &owner.id).await?;
    let policy = state.settings().upload_policy();
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
async fn find(state: &AppState, owner: &UserRow, id: &str) -> Result<UploadRow> {
    let row = db::uploads::find(&state.db().pool, id, &owner.id)
        .await?
        .ok_or(Error::NotFound("upload"))?;
    if row.completed == 0 && row.expires_at <= state.now() {
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
    let patch = Patch {
        state,
        row: &row,
        lease: &lease,
        checksum,
    };
    let recorded = match patch.receive(body).await {
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
        let now = state.now();
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
        let until = self.state.now() + LEASE_SECS;
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

/// One tus `PATCH`: a request writing its bytes to an upload.
struct Patch<'a> {
    state: &'a AppState,
    row: &'a UploadRow,
    lease: &'a Lease,
    checksum: Option<[u8; 32]>,
}

/// What a `PATCH` recorded: where the upload is now, and the file if it completed it.
struct Recorded {
    status: UploadStatus,
    file: Option<FileRow>,
}

/// How a `PATCH`'s reading ended.
enum Ending {
    /// The last byte is in: the last segment is sealed.
    Complete { sha256: String, mime_type: String },
    /// More is to come: what the next request starts from, sealed aside.
    Paused {
        carried: Vec<u8>,
        mime_type: Option<String>,
    },
}

/// A `PATCH`'s rules for its bytes: never past the upload's length (its quota was reserved
/// whole at creation), the request's own checksum, and the lease renewed while bytes flow. A
/// request cut short keeps what arrived, unless it carries a checksum.
struct PatchIntake<'a> {
    state: &'a AppState,
    lease: &'a Lease,
    length: u64,
    checksum: Option<([u8; 32], Sha256)>,
    last_renewal: i64,
}

impl Intake for PatchIntake<'_> {
    async fn admit(&mut self, chunk: &[u8], size: u64) -> Result<()> {
        if size > self.length {
            return Err(Error::FileTooLarge(format!(
                "the request sends more than the upload's length of {} bytes",
                self.length
            )));
        }
        if let Some((_, hash)) = self.checksum.as_mut() {
            hash.update(chunk);
        }
        Ok(())
    }

    async fn keep_alive(&mut self) -> Result<()> {
        let now = self.state.now();
        if now - self.last_renewal >= LEASE_RENEW_SECS {
            self.lease.extend().await?;
            self.last_renewal = now;
        }
        Ok(())
    }

    fn cut_short(&self, error: String) -> Result<()> {
        match self.checksum {
            None => Ok(()),
            Some(_) => Err(Error::BadUpload(error)),
        }
    }
}

impl PatchIntake<'_> {
    /// Whether the request's bytes are what its checksum says.
    fn check(self) -> Result<()> {
        match self.checksum {
            Some((expected, hash)) => {
                if hash.finalize().as_slice() == expected {
                    Ok(())
                } else {
                    Err(Error::ChecksumMismatch)
                }
            }
            None => Ok(()),
        }
    }
}

impl Patch<'_> {
    /// Reads, seals and stores the request's bytes as a new part, and records them.
    async fn receive<S, E>(&self, body: S) -> Result<Recorded>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let (state, row) = (self.state, self.row);
        let pool = &state.db().pool;
        let key = self.data_key()?;
        let blob_key = BlobKey::from_stored(row.blob_key.clone());
        let index = row.parts;
        let mut part = state
            .storage()
            .create_part(&blob_key, u32::try_from(index).unwrap_or(u32::MAX))
            .await
            .map_err(storage_error)?;
        let read = self.read_body(&key, body, part.writer()).await;
        let (received, sealed_bytes, ending) = match read {
            Ok(read) => read,
            Err(e) => {
                part.abort().await;
                return Err(e);
            }
        };
        let stored = if sealed_bytes > 0 {
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
            received: to_i64(received),
            carried: None,
            mime_type: None,
            expires_at: state.now() + expire_secs(state),
        };
        let (recorded, file) = match &ending {
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
                    created_at: state.now(),
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
            received,
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

    /// The pipeline where the previous request left it: the running hash and the plaintext of
    /// the segment not yet complete, opened from the row, sealing on from the segment they
    /// belong to.
    fn resume_sealer(&self, key: &DataKey) -> Result<Sealer> {
        let row = self.row;
        let broken = || integrity_error(&row.id, coffer_crypto::CryptoError::Integrity);
        let prefix =
            NoncePrefix::from_slice(&row.nonce_prefix).map_err(|e| integrity_error(&row.id, e))?;
        let received = row.received.max(0) as u64;
        let opened = match &row.carried {
            None => None,
            Some(sealed) => Some(
                aside::open(key, &self.context(received), sealed)
                    .map_err(|e| integrity_error(&row.id, e))?,
            ),
        };
        let (hash, partial): (Sha256, &[u8]) = match &opened {
            None => (Sha256::new(), &[]),
            Some(plain) => {
                let state_len = Sealer::hash_state_len();
                if plain.len() < state_len || plain.len() - state_len >= SEGMENT_LEN {
                    return Err(broken());
                }
                let (hash_state, partial) = plain.split_at(state_len);
                (
                    Sealer::hash_from_state(hash_state).ok_or_else(broken)?,
                    partial,
                )
            }
        };
        let before = received - partial.len() as u64;
        if before % SEGMENT_LEN as u64 != 0 {
            return Err(broken());
        }
        let mut encryptor = SegmentEncryptor::resume(key, &prefix, before / SEGMENT_LEN as u64);
        // Less than a segment: nothing is sealed yet, it waits for the rest.
        let none = encryptor
            .update(partial)
            .map_err(|e| Error::internal("encrypt", e))?;
        debug_assert!(none.is_empty());
        let ext =
            file_types::check_extension(&row.filename, &self.state.settings().upload_policy())?;
        // Until the type is checked, the file's first bytes are all in the partial segment.
        let content = file_types::ContentCheck::resume(ext, row.mime_type.clone(), partial);
        Ok(Sealer::resume(encryptor, hash, content, received))
    }

    /// Reads the body through the sealing pipeline after what was carried over, into the
    /// request's part: how far the upload got, the bytes stored, and how it ended.
    async fn read_body<S, E>(
        &self,
        key: &DataKey,
        body: S,
        writer: &mut crate::server::storage::BlobWriter,
    ) -> Result<(u64, u64, Ending)>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let length = self.row.length.max(0) as u64;
        let mut sealer = self.resume_sealer(key)?;
        let mut intake = PatchIntake {
            state: self.state,
            lease: self.lease,
            length,
            checksum: self.checksum.map(|expected| (expected, Sha256::new())),
            last_renewal: self.state.now(),
        };
        sealer.read(body, &mut intake, writer).await?;
        intake.check()?;
        if sealer.size() == length {
            let complete = sealer.finish(writer).await?;
            let ending = Ending::Complete {
                sha256: complete.sha256,
                mime_type: complete.mime_type,
            };
            return Ok((complete.size, complete.sealed_bytes, ending));
        }
        let Paused {
            size,
            carried,
            mime_type,
            sealed_bytes,
        } = sealer.pause(writer).await?;
        let carried = aside::seal(key, &self.context(size), &carried)
            .map_err(|e| Error::internal("encrypt", e))?;
        Ok((size, sealed_bytes, Ending::Paused { carried, mime_type }))
    }
}

fn expire_secs(state: &AppState) -> i64 {
    i64::try_from(state.settings().upload_expire.as_secs()).unwrap_or(i64::MAX)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
