//! Upload requests: the owner's `/api/v1/requests…`, the sender's `/api/v1/r/{token}…` (no
//! account), and the sender's page `/r/{token}` with its plain-form upload.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{error_code, new_client, pattern, spawn_app, spawn_app_with, text, TestApp};

const KB: usize = 1000;

struct Request {
    id: String,
    token: String,
}

async fn create(app: &TestApp, owner: &str, body: Value) -> Response {
    app.post_bearer("/api/v1/requests", owner, body).await
}

async fn create_ok(app: &TestApp, owner: &str, body: Value) -> Request {
    let res = create(app, owner, body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(created["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/r/{token}")));
    Request {
        id: created["request"]["id"].as_str().unwrap().to_owned(),
        token,
    }
}

/// `POST /api/v1/r/{token}/files`, as a sender without an account.
async fn send(
    app: &TestApp,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
    password: Option<&str>,
) -> Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let mut req = new_client()
        .post(app.url(&format!("/api/v1/r/{token}/files")))
        .multipart(reqwest::multipart::Form::new().part("file", part));
    if let Some(password) = password {
        req = req.header("X-Request-Password", password);
    }
    req.send().await.unwrap()
}

async fn view(app: &TestApp, token: &str, password: Option<&str>) -> Response {
    let mut req = new_client().get(app.url(&format!("/api/v1/r/{token}")));
    if let Some(password) = password {
        req = req.header("X-Request-Password", password);
    }
    req.send().await.unwrap()
}

