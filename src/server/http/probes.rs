//! Liveness and readiness probes (`/health`, `/ready`), for load balancers and orchestrators.

use crate::server::{service::readiness, state::AppState};
use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

/// The process is up.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when every dependency the instance needs answers (`service::readiness`), else 503;
/// the body says what each answered, the scanner's outage as "degraded".
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let checked = readiness::check(&state).await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let mut checks = json!({ "database": word(checked.database) });
    if let Some(redis) = checked.redis {
        checks["redis"] = json!(word(redis));
    }
    checks["scanner"] = json!(word(checked.scanner.is_ok()));
    let status = if checked.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": match (checked.ready(), checked.scanner.is_ok()) {
                (false, _) => "unavailable",
                (true, true) => "ok",
                (true, false) => "degraded",
            },
            "checks": checks,
            "scanner": {
                "name": checked.scanner_name,
                "version": checked.scanner.as_ref().ok(),
                "error": checked.scanner.as_ref().err(),
            },
        })),
    )
}
