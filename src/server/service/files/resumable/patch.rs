//! One tus `PATCH`: a request's bytes read through the sealing pipeline (after what the
//! request before left, `carried`) into a part of the upload's blob of their own, then recorded
//! in the row in one step; the request that brings the last byte adds the file.

use bytes::Bytes;
use coffer_crypto::{DataKey, WrappedKey};
use futures::Stream;
use sha2::{Digest, Sha256};

use super::{
    expire_secs, find,
    lease::{Lease, LEASE_RENEW_SECS},
    terminate, to_i64, UploadStatus,
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
            files::{
                integrity_error, owner_gone_or,
                sealing::{Intake, Paused},
                storage_error,
            },
            RequestMeta,
        },
        state::AppState,
        storage::{BlobKey, BlobWriter},
    },
};

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

/// One tus `PATCH`: a request writing its bytes to an upload.
pub(super) struct Patch<'a> {
    pub state: &'a AppState,
    pub row: &'a UploadRow,
    pub lease: &'a Lease,
    pub checksum: Option<[u8; 32]>,
}

/// What a `PATCH` recorded: where the upload is now, and the file if it completed it.
pub(super) struct Recorded {
    pub status: UploadStatus,
    pub file: Option<FileRow>,
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
    pub(super) async fn receive<S, E>(&self, body: S) -> Result<Recorded>
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

    /// Reads the body through the sealing pipeline after what was carried over, into the
    /// request's part: how far the upload got, the bytes stored, and how it ended.
    async fn read_body<S, E>(
        &self,
        key: &DataKey,
        body: S,
        writer: &mut BlobWriter,
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
        let carried = self.seal_carried(key, size, &carried)?;
        Ok((size, sealed_bytes, Ending::Paused { carried, mime_type }))
    }
}
