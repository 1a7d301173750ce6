//! Webhooks: `/api/v1/webhooks`, the signed deliveries from the outbox, their retries, and the
//! refusal to post into private networks. The receiver is a real HTTP server on loopback.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    body::Bytes, extract::State, http::HeaderMap, http::StatusCode as AxumStatus, routing::post,
    Router,
};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{error_code, spawn_app_with, text, TestApp};

/// What a receiver got: each request's headers and body, in order.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Requests answered 500 before the receiver starts answering 200.
    failures_left: Arc<AtomicUsize>,
}

impl Receiver {
    fn requests(&self) -> Vec<(HeaderMap, Bytes)> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests have arrived (at most 30 s).
    async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, Bytes)> {
        for _ in 0..300 {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} of {n} webhook requests arrived", self.requests().len());
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> AxumStatus {
    receiver.got.lock().unwrap().push((headers, body));
    let failing = receiver
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        AxumStatus::INTERNAL_SERVER_ERROR
    } else {
        AxumStatus::OK
    }
}

/// A receiver on a loopback port that fails its first `failures` requests.
async fn receiver(failures: usize) -> (Receiver, SocketAddr) {
    let receiver = Receiver {
        failures_left: Arc::new(AtomicUsize::new(failures)),
        ..Receiver::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, addr)
}

/// An app whose webhooks may post to loopback and are retried after 1 s, 2 s, …
async fn app() -> TestApp {
    spawn_app_with(|s| {
        s.webhooks.allow_private = true;
        s.webhooks.retry = Duration::from_secs(1);
    })
    .await
}

