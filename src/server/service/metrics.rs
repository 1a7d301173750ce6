//! `/metrics`: who may scrape it, and the values read at each scrape besides the counters.

use subtle::ConstantTimeEq;

use crate::server::{
    db,
    error::{Error, Result},
    metrics,
    state::AppState,
};

/// The exposition text, for a scraper that presents `COFFER_METRICS_TOKEN` as its bearer token
/// (anyone, when no token is set); 401 otherwise.
pub async fn scrape(state: &AppState, bearer: Option<&str>) -> Result<String> {
    if let Some(expected) = &state.settings().site.metrics_token {
        let presented = bearer.unwrap_or_default();
        if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(Error::InvalidToken);
        }
    }
    let pool = &state.db().pool;
    let (scan_queued, scan_running) = db::scan_jobs::counts(pool, state.now()).await?;
    let db_idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    Ok(metrics::render(&metrics::Snapshot {
        scan_queued,
        scan_running,
        db_busy: pool.size().saturating_sub(db_idle),
        db_idle,
        db_max: pool.options().get_max_connections(),
    }))
}