async fn info(app: &TestApp, owner: &str, id: &str) -> Value {
    let res = app
        .get_bearer(&format!("/api/v1/requests/{id}"), owner)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn received(app: &TestApp, owner: &str, id: &str) -> Vec<Value> {
    let res = app
        .get_bearer(&format!("/api/v1/requests/{id}/files"), owner)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn a_sender_without_an_account_sends_files_into_the_owners_coffer_with_a_receipt() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let request = create_ok(
        &app,
        &alice.access,
        json!({"title": "Signed contract", "message": "Please send the signed PDF.", "max_files": 5}),
    )
    .await;

    let res = view(&app, &request.token, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let asked: Value = res.json().await.unwrap();
    assert_eq!(asked["title"], "Signed contract");
    assert_eq!(asked["message"], "Please send the signed PDF.");
    assert_eq!(asked["requested_by"], "alice");
    assert_eq!(asked["files_left"], 5);
    assert!(asked["allowed_extensions"]
        .as_array()
        .unwrap()
        .contains(&json!(".txt")));

    let bytes = text(50 * KB);
    let res = send(&app, &request.token, "contract.txt", bytes.clone(), None).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let receipt: Value = res.json().await.unwrap();
    assert_eq!(receipt["filename"], "contract.txt");
    assert_eq!(receipt["size"], 50 * KB);
    assert_eq!(receipt["sha256"], sha256(&bytes));
    assert!(
        receipt.get("id").is_none(),
        "a receipt names no way to the file"
    );

    // The file is the owner's, marked with its request, scanned, and downloads as sent.
    let files = app.list_files(&alice.access).await;
    assert_eq!(files.len(), 1);
    let id = files[0]["id"].as_str().unwrap();
    assert_eq!(files[0]["request_id"], request.id.as_str());
    assert_eq!(files[0]["owner_id"], alice.id.as_str());
    assert_eq!(app.scanned_status(&alice.access, id).await, "clean");
    let res = app.download(&alice.access, id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // The sender has no way to it.
    let res = new_client()
        .get(app.url(&format!("/api/v1/files/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let listed = received(&app, &alice.access, &request.id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["filename"], "contract.txt");
    let mine = info(&app, &alice.access, &request.id).await;
    assert_eq!(
        (&mine["files_received"], &mine["bytes_received"]),
        (&json!(1), &json!(50 * KB))
    );
    assert_eq!(mine["status"], "open");
    assert_eq!(
        crate::helpers::audit_count(&app, "request.file_received").await,
        1
    );

    // Another user sees none of it.
    let bob = app.user("bob").await.access;
    for path in [
        format!("/api/v1/requests/{}", request.id),
        format!("/api/v1/requests/{}/files", request.id),
    ] {
        let res = app.get_bearer(&path, &bob).await;
        assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    }
    let res = app
        .post_bearer(
            &format!("/api/v1/requests/{}/close", request.id),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let listed: Vec<Value> = app
        .get_bearer("/api/v1/requests", &bob)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty());
}

#[tokio::test]
async fn a_request_answers_410_once_closed_expired_or_full_and_unknown_tokens_404() {
    let app = spawn_app().await;
    let alice = app.user("alice").await.access;

    // Full: one file asked for.
    let one = create_ok(&app, &alice, json!({"title": "One", "max_files": 1})).await;
    assert_eq!(
        send(&app, &one.token, "a.txt", text(1000), None)
            .await
            .status(),
        StatusCode::CREATED
    );
    let res = send(&app, &one.token, "b.txt", text(1000), None).await;
    assert_eq!(error_code(res, StatusCode::GONE).await, "request_full");
    assert_eq!(
        error_code(view(&app, &one.token, None).await, StatusCode::GONE).await,
        "request_full"
    );
    assert_eq!(info(&app, &alice, &one.id).await["status"], "full");

    // Closed early by its owner.
    let closed = create_ok(&app, &alice, json!({"title": "Closed"})).await;
    let res = app
        .post_bearer(
            &format!("/api/v1/requests/{}/close", closed.id),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "closed");
    let res = send(&app, &closed.token, "a.txt", text(1000), None).await;
    assert_eq!(error_code(res, StatusCode::GONE).await, "request_closed");
    assert_eq!(
        error_code(view(&app, &closed.token, None).await, StatusCode::GONE).await,
        "request_closed"
    );
    assert_eq!(crate::helpers::audit_count(&app, "request.close").await, 1);

    // Expired.
    let expired = create_ok(
        &app,
        &alice,
        json!({"title": "Expired", "expires_hours": 1}),
    )
    .await;
    sqlx::query("UPDATE upload_requests SET expires_at = $2 WHERE id = $1")
        .bind(&expired.id)
        .bind(crate::helpers::now() - 1)
        .execute(&app.state.db().pool)
        .await
        .unwrap();
    let res = send(&app, &expired.token, "a.txt", text(1000), None).await;
    assert_eq!(error_code(res, StatusCode::GONE).await, "request_expired");
    assert_eq!(info(&app, &alice, &expired.id).await["status"], "expired");

    let res = send(&app, "no-such-token", "a.txt", text(1000), None).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    // Nothing refused was kept.
    assert_eq!(app.list_files(&alice).await.len(), 1);
    assert_eq!(app.pending_uploads().await, 0);

    // The page says so with the same status.
    let (status, page) = app
        .page(&new_client(), &format!("/r/{}", closed.token))
        .await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("Upload link closed"), "{page}");
}

#[tokio::test]
async fn bad_requests_are_refused_with_their_reasons() {
    let app = spawn_app().await;
    let alice = app.user("alice").await.access;
    for (body, why) in [
        (json!({"title": ""}), "empty title"),
        (json!({"title": "   "}), "blank title"),
        (json!({"title": "x".repeat(201)}), "long title"),
        (
            json!({"title": "t", "message": "m".repeat(4001)}),
            "long message",
        ),
        (json!({"title": "t", "expires_hours": 0}), "no time"),
        (json!({"title": "t", "expires_hours": 721}), "too long"),
        (json!({"title": "t", "max_files": 0}), "no files"),
        (json!({"title": "t", "max_files": 10_001}), "too many files"),
        (json!({"title": "t", "max_bytes": 0}), "no bytes"),
        (
            json!({"title": "t", "max_bytes": 9_223_372_036_854_775_808_u64}),
            "past i64",
        ),
        (
            json!({"title": "t", "password": "p".repeat(1025)}),
            "long password",
        ),
        (json!({"message": "no title"}), "missing title"),
    ] {
        let res = create(&app, &alice, body).await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_error",
            "{why}"
        );
    }
    let res = new_client()
        .post(app.url("/api/v1/requests"))
        .json(&json!({"title": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let listed: Vec<Value> = app
        .get_bearer("/api/v1/requests", &alice)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty(), "no refused request was made");
}

#[tokio::test]
async fn a_sent_file_meets_the_same_rules_as_an_upload_and_counts_against_the_owners_quota() {
    let app = spawn_app_with(|s| {
        s.uploads.user_quota_bytes = Some(100 * KB as u64);
        s.uploads.max_bytes = 80 * KB as u64;
    })
    .await;
    let alice = app.user("alice").await.access;
    let request = create_ok(&app, &alice, json!({"title": "Docs"})).await;

    let res = send(&app, &request.token, "tool.exe", text(1000), None).await;
    assert_eq!(
        error_code(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "unsupported_type"
    );
    // A .png that is not one.
    let res = send(&app, &request.token, "photo.png", text(1000), None).await;
    assert_eq!(
        error_code(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "unsupported_type"
    );
    let res = send(&app, &request.token, "big.txt", text(81 * KB), None).await;
    assert_eq!(
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
        "file_too_large"
    );

    assert_eq!(
        app.upload(&alice, "own.txt", text(60 * KB)).await.status(),
        StatusCode::CREATED
    );
    let res = send(&app, &request.token, "more.txt", text(50 * KB), None).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "quota_exceeded");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("no room left"), "{detail}");
    assert!(
        !detail.contains("KiB") && !detail.contains("kB"),
        "the owner's figures are not told: {detail}"
    );

    let mine = info(&app, &alice, &request.id).await;
    assert_eq!(mine["files_received"], 0, "nothing refused was kept");
    assert_eq!(app.list_files(&alice).await.len(), 1);
    assert_eq!(app.pending_uploads().await, 0);
    let res = send(&app, &request.token, "fits.txt", text(40 * KB), None).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_password_protected_request_shows_and_takes_nothing_without_it() {
    let app = spawn_app().await;
    let alice = app.user("alice").await.access;
    let request = create_ok(
        &app,
        &alice,
        json!({"title": "Secret", "password": "open sesame"}),
    )
    .await;
    assert_eq!(info(&app, &alice, &request.id).await["has_password"], true);

    let res = view(&app, &request.token, None).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "password_required"
    );
    let res = view(&app, &request.token, Some("wrong")).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "wrong_password"
    );
    let res = send(&app, &request.token, "a.txt", text(1000), None).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "password_required"
    );
    let res = send(&app, &request.token, "a.txt", text(1000), Some("wrong")).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "wrong_password"
    );
    assert_eq!(
        crate::helpers::audit_count(&app, "request.password_failed").await,
        2
    );

    assert_eq!(
        view(&app, &request.token, Some("open sesame"))
            .await
            .status(),
        StatusCode::OK
    );
    let res = send(
        &app,
        &request.token,
        "a.txt",
        text(1000),
        Some("open sesame"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(received(&app, &alice, &request.id).await.len(), 1);

    // The page asks for the password, and its form unlocks the request for that browser only.
    let browser = new_client();
    let path = format!("/r/{}", request.token);
    let (status, page) = app.page(&browser, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("protected by a password") && !page.contains("Secret"),
        "{page}"
    );
    let res = app
        .form_post(
            &browser,
            "unlock_request",
            &[("token", &request.token), ("password", "wrong")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (_, page) = app.page(&browser, &path).await;
    assert!(page.contains("That password is not right"), "{page}");
    let res = app
        .form_post(
            &browser,
            "unlock_request",
            &[("token", &request.token), ("password", "open sesame")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (_, page) = app.page(&browser, &path).await;
    assert!(
        page.contains("Secret") && page.contains(r#"data-testid="dropzone""#),
        "{page}"
    );
    let (_, page) = app.page(&new_client(), &path).await;
    assert!(
        !page.contains(r#"data-testid="dropzone""#),
        "another browser is still asked"
    );
}

/// A protected request says it was closed, has expired or is full only to whoever gives its
/// password; before it, the API and the page ask for the password as for an open one.
#[tokio::test]
async fn a_protected_request_tells_its_state_only_after_the_password() {
    let app = spawn_app().await;
    let alice = app.user("alice").await.access;
    let closed = create_ok(
        &app,
        &alice,
        json!({"title": "Shut", "password": "open sesame"}),
    )
    .await;
    let res = app
        .post_bearer(
            &format!("/api/v1/requests/{}/close", closed.id),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let expired = create_ok(
        &app,
        &alice,
        json!({"title": "Old", "password": "open sesame"}),
    )
    .await;
    sqlx::query("UPDATE upload_requests SET expires_at = 1 WHERE id = $1")
        .bind(&expired.id)
        .execute(&app.state.db().pool)
        .await
        .unwrap();
    let full = create_ok(
        &app,
        &alice,
        json!({"title": "One", "password": "open sesame", "max_files": 1}),
    )
    .await;
    let res = send(&app, &full.token, "a.txt", text(10), Some("open sesame")).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    for (request, code) in [
        (&closed, "request_closed"),
        (&expired, "request_expired"),
        (&full, "request_full"),
    ] {
        let res = view(&app, &request.token, None).await;
        assert_eq!(
            error_code(res, StatusCode::UNAUTHORIZED).await,
            "password_required",
            "{code}"
        );
        let res = send(&app, &request.token, "b.txt", text(10), Some("guess")).await;
        assert_eq!(
            error_code(res, StatusCode::UNAUTHORIZED).await,
            "wrong_password",
            "{code}"
        );
        let res = view(&app, &request.token, Some("open sesame")).await;
        assert_eq!(error_code(res, StatusCode::GONE).await, code);
        let browser = new_client();
        let path = format!("/r/{}", request.token);
        let (_, page) = app.page(&browser, &path).await;
        assert!(page.contains("protected by a password"), "{code}: {page}");
        // The page's password form, then the page: the right password tells the state.
        let res = app
            .form_post(
                &browser,
                "unlock_request",
                &[("token", &request.token), ("password", "open sesame")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FOUND, "{code}");
        let (_, page) = app.page(&browser, &path).await;
        assert!(
            page.contains(&format!("data-code=\"{code}\"")),
            "{code}: {page}"
        );
    }
}

/// Senders who know the password are never refused for using it: only wrong ones count.
#[tokio::test]
async fn the_right_request_password_never_counts_against_the_guesses() {
    let app = spawn_app_with(|s| s.rates.login_per_min = 3).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let alice = app.user("alice").await.access;
    let request = create_ok(
        &app,
        &alice,
        json!({"title": "T", "password": "open sesame"}),
    )
    .await;
    for _ in 0..8 {
        let res = view(&app, &request.token, Some("open sesame")).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    for _ in 0..3 {
        let res = view(&app, &request.token, Some("guess")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = view(&app, &request.token, Some("open sesame")).await;
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited",
        "after three wrong ones this client waits"
    );
}

/// The sender page's form, posted as a browser without JavaScript posts it.
async fn form_upload(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    name: &str,
    bytes: Vec<u8>,
) -> Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    browser
        .post(app.url(&format!("{page}/upload")))
        .header("accept", "text/html")
        .header("origin", &app.base)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

/// The sender's page without JavaScript: a plain multipart form post, sent back to the page,
/// which lists the receipt (name, size, SHA-256).
#[tokio::test]
async fn the_sender_page_takes_a_plain_form_upload_and_shows_the_receipt() {
    let app = spawn_app().await;
    let alice = app.user("alice").await.access;
    let request = create_ok(
        &app,
        &alice,
        json!({"title": "Photos", "message": "Holiday pictures"}),
    )
    .await;
    let browser = new_client();
    let path = format!("/r/{}", request.token);
    let (status, page) = app.page(&browser, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Photos") && page.contains("Holiday pictures") && page.contains("alice"));

    let bytes = text(3000);
    let res = form_upload(&app, &browser, &path, "notes.txt", bytes.clone()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.page(&browser, &path).await;
    assert!(
        page.contains("notes.txt") && page.contains(&sha256(&bytes)),
        "{page}"
    );
    // Another browser has no receipt.
    let (_, page) = app.page(&new_client(), &path).await;
    assert!(!page.contains(&sha256(&bytes)));

    // A refused file is said on the page, once.
    let res = form_upload(&app, &browser, &path, "run.exe", text(10)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.page(&browser, &path).await;
    assert!(page.contains("are not accepted"), "{page}");
    assert_eq!(received(&app, &alice, &request.id).await.len(), 1);
}

/// A sender whose files fill the request is thanked, on the page and after a reload; anyone
/// else is told it is full.
#[tokio::test]
async fn the_sender_who_fills_a_request_is_thanked() {
    let app = spawn_app().await;
    let alice = app.user("alice").await.access;
    let request = create_ok(&app, &alice, json!({"title": "Two forms", "max_files": 2})).await;
    let browser = new_client();
    let path = format!("/r/{}", request.token);
    let res = form_upload(&app, &browser, &path, "one.txt", text(100)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, page) = app.page(&browser, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Still takes 1 file.") && !page.contains("All files received"),
        "{page}"
    );

    let res = form_upload(&app, &browser, &path, "two.txt", text(100)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.page(&browser, &path).await;
    assert!(page.contains("All files received — thank you."), "{page}");
    assert!(!page.contains("Upload link full"), "{page}");
    assert!(
        page.contains("one.txt") && page.contains("two.txt"),
        "the receipt: {page}"
    );

    let (status, page) = app.page(&new_client(), &path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(
        page.contains("Upload link full") && !page.contains("All files received"),
        "{page}"
    );
}

/// Ten senders at once into a request for three files: exactly three are taken, the others are
/// told it is full, and nothing else is stored.
#[tokio::test]
async fn concurrent_senders_cannot_pass_the_file_limit() {
    let app = spawn_app_with(|s| {
        s.rates.upload_per_min = 1000;
        s.uploads.max_per_user = 20;
    })
    .await;
    let alice = app.user("alice").await.access;
    let request = create_ok(&app, &alice, json!({"title": "Three", "max_files": 3})).await;
    let sends = (0..10).map(|i| {
        let (app, token) = (&app, request.token.clone());
        async move { send(app, &token, &format!("f{i}.txt"), text(20 * KB), None).await }
    });
    let results = futures::future::join_all(sends).await;
    let mut created = 0;
    for res in results {
        match res.status() {
            StatusCode::CREATED => created += 1,
            _ => assert_eq!(error_code(res, StatusCode::GONE).await, "request_full"),
        }
    }
    assert_eq!(created, 3);
    assert_eq!(received(&app, &alice, &request.id).await.len(), 3);
    assert_eq!(app.pending_uploads().await, 0);
}

/// Eight senders of 30 kB at once into a request for 100 kB: what is stored never passes the
/// limit and every refusal says why; one after another, the limit is reached exactly.
#[tokio::test]
async fn concurrent_senders_cannot_pass_the_byte_limit() {
    let app = spawn_app_with(|s| {
        s.rates.upload_per_min = 1000;
        s.uploads.max_per_user = 20;
    })
    .await;
    let alice = app.user("alice").await.access;
    let request = create_ok(
        &app,
        &alice,
        json!({"title": "Bytes", "max_bytes": 100 * KB}),
    )
    .await;
    let sends = (0..8).map(|i| {
        let (app, token) = (&app, request.token.clone());
        async move { send(app, &token, &format!("f{i}.txt"), text(30 * KB), None).await }
    });
    let mut created = 0;
    for res in futures::future::join_all(sends).await {
        match res.status() {
            StatusCode::CREATED => created += 1,
            _ => assert_eq!(
                error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
                "request_limit_exceeded"
            ),
        }
    }
    let bytes = info(&app, &alice, &request.id).await["bytes_received"]
        .as_u64()
        .unwrap();
    assert!((1..=3).contains(&created), "{created} taken");
    assert_eq!(bytes, created * 30 * KB as u64);
    assert_eq!(app.pending_uploads().await, 0);

    // One after another: the room left is taken to the byte, then the request is full.
    let left = 100 * KB - bytes as usize;
    let res = send(&app, &request.token, "over.txt", text(left + 1), None).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "request_limit_exceeded");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("already received"),
        "{body}"
    );
    assert_eq!(
        send(&app, &request.token, "exact.txt", pattern_text(left), None)
            .await
            .status(),
        StatusCode::CREATED
    );
    let res = send(&app, &request.token, "more.txt", text(10), None).await;
    assert_eq!(error_code(res, StatusCode::GONE).await, "request_full");
}

fn pattern_text(len: usize) -> Vec<u8> {
    pattern(len).iter().map(|b| b'a' + b % 26).collect()
}

/// Files far past the 1 MiB cap on other bodies arrive through both routes a sender has: the
/// REST one and the page's. (Both were once missing from the routes the cap leaves to the
/// upload rules, so every file over 1 MiB was refused with 413.)
#[tokio::test]
async fn files_of_several_mib_arrive_through_the_api_and_the_senders_page() {
    let app = spawn_app().await;
    let alice = app.user("alice").await.access;
    let request = create_ok(&app, &alice, json!({"title": "Scans"})).await;
    let six_mib = pattern_text(6 * 1024 * 1024);
    let res = send(&app, &request.token, "scan-a.txt", six_mib.clone(), None).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );

    let browser = new_client();
    let page = format!("/r/{}", request.token);
    let five_mib = pattern_text(5 * 1024 * 1024 + 7);
    let res = form_upload(&app, &browser, &page, "scan-b.txt", five_mib.clone()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, shown) = app.page(&browser, &page).await;
    assert!(shown.contains(&sha256(&five_mib)), "the receipt is shown");

    let mut got = received(&app, &alice, &request.id).await;
    got.sort_by_key(|f| f["filename"].as_str().unwrap().to_owned());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["size"], six_mib.len());
    assert_eq!(got[0]["sha256"], sha256(&six_mib));
    assert_eq!(got[1]["size"], five_mib.len());
    assert_eq!(got[1]["sha256"], sha256(&five_mib));
}

/// Every list of requests pages: the API by `limit` and `offset`, the owner's page twenty at a
/// time with the newest files of each (read in one query, not one per request).
#[tokio::test]
async fn requests_and_their_files_are_listed_a_page_at_a_time() {
    let app = spawn_app().await;
    let alice = app.user("alice").await.access;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(create_ok(&app, &alice, json!({"title": format!("Request {i:02}")})).await);
    }
    let listed = |query: &'static str| {
        let app = &app;
        let alice = &alice;
        async move {
            let res = app
                .get_bearer(&format!("/api/v1/requests{query}"), alice)
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Vec<Value>>().await.unwrap()
        }
    };
    let all = listed("").await;
    assert_eq!(all.len(), 25);
    // The request listed first gets files. (Requests made within one second tie on their time
    // and then sort by id, so which one that is differs from run to run.)
    let first = ids.iter().find(|r| all[0]["id"] == r.id.as_str()).unwrap();
    for i in 0..3 {
        let res = send(&app, &first.token, &format!("f{i}.txt"), text(10), None).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let page = listed("?limit=10&offset=20").await;
    assert_eq!(page, all[20..].to_vec(), "the last five, in the same order");
    let res = app.get_bearer("/api/v1/requests?limit=0", &alice).await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
    let res = app
        .get_bearer(
            &format!("/api/v1/requests/{}/files?limit=2&offset=1", first.id),
            &alice,
        )
        .await;
    let files: Vec<Value> = res.json().await.unwrap();
    assert_eq!(files.len(), 2);

    let browser = app.browser_login("alice").await;
    let title = |i: usize| all[i]["title"].as_str().unwrap().to_owned();
    let (_, first) = app.page(&browser, "/requests").await;
    assert_eq!(first.matches("data-testid=\"request-card\"").count(), 20);
    assert!(first.contains(&title(0)) && first.contains(&title(19)) && !first.contains(&title(20)));
    assert!(
        first.contains("f0.txt") && first.contains("f2.txt"),
        "the newest files show"
    );
    assert!(
        first.contains("href=\"/requests?offset=20\""),
        "a link to the next page"
    );
    let (_, second) = app.page(&browser, "/requests?offset=20").await;
    assert_eq!(second.matches("data-testid=\"request-card\"").count(), 5);
    assert!(
        second.contains(&title(20)) && second.contains(&title(24)) && !second.contains(&title(0))
    );
    assert!(second.contains("href=\"/requests\""), "a link back");
}
