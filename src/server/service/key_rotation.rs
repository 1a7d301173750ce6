//! Rotating the master key: every sealed value (files' data keys, TOTP secrets) is re-sealed
//! under the current key, and the previous keys are retired only when none is left behind.
//! Blobs are never touched.

use crate::server::{
    crypto::{keyring::DATA_KEY_PURPOSE, Keyring, WrappedKey},
    db::{self, sealed::SealedColumn},
    error::{Error, Result},
    service::{
        audit::{action, Event},
        two_factor, RequestMeta,
    },
    state::AppState,
};

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
    /// With `COFFER_MASTER_KEY`: the previous key ids no longer needed.
    pub retired: Vec<String>,
}

/// Re-wraps every data key and TOTP secret under the current master key. With the key file a new key is
/// generated first and kept beside the old ones until every row is re-wrapped; with
/// `COFFER_MASTER_KEY` the first key listed is the target.
pub async fn rotate(state: &AppState) -> Result<Rotation> {
    let keys = state.keys();
    keys.add_new_current()
        .map_err(|e| Error::internal("master key file", e))?;
    let ring = keys.ring();
    let current = ring.current().id().to_owned();
    let mut rotation = Rotation {
        new_key_id: current.clone(),
        ..Rotation::default()
    };
    (rotation.rewrapped, rotation.failed) =
        reseal_all(state, &ring, SealedColumn::FileDataKeys).await?;
    (rotation.totp_rewrapped, rotation.totp_failed) =
        reseal_all(state, &ring, SealedColumn::TotpSecrets).await?;
    if rotation.failed.is_empty() && rotation.totp_failed.is_empty() {
        rotation.retired = ring.previous().iter().map(|k| k.id().to_owned()).collect();
        keys.retire_previous()
            .map_err(|e| Error::internal("master key file", e))?;
    }
    Event::new(action::MASTER_KEY_ROTATED)
        .on(&current)
        .detail(format!(
            "rewrapped={} failed={} totp_rewrapped={} totp_failed={}",
            rotation.rewrapped,
            rotation.failed.len(),
            rotation.totp_rewrapped,
            rotation.totp_failed.len()
        ))
        .record(state, &RequestMeta::default())
        .await;
    Ok(rotation)
}

/// What a column's values are sealed as (bound to them, see [`Keyring::seal`]).
fn purpose(column: SealedColumn) -> &'static [u8] {
    match column {
        SealedColumn::FileDataKeys => DATA_KEY_PURPOSE,
        SealedColumn::TotpSecrets => two_factor::TOTP_PURPOSE,
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
        let batch: Vec<_> = db::sealed::sealed_by_other_keys(pool, column, current, 200)
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
            match ring.rewrap(purpose(column), &wrapped) {
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
