//! The application state every front door shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tower_sessions_redis_store::fred::clients::Pool as RedisPool;

use crate::server::{config::Settings, db::Database, service::rate_limit::RateLimiter};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    settings: Settings,
    db: Database,
    limiter: RateLimiter,
    redis: Option<RedisPool>,
    leptos_options: LeptosOptions,
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: Database,
        limiter: RateLimiter,
        redis: Option<RedisPool>,
    ) -> Self {
        let leptos_options = settings.leptos_options();
        Self(Arc::new(Inner {
            settings,
            db,
            limiter,
            redis,
            leptos_options,
        }))
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
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.0.leptos_options.clone()
    }
}
