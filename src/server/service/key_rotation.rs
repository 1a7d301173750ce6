//! The master keys' life in the database: which key seals new values (the one the last rotation
//! made current, checked before every seal), rotating to a new key while other servers keep
//! running, binding values sealed before they were bound to their rows, and refusing to start
//! without a key that some row still needs. Blobs are never touched.
//!
//! A rotation is safe with live servers because
//! 1. the new key is in the key file before it is recorded as current, and recorded as current
//!    before any value is re-sealed: a server about to seal sees the record, re-reads the file,
//!    and seals with the new key (or, on `COFFER_MASTER_KEY` without it, refuses);
//! 2. values sealed in the moment before a server saw the record are caught by a second pass
//!    after a grace period;
//! 3. a previous key leaves the key file only when the database says no row is sealed by it.

use std::{sync::Arc, time::Duration};

use crate::server::{
    db::{self, sealed::SealedColumn},
    error::{Error, Result},
    service::{
        audit::{action, Event},
        RequestMeta,
    },
    state::AppState,
};
use coffer_crypto::{
    keyring::{
        DATA_KEY_PURPOSE, LEGACY_DATA_KEY_PURPOSE, LEGACY_TOTP_PURPOSE, TOTP_PURPOSE,
        WEBHOOK_SECRET_PURPOSE,
    },
    Binding, Keyring, WrappedKey,
};

/// How long a rotation waits before its last pass, for seals that began before the servers
/// saw it (a seal is one key lookup and one insert: milliseconds).
const GRACE: Duration = Duration::from_secs(3);
const BATCH: i64 = 200;

/// What a rotation did.
#[derive(Debug, Default)]
pub struct Rotation {
    pub new_key_id: String,
    pub rewrapped: u64,
    /// Files whose key could not be unwrapped with any loaded key (left as they are).
    pub failed: Vec<String>,
    /// TOTP secrets re-sealed, and users whose secret could not be opened.
    pub totp_rewrapped: u64,
    pub totp_failed: Vec<String>,
    /// Webhook secrets re-sealed, and webhooks whose secret could not be opened.
    pub webhooks_rewrapped: u64,
    pub webhooks_failed: Vec<String>,
    /// Previous keys no row needs any more (dropped from the key file; with
    /// `COFFER_MASTER_KEY`, the operator may remove them).
    pub retired: Vec<String>,
    /// Previous keys some row is still sealed by, with how many rows.
    pub still_needed: Vec<(String, i64)>,
}

/// The keyring new values are sealed with: the server's, once it holds the key the last
/// rotation made current. 503 when it cannot (a server on an old `COFFER_MASTER_KEY`).
pub async fn sealing_ring(state: &AppState) -> Result<Arc<Keyring>> {
    let rotated_to = db::sealed::rotated_to(&state.db().pool).await?;
    state
        .keys()
        .sealing_ring(rotated_to.as_deref())
        .map_err(|e| Error::unavailable("master key", e))
}

/// Re-seals every data key and TOTP secret under the current master key. With the key file a
/// new key is generated first and kept beside the old ones until no row needs them; with
/// `COFFER_MASTER_KEY` the first key listed is the target.
pub async fn rotate(state: &AppState) -> Result<Rotation> {
    let keys = state.keys();
    keys.add_new_current()
        .map_err(|e| Error::internal("master key file", e))?;
    let ring = keys.ring();
    let current = ring.current().id().to_owned();
    db::sealed::set_rotated_to(&state.db().pool, &current, state.now()).await?;
    let mut rotation = Rotation {
        new_key_id: current.clone(),
        ..Rotation::default()
    };
    for pass in 0..2 {
        if pass == 1 {
            tokio::time::sleep(GRACE).await;
        }
        let (files, mut failed) = reseal_all(state, &ring, SealedColumn::FileDataKeys).await?;
        let (uploads, failed_uploads) =
            reseal_all(state, &ring, SealedColumn::UploadDataKeys).await?;
        failed.extend(failed_uploads);
        let (totp, totp_failed) = reseal_all(state, &ring, SealedColumn::TotpSecrets).await?;
        let (hooks, hooks_failed) = reseal_all(state, &ring, SealedColumn::WebhookSecrets).await?;
        rotation.rewrapped += files + uploads;
        rotation.totp_rewrapped += totp;
        rotation.webhooks_rewrapped += hooks;
        rotation.failed = failed;
        rotation.totp_failed = totp_failed;
        rotation.webhooks_failed = hooks_failed;
    }
    let counts = db::sealed::counts_by_key(&state.db().pool).await?;
    for key in ring.previous() {
        match counts.iter().find(|(id, _)| id == key.id()) {
            Some((id, rows)) => rotation.still_needed.push((id.clone(), *rows)),
            None => rotation.retired.push(key.id().to_owned()),
        }
    }
    let still_needed: Vec<String> = rotation
        .still_needed
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    keys.retire_previous(&still_needed)
        .map_err(|e| Error::internal("master key file", e))?;
    Event::new(action::MASTER_KEY_ROTATED)
        .on(&current)
        .detail(format!(
            "rewrapped={} failed={} totp_rewrapped={} totp_failed={} webhooks_rewrapped={} webhooks_failed={} retired={}",
            rotation.rewrapped,
            rotation.failed.len(),
            rotation.totp_rewrapped,
            rotation.totp_failed.len(),
            rotation.webhooks_rewrapped,
            rotation.webhooks_failed.len(),
            rotation.retired.len()
        ))
        .record(state, &RequestMeta::default())
        .await;
    Ok(rotation)
}

