//! Files: who may see which ([`access`]), the upload pipeline (validated and encrypted while
//! streaming, [`upload`]), the download pipeline (decrypted while streaming, by range,
//! [`download`]) with how many may run at once (`upload_slots`), and deletion. The REST handlers and the pages both come here.

mod access;
mod archive;
mod download;
pub mod quota;
pub mod resumable;
mod sealing;
mod upload;

pub use access::{find_visible, list, owner_is_active, Whose};
pub use archive::zip;
pub use download::{download, ensure_scanned_clean, plaintext, Download, PlainStream, RangeSpec};
pub(crate) use download::{limit_downloads, open_download, record_download, record_zip_download};
pub(crate) use upload::{store, Destination};
pub use upload::{sweep_abandoned_uploads, upload};

use crate::{
    model::FileInfo,
    server::{
        db::{self, files::FileRow, users::UserRow},
        error::{Error, Result},
        service::{
            audit::{action, Action, Event},
            RequestMeta,
        },
        state::AppState,
        storage::{BlobKey, BlobPart, StorageError},
    },
};
use coffer_crypto::CryptoError;

impl From<FileRow> for FileInfo {
    fn from(row: FileRow) -> Self {
        FileInfo {
            id: row.id,
            filename: row.filename,
            size: row.size.max(0) as u64,
            mime_type: row.mime_type,
            sha256: row.sha256,
            scan_status: row.scan_status,
            owner_id: row.owner_id,
            created_at: db::to_datetime(row.created_at),
            download_count: row.download_count.max(0) as u64,
            request_id: row.request_id,
        }
    }
}

/// A database error, or (a foreign key failing) the owner deleted while their upload ran.
pub(super) fn owner_gone_or(e: sqlx::Error) -> Error {
    if db::is_foreign_key_violation(&e) {
        Error::Unauthenticated
    } else {
        e.into()
    }
}

pub(super) fn storage_error(e: StorageError) -> Error {
    Error::internal("storage", e)
}

/// Which stored file failed to decrypt, with the crypto error as its cause.
#[derive(Debug, thiserror::Error)]
#[error("file {file_id}")]
struct StoredFile {
    file_id: String,
    #[source]
    cause: CryptoError,
}

pub(super) fn integrity_error(file_id: &str, cause: CryptoError) -> Error {
    let file_id = file_id.to_owned();
    Error::internal("decrypting a stored file", StoredFile { file_id, cause })
}

/// The parts a file's blob is stored in, when it is stored in parts (a resumable upload's).
pub(super) async fn stored_parts(
    state: &AppState,
    file: &FileRow,
) -> Result<Option<Vec<BlobPart>>> {
    if file.blob_parts == 0 {
        return Ok(None);
    }
    let rows = db::uploads::parts(&state.db().pool, &file.blob_key).await?;
    if rows.len() as i64 != file.blob_parts {
        return Err(Error::internal(
            "reading a stored file",
            format!(
                "file {} has {} of its {} parts",
                file.id,
                rows.len(),
                file.blob_parts
            ),
        ));
    }
    Ok(Some(
        rows.into_iter()
            .map(|row| BlobPart {
                name: row.name,
                len: row.len.max(0) as u64,
            })
            .collect(),
    ))
}

/// Deletes a file's row (and scan job), then its blob.
pub async fn delete(state: &AppState, actor: &UserRow, meta: &RequestMeta, id: &str) -> Result<()> {
    let file = find_visible(state, actor, id).await?;
    let pool = &state.db().pool;
    let key = BlobKey::from_stored(file.blob_key.clone());
    // Note the blob first: should the process die between the two deletes, the sweeper finds it.
    let marked = db::files::mark_for_deletion(pool, key.as_str()).await?;
    if !db::files::delete(pool, &file.id).await? {
        // Deleted meanwhile, by a request that also owns the blob's note (if this one did not
        // make it).
        if marked {
            db::files::forget_upload(pool, key.as_str()).await?;
        }
        return Err(Error::NotFound("file"));
    }
    discard_blob(state, &key).await;
    Event::by(
        &actor.id,
        owner_or_admin(
            actor,
            &file,
            action::FILE_DELETED,
            action::ADMIN_FILE_DELETED,
        ),
    )
    .on(&file.id)
    .detail(format!("name={:?} owner={}", file.filename, file.owner_id))
    .record(state, meta)
    .await;
    Ok(())
}

/// The audit action of something done to a file: by its owner, or by an admin to someone
/// else's file (an admin action, audited as one).
pub(crate) fn owner_or_admin(
    actor: &UserRow,
    file: &FileRow,
    by_owner: Action,
    by_admin: Action,
) -> Action {
    if file.owner_id == actor.id {
        by_owner
    } else {
        by_admin
    }
}

/// Deletes the blobs of files whose rows are gone (a deleted user's), each marked in
/// `blob_uploads` in the transaction that removed its row.
pub async fn discard_blobs(state: &AppState, keys: Vec<String>) {
    for key in keys {
        discard_blob(state, &BlobKey::from_stored(key)).await;
    }
}

/// Deletes a blob that belongs to no file. If that fails, its `blob_uploads` row stays and the
/// sweeper tries again later.
pub(super) async fn discard_blob(state: &AppState, key: &BlobKey) {
    match state.storage().delete(key).await {
        Ok(()) => {
            if let Err(e) = db::files::forget_upload(&state.db().pool, key.as_str()).await {
                tracing::warn!(error = %e, "could not forget a discarded upload");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, blob = key.as_str(), "could not delete a discarded blob; the sweeper will")
        }
    }
}
