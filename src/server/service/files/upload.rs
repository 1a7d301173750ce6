//! The upload pipeline: a body stream checked (size, type, content), hashed and sealed on the
//! way to storage, and made visible as a file only once its blob is complete. Any failure
//! leaves no row and no blob: a blob no file owns is removed at once, or by the sweeper.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::{
    discard_blob,
    quota::{RequestBytes, Reservation, UPLOAD_ABANDONED_SECS},
    storage_error,
};
use crate::{
    app::model::ScanStatus,
    server::{
        crypto::{DataKey, NoncePrefix, SegmentEncryptor},
        db::{self, files::FileRow, requests::RequestRow, users::UserRow},
        error::{Error, Result},
        pace::Pace,
        service::{
            audit::{action, Event},
            file_types, key_rotation,
            limits::{self, Bucket},
            requests, webhooks, RequestMeta,
        },
        state::AppState,
        storage::{BlobKey, BlobWriter},
    },
};

/// How often a running upload marks itself alive (see `blob_uploads`).
const UPLOAD_HEARTBEAT_SECS: i64 = 60;

/// What came in, once the whole upload has been read.
struct Received {
    size: u64,
    sha256: String,
    mime_type: String,
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
    limits::hit(state, Bucket::UploadPerUser, &owner.id).await?;
    let _slot = state.upload_slots().take(&owner.id)?;
    let row = store(state, owner, None, raw_name, body).await?;
    Event::by(&owner.id, action::FILE_UPLOADED)
        .on(&row.id)
        .detail(format!("name={:?} size={}", row.filename, row.size))
        .record(state, meta)
        .await;
    Ok(row)
}

/// Stores a file for `owner`, sent by them or (with `request`) by someone through one of their
/// upload requests, which then also holds one of the request's places and its bytes. The
/// callers count the rate limits and upload places and write the audit entry.
pub(crate) async fn store<S, E>(
    state: &AppState,
    owner: &UserRow,
    request: Option<&RequestRow>,
    raw_name: &str,
    body: S,
) -> Result<FileRow>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let filename = file_types::normalise_filename(raw_name)?;
    let ext = file_types::check_extension(&filename, &state.settings().upload_policy())?;

    let target = Target {
        blob_key: BlobKey::generate(),
        ext,
        data_key: DataKey::generate(),
        prefix: NoncePrefix::generate(),
    };
    let pending = PendingBlob::begin(state, &target.blob_key, &owner.id, request).await?;
    let limits = Limits {
        quota: Reservation::new(state, owner, target.blob_key.as_str()),
        request: request.map(|r| RequestBytes::new(state, r, target.blob_key.as_str())),
    };
    let received = match store_blob(state, &target, limits, body).await {
        Ok(received) => received,
        Err(e) => {
            pending.discard().await;
            return Err(e);
        }
    };

    let id = db::new_id();
    let wrapped = match key_rotation::sealing_ring(state).await {
        Ok(ring) => ring.wrap_data_key(&target.data_key, &id),
        Err(e) => {
            pending.discard().await;
            return Err(e);
        }
    };
    let row = FileRow {
        id,
        owner_id: owner.id.clone(),
        filename,
        size: received.size as i64,
        mime_type: received.mime_type,
        sha256: received.sha256,
        scan_status: ScanStatus::Pending,
        scan_detail: None,
        blob_key: target.blob_key.as_str().to_owned(),
        master_key_id: wrapped.master_key_id,
        wrapped_key: wrapped.sealed,
        nonce_prefix: target.prefix.as_bytes().to_vec(),
        download_count: 0,
        created_at: db::now(),
        blob_parts: 0,
        request_id: request.map(|r| r.id.clone()),
    };
    let inserted = match request {
        None => db::files::insert_with_scan_job(&state.db().pool, &row)
            .await
            .map(|()| Ok(())),
        Some(request) => {
            let notify = (request.notify != 0).then(|| webhooks::file_received(request, &row));
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
            // The owner was deleted while their upload ran.
            return Err(if db::is_foreign_key_violation(&e) {
                Error::Unauthenticated
            } else {
                e.into()
            });
        }
    }
    state.scan_queue().job_added();
    Ok(row)
}

/// What an upload's bytes count against as they arrive: the owner's quota, and the request's
/// byte limit for a file sent through a request.
struct Limits<'a> {
    quota: Reservation<'a>,
    request: Option<RequestBytes<'a>>,
}

impl Limits<'_> {
    async fn cover(&mut self, size: u64) -> Result<()> {
        if let Some(request) = &mut self.request {
            request.cover(size).await?;
        }
        self.quota.cover(size).await
    }
}

/// Where and how an upload is stored: its blob, the extension its content must match, and the
/// data key and nonce prefix it is sealed with.
struct Target {
    blob_key: BlobKey,
    ext: String,
    data_key: DataKey,
    prefix: NoncePrefix,
}

