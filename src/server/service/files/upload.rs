//! A whole file in one request (the owner's own upload, or a sender's into an upload request):
//! its bytes go through the sealing pipeline ([`super::sealing`]) under the size limit and the
//! quota, into a blob of its own, and the file is made visible only once its blob is complete.
//! Any failure leaves no row and no blob: a blob no file owns is removed at once, or by the
//! sweeper.

use bytes::Bytes;
use coffer_crypto::{DataKey, NoncePrefix, SegmentEncryptor};
use futures::Stream;

use super::{
    discard_blob, owner_gone_or,
    quota::{RequestBytes, Reservation, UPLOAD_ABANDONED_SECS},
    sealing::{Intake, Sealer},
    storage_error,
};
use crate::{
    model::{ScanStatus, UploadPolicy},
    server::{
        db::{self, files::FileRow, requests::RequestRow, users::UserRow},
        error::{Error, Result},
        service::{
            audit::{action, Event},
            file_types, key_rotation,
            rate_limits::{self, Bucket},
            requests, webhooks, RequestMeta,
        },
        state::AppState,
        storage::BlobKey,
    },
};

/// How often a running upload marks itself alive (see `blob_uploads`).
const UPLOAD_HEARTBEAT_SECS: i64 = 60;

/// Where an uploaded file goes: among its owner's files, sent by the owner, or into one of the
/// owner's upload requests, sent by someone with its link.
#[derive(Clone, Copy)]
pub(crate) enum Destination<'a> {
    OwnFiles,
    Request(&'a RequestRow),
}

impl<'a> Destination<'a> {
    fn request(self) -> Option<&'a RequestRow> {
        match self {
            Destination::OwnFiles => None,
            Destination::Request(request) => Some(request),
        }
    }
}

/// Stores an upload of the owner's own: checks name, type and size while streaming, encrypts
/// on the way, and makes the file visible only once its blob is complete. Any failure leaves no
/// row and no blob.
pub async fn upload<S, E>(
    state: &AppState,
    owner: &UserRow,
    meta: &RequestMeta,
    raw_name: &str,
    body: S,
) -> Result<FileRow>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    rate_limits::hit(state, Bucket::UploadPerUser, &owner.id).await?;
    let _slot = state.upload_slots().take(&owner.id)?;
    let row = store(state, owner, Destination::OwnFiles, raw_name, body).await?;
    Event::by(&owner.id, action::FILE_UPLOADED)
        .on(&row.id)
        .detail(format!("name={:?} size={}", row.filename, row.size))
        .record(state, meta)
        .await;
    Ok(row)
}

/// Stores a file for `owner` at `destination`; a file sent into a request also holds one of the
/// request's places and its bytes. The callers count the rate limits and upload places and
/// write the audit entry.
pub(crate) async fn store<S, E>(
    state: &AppState,
    owner: &UserRow,
    destination: Destination<'_>,
    raw_name: &str,
    body: S,
) -> Result<FileRow>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let filename = file_types::normalise_filename(raw_name)?;
    let ext = file_types::check_extension(&filename, &state.settings().uploads.policy())?;
    let blob_key = BlobKey::generate();
    let data_key = DataKey::generate();
    let prefix = NoncePrefix::generate();
    let pending = PendingBlob::begin(state, &blob_key, &owner.id, destination).await?;
    let intake = UploadIntake {
        state,
        policy: state.settings().uploads.policy(),
        blob_key: &blob_key,
        quota: Reservation::new(state, owner, blob_key.as_str()),
        request: destination
            .request()
            .map(|r| RequestBytes::new(state, r, blob_key.as_str())),
        last_heartbeat: state.now(),
    };
    let sealer = Sealer::new(
        SegmentEncryptor::new(&data_key, &prefix),
        file_types::ContentCheck::new(ext),
    );
    let stored = match store_blob(state, &blob_key, sealer, intake, body).await {
        Ok(stored) => stored,
        Err(e) => {
            pending.discard().await;
            return Err(e);
        }
    };

    let id = db::new_id();
    let wrapped = match key_rotation::sealing_ring(state).await {
        Ok(ring) => ring.wrap_data_key(&data_key, &id),
        Err(e) => {
            pending.discard().await;
            return Err(e);
        }
    };
    let row = FileRow {
        id,
        owner_id: owner.id.clone(),
        filename,
        size: stored.size as i64,
        mime_type: stored.mime_type,
        sha256: stored.sha256,
        scan_status: ScanStatus::Pending,
        scan_detail: None,
        blob_key: blob_key.as_str().to_owned(),
        master_key_id: wrapped.master_key_id,
        wrapped_key: wrapped.sealed,
        nonce_prefix: prefix.as_bytes().to_vec(),
        download_count: 0,
        created_at: state.now(),
        blob_parts: 0,
        request_id: destination.request().map(|r| r.id.clone()),
    };
    let inserted = match destination {
        Destination::OwnFiles => db::files::insert_with_scan_job(&state.db().pool, &row)
            .await
            .map(|()| Ok(())),
        Destination::Request(request) => {
            let notify =
                (request.notify != 0).then(|| webhooks::file_received(request, &row, state.now()));
            db::requests::insert_file(&state.db().pool, &row, &request.id, notify.as_ref()).await
        }
    };
    match inserted {
        Ok(Ok(())) => pending.claimed(),
        Ok(Err(refused)) => {
            pending.discard().await;
            return Err(
                requests::refusal(state, &row.request_id.unwrap_or_default(), refused).await,
            );
        }
        Err(e) => {
            pending.discard().await;
            return Err(owner_gone_or(e));
        }
    }
    state.scan_queue().job_added();
    Ok(row)
}

