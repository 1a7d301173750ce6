//! The periodic upkeep every instance runs (the sweeper in `startup.rs` calls [`sweep`] every
//! `sweep_interval`): what has expired is deleted, what was abandoned is removed. Each step is
//! safe to run on several instances at once, and a step that fails is logged and tried again at
//! the next sweep.

use crate::server::{
    db,
    service::{audit, files, webhooks},
    state::AppState,
};

/// Deletes expired browser sessions and API tokens, the blobs of abandoned uploads and expired
/// resumable uploads, finished webhook deliveries past their keeping and audit entries past
/// their retention; forgets idle rate-limit counters and abandoned storage writes.
pub async fn sweep(state: &AppState) {
    let now = state.now();
    let pool = &state.db().pool;
    if let Err(e) = db::web_sessions::delete_expired(pool, now).await {
        tracing::warn!(error = %e, "could not sweep expired browser sessions");
    }
    if let Err(e) = db::tokens::delete_expired(pool, now).await {
        tracing::warn!(error = %e, "could not sweep expired tokens");
    }
    state.limiter().sweep();
    state.storage().sweep_abandoned_writes();
    if let Err(e) = webhooks::prune_finished(state).await {
        tracing::warn!(error = %e.chain(), "could not prune finished webhook deliveries");
    }
    match files::sweep_abandoned_uploads(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "swept blobs of abandoned uploads"),
        Err(e) => tracing::warn!(error = %e.chain(), "could not sweep abandoned uploads"),
    }
    match files::resumable::sweep_expired(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "swept expired resumable uploads"),
        Err(e) => tracing::warn!(error = %e.chain(), "could not sweep expired resumable uploads"),
    }
    match audit::prune_expired(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "pruned audit entries past their retention"),
        Err(e) => tracing::warn!(error = %e, "could not prune the audit log"),
    }
}
