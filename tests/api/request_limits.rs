//! Bounded resources: the per-client request rate on every route, body size caps, header and
//! body timeouts (slow-loris), the connection cap, and the caps on uploads running at once.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::mpsc,
};

use crate::{
    client::until_limited,
    helpers::{error_code, spawn_app_with, TestApp},
};

/// Reads from a raw connection until the server closes it or `wait` passes; what was read, and
/// whether it closed.
async fn read_until_closed(conn: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&seen).into(), true),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into(), false),
        }
    }
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn every_route_has_a_per_client_request_rate_with_429_and_retry_after() {
    let app = spawn_app_with(|s| {
        s.rates.requests_per_sec = 1;
        s.rates.requests_burst = 5;
        s.connections.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for _ in 0..5 {
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    }
    // The API answers in JSON, with how long to wait.
    let res = until_limited(|| app.get("/api/v1/files"), StatusCode::UNAUTHORIZED).await;
    let wait: u64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "too_many_requests");
    assert!(body["detail"].as_str().unwrap().contains("wait"), "{body}");

    // A browser navigating gets a page in words.
    let navigate = || {
        app.client
            .get(app.url("/login"))
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .send()
    };
    let res = until_limited(|| async { navigate().await.unwrap() }, StatusCode::OK).await;
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert!(res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(res.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Too many requests") && html.contains("seconds"),
        "{html}"
    );

    // The limit is per client address: another client behind the trusted proxy is served.
    let res = app
        .client
        .get(app.url("/health"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // And it passes: one more request a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn bodies_other_than_uploads_are_capped_at_one_mib() {
    let app = spawn_app_with(|_| {}).await;
    let big = "x".repeat(2 * 1024 * 1024);
    // Declared too large: refused before it is read.
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": big, "password": "p"}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
        "body_too_large"
    );
    // Sent without a length (chunked): cut off once past the cap.
    let chunks = futures::stream::iter(
        (0..64).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 32 * 1024]))),
    );
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A page's server function too.
    let res = app
        .client
        .post(app.url("/app/login"))
        .header("origin", &app.base)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("email={big}&password=p"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
        "body_too_large"
    );
}

#[tokio::test]
async fn a_client_that_sends_headers_slowly_is_disconnected() {
    let app = spawn_app_with(|s| s.connections.header_timeout = Duration::from_secs(1)).await;
    let mut conn = TcpStream::connect(addr(&app)).await.unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: coffer\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut conn, Duration::from_secs(5)).await;
    assert!(closed, "the connection is still open after 5 s");
    assert!(started.elapsed() < Duration::from_secs(3));

    // An idle keep-alive connection goes the same way.
    let mut conn = TcpStream::connect(addr(&app)).await.unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: coffer\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut conn, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed, "an idle connection is closed");
}

