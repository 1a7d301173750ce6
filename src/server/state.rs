//! The application state every front door shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tower_sessions_redis_store::fred::clients::Pool as RedisPool;

use crate::server::{
    clock::Clock,
    config::Settings,
    db::Database,
    master_keys::MasterKeys,
    rate_limiter::RateLimiter,
    scanner::{ScanQueue, Scanner},
    site_files::SiteFiles,
    storage::BlobStore,
    upload_slots::UploadSlots,
};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    settings: Settings,
    clock: Clock,
    db: Database,
    limiter: RateLimiter,
    redis: Option<RedisPool>,
    storage: BlobStore,
    keys: MasterKeys,
    scanner: Arc<dyn Scanner>,
    scan_queue: ScanQueue,
    upload_slots: UploadSlots,
    leptos_options: LeptosOptions,
    site: SiteFiles,
}

/// What the state is built from, besides the settings.
pub struct Parts {
    pub clock: Clock,
    pub db: Database,
    pub limiter: RateLimiter,
    pub redis: Option<RedisPool>,
    pub storage: BlobStore,
    pub keys: MasterKeys,
    pub scanner: Arc<dyn Scanner>,
}

impl AppState {
    pub fn new(settings: Settings, parts: Parts) -> Self {
        let site = SiteFiles::locate(&settings.site.root, &settings.site.output_name);
        let leptos_options = settings.site.leptos_options(site.hash_file());
        Self(Arc::new(Inner {
            clock: parts.clock,
            db: parts.db,
            limiter: parts.limiter,
            redis: parts.redis,
            storage: parts.storage,
            keys: parts.keys,
            scanner: parts.scanner,
            scan_queue: ScanQueue::default(),
            upload_slots: UploadSlots::new(
                settings.uploads.max_at_once,
                settings.uploads.max_per_user,
            ),
            leptos_options,
            site,
            settings,
        }))
    }

    pub fn storage(&self) -> &BlobStore {
        &self.0.storage
    }

    pub fn keys(&self) -> &MasterKeys {
        &self.0.keys
    }

    pub fn scanner(&self) -> &dyn Scanner {
        self.0.scanner.as_ref()
    }

    pub fn upload_slots(&self) -> &UploadSlots {
        &self.0.upload_slots
    }

    pub fn scan_queue(&self) -> &ScanQueue {
        &self.0.scan_queue
    }

    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }

    /// Now, in unix seconds, by the state's clock.
    pub fn now(&self) -> i64 {
        self.0.clock.now()
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    pub fn db(&self) -> &Database {
        &self.0.db
    }

    pub fn limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }

    pub fn redis(&self) -> Option<&RedisPool> {
        self.0.redis.as_ref()
    }

    pub fn leptos_options(&self) -> &LeptosOptions {
        &self.0.leptos_options
    }

    pub fn site(&self) -> &SiteFiles {
        &self.0.site
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.0.leptos_options.clone()
    }
}
