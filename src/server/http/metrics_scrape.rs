//! `/metrics`: the Prometheus scrape, behind `COFFER_METRICS_TOKEN` when it is set (who may
//! scrape and what is read at each scrape is `service::metrics`'s).

use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::IntoResponse,
};

use crate::server::{error::Error, http::extract::bearer_token, service, state::AppState};

/// Prometheus metrics (text exposition format), behind `COFFER_METRICS_TOKEN` when it is set.
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Error> {
    let text = service::metrics::scrape(&state, bearer_token(&headers)).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}