/// What a column's values are sealed as, bound to their row.
fn binding(column: SealedColumn, row_id: &str) -> Binding<'_> {
    let purpose = match column {
        SealedColumn::FileDataKeys | SealedColumn::UploadDataKeys => DATA_KEY_PURPOSE,
        SealedColumn::TotpSecrets => TOTP_PURPOSE,
        SealedColumn::WebhookSecrets => WEBHOOK_SECRET_PURPOSE,
    };
    Binding::row(purpose, row_id)
}

/// What a column's values were sealed as before they were bound to their rows.
fn legacy_binding(column: SealedColumn) -> Binding<'static> {
    Binding::Legacy {
        purpose: match column {
            SealedColumn::FileDataKeys | SealedColumn::UploadDataKeys => LEGACY_DATA_KEY_PURPOSE,
            SealedColumn::TotpSecrets => LEGACY_TOTP_PURPOSE,
            // Sealed bound to their rows from the start.
            SealedColumn::WebhookSecrets => WEBHOOK_SECRET_PURPOSE,
        },
    }
}

/// Re-seals every value of `column` under the ring's current key, in batches. Returns how many
/// were re-sealed, and the ids of rows no loaded key opens (left as they are, and logged).
async fn reseal_all(
    state: &AppState,
    ring: &Keyring,
    column: SealedColumn,
) -> Result<(u64, Vec<String>)> {
    let pool = &state.db().pool;
    let current = ring.current().id();
    let (mut resealed, mut failed) = (0, Vec::<String>::new());
    loop {
        let batch: Vec<_> = db::sealed::sealed_by_other_keys(pool, column, current, BATCH)
            .await?
            .into_iter()
            .filter(|v| !failed.contains(&v.id))
            .collect();
        if batch.is_empty() {
            return Ok((resealed, failed));
        }
        for value in batch {
            let wrapped = WrappedKey {
                master_key_id: value.master_key_id.clone(),
                sealed: value.sealed,
            };
            let bound = binding(column, &value.id);
            match ring.rewrap(bound, bound, &wrapped) {
                Ok(new) => {
                    let stored = db::sealed::reseal(
                        pool,
                        column,
                        &value.id,
                        &value.master_key_id,
                        current,
                        &new.sealed,
                    )
                    .await?;
                    resealed += u64::from(stored);
                }
                Err(e) => {
                    tracing::error!(?column, id = %value.id, error = %e, "cannot re-seal this value");
                    failed.push(value.id);
                }
            }
        }
    }
}

/// Re-seals values sealed before sealed values were bound to their rows (schema migration 6),
/// bound to their row and under the current key. Run at start; safe to run from several
/// servers at once. Returns how many were bound.
pub async fn bind_unbound(state: &AppState) -> Result<u64> {
    let pool = &state.db().pool;
    let ring = sealing_ring(state).await?;
    let mut bound = 0;
    for column in [SealedColumn::FileDataKeys, SealedColumn::TotpSecrets] {
        let mut after = String::new();
        loop {
            let batch = db::sealed::unbound(pool, column, &after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = last.id.clone();
            for value in batch {
                let wrapped = WrappedKey {
                    master_key_id: value.master_key_id,
                    sealed: value.sealed,
                };
                let target = binding(column, &value.id);
                match state.keys().open(legacy_binding(column), &wrapped) {
                    Ok(secret) => {
                        let new = ring.seal(target, &secret);
                        let stored = db::sealed::bind(
                            pool,
                            column,
                            &value.id,
                            &new.master_key_id,
                            &new.sealed,
                        )
                        .await?;
                        bound += u64::from(stored);
                    }
                    Err(e) => {
                        tracing::error!(?column, id = %value.id, error = %e, "cannot bind this sealed value to its row");
                    }
                }
            }
        }
    }
    if bound > 0 {
        tracing::info!(bound, "sealed values bound to their rows");
    }
    Ok(bound)
}

/// Master keys some row is sealed by that this server does not hold (removed from
/// `COFFER_MASTER_KEY` or the key file too early), with how many rows: the server refuses to
/// start while there are any, since every such file would fail.
pub async fn keys_missing(state: &AppState) -> Result<Vec<(String, i64)>> {
    let ring = state.keys().ring();
    Ok(db::sealed::counts_by_key(&state.db().pool)
        .await?
        .into_iter()
        .filter(|(id, _)| !ring.holds(id))
        .collect())
}
