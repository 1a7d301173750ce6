//! Prometheus metrics: every name, label and unit in one place. The middleware and the service
//! layer call the small functions here; nothing else names a metric or touches the recorder.
//!
//! Labels are route templates (`/s/{token}`, never the path a client sent), methods, statuses,
//! verdicts and limit names: never a user, a file name, an address or a token.
//!
//! The recorder is the process's global one (the `metrics` facade), rendered by `/metrics`.
//! Values that live elsewhere (the scan queue, the database pool) are read at each scrape.

use std::{
    pin::Pin,
    sync::OnceLock,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::{MatchedPath, Request},
    http::Method,
    middleware::Next,
    response::Response,
};
use http_body::{Frame, SizeHint};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const REQUESTS: &str = "coffer_http_requests_total";
const REQUEST_SECONDS: &str = "coffer_http_request_duration_seconds";
const RECEIVED_BYTES: &str = "coffer_http_received_bytes_total";
const SENT_BYTES: &str = "coffer_http_sent_bytes_total";
const TRANSFERS: &str = "coffer_transfers_active";
const RATE_LIMITED: &str = "coffer_rate_limited_total";
const SCAN_VERDICTS: &str = "coffer_scan_verdicts_total";
const SCAN_QUEUE: &str = "coffer_scan_queue_jobs";
const DB_CONNECTIONS: &str = "coffer_db_connections";
const DB_CONNECTIONS_MAX: &str = "coffer_db_connections_max";
const BUILD_INFO: &str = "coffer_build_info";

/// Time to response headers: from a cached page to an argon2 login to a slow storage backend.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use (`Application::build` makes that first, so
/// that no count of a request is lost to the facade's no-op recorder).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.to_owned()), &LATENCY_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics will be empty");
        }
        describe();
        gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

fn describe() {
    describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "Time from a request to its response headers, by method and route template"
    );
    describe_counter!(
        RECEIVED_BYTES,
        metrics::Unit::Bytes,
        "Request body bytes read, by route template"
    );
    describe_counter!(
        SENT_BYTES,
        metrics::Unit::Bytes,
        "Response body bytes sent, by route template"
    );
    describe_gauge!(
        TRANSFERS,
        "Uploads and downloads streaming now, by direction"
    );
    describe_counter!(RATE_LIMITED, "Requests refused by a limit, by limit");
    describe_counter!(
        SCAN_VERDICTS,
        "Scans finished, by verdict (error: retried later)"
    );
    describe_gauge!(
        SCAN_QUEUE,
        "Scan jobs by state: queued (waiting) or running (leased)"
    );
    describe_gauge!(
        DB_CONNECTIONS,
        "Database pool connections by state: busy or idle"
    );
    describe_gauge!(DB_CONNECTIONS_MAX, "The database pool's size limit");
    describe_gauge!(BUILD_INFO, "Always 1; the version is a label");
}

/// Keeps the recorder's histograms summarised, as the exporter needs; runs for the process.
pub async fn run_upkeep() {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        handle().run_upkeep();
    }
}

/// What the scrape reads from elsewhere.
pub struct Snapshot {
    pub scan_queued: i64,
    pub scan_running: i64,
    pub db_busy: u32,
    pub db_idle: u32,
    pub db_max: u32,
}

/// The exposition text, with `snapshot`'s gauges set first.
pub fn render(snapshot: &Snapshot) -> String {
    let handle = handle();
    gauge!(SCAN_QUEUE, "state" => "queued").set(snapshot.scan_queued as f64);
    gauge!(SCAN_QUEUE, "state" => "running").set(snapshot.scan_running as f64);
    gauge!(DB_CONNECTIONS, "state" => "busy").set(f64::from(snapshot.db_busy));
    gauge!(DB_CONNECTIONS, "state" => "idle").set(f64::from(snapshot.db_idle));
    gauge!(DB_CONNECTIONS_MAX).set(f64::from(snapshot.db_max));
    handle.render()
}

/// A limit that refused a request: `requests` (the per-client rate), a service quota's name
/// (`login-client`, `upload-user`, …), `uploads-per-user` or `uploads-per-instance`.
pub fn rate_limited(limit: &'static str) {
    counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

/// A finished scan: `clean`, `infected` or `error`.
pub fn scan_verdict(verdict: &'static str) {
    counter!(SCAN_VERDICTS, "verdict" => verdict).increment(1);
}

/// One upload or download streaming; counted in [`TRANSFERS`] until dropped.
pub struct Transfer(&'static str);

impl Transfer {
    pub fn upload() -> Self {
        Self::start("upload")
    }

    pub fn download() -> Self {
        Self::start("download")
    }

    fn start(direction: &'static str) -> Self {
        gauge!(TRANSFERS, "direction" => direction).increment(1.0);
        Self(direction)
    }
}

impl Drop for Transfer {
    fn drop(&mut self) {
        gauge!(TRANSFERS, "direction" => self.0).decrement(1.0);
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        // Methods are the client's to invent: one label for all the others.
        _ => "other",
    }
}

/// Middleware on the router (where the matched route is known): counts each request by its
/// route template and status, times it to its response headers, and counts body bytes both
/// ways as they stream.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let received = counter!(RECEIVED_BYTES, "route" => route.clone());
    let req = req.map(|body| Body::new(Counted::new(body, received)));
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    histogram!(REQUEST_SECONDS, "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    let sent = counter!(SENT_BYTES, "route" => route);
    res.map(|body| Body::new(Counted::new(body, sent)))
}

/// A body that adds the length of each data frame to a counter as it passes, and is otherwise
/// the body it wraps (its size hint too, so a `Content-Length` stays exact).
struct Counted {
    inner: Body,
    counter: metrics::Counter,
}

impl Counted {
    fn new(inner: Body, counter: metrics::Counter) -> Self {
        Self { inner, counter }
    }
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.counter.increment(data.len() as u64);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_counted_body_is_the_body_it_wraps() {
        let counted = Counted::new(Body::from("twelve bytes"), metrics::Counter::noop());
        assert_eq!(http_body::Body::size_hint(&counted).exact(), Some(12));
        let bytes = counted.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"twelve bytes");
    }

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let invented = Method::from_bytes(b"SECRET-TOKEN-abc123").unwrap();
        assert_eq!(method_label(&invented), "other");
    }
}
