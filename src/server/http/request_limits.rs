//! Limits every request meets before a handler runs: a per-client request rate (tower_governor,
//! over the per-action limits of the service layer), a size cap on every body but an upload's,
//! and an idle timeout on every body.

use std::{net::IpAddr, sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{self, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use governor::middleware::NoOpMiddleware;
use tower_governor::{
    governor::{GovernorConfig, GovernorConfigBuilder},
    key_extractor::KeyExtractor,
    GovernorError, GovernorLayer,
};

use crate::server::{
    config::Settings,
    error::Error,
    http::{client_addr::ClientAddr, routes},
    service,
    state::AppState,
};

/// The largest body of anything but an upload: forms and JSON are far smaller.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Middleware on the router (where the matched route is known): refuses a body declared larger
/// than [`MAX_BODY_BYTES`] at once (413), and cuts off one that grows past it while being read;
/// except on the routes whose bodies are files ([`routes::UPLOADS`]), which must arrive at
/// `COFFER_UPLOAD_MIN_BYTES_PER_SEC` at least instead ([`MinRate`]).
pub async fn cap_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if routes::takes_file(&req) {
        let settings = state.settings();
        if settings.uploads.min_rate == 0 {
            return next.run(req).await;
        }
        let (min_per_sec, window) = (settings.uploads.min_rate, settings.uploads.min_rate_window);
        return next
            .run(req.map(|body| Body::new(MinRate::new(body, min_per_sec, window))))
            .await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Error::BodyTooLarge {
            limit: MAX_BODY_BYTES as u64,
        }
        .into_response();
    }
    next.run(req.map(|body| Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES))))
        .await
}

/// Why [`MinRate`] cut a body off: the upload pipeline refuses the upload with it (400, and
/// nothing kept).
#[derive(Debug, thiserror::Error)]
#[error("the upload arrived slower than {min_per_sec} bytes a second and was cut off")]
pub struct TooSlow {
    pub min_per_sec: u64,
}

/// A body that must keep up `min_per_sec` bytes a second over each `window`: one that falls
/// behind is cut off with [`TooSlow`], so a sender trickling bytes (each in time
/// for the idle timeout) cannot hold an upload slot for hours. Checked as bytes arrive; a body
/// that stops altogether is the idle timeout's.
pub struct MinRate {
    inner: Body,
    min_per_sec: u64,
    window: Duration,
    since: tokio::time::Instant,
    received: u64,
}

impl MinRate {
    pub fn new(inner: Body, min_per_sec: u64, window: Duration) -> Self {
        Self {
            inner,
            min_per_sec,
            window,
            since: tokio::time::Instant::now(),
            received: 0,
        }
    }
}

impl http_body::Body for MinRate {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.received += data.len() as u64;
                let elapsed = self.since.elapsed();
                if elapsed >= self.window {
                    let needed = (self.min_per_sec as f64 * elapsed.as_secs_f64()) as u64;
                    if self.received < needed {
                        return std::task::Poll::Ready(Some(Err(axum::Error::new(TooSlow {
                            min_per_sec: self.min_per_sec,
                        }))));
                    }
                    self.since = tokio::time::Instant::now();
                    self.received = 0;
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The rate limiter's key: the client address `client_addr` decided (behind trusted proxies,
/// the forwarded one), an IPv6 one by its /64 (`service::client_network`). Requests without
/// one (in-process callers) share a key.
#[derive(Clone, Copy, Debug)]
pub struct ClientKey;

impl KeyExtractor for ClientKey {
    type Key = Option<IpAddr>;

    fn extract<T>(&self, req: &http::Request<T>) -> Result<Self::Key, GovernorError> {
        Ok(req
            .extensions()
            .get::<ClientAddr>()
            .map(|c| service::client_network(c.0)))
    }
}

pub type RateConfig = GovernorConfig<ClientKey, NoOpMiddleware>;

/// The per-client request rate from the settings (`COFFER_RATE_REQUESTS_PER_SEC` sustained,
/// `COFFER_RATE_REQUESTS_BURST` at once); `None` when switched off (0).
pub fn request_rate(settings: &Settings) -> Option<Arc<RateConfig>> {
    let per_sec = settings.rates.requests_per_sec;
    if per_sec == 0 {
        return None;
    }
    GovernorConfigBuilder::default()
        .key_extractor(ClientKey)
        .period(Duration::from_nanos(1_000_000_000 / u64::from(per_sec)))
        .burst_size(settings.rates.requests_burst.max(1))
        .finish()
        .map(Arc::new)
}

/// The layer over every route, answering 429 with `Retry-After` and the JSON error body.
pub fn request_rate_layer(
    config: Arc<RateConfig>,
) -> GovernorLayer<ClientKey, NoOpMiddleware, Body> {
    GovernorLayer::new(config).error_handler(|e| match e {
        GovernorError::TooManyRequests { wait_time, .. } => {
            crate::server::metrics::rate_limited("requests");
            let mut res = Error::TooManyRequests {
                retry_after_secs: wait_time,
            }
            .into_response();
            res.extensions_mut().insert(Throttled);
            res
        }
        other => Error::internal("request rate limit", other.to_string()).into_response(),
    })
}

/// Forgets clients idle long enough to have their whole allowance back, every minute, so that
/// many addresses (an IPv6 client has plenty) cannot grow the limiter without bound. Ends when
/// the router holding the limiter is dropped.
pub fn forget_idle_clients(config: &Arc<RateConfig>) {
    let config = Arc::downgrade(config);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let Some(config) = config.upgrade() else {
                return;
            };
            config.limiter().retain_recent();
            config.limiter().shrink_to_fit();
        }
    });
}

/// Marks a response the request rate limiter made.
#[derive(Clone, Copy, Debug)]
struct Throttled;

/// Middleware outside the rate limiter: a browser navigating to a page that was refused gets a
/// page saying so in words, not a JSON body.
pub async fn throttled_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let wants_page = req.method() == http::Method::GET
        && !req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    let res = next.run(req).await;
    if !wants_page || res.extensions().get::<Throttled>().is_none() {
        return res;
    }
    let (mut parts, _) = res.into_parts();
    let wait = parts
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("a few")
        .to_owned();
    let page = Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Too many requests · Coffer</title><link rel=\"stylesheet\" href=\"{css}\">\
         </head><body><main class=\"page narrow\"><h1>Too many requests</h1>\
         <p class=\"error\" role=\"alert\">Your address has sent more requests than Coffer takes \
         in a short time. Wait {wait} seconds, then reload this page.</p></main></body></html>",
        css = state.site().stylesheet_href(),
    ))
    .into_response();
    parts.headers.insert(
        header::CONTENT_TYPE,
        page.headers()[header::CONTENT_TYPE].clone(),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, page.into_body())
}
