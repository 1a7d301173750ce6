//! One request's hold on an upload: a lease in its row, so that one request at a time writes to
//! it across instances, renewed while bytes flow, given back when the request ends.

use crate::server::{
    db::{self, uploads::UploadRow},
    error::{Error, Result},
    state::AppState,
};

/// How long a request holds an upload without showing it is alive; renewed while bytes flow,
/// so a request on an instance that died frees the upload after at most this long.
pub(super) const LEASE_SECS: i64 = 20;
pub(super) const LEASE_RENEW_SECS: i64 = 5;

/// One request's hold on an upload. Given back (unchanged) if the request fails; recorded
/// with its bytes if it succeeds; given back from a task of its own if the request is dropped.
pub(super) struct Lease {
    state: AppState,
    id: String,
    token: Option<String>,
}

impl Lease {
    pub(super) async fn take(state: &AppState, row: &UploadRow) -> Result<Self> {
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

    pub(super) fn token(&self) -> &str {
        self.token.as_deref().expect("held until given back")
    }

    pub(super) async fn extend(&self) -> Result<()> {
        let until = self.state.now() + LEASE_SECS;
        if db::uploads::extend_lease(&self.state.db().pool, &self.id, self.token(), until).await? {
            Ok(())
        } else {
            Err(Error::UploadBusy)
        }
    }

    /// The request's bytes were recorded, which gave the lease back.
    pub(super) fn recorded(mut self) {
        self.token = None;
    }

    pub(super) async fn give_back(mut self) {
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
