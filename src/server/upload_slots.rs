//! How many uploads run at once: a cap for the instance (`COFFER_MAX_CONCURRENT_UPLOADS`) and
//! one per user (`COFFER_MAX_UPLOADS_PER_USER`). Each upload holds memory, a file descriptor
//! and a storage write while it runs; without the caps, a few clients opening many slow uploads
//! would hold all of them. Over the user's cap: 429; over the instance's: 503. Both ask the
//! client to try again shortly (`Retry-After`).
//!
//! Senders' uploads into upload requests count twice: against their request (the per-user cap)
//! and against everything the request's owner receives at once ([`RECEIVED_PER_USER`] times
//! that), so an account with many requests and slow senders cannot hold the instance's slots.
//! They do not count against the owner's own uploads.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::server::{
    error::{Error, Result},
    metrics,
};

/// How many times the per-user cap one owner's requests may receive at once, all together.
pub const RECEIVED_PER_USER: usize = 4;

/// The caps; 0 is no cap.
pub struct UploadSlots {
    instance: Option<Arc<Semaphore>>,
    per_user: usize,
    running: Arc<Mutex<HashMap<String, usize>>>,
}

/// One running upload's place; given back when dropped (the upload ended, however it ended).
pub struct UploadSlot {
    _instance: Option<OwnedSemaphorePermit>,
    _counted: Counted,
    _transfer: metrics::Transfer,
}

/// The counters an upload holds a place in.
struct Counted {
    keys: Vec<String>,
    running: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(count) = running.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    running.remove(key);
                }
            }
        }
    }
}

impl UploadSlots {
    pub fn new(instance: usize, per_user: usize) -> Self {
        Self {
            instance: (instance > 0).then(|| Arc::new(Semaphore::new(instance))),
            per_user,
            running: Arc::default(),
        }
    }

    /// Takes a place for an upload by `user_id`, or refuses at once (never queues: the client
    /// is holding a request body open).
    pub fn take(&self, user_id: &str) -> Result<UploadSlot> {
        self.take_places(&[(user_id.to_owned(), self.per_user)], |limit| {
            metrics::rate_limited("uploads-per-user");
            Error::TooManyUploads { limit }
        })
    }

    /// Takes a place for a sender's upload into request `request_id` of `owner_id`'s: one of
    /// the request's, and one of all the owner's requests'.
    pub fn take_for_request(&self, owner_id: &str, request_id: &str) -> Result<UploadSlot> {
        let places = [
            (format!("request:{request_id}"), self.per_user),
            (
                format!("received:{owner_id}"),
                self.per_user.saturating_mul(RECEIVED_PER_USER),
            ),
        ];
        self.take_places(&places, |limit| {
            metrics::rate_limited("uploads-per-recipient");
            Error::RecipientBusy { limit }
        })
    }

    /// A place in each of `places` (a counter and its cap) and in the instance, all or none.
    fn take_places(
        &self,
        places: &[(String, usize)],
        refused: impl Fn(usize) -> Error,
    ) -> Result<UploadSlot> {
        let counted = {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            for (key, cap) in places {
                if self.per_user > 0 && running.get(key).copied().unwrap_or(0) >= *cap {
                    return Err(refused(*cap));
                }
            }
            for (key, _) in places {
                *running.entry(key.clone()).or_default() += 1;
            }
            Counted {
                keys: places.iter().map(|(key, _)| key.clone()).collect(),
                running: self.running.clone(),
            }
        };
        let instance = match &self.instance {
            Some(slots) => Some(slots.clone().try_acquire_owned().map_err(|_| {
                metrics::rate_limited("uploads-per-instance");
                Error::ServerBusy
            })?),
            None => None,
        };
        Ok(UploadSlot {
            _instance: instance,
            _counted: counted,
            _transfer: metrics::Transfer::upload(),
        })
    }

    /// Uploads running now under `key` (a user's id, `request:<id>`, `received:<owner id>`).
    pub fn running(&self, key: &str) -> usize {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.get(key).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_their_share_and_the_instance_its_cap() {
        let slots = UploadSlots::new(3, 2);
        let a1 = slots.take("alice").unwrap();
        let _a2 = slots.take("alice").unwrap();
        assert!(matches!(
            slots.take("alice"),
            Err(Error::TooManyUploads { limit: 2 })
        ));
        let _b1 = slots.take("bob").unwrap();
        // Three running: the instance is full, and the refusal keeps no place for carol.
        assert!(matches!(slots.take("carol"), Err(Error::ServerBusy)));
        assert_eq!(slots.running("carol"), 0);
        drop(a1);
        assert_eq!(slots.running("alice"), 1);
        let _c1 = slots.take("carol").unwrap();
    }

    #[test]
    fn zero_is_no_cap() {
        let slots = UploadSlots::new(0, 0);
        let held: Vec<_> = (0..100).map(|_| slots.take("alice").unwrap()).collect();
        assert_eq!(slots.running("alice"), 100);
        drop(held);
        assert_eq!(slots.running("alice"), 0);
    }

    #[test]
    fn a_request_upload_counts_against_its_request_and_its_owner() {
        let slots = UploadSlots::new(100, 2);
        // Four requests of alice's, two senders each: the owner's eight places are full.
        let mut held = Vec::new();
        for request in ["r1", "r2", "r3", "r4"] {
            held.push(slots.take_for_request("alice", request).unwrap());
            held.push(slots.take_for_request("alice", request).unwrap());
        }
        assert!(matches!(
            slots.take_for_request("alice", "r5"),
            Err(Error::RecipientBusy { limit: 8 })
        ));
        assert!(matches!(
            slots.take_for_request("bob", "b1").map(|_| ()),
            Ok(())
        ));
        // A full request refuses too, and a refusal holds nothing.
        drop(held.pop());
        assert!(matches!(
            slots.take_for_request("alice", "r1"),
            Err(Error::RecipientBusy { limit: 2 })
        ));
        assert_eq!(slots.running("received:alice"), 7);
        // The owner's own uploads are theirs still.
        let _own = slots.take("alice").unwrap();
        drop(held);
        assert_eq!(slots.running("received:alice"), 0);
        assert_eq!(slots.running("request:r1"), 0);
    }
}