/// A one-shot upload's rules for its bytes: the size limit, the owner's quota (and a request's
/// byte limit for a file sent into one), grown as bytes arrive; a heartbeat on its
/// `blob_uploads` row while they do.
struct UploadIntake<'a> {
    state: &'a AppState,
    policy: UploadPolicy,
    blob_key: &'a BlobKey,
    quota: Reservation<'a>,
    request: Option<RequestBytes<'a>>,
    last_heartbeat: i64,
}

impl Intake for UploadIntake<'_> {
    async fn admit(&mut self, _chunk: &[u8], size: u64) -> Result<()> {
        self.policy.check_size(size).map_err(Error::FileTooLarge)?;
        if let Some(request) = &mut self.request {
            request.cover(size).await?;
        }
        self.quota.cover(size).await
    }

    async fn keep_alive(&mut self) -> Result<()> {
        let now = self.state.now();
        if now - self.last_heartbeat >= UPLOAD_HEARTBEAT_SECS {
            let pool = &self.state.db().pool;
            db::files::touch_upload(pool, self.blob_key.as_str(), now).await?;
            self.last_heartbeat = now;
        }
        Ok(())
    }
}

/// What came in, once the whole upload has been read.
struct Stored {
    size: u64,
    sha256: String,
    mime_type: String,
}

/// Seals the body into a new blob; on failure the partial blob is aborted.
async fn store_blob<S, E>(
    state: &AppState,
    blob_key: &BlobKey,
    mut sealer: Sealer,
    mut intake: UploadIntake<'_>,
    body: S,
) -> Result<Stored>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let mut writer = state
        .storage()
        .create(blob_key)
        .await
        .map_err(storage_error)?;
    let sealed = async {
        sealer.read(body, &mut intake, &mut writer).await?;
        sealer.finish(&mut writer).await
    }
    .await;
    match sealed {
        Ok(complete) => {
            writer.finish().await.map_err(storage_error)?;
            Ok(Stored {
                size: complete.size,
                sha256: complete.sha256,
                mime_type: complete.mime_type,
            })
        }
        Err(e) => {
            writer.abort().await;
            Err(e)
        }
    }
}

/// A blob being uploaded that no file owns yet. Its `blob_uploads` marker is written first, so
/// the sweeper finds it after a crash. Unless [`claimed`](Self::claimed) by a file row, it is
/// removed: at once by [`discard`](Self::discard), or from a task of its own when dropped (the
/// client went away and the server stopped polling the upload).
struct PendingBlob {
    state: AppState,
    key: Option<BlobKey>,
}

impl PendingBlob {
    async fn begin(
        state: &AppState,
        key: &BlobKey,
        owner_id: &str,
        destination: Destination<'_>,
    ) -> Result<Self> {
        let pool = &state.db().pool;
        let now = state.now();
        match destination {
            Destination::OwnFiles => {
                db::files::begin_upload(pool, key.as_str(), owner_id, now).await?
            }
            Destination::Request(request) => {
                let live_since = now - UPLOAD_ABANDONED_SECS;
                let begun = db::requests::begin_upload(
                    pool,
                    &request.id,
                    owner_id,
                    key.as_str(),
                    now,
                    live_since,
                )
                .await?;
                if let Err(refused) = begun {
                    return Err(requests::refusal(state, &request.id, refused).await);
                }
            }
        }
        Ok(Self {
            state: state.clone(),
            key: Some(key.clone()),
        })
    }

    /// A file row owns the blob now (its marker went in the same transaction).
    fn claimed(mut self) {
        self.key = None;
    }

    async fn discard(mut self) {
        if let Some(key) = self.key.take() {
            discard_blob(&self.state, &key).await;
        }
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let state = self.state.clone();
            tokio::spawn(async move { discard_blob(&state, &key).await });
        }
    }
}

/// Deletes blobs of uploads that went quiet (a crash, a lost connection mid-way).
pub async fn sweep_abandoned_uploads(state: &AppState) -> Result<usize> {
    let before = state.now() - UPLOAD_ABANDONED_SECS;
    db::files::forget_claimed_uploads(&state.db().pool, before).await?;
    let keys = db::files::abandoned_uploads(&state.db().pool, before).await?;
    let count = keys.len();
    for key in keys {
        discard_blob(state, &BlobKey::from_stored(key)).await;
    }
    Ok(count)
}
