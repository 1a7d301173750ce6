//! Liveness and readiness probes (`/health`, `/ready`), for load balancers and orchestrators.

use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};
use tower_sessions_redis_store::fred::interfaces::ClientLike;

use crate::server::state::AppState;

/// The process is up.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Every dependency answers: the database, and Redis when configured (503 otherwise). The
/// scanner is reported too, but does not make the instance unready: without it uploads are
/// still taken (and stay `pending`) and clean files still download, so taking every instance
/// out of the load balancer for a clamd outage would only make things worse.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state
        .db()
        .ping()
        .await
        .map_err(|e| tracing::warn!(error = %e, "database not ready"));
    let redis = match state.redis() {
        Some(pool) => Some(
            pool.ping::<String>(None)
                .await
                .map_err(|e| tracing::warn!(error = %e, "redis not ready")),
        ),
        None => None,
    };
    let scanner = state.scanner().check().await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let all_ok = database.is_ok() && redis.as_ref().is_none_or(|r| r.is_ok());
    let mut checks = json!({ "database": word(database.is_ok()) });
    if let Some(redis) = redis {
        checks["redis"] = json!(word(redis.is_ok()));
    }
    checks["scanner"] = json!(word(scanner.is_ok()));
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": match (all_ok, scanner.is_ok()) {
                (false, _) => "unavailable",
                (true, true) => "ok",
                (true, false) => "degraded",
            },
            "checks": checks,
            "scanner": {
                "name": state.scanner().name(),
                "version": scanner.as_ref().ok(),
                "error": scanner.as_ref().err().map(|e| e.reason.as_str()),
            },
        })),
    )
}