/// Writes the sealed body to the target's blob; on failure the partial blob is aborted.
async fn store_blob<S, E>(
    state: &AppState,
    target: &Target,
    limits: Limits<'_>,
    body: S,
) -> Result<Received>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let mut writer = state
        .storage()
        .create(&target.blob_key)
        .await
        .map_err(storage_error)?;
    match receive(state, &mut writer, target, limits, body).await {
        Ok(received) => {
            writer.finish().await.map_err(storage_error)?;
            Ok(received)
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
        request: Option<&RequestRow>,
    ) -> Result<Self> {
        let pool = &state.db().pool;
        let now = db::now();
        match request {
            None => db::files::begin_upload(pool, key.as_str(), owner_id, now).await?,
            Some(request) => {
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

/// Sealed segments waiting for the storage writer: enough that reading, hashing and encrypting
/// go on while a write is in flight, few enough to keep memory per upload small. The writer
/// takes whatever has queued up in one storage call, so an upload holds at most twice this many
/// segments (2 × 1 × 64 KiB), beside the one being sealed. With 16, each upload running beside
/// others added about 4.8 MiB to the server's peak RSS (`scripts/bench.sh`, part "concurrent");
/// 1 came in with hashing on the upload's own task (see [`seal_body`], for the figures of both).
const WRITE_QUEUE_SEGMENTS: usize = 1;

/// Reads the body into the writer: size limit, quota, content check, hash and encryption on the
/// way.
async fn receive<S, E>(
    state: &AppState,
    writer: &mut BlobWriter,
    target: &Target,
    limits: Limits<'_>,
    body: S,
) -> Result<Received>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    write_sealed(writer, |sealed| {
        seal_body(state, target, limits, body, sealed)
    })
    .await
}

/// Runs `seal`, which queues sealed segments on the sender it is given, alongside a writer that
/// stores them, joined by a short queue: reading and sealing go on while a write is in flight.
pub(super) async fn write_sealed<T, F, Fut>(writer: &mut BlobWriter, seal: F) -> Result<T>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let (sealed_tx, mut sealed_rx) = tokio::sync::mpsc::channel::<Bytes>(WRITE_QUEUE_SEGMENTS);
    let seal = seal(sealed_tx);
    let write = async {
        let mut batch = Vec::with_capacity(WRITE_QUEUE_SEGMENTS);
        while sealed_rx.recv_many(&mut batch, WRITE_QUEUE_SEGMENTS).await > 0 {
            writer
                .write_all(std::mem::take(&mut batch))
                .await
                .map_err(storage_error)?;
        }
        Ok(())
    };
    let (out, ()) = tokio::try_join!(seal, write)?;
    Ok(out)
}

/// What a sealing half says when the storage writer has stopped (it only stops early on an
/// error, which it reports itself).
pub(super) fn writer_gone() -> Error {
    Error::internal("upload", "the storage writer stopped")
}

/// The reading half of [`receive`]: checks, hashes and seals the body, queueing the segments.
async fn seal_body<S, E>(
    state: &AppState,
    target: &Target,
    mut limits: Limits<'_>,
    mut body: S,
    sealed: tokio::sync::mpsc::Sender<Bytes>,
) -> Result<Received>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let policy = state.settings().upload_policy();
    let mut encryptor = SegmentEncryptor::new(&target.data_key, &target.prefix);
    // Hashed here, on the upload's own task, as each chunk passes. A hashing task of its own,
    // fed 64 KiB copies through a queue, let SHA-256 run on the other core but held up to three
    // batches per upload. Measured together with the sealed queue going from two segments to
    // one (`WRITE_QUEUE_SEGMENTS`), each concurrent upload past the first added 0.87–1.03 MiB to
    // the server's peak before and 0.40–0.83 MiB after, for about a tenth less speed on a lone
    // upload (`scripts/bench.sh`, part "concurrent"; SHA-256 uses the CPU's SHA extensions).
    let mut hasher = Sha256::new();
    let mut content = file_types::ContentCheck::new(target.ext.clone());
    let mut size: u64 = 0;
    let mut last_heartbeat = db::now();
    let mut pace = Pace::default();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::BadUpload(e.to_string()))?;
        size += chunk.len() as u64;
        policy.check_size(size).map_err(Error::FileTooLarge)?;
        limits.cover(size).await?;
        content.feed(&chunk)?;
        hasher.update(&chunk);
        for segment in encryptor
            .update(&chunk)
            .map_err(|e| Error::internal("encrypt", e))?
        {
            sealed.send(segment).await.map_err(|_| writer_gone())?;
        }
        let now = db::now();
        if now - last_heartbeat >= UPLOAD_HEARTBEAT_SECS {
            db::files::touch_upload(&state.db().pool, target.blob_key.as_str(), now).await?;
            last_heartbeat = now;
        }
        pace.processed(chunk.len()).await;
    }
    let mime_type = content.finish()?;
    let last = encryptor
        .finish()
        .map_err(|e| Error::internal("encrypt", e))?;
    sealed.send(last).await.map_err(|_| writer_gone())?;
    Ok(Received {
        size,
        sha256: hex::encode(hasher.finalize()),
        mime_type,
    })
}

/// Deletes blobs of uploads that went quiet (a crash, a lost connection mid-way).
pub async fn sweep_abandoned_uploads(state: &AppState) -> Result<usize> {
    let before = db::now() - UPLOAD_ABANDONED_SECS;
    db::files::forget_claimed_uploads(&state.db().pool, before).await?;
    let keys = db::files::abandoned_uploads(&state.db().pool, before).await?;
    let count = keys.len();
    for key in keys {
        discard_blob(state, &BlobKey::from_stored(key)).await;
    }
    Ok(count)
}
