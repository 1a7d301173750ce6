//! Storage quotas: what a user may store (their own quota, else the installation's default), and
//! the reservations an upload takes as its bytes arrive, so that concurrent uploads cannot pass
//! a quota together.

use crate::{
    model::Usage,
    server::{
        config::Settings,
        db::{self, files::Reserved, requests::RequestRow, users::UserRow},
        error::{Error, Result},
        service::requests,
        state::AppState,
    },
};

/// An upload reserves its quota up to this far ahead of the bytes it has received (and at most
/// half of the room left), so that a large upload asks the database about once per 8 MiB, not
/// once per body chunk.
const RESERVE_AHEAD: i64 = 8 * 1024 * 1024;
/// An upload quiet for this long is abandoned: its reservation no longer counts, and the
/// upload pipeline sweeps its blob.
pub(super) const UPLOAD_ABANDONED_SECS: i64 = 15 * 60;

/// The quota that applies to a user: their own if an admin gave them one, else the default.
pub fn effective(settings: &Settings, user: &UserRow) -> Option<u64> {
    user.own_quota()
        .unwrap_or(settings.uploads.user_quota_bytes)
}

/// What a user stores against their quota.
pub async fn usage(state: &AppState, user: &UserRow) -> Result<Usage> {
    let used = db::files::used_bytes(&state.db().pool, &user.id).await?;
    Ok(Usage {
        used_bytes: used.max(0) as u64,
        quota_bytes: effective(state.settings(), user),
    })
}

/// The part of its owner's quota an upload holds, grown as its bytes arrive. It lives on the
/// upload's `blob_uploads` row, so it ends with that row: in the file's size when the file is
/// added, or when the upload fails or is swept.
pub(super) struct Reservation<'a> {
    state: &'a AppState,
    owner_id: &'a str,
    blob_key: &'a str,
    /// Whether a quota may apply (the user's, as read when the upload began, or the default);
    /// uploads of users without any skip the database altogether.
    applies: bool,
    held: u64,
}

impl<'a> Reservation<'a> {
    pub(super) fn new(state: &'a AppState, owner: &'a UserRow, blob_key: &'a str) -> Self {
        Self {
            state,
            owner_id: &owner.id,
            blob_key,
            applies: effective(state.settings(), owner).is_some(),
            held: 0,
        }
    }

    /// Makes sure `size` received bytes are covered; refused (413) when they would pass the
    /// quota.
    pub(super) async fn cover(&mut self, size: u64) -> Result<()> {
        if !self.applies || size <= self.held {
            return Ok(());
        }
        let now = self.state.now();
        let check = db::files::QuotaCheck {
            owner_id: self.owner_id,
            blob_key: self.blob_key,
            default_quota: self.state.settings().uploads.user_quota_bytes.map(to_i64),
            live_since: now - UPLOAD_ABANDONED_SECS,
            now,
        };
        match db::files::reserve(&self.state.db().pool, &check, to_i64(size), RESERVE_AHEAD).await?
        {
            Reserved::Held(bytes) => self.held = bytes.max(0) as u64,
            Reserved::Unlimited => self.applies = false,
            Reserved::Refused { quota, used } => {
                return Err(Error::QuotaExceeded {
                    quota: quota.max(0) as u64,
                    used: used.max(0) as u64,
                })
            }
            Reserved::OwnerGone => return Err(Error::Unauthenticated),
        }
        Ok(())
    }
}

fn to_i64(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// The part of an upload request's byte limit an upload into it holds, grown as its bytes
/// arrive; on the upload's `blob_uploads` row like [`Reservation`], so it ends the same way.
pub(super) struct RequestBytes<'a> {
    state: &'a AppState,
    request_id: &'a str,
    blob_key: &'a str,
    held: u64,
}

impl<'a> RequestBytes<'a> {
    pub(super) fn new(state: &'a AppState, request: &'a RequestRow, blob_key: &'a str) -> Self {
        Self {
            state,
            request_id: &request.id,
            blob_key,
            held: 0,
        }
    }

    /// Makes sure `size` received bytes are covered; refused when the request is no longer open
    /// (410) or they would pass its limit (413).
    pub(super) async fn cover(&mut self, size: u64) -> Result<()> {
        if size <= self.held {
            return Ok(());
        }
        let now = self.state.now();
        let reserved = db::requests::reserve_bytes(
            &self.state.db().pool,
            self.request_id,
            self.blob_key,
            to_i64(size),
            RESERVE_AHEAD,
            now,
            now - UPLOAD_ABANDONED_SECS,
        )
        .await?;
        match reserved {
            Ok(held) => {
                self.held = held.max(0) as u64;
                Ok(())
            }
            Err(refused) => Err(requests::refusal(self.state, self.request_id, refused).await),
        }
    }
}
