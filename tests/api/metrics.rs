//! `/metrics`: the bearer token, the Prometheus text, and what is counted and labelled.
//!
//! The recorder is the process's, shared by every test app in this binary: counters are read
//! as differences, and the tests here take turns (a scrape sets gauges from its own app).

use reqwest::{header, StatusCode};
use serde_json::json;
use tokio::sync::Mutex;

use crate::helpers::{error_code, spawn_app_with, TestApp};

static TURNS: Mutex<()> = Mutex::const_new(());
const TOKEN: &str = "scrape-token-5b1e";
/// Larger than what socket buffers take in, so a download is still streaming until read.
const SIZE: usize = 16 * 1024 * 1024 - 4;

async fn scrape(app: &TestApp) -> String {
    app.metrics(TOKEN).await
}

/// The value of the sample `name{labels}` (labels exactly as rendered), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
        .unwrap_or(0.0)
}

async fn metrics_app(configure: impl FnOnce(&mut coffer::server::config::Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.site.metrics_token = Some(TOKEN.into());
        configure(s);
    })
    .await
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let app = metrics_app(|_| {}).await;
    let res = app.get("/metrics").await;
    assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
    let wrong = app.get_bearer("/metrics", "scrape-token-5b1f").await;
    assert_eq!(
        error_code(wrong, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
    let _turn = TURNS.lock().await;
    let text = scrape(&app).await;
    assert!(
        text.contains("# TYPE coffer_http_requests_total counter"),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                "coffer_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        1.0
    );

    // Without a token configured, anyone who reaches it may scrape.
    let open = spawn_app_with(|_| {}).await;
    let res = open.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_bytes_transfers_and_limits_are_counted_without_user_data() {
    let app = metrics_app(|s| {
        s.rates.upload_per_min = 2;
        s.scanning.worker = false;
    })
    .await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let bob = app.user("bob").await;
    let _turn = TURNS.lock().await;
    let before = scrape(&app).await;

    let upload = app
        .upload_ok(&bob.access, "secret-plans.txt", b"plans ".repeat(SIZE / 6))
        .await;
    let id = upload["id"].as_str().unwrap();
    app.run_scans().await;
    let link = app.share_ok(&bob.access, id, json!({})).await;
    let token = link["share_token"].as_str().unwrap();
    let res = app
        .client
        .get(app.url(&format!("/api/v1/files/shared/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // While the download is open (its body unread), it is a transfer under way.
    let during = scrape(&app).await;
    assert!(sample(&during, "coffer_transfers_active{direction=\"download\"}") >= 1.0);
    assert_eq!(res.bytes().await.unwrap().len(), SIZE);
    // The second upload this minute is the last the limit allows; the third is refused.
    app.upload_ok(&bob.access, "b.txt", b"b".to_vec()).await;
    let refused = app.upload(&bob.access, "c.txt", b"c".to_vec()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let _ = app
        .client
        .get(app.url("/no-such-page-8d3f"))
        .send()
        .await
        .unwrap();

    let after = scrape(&app).await;
    let grew = |series: &str| sample(&after, series) - sample(&before, series);
    let upload_route = "route=\"/api/v1/files/upload\"";
    assert!(
        grew(&format!(
            "coffer_http_requests_total{{method=\"POST\",{upload_route},status=\"201\"}}"
        )) >= 2.0,
        "{after}"
    );
    assert!(
        grew(&format!(
            "coffer_http_requests_total{{method=\"POST\",{upload_route},status=\"429\"}}"
        )) >= 1.0
    );
    assert!(
        grew(&format!(
            "coffer_http_received_bytes_total{{{upload_route}}}"
        )) >= SIZE as f64
    );
    assert!(
        grew("coffer_http_sent_bytes_total{route=\"/api/v1/files/shared/{token}\"}") >= SIZE as f64
    );
    assert!(
        grew("coffer_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/files/shared/{token}\"}")
            >= 1.0
    );
    assert!(grew("coffer_rate_limited_total{limit=\"upload-user\"}") >= 1.0);
    assert!(grew("coffer_scan_verdicts_total{verdict=\"clean\"}") >= 1.0);
    assert!(
        grew("coffer_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}")
            >= 1.0
    );
    // Labels are templates: no token, name, address or unmatched path is ever one.
    for private in [
        token,
        "secret-plans",
        "bob@example.org",
        "127.0.0.1",
        "no-such-page",
    ] {
        assert!(!after.contains(private), "{private} in the metrics");
    }
}

#[tokio::test]
async fn the_scan_queue_and_the_database_pool_are_read_at_each_scrape() {
    let app = metrics_app(|s| s.scanning.worker = false).await;
    let bob = app.user("bob").await;
    for name in ["a.txt", "b.txt", "c.txt"] {
        app.upload_ok(&bob.access, name, b"queued".to_vec()).await;
    }
    let _turn = TURNS.lock().await;
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "coffer_scan_queue_jobs{state=\"queued\"}"),
        3.0
    );
    assert_eq!(
        sample(&text, "coffer_scan_queue_jobs{state=\"running\"}"),
        0.0
    );
    assert!(sample(&text, "coffer_db_connections_max") >= 1.0);
    assert!(text.contains("coffer_db_connections{state=\"idle\"}"));
    app.run_scans().await;
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "coffer_scan_queue_jobs{state=\"queued\"}"),
        0.0
    );
}
