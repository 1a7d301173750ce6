//! Whether this instance can serve (`/ready`): every dependency it cannot work without answers
//! (the database, and Redis when configured). The scanner is asked too, but does not make the
//! instance unready: without it uploads are still taken (and stay `pending`) and clean files
//! still download, so taking every instance out of the load balancer for a clamd outage would
//! only make things worse.

use tower_sessions_redis_store::fred::interfaces::ClientLike;

use crate::server::state::AppState;

/// What each dependency answered.
pub struct Readiness {
    pub database: bool,
    /// `None` when no Redis is configured.
    pub redis: Option<bool>,
    /// The scanner's name, and its version or why it did not answer.
    pub scanner_name: &'static str,
    pub scanner: Result<String, String>,
}

impl Readiness {
    /// Every dependency the instance cannot work without answered.
    pub fn ready(&self) -> bool {
        self.database && self.redis != Some(false)
    }
}

/// Asks each dependency once.
pub async fn check(state: &AppState) -> Readiness {
    let database = state
        .db()
        .ping()
        .await
        .map_err(|e| tracing::warn!(error = %e, "database not ready"))
        .is_ok();
    let redis = match state.redis() {
        Some(pool) => Some(
            pool.ping::<String>(None)
                .await
                .map_err(|e| tracing::warn!(error = %e, "redis not ready"))
                .is_ok(),
        ),
        None => None,
    };
    Readiness {
        database,
        redis,
        scanner_name: state.scanner().name(),
        scanner: state.scanner().check().await.map_err(|e| e.reason),
    }
}