async fn add_webhook(app: &TestApp, token: &str, body: Value) -> (String, String) {
    let res = app.post_bearer("/api/v1/webhooks", token, body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    (
        created["webhook"]["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// The signature a receiver computes: over the timestamp header, a dot and the body.
fn signature(secret: &str, headers: &HeaderMap, body: &[u8]) -> String {
    let timestamp = headers["x-coffer-timestamp"].to_str().unwrap();
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn deliveries(app: &TestApp, token: &str, webhook: &str) -> Vec<Value> {
    let res = app
        .get_bearer(&format!("/api/v1/webhooks/{webhook}/deliveries"), token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Deliveries not yet delivered nor given up, of every webhook.
async fn waiting_deliveries(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL",
    )
    .fetch_one(&app.state.db().pool)
    .await
    .unwrap()
}

async fn send_to_request(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let res = crate::helpers::new_client()
        .post(app.url(&format!("/api/v1/r/{token}/files")))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// Makes a request of `owner`'s, with "notify" as given, and sends a file into it.
async fn send_through_new_request(
    app: &TestApp,
    owner: &str,
    title: &str,
    notify: bool,
    name: &str,
    bytes: Vec<u8>,
) {
    let request: Value = app
        .post_bearer(
            "/api/v1/requests",
            owner,
            json!({"title": title, "notify": notify}),
        )
        .await
        .json()
        .await
        .unwrap();
    send_to_request(app, request["token"].as_str().unwrap(), name, bytes).await;
}

/// A webhook's deliveries (newest first), once `done` says they are (waiting at most 5 s).
async fn deliveries_once(
    app: &TestApp,
    token: &str,
    webhook: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut listed = deliveries(app, token, webhook).await;
    for _ in 0..50 {
        if done(&listed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        listed = deliveries(app, token, webhook).await;
    }
    listed
}

/// Whether the newest delivery is `status`.
fn newest_is(status: &'static str) -> impl Fn(&[Value]) -> bool {
    move |listed| listed.first().is_some_and(|d| d["status"] == status)
}

#[tokio::test]
async fn a_file_received_on_a_request_is_posted_signed_and_retried_after_the_receiver_fails_twice()
{
    let app = app().await;
    let alice = app.user("alice").await.access;
    let (receiver, addr) = receiver(2).await;
    let (hook, secret) =
        add_webhook(&app, &alice, json!({"url": format!("http://{addr}/hook")})).await;
    assert!(secret.starts_with("whsec_"));
    let listed: Vec<Value> = app
        .get_bearer("/api/v1/webhooks", &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );
    assert_eq!(
        listed[0]["events"],
        json!(["request.file_received", "share.downloaded"])
    );

    send_through_new_request(&app, &alice, "Quiet", false, "quiet.txt", text(100)).await;
    let bytes = text(2000);
    send_through_new_request(&app, &alice, "Told", true, "told.txt", bytes.clone()).await;

    // Three attempts: two answered 500, the third 200. Each the same signed body.
    let got = receiver.wait_for(3).await;
    for (headers, body) in &got {
        assert_eq!(headers["x-coffer-event"], "request.file_received");
        assert_eq!(headers["content-type"], "application/json");
        let sent_at: i64 = headers["x-coffer-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!(
            (now - sent_at).abs() < 120,
            "the timestamp is the time of sending"
        );
        assert_eq!(
            headers["x-coffer-signature-256"].to_str().unwrap(),
            signature(&secret, headers, body),
            "signed with the webhook's secret, over the timestamp and the body"
        );
        let other_time = headers["x-coffer-timestamp"].to_str().unwrap().to_owned() + "0";
        let mut replayed = headers.clone();
        replayed.insert("x-coffer-timestamp", other_time.parse().unwrap());
        assert_ne!(
            headers["x-coffer-signature-256"].to_str().unwrap(),
            signature(&secret, &replayed, body),
            "a changed timestamp does not verify"
        );
        assert_eq!(body, &got[0].1, "every attempt sends the same event");
        assert_eq!(headers["x-coffer-delivery"], got[0].0["x-coffer-delivery"]);
    }
    let event: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(event["event"], "request.file_received");
    assert_eq!(event["data"]["request"]["title"], "Told");
    assert_eq!(event["data"]["file"]["filename"], "told.txt");
    assert_eq!(event["data"]["file"]["size"], 2000);
    assert_eq!(
        event["data"]["file"]["sha256"],
        hex::encode(<Sha256 as sha2::Digest>::digest(&bytes))
    );

    let listed = deliveries_once(&app, &alice, &hook, newest_is("delivered")).await;
    assert_eq!(listed.len(), 1, "the request without notify told nobody");
    assert_eq!(listed[0]["status"], "delivered");
    assert_eq!(listed[0]["attempts"], 3);
    assert_eq!(listed[0]["last_status"], 200);
    // Finished deliveries are kept for the list, then pruned by the sweeper.
    use coffer::server::service::webhooks::{prune_finished, DELIVERY_RETENTION_DAYS};
    assert_eq!(prune_finished(&app.state).await.unwrap(), 0);
    sqlx::query("UPDATE webhook_deliveries SET delivered_at = delivered_at - $1")
        .bind(DELIVERY_RETENTION_DAYS * 86_400 + 1)
        .execute(&app.state.db().pool)
        .await
        .unwrap();
    assert_eq!(prune_finished(&app.state).await.unwrap(), 1);
    assert!(deliveries(&app, &alice, &hook).await.is_empty());
    // Nothing more comes: nothing is left to deliver.
    assert_eq!(waiting_deliveries(&app).await, 0);
    assert_eq!(receiver.requests().len(), 3);
}

#[tokio::test]
async fn share_downloads_are_told_only_to_webhooks_that_chose_them() {
    let app = app().await;
    let alice = app.user("alice").await.access;
    let (shares_receiver, shares_addr) = receiver(0).await;
    let (requests_receiver, requests_addr) = receiver(0).await;
    add_webhook(
        &app,
        &alice,
        json!({"url": format!("http://{shares_addr}/hook"), "events": ["share.downloaded"]}),
    )
    .await;
    add_webhook(
        &app,
        &alice,
        json!({"url": format!("http://{requests_addr}/hook"), "events": ["request.file_received"]}),
    )
    .await;
    let file = app.upload_ok(&alice, "report.txt", text(500)).await;
    let id = file["id"].as_str().unwrap();
    assert_eq!(app.scanned_status(&alice, id).await, "clean");
    let link = app.share_ok(&alice, id, json!({})).await;
    let token = link["share_token"].as_str().unwrap();
    let res = crate::helpers::new_client()
        .get(app.url(&format!("/api/v1/files/shared/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap();

    let got = shares_receiver.wait_for(1).await;
    let event: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(event["event"], "share.downloaded");
    assert_eq!(event["data"]["link"]["id"], link["id"]);
    assert_eq!(event["data"]["files"][0]["filename"], "report.txt");
    // The other webhook was not given the event at all: events are queued in the transaction
    // of what happened, so a delivery for it would be there by now.
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM webhook_deliveries")
            .fetch_one(&app.state.db().pool)
            .await
            .unwrap(),
        1,
        "one delivery, to the webhook that chose the event"
    );
    assert!(requests_receiver.requests().is_empty());
}

#[tokio::test]
async fn webhooks_are_checked_and_never_post_into_private_networks_unless_allowed() {
    let app = spawn_app_with(|s| s.webhooks.retry = Duration::from_secs(1)).await;
    let alice = app.user("alice").await.access;
    for (body, why) in [
        (json!({"url": "ftp://example.org/hook"}), "scheme"),
        (json!({"url": "not a url"}), "not a URL"),
        (json!({"url": "http://127.0.0.1:9/hook"}), "loopback"),
        (
            json!({"url": "http://169.254.169.254/latest/meta-data"}),
            "link-local",
        ),
        (json!({"url": "http://[::1]/hook"}), "IPv6 loopback"),
        (
            json!({"url": "http://[::127.0.0.1]/hook"}),
            "IPv4-compatible",
        ),
        (json!({"url": "http://[64:ff9b::7f00:1]/hook"}), "NAT64"),
        (json!({"url": "http://[2002:7f00:1::]/hook"}), "6to4"),
        (json!({"url": "http://[fec0::1]/hook"}), "site-local"),
        (json!({"url": "http://198.18.0.1/hook"}), "benchmarking"),
        (json!({"url": "http://240.0.0.1/hook"}), "reserved"),
        (
            json!({"url": "http://192.0.0.1/hook"}),
            "IETF protocol assignments",
        ),
        (
            json!({"url": "http://user:pw@example.org/hook"}),
            "credentials",
        ),
        (
            json!({"url": "https://example.org/hook", "events": ["file.deleted"]}),
            "unknown event",
        ),
        (
            json!({"url": "https://example.org/hook", "events": []}),
            "no event",
        ),
    ] {
        let res = app.post_bearer("/api/v1/webhooks", &alice, body).await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_error",
            "{why}"
        );
    }
    // A name that resolves to loopback passes the check but is never posted to.
    let (receiver, addr) = receiver(0).await;
    let (hook, _) = add_webhook(
        &app,
        &alice,
        json!({"url": format!("http://localhost:{}/hook", addr.port())}),
    )
    .await;
    send_through_new_request(&app, &alice, "T", true, "a.txt", text(10)).await;
    let listed = deliveries_once(&app, &alice, &hook, |listed| {
        listed.first().is_some_and(|d| !d["last_error"].is_null())
    })
    .await;
    assert_eq!(listed[0]["status"], "pending");
    assert!(
        listed[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("does not resolve to a public address"),
        "{}",
        listed[0]
    );
    assert!(receiver.requests().is_empty());

    // Ten at most; another user's cannot be deleted, one's own can.
    for i in 1..10 {
        add_webhook(
            &app,
            &alice,
            json!({"url": format!("https://example.org/{i}")}),
        )
        .await;
    }
    let res = app
        .post_bearer(
            "/api/v1/webhooks",
            &alice,
            json!({"url": "https://example.org/11"}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
    let bob = app.user("bob").await.access;
    let res = app
        .delete_bearer(&format!("/api/v1/webhooks/{hook}"), &bob)
        .await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let res = app
        .get_bearer(&format!("/api/v1/webhooks/{hook}/deliveries"), &bob)
        .await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let res = app
        .delete_bearer(&format!("/api/v1/webhooks/{hook}"), &alice)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// The outbox is in the database: an event that could not be delivered before the server
/// stopped is delivered by the next one.
#[tokio::test]
async fn an_undelivered_event_survives_a_restart() {
    let app = app().await;
    let alice = app.user("alice").await.access;
    // A port nobody listens on yet.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let (hook, _) = add_webhook(
        &app,
        &alice,
        json!({"url": format!("http://127.0.0.1:{port}/hook")}),
    )
    .await;
    send_through_new_request(&app, &alice, "T", true, "a.txt", text(10)).await;
    let app = app.restart(|_| {}).await;

    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    // The attempts made while nobody listened doubled the wait before the next one (a slow
    // machine makes more of them): move the time on to when it is due.
    app.state.clock().advance(3600);
    let got = receiver.wait_for(1).await;
    let event: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(event["data"]["file"]["filename"], "a.txt");
    let alice = app.login("alice").await.access;
    let listed = deliveries_once(&app, &alice, &hook, newest_is("delivered")).await;
    assert_eq!(listed[0]["status"], "delivered");
}

/// The page without JavaScript: a plain form adds a webhook and the page shows its secret once.
#[tokio::test]
async fn the_webhooks_page_adds_shows_the_secret_once_and_deletes() {
    let app = app().await;
    app.user("alice").await;
    let browser = app.browser_login("alice").await;
    let (status, page) = app.page(&browser, "/settings/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No webhooks yet"));
    let res = app
        .form_post(
            &browser,
            "create_webhook",
            &[
                ("url", "https://hooks.example.org/coffer"),
                ("on_share", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (_, page) = app.page(&browser, "/settings/webhooks").await;
    assert!(page.contains("https://hooks.example.org/coffer") && page.contains("whsec_"));
    assert!(page.contains("share.downloaded") && !page.contains("request.file_received"));
    let (_, page) = app.page(&browser, "/settings/webhooks").await;
    assert!(!page.contains("whsec_"), "the secret is shown once");

    let res = app
        .form_post(&browser, "create_webhook", &[("url", "ftp://example.org")])
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (_, page) = app.page(&browser, "/settings/webhooks").await;
    assert!(page.contains("must start with http"), "{page}");

    let alice = app.login("alice").await.access;
    let hooks: Vec<Value> = app
        .get_bearer("/api/v1/webhooks", &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hooks.len(), 1);
    let id = hooks[0]["id"].as_str().unwrap();
    let res = app
        .form_post(&browser, "delete_webhook", &[("id", id)])
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let hooks: Vec<Value> = app
        .get_bearer("/api/v1/webhooks", &alice)
        .await
        .json()
        .await
        .unwrap();
    assert!(hooks.is_empty());
}

/// A receiver that takes connections and never answers: every attempt on it waits out the
/// delivery timeout. Counts the connections it took.
async fn hanging_receiver() -> (Arc<AtomicUsize>, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = taken.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (taken, addr)
}

/// An account whose three webhooks hang takes at most its share of the delivery pool: another
/// user's delivery goes out while those three are still waiting for an answer (one at a time,
/// it would wait for each to time out first).
#[tokio::test]
async fn a_receiver_that_never_answers_does_not_delay_another_users_deliveries() {
    let app = app().await;
    let mallory = app.user("mallory").await.access;
    let alice = app.user("alice").await.access;
    let (hung, hung_addr) = hanging_receiver().await;
    let mut mallorys = Vec::new();
    for i in 0..3 {
        let url = format!("http://{hung_addr}/hook/{i}");
        mallorys.push(add_webhook(&app, &mallory, json!({"url": url})).await.0);
    }
    let (receiver, addr) = receiver(0).await;
    add_webhook(&app, &alice, json!({"url": format!("http://{addr}/hook")})).await;

    send_through_new_request(&app, &mallory, "Slow", true, "m.txt", text(10)).await;
    for _ in 0..100 {
        if hung.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        hung.load(Ordering::SeqCst) > 0,
        "mallory's deliveries started"
    );
    send_through_new_request(&app, &alice, "Fast", true, "a.txt", text(10)).await;
    receiver.wait_for(1).await;

    // Alice's arrived while every attempt on mallory's receiver was still unanswered, and
    // mallory held no more places than a user may.
    for hook in &mallorys {
        let listed = deliveries(&app, &mallory, hook).await;
        assert_eq!(listed[0]["status"], "pending");
        assert!(listed[0]["last_error"].is_null(), "{}", listed[0]);
    }
    let in_flight = hung.load(Ordering::SeqCst);
    assert!(
        (1..=coffer::server::service::webhooks::PER_USER).contains(&in_flight),
        "{in_flight} of mallory's deliveries in flight at once"
    );
}

/// Failed attempts in a row suspend a webhook: nothing more is tried, events still queue, the
/// page and the API say so, and resuming sends what waited.
#[tokio::test]
async fn a_webhook_that_keeps_failing_is_suspended_until_its_owner_resumes_it() {
    let app = spawn_app_with(|s| {
        s.webhooks.allow_private = true;
        s.webhooks.retry = Duration::from_secs(3600);
        s.webhooks.suspend_after = 3;
    })
    .await;
    let alice = app.user("alice").await.access;
    // Fails the first three requests it gets, then answers 200.
    let (receiver, addr) = receiver(3).await;
    let (hook, _) = add_webhook(&app, &alice, json!({"url": format!("http://{addr}/hook")})).await;
    let request: Value = app
        .post_bearer(
            "/api/v1/requests",
            &alice,
            json!({"title": "T", "notify": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = request["token"].as_str().unwrap();
    for i in 0..3 {
        send_to_request(&app, token, &format!("{i}.txt"), text(10)).await;
    }
    receiver.wait_for(3).await;
    let mut listed: Vec<Value> = Vec::new();
    for _ in 0..100 {
        listed = app
            .get_bearer("/api/v1/webhooks", &alice)
            .await
            .json()
            .await
            .unwrap();
        if !listed[0]["suspended_at"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!listed[0]["suspended_at"].is_null(), "{}", listed[0]);
    assert_eq!(listed[0]["consecutive_failures"], 3);

    // Suspended: a new event queues, and nothing is sent.
    send_to_request(&app, token, "3.txt", text(10)).await;
    let now = app.state.now();
    let leased = coffer::server::db::webhooks::lease_next(app.state.db(), now, now + 60, &[])
        .await
        .unwrap();
    assert!(
        leased.is_none(),
        "a suspended webhook's delivery is never due"
    );
    assert_eq!(receiver.requests().len(), 3);
    assert_eq!(deliveries(&app, &alice, &hook).await.len(), 4);

    // The page says so and resumes it (no JavaScript).
    let browser = app.browser_login("alice").await;
    let (_, page) = app.page(&browser, "/settings/webhooks").await;
    assert!(page.contains("webhook-suspended") && page.contains("3 failed attempts in a row"));
    let res = app
        .form_post(&browser, "resume_webhook", &[("id", &hook)])
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    // Everything that waited goes out now (the receiver answers 200 from here on).
    let got = receiver.wait_for(7).await;
    assert_eq!(got.len(), 7);
    // The receiver has answered the last one; its row may be written a moment later.
    let all_delivered = |listed: &[Value]| listed.iter().all(|d| d["status"] == "delivered");
    let listed = deliveries_once(&app, &alice, &hook, all_delivered).await;
    assert!(all_delivered(&listed), "{listed:?}");
    let (_, page) = app.page(&browser, "/settings/webhooks").await;
    assert!(!page.contains("webhook-suspended"));
    let hooks: Vec<Value> = app
        .get_bearer("/api/v1/webhooks", &alice)
        .await
        .json()
        .await
        .unwrap();
    assert!(hooks[0]["suspended_at"].is_null());
    assert_eq!(hooks[0]["consecutive_failures"], 0);

    // Only the owner resumes it.
    let bob = app.user("bob").await.access;
    let res = app
        .post_bearer(&format!("/api/v1/webhooks/{hook}/resume"), &bob, json!({}))
        .await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
}

/// A webhook with the most deliveries waiting gets no more: the event is counted as missed
/// instead, and the outbox stops growing.
#[tokio::test]
async fn a_webhook_with_a_full_queue_misses_new_events_and_counts_them() {
    use coffer::server::service::webhooks::MAX_PENDING_DELIVERIES;
    let app = spawn_app_with(|s| s.webhooks.retry = Duration::from_secs(3600)).await;
    let alice = app.user("alice").await.access;
    let (hook, _) = add_webhook(&app, &alice, json!({"url": "https://hooks.example.org/x"})).await;
    let (other, _) = add_webhook(&app, &alice, json!({"url": "https://hooks.example.org/y"})).await;
    // A full queue for `hook`, due in an hour.
    let due = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO webhook_deliveries (id, webhook_id, event, payload, created_at, next_attempt_at) \
         SELECT 'old' || CAST(i AS TEXT), $2, 'request.file_received', '{}', $3, $3 FROM n",
    )
    .bind(MAX_PENDING_DELIVERIES)
    .bind(&hook)
    .bind(due)
    .execute(&app.state.db().pool)
    .await
    .unwrap();
    send_through_new_request(&app, &alice, "T", true, "a.txt", text(10)).await;

    let count = |id: &str| {
        sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_deliveries WHERE webhook_id = $1",
        )
        .bind(id.to_owned())
        .fetch_one(&app.state.db().pool)
    };
    assert_eq!(count(&hook).await.unwrap(), MAX_PENDING_DELIVERIES);
    assert_eq!(count(&other).await.unwrap(), 1, "the other webhook got it");
    let hooks: Vec<Value> = app
        .get_bearer("/api/v1/webhooks", &alice)
        .await
        .json()
        .await
        .unwrap();
    let missed = |id: &str| hooks.iter().find(|h| h["id"] == id).unwrap()["missed_events"].clone();
    assert_eq!(missed(&hook), 1);
    assert_eq!(missed(&other), 0);
    let browser = app.browser_login("alice").await;
    let (_, page) = app.page(&browser, "/settings/webhooks").await;
    assert!(page.contains("webhook-missed"), "the page tells");
}
