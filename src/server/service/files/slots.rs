//! How many uploads run at once: a cap for the instance (`COFFER_MAX_CONCURRENT_UPLOADS`) and
//! one per user (`COFFER_MAX_UPLOADS_PER_USER`). Each upload holds memory, a file descriptor
//! and a storage write while it runs; without the caps, a few clients opening many slow uploads
//! would hold all of them. Over the user's cap: 429; over the instance's: 503. Both ask the
//! client to try again shortly (`Retry-After`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::server::{
    error::{Error, Result},
    metrics,
};

/// The caps; 0 is no cap.
pub struct UploadSlots {
    instance: Option<Arc<Semaphore>>,
    per_user: usize,
    running: Arc<Mutex<HashMap<String, usize>>>,
}

/// One running upload's place; given back when dropped (the upload ended, however it ended).
pub struct UploadSlot {
    _instance: Option<OwnedSemaphorePermit>,
    _user: UserSlot,
    _transfer: metrics::Transfer,
}

struct UserSlot {
    user_id: String,
    running: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.user_id);
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
        let user = {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            let count = running.entry(user_id.to_owned()).or_default();
            if self.per_user > 0 && *count >= self.per_user {
                metrics::rate_limited("uploads-per-user");
                return Err(Error::TooManyUploads {
                    limit: self.per_user,
                });
            }
            *count += 1;
            UserSlot {
                user_id: user_id.to_owned(),
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
            _user: user,
            _transfer: metrics::Transfer::upload(),
        })
    }

    /// Uploads running now by `user_id`.
    pub fn running(&self, user_id: &str) -> usize {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.get(user_id).copied().unwrap_or(0)
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
}