#[tokio::test]
async fn a_request_head_over_32_kib_is_answered_431() {
    let app = spawn_app_with(|_| {}).await;
    // A large head that fits (a browser with many cookies sends a few KiB) is served.
    let res = app
        .client
        .get(app.url("/health"))
        .header(header::COOKIE, format!("big={}", "a".repeat(16 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // One past 32 KiB is refused with its own status, not dropped in silence.
    let mut conn = TcpStream::connect(addr(&app)).await.unwrap();
    let head = format!(
        "GET /health HTTP/1.1\r\nHost: coffer\r\nCookie: big={}\r\n\r\n",
        "a".repeat(40 * 1024)
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let (answer, closed) = read_until_closed(&mut conn, Duration::from_secs(5)).await;
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert!(closed, "the connection is closed after the refusal");
}

#[tokio::test]
async fn an_upload_whose_body_stalls_fails_and_keeps_nothing() {
    let app = spawn_app_with(|s| s.connections.body_idle_timeout = Duration::from_secs(1)).await;
    let user = app.user("alice").await;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tx.send(Ok(Bytes::from(vec![b'a'; 10_000]))).await.unwrap();
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let part =
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body)).file_name("stalled.txt");
    let started = Instant::now();
    let res = app
        .client
        .post(app.url("/api/v1/files/upload"))
        .bearer_auth(&user.access)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await;
    // The sender stays open (never sends more): only the server's timeout ends this.
    let elapsed = started.elapsed();
    drop(tx);
    match res {
        Ok(res) => assert!(res.status().is_client_error(), "{}", res.status()),
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(app.list_files(&user.access).await.is_empty());
    assert_eq!(app.blob_count().await, 0);
    assert_eq!(app.pending_uploads().await, 0);
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(|s| s.connections.max = 2).await;
    let mut first = TcpStream::connect(addr(&app)).await.unwrap();
    let mut second = TcpStream::connect(addr(&app)).await.unwrap();
    for conn in [&mut first, &mut second] {
        conn.write_all(b"GET /health HTTP/1.1\r\nHost: coffer\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 12];
        conn.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
    }
    let mut third = TcpStream::connect(addr(&app)).await.unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: coffer\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut third, Duration::from_millis(700)).await;
    assert!(answer.is_empty(), "served past the cap: {answer}");
    drop(first);
    let (answer, _) = read_until_closed(&mut third, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

/// An upload whose body is held open until the returned sender is dropped.
async fn held_upload(
    app: &TestApp,
    token: &str,
) -> (
    mpsc::Sender<Result<Bytes, std::io::Error>>,
    tokio::task::JoinHandle<reqwest::Response>,
) {
    held_upload_to(app, "/api/v1/files/upload", Some(token)).await
}

/// A multipart upload to `path` whose body stays open (after a first part) until the sender is
/// dropped, or sends more.
async fn held_upload_to(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
) -> (
    mpsc::Sender<Result<Bytes, std::io::Error>>,
    tokio::task::JoinHandle<reqwest::Response>,
) {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tx.send(Ok(Bytes::from_static(b"first part of a held upload\n")))
        .await
        .unwrap();
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let part =
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body)).file_name("held.txt");
    let mut request = app
        .client
        .post(app.url(path))
        .multipart(reqwest::multipart::Form::new().part("file", part));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let task = tokio::spawn(async move { request.send().await.unwrap() });
    (tx, task)
}

async fn wait_for_running(app: &TestApp, user_id: &str, n: usize) {
    for _ in 0..100 {
        if app.state.upload_slots().running(user_id) == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{user_id} never had {n} uploads running");
}

#[tokio::test]
async fn uploads_at_once_are_capped_per_user_and_per_instance() {
    let app = spawn_app_with(|s| {
        s.uploads.max_per_user = 1;
        s.uploads.max_at_once = 2;
        s.rates.upload_per_min = 0;
    })
    .await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let me = |token: &str| {
        let (app, token) = (&app, token.to_owned());
        async move {
            let me: Value = app.me(&token).await.json().await.unwrap();
            me["id"].as_str().unwrap().to_owned()
        }
    };
    let (alice_id, bob_id) = (me(&alice.access).await, me(&bob.access).await);

    let (alice_tx, alice_upload) = held_upload(&app, &alice.access).await;
    wait_for_running(&app, &alice_id, 1).await;
    // Alice's second upload at once: her cap.
    let res = app
        .upload(&alice.access, "second.txt", b"second".to_vec())
        .await;
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "too_many_uploads"
    );

    // Bob takes the instance's last place; Carol finds it full.
    let (bob_tx, bob_upload) = held_upload(&app, &bob.access).await;
    wait_for_running(&app, &bob_id, 1).await;
    let res = app.upload(&carol.access, "c.txt", b"carol".to_vec()).await;
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        error_code(res, StatusCode::SERVICE_UNAVAILABLE).await,
        "server_busy"
    );

    // Uploads that end give their places back.
    drop(alice_tx);
    assert_eq!(alice_upload.await.unwrap().status(), StatusCode::CREATED);
    app.upload_ok(&carol.access, "c.txt", b"carol".to_vec())
        .await;
    drop(bob_tx);
    assert_eq!(bob_upload.await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(app.state.upload_slots().running(&alice_id), 0);
}

/// Making share links and upload requests is limited per user, and the protected ones (each
/// costs a password hash) at the login rate; plain ones go on when protected ones are refused.
#[tokio::test]
async fn making_protected_links_and_requests_is_limited_per_user() {
    let app = spawn_app_with(|s| s.rates.login_per_min = 3).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let alice = app.user("alice").await.access;
    let bob = app.user("bob").await.access;
    let file = app.upload_ok(&alice, "a.txt", b"hello".to_vec()).await;
    let id = file["id"].as_str().unwrap();
    let protected = json!({"password": "open sesame"});
    let protected_request = |token: &str| {
        let (app, token) = (&app, token.to_owned());
        async move {
            app.post_bearer(
                "/api/v1/requests",
                &token,
                json!({"title": "T", "password": "open sesame"}),
            )
            .await
        }
    };
    for _ in 0..2 {
        let res = app.share(&alice, id, protected.clone()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let res = protected_request(&alice).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "requests count in the same allowance"
    );
    for res in [
        app.share(&alice, id, protected.clone()).await,
        protected_request(&alice).await,
    ] {
        assert_eq!(
            error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
            "rate_limited"
        );
    }
    // Links without a password, and other users, are not held up.
    let res = app.share(&alice, id, json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(protected_request(&bob).await.status(), StatusCode::CREATED);
}

/// One user holds at most MAX_ACTIVE_LINKS usable links and MAX_OPEN_REQUESTS open requests;
/// revoked, expired and closed ones do not count.
#[tokio::test]
async fn a_user_holds_a_bounded_number_of_links_and_requests() {
    use coffer::model::{MAX_ACTIVE_LINKS, MAX_OPEN_REQUESTS};
    let app = spawn_app_with(|_| {}).await;
    let alice = app.user("alice").await;
    let file = app
        .upload_ok(&alice.access, "a.txt", b"hello".to_vec())
        .await;
    let id = file["id"].as_str().unwrap();
    let pool = &app.state.db().pool;
    let later = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    // All but one of each, written straight into the database.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO share_links (id, token_hash, created_by, created_at, expires_at) \
         SELECT 'link' || CAST(i AS TEXT), 'hash' || CAST(i AS TEXT), $2, 0, $3 FROM n",
    )
    .bind(MAX_ACTIVE_LINKS - 1)
    .bind(&alice.id)
    .bind(later)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO upload_requests (id, owner_id, token_hash, title, message, created_at, expires_at) \
         SELECT 'req' || CAST(i AS TEXT), $2, 'rhash' || CAST(i AS TEXT), 'T', '', 0, $3 FROM n",
    )
    .bind(MAX_OPEN_REQUESTS - 1)
    .bind(&alice.id)
    .bind(later)
    .execute(pool)
    .await
    .unwrap();

    let link = app.share_ok(&alice.access, id, json!({})).await;
    let res = app.share(&alice.access, id, json!({})).await;
    let (status, body) = (res.status(), res.text().await.unwrap());
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("revoke some"), "{body}");
    let created: Value = app
        .post_bearer("/api/v1/requests", &alice.access, json!({"title": "Last"}))
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .post_bearer(
            "/api/v1/requests",
            &alice.access,
            json!({"title": "One more"}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
    // A revoked link and a closed request make room again.
    let link_id = link["id"].as_str().unwrap();
    let res = app
        .delete_bearer(&format!("/api/v1/shares/{link_id}"), &alice.access)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.share(&alice.access, id, json!({})).await.status(),
        StatusCode::CREATED
    );
    let request_id = created["request"]["id"].as_str().unwrap();
    let res = app
        .post_bearer(
            &format!("/api/v1/requests/{request_id}/close"),
            &alice.access,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post_bearer("/api/v1/requests", &alice.access, json!({"title": "Again"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// Senders' uploads count against their request and against everything its owner receives at
/// once (four times the per-user cap), not against the owner's own uploads: an account with many
/// requests and slow senders holds a bounded share of the instance's slots.
#[tokio::test]
async fn request_uploads_count_against_the_owner_too() {
    let app = spawn_app_with(|s| {
        s.uploads.max_per_user = 1;
        s.uploads.max_at_once = 64;
        s.rates.upload_per_min = 0;
    })
    .await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let request = |owner: &str| {
        let (app, owner) = (&app, owner.to_owned());
        async move {
            let made: Value = app
                .post_bearer("/api/v1/requests", &owner, json!({"title": "T"}))
                .await
                .json()
                .await
                .unwrap();
            made["token"].as_str().unwrap().to_owned()
        }
    };
    let mut held = Vec::new();
    for _ in 0..4 {
        let token = request(&alice.access).await;
        held.push(held_upload_to(&app, &format!("/api/v1/r/{token}/files"), None).await);
    }
    wait_for_running(&app, &format!("received:{}", alice.id), 4).await;
    let fifth = request(&alice.access).await;
    let part = reqwest::multipart::Part::bytes(b"five".to_vec()).file_name("5.txt");
    let res = app
        .client
        .post(app.url(&format!("/api/v1/r/{fifth}/files")))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "recipient_busy"
    );
    // Another owner's request, and alice's own upload, are not held up.
    let bobs = request(&bob.access).await;
    let part = reqwest::multipart::Part::bytes(b"bob".to_vec()).file_name("b.txt");
    let res = app
        .client
        .post(app.url(&format!("/api/v1/r/{bobs}/files")))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    app.upload_ok(&alice.access, "mine.txt", b"mine".to_vec())
        .await;
    for (tx, upload) in held {
        drop(tx);
        assert_eq!(upload.await.unwrap().status(), StatusCode::CREATED);
    }
    assert_eq!(
        app.state
            .upload_slots()
            .running(&format!("received:{}", alice.id)),
        0
    );
}

/// A body that trickles in below the minimum rate is cut off, and nothing is kept; one that
/// arrives at a normal pace is not.
#[tokio::test]
async fn an_upload_that_trickles_below_the_minimum_rate_is_cut_off() {
    let app = spawn_app_with(|s| {
        s.uploads.min_rate = 20_000;
        s.uploads.min_rate_window = Duration::from_secs(1);
        s.rates.upload_per_min = 0;
    })
    .await;
    let alice = app.user("alice").await;
    let made: Value = app
        .post_bearer("/api/v1/requests", &alice.access, json!({"title": "T"}))
        .await
        .json()
        .await
        .unwrap();
    let token = made["token"].as_str().unwrap().to_owned();
    // 100 bytes every 100 ms: each well within the idle timeout, 1 KB/s in all.
    let body = futures::stream::unfold(0u32, |sent| async move {
        (sent < 100).then_some(())?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 100])),
            sent + 1,
        ))
    });
    let part =
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body)).file_name("slow.txt");
    let started = Instant::now();
    let res = app
        .client
        .post(app.url(&format!("/api/v1/r/{token}/files")))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await;
    match res {
        Ok(res) => {
            assert_eq!(res.status(), StatusCode::BAD_REQUEST);
            let text = res.text().await.unwrap();
            assert!(text.contains("slower than 20000 bytes a second"), "{text}");
        }
        // The server may close the connection on a body it stopped reading.
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "cut after {:?}",
        started.elapsed()
    );
    assert!(app.list_files(&alice.access).await.is_empty());
    assert_eq!(app.blob_count().await, 0);
    // A file sent at once arrives.
    app.upload_ok(&alice.access, "quick.txt", vec![b'q'; 2_000_000])
        .await;
}
