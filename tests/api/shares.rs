//! Sharing without an account: share links (`/api/v1/files/{id}/share`, `/files/shared/{token}`)
//! and pre-signed URLs (`/files/{id}/signed-url`, `/files/token-download`).

use reqwest::{header, Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{audit_count, error_code, new_client, now, pattern, spawn_app_with, TestApp};

/// An app with an admin, alice and bob, and a file of alice's that has been scanned clean.
struct Shared {
    app: TestApp,
    /// Alice's access token: the file is hers.
    alice: String,
    /// Bob's access token: a user who is not the owner.
    bob: String,
    /// The file's id.
    id: String,
    bytes: Vec<u8>,
}

async fn shared_file(configure: impl FnOnce(&mut coffer::server::config::Settings)) -> Shared {
    let app = spawn_app_with(configure).await;
    app.register("admin").await;
    let alice = app.user("alice").await.access;
    let bob = app.user("bob").await.access;
    let bytes: Vec<u8> = pattern(150_000).iter().map(|b| b'a' + b % 26).collect();
    let file = app.upload_ok(&alice, "report.txt", bytes.clone()).await;
    let id = file["id"].as_str().unwrap().to_owned();
    if app.settings.scanning.worker {
        assert_eq!(app.scanned_status(&alice, &id).await, "clean");
    }
    Shared {
        app,
        alice,
        bob,
        id,
        bytes,
    }
}

fn token_of(link: &Value) -> String {
    link["share_token"].as_str().unwrap().to_owned()
}

/// A download by link from a client with no cookies and no bearer token.
async fn fetch_shared(app: &TestApp, token: &str, password: Option<&str>) -> Response {
    let mut req = new_client().get(app.url(&format!("/api/v1/files/shared/{token}")));
    if let Some(password) = password {
        req = req.header("X-Share-Password", password);
    }
    req.send().await.unwrap()
}

async fn links(app: &TestApp, token: &str, file_id: &str) -> Vec<Value> {
    let res = app
        .get_bearer(&format!("/api/v1/files/{file_id}/shares"), token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn unix(value: &Value) -> i64 {
    time::OffsetDateTime::parse(
        value.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp()
}

#[tokio::test]
async fn a_link_downloads_without_an_account_and_counts() {
    let Shared {
        app,
        alice,
        id,
        bytes,
        ..
    } = shared_file(|_| {}).await;
    let link = app.share_ok(&alice, &id, json!({})).await;
    let token = token_of(&link);
    assert!(token.len() >= 43, "256 bits, base64url");
    assert_eq!(
        link["share_url"],
        format!("{}/s/{token}", app.settings.site.public_url)
    );
    let expires = unix(&link["expires_at"]);
    assert!(
        (expires - (now() + 24 * 3600)).abs() <= 5,
        "24 hours by default"
    );
    assert!(link["max_downloads"].is_null());

    // Only a hash of the token is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM share_links")
        .fetch_all(&app.state.db().pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&token));

    let res = fetch_shared(&app, &token, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::ACCEPT_RANGES], "none");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert!(res.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("report.txt"));
    assert!(res.bytes().await.unwrap() == bytes, "content differs");

    // A range request still gets (and counts as) the whole file.
    let res = new_client()
        .get(app.url(&format!("/api/v1/files/shared/{token}")))
        .header(header::RANGE, "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().len(), bytes.len());

    let listed = links(&app, &alice, &id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["download_count"], 2);
    assert_eq!(listed[0]["status"], "active");
    assert_eq!(listed[0]["has_password"], false);
    assert!(listed[0].get("share_token").is_none() && listed[0].get("token_hash").is_none());
    let file: Value = app
        .get_bearer(&format!("/api/v1/files/{id}"), &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file["download_count"], 2);
    assert_eq!(audit_count(&app, "share.create").await, 1);
    let by_link: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'share.download' AND actor_id IS NULL \
         AND target = $1 AND detail = $2 AND ip = '127.0.0.1'",
    )
    .bind(&id)
    .bind(format!("link={}", listed[0]["id"].as_str().unwrap()))
    .fetch_one(&app.state.db().pool)
    .await
    .unwrap();
    assert_eq!(
        by_link, 2,
        "each download by link is audited with the link and the IP"
    );
}

#[tokio::test]
async fn link_settings_are_checked() {
    let Shared {
        app,
        alice,
        bob,
        id,
        ..
    } = shared_file(|_| {}).await;
    let in_hours = |h: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::hours(h))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    for bad in [
        json!({"expires_hours": 0}),
        json!({"expires_hours": 721}),
        json!({"expires_at": in_hours(-1)}),
        json!({"expires_at": in_hours(30 * 24 + 1)}),
        json!({"expires_at": "next tuesday"}),
        json!({"expires_hours": 2, "expires_at": in_hours(2)}),
        json!({"max_downloads": 0}),
        json!({"max_downloads": -1}),
        json!({"max_downloads": 1_000_001}),
        json!({"max_downloads": 2_147_483_648u64}),
    ] {
        let res = app.share(&alice, &id, bad.clone()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(
        error_code(
            app.share(&alice, &id, json!({"expires_hours": 0})).await,
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .await,
        "validation_error"
    );

    let link = app
        .share_ok(
            &alice,
            &id,
            json!({"expires_hours": 720, "max_downloads": 5}),
        )
        .await;
    let most = app
        .share_ok(&alice, &id, json!({"max_downloads": 1_000_000}))
        .await;
    assert_eq!(most["max_downloads"], 1_000_000);
    assert!((unix(&link["expires_at"]) - (now() + 720 * 3600)).abs() <= 5);
    assert_eq!(link["max_downloads"], 5);
    let at = in_hours(3);
    let link = app.share_ok(&alice, &id, json!({"expires_at": at})).await;
    assert!((unix(&link["expires_at"]) - (now() + 3 * 3600)).abs() <= 5);
    assert_eq!(
        links(&app, &alice, &id).await.len(),
        3,
        "several links per file"
    );

    // Someone else's file, or none, is 404 for every sharing route.
    let res = app.share(&bob, &id, json!({})).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let res = app.share(&alice, "no-such-file", json!({})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .get_bearer(&format!("/api/v1/files/{id}/shares"), &bob)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .delete_bearer(
            &format!("/api/v1/files/{id}/share/{}", token_of(&link)),
            &bob,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        fetch_shared(&app, &token_of(&link), None).await.status(),
        StatusCode::OK
    );
    // Admins may share anyone's file.
    let admin = app.login("admin").await.access;
    app.share_ok(&admin, &id, json!({})).await;
}

#[tokio::test]
async fn unknown_revoked_expired_and_used_up_links_are_refused() {
    let Shared {
        app,
        alice,
        id,
        bytes,
        ..
    } = shared_file(|_| {}).await;
    let res = fetch_shared(&app, "not-a-token-at-all", None).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");

    // Revoked, by token or by id; revoking again changes nothing (204, audited once).
    let by_token = token_of(&app.share_ok(&alice, &id, json!({})).await);
    let by_id = app.share_ok(&alice, &id, json!({})).await;
    let path = |key: &str| format!("/api/v1/files/{id}/share/{key}");
    assert_eq!(
        app.delete_bearer(&path(&by_token), &alice).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete_bearer(by_id["id"].as_str().map(path).unwrap().as_str(), &alice)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete_bearer(&path(&by_token), &alice).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete_bearer(&path("no-such-link"), &alice)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    for token in [by_token, token_of(&by_id)] {
        let res = fetch_shared(&app, &token, None).await;
        assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "link_revoked");
    }
    assert_eq!(audit_count(&app, "share.revoke").await, 2);

    // Expired.
    let expired = app.share_ok(&alice, &id, json!({"expires_hours": 1})).await;
    sqlx::query("UPDATE share_links SET expires_at = $1 WHERE id = $2")
        .bind(now() - 1)
        .bind(expired["id"].as_str().unwrap())
        .execute(&app.state.db().pool)
        .await
        .unwrap();
    let res = fetch_shared(&app, &token_of(&expired), None).await;
    assert_eq!(error_code(res, StatusCode::GONE).await, "link_expired");

    // Used up.
    let once = token_of(&app.share_ok(&alice, &id, json!({"max_downloads": 1})).await);
    let res = fetch_shared(&app, &once, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap() == bytes);
    let res = fetch_shared(&app, &once, None).await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "download_limit_reached"
    );

    let mut statuses: Vec<String> = links(&app, &alice, &id)
        .await
        .iter()
        .map(|l| l["status"].as_str().unwrap().to_owned())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["expired", "revoked", "revoked", "used_up"]);

    // Deleting the file takes its links with it.
    let live = token_of(&app.share_ok(&alice, &id, json!({})).await);
    assert_eq!(
        app.delete_bearer(&format!("/api/v1/files/{id}"), &alice)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let res = fetch_shared(&app, &live, None).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
}

#[tokio::test]
async fn a_password_protected_link_needs_the_password_and_limits_guesses() {
    let Shared {
        app,
        alice,
        id,
        bytes,
        ..
    } = shared_file(|s| {
        s.rates.login_per_min = 3;
        s.connections.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let link = app
        .share_ok(&alice, &id, json!({"password": "open sesame"}))
        .await;
    let token = token_of(&link);
    assert_eq!(links(&app, &alice, &id).await[0]["has_password"], true);
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM share_links")
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$"));

    let res = fetch_shared(&app, &token, None).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "password_required"
    );
    let res = fetch_shared(&app, &token, Some("open sesam")).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "wrong_password"
    );
    // The right password never counts against the guesses: the owner's scripts and the
    // recipients who know it use the link as often as they like.
    for _ in 0..5 {
        let res = fetch_shared(&app, &token, Some("open sesame")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.bytes().await.unwrap() == bytes);
    }
    assert_eq!(links(&app, &alice, &id).await[0]["download_count"], 5);
    assert_eq!(audit_count(&app, "share.password_failed").await, 1);

    // Three wrong ones within the minute from one client are the most: then that client is
    // refused, even with the right one...
    for _ in 0..2 {
        let res = fetch_shared(&app, &token, Some("guess")).await;
        assert_eq!(
            error_code(res, StatusCode::UNAUTHORIZED).await,
            "wrong_password"
        );
    }
    let res = fetch_shared(&app, &token, Some("open sesame")).await;
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
    // ...while the guesser has not locked anyone else out.
    let res = new_client()
        .get(app.url(&format!("/api/v1/files/shared/{token}")))
        .header("X-Share-Password", "open sesame")
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Failed attempts did not count as downloads.
    assert_eq!(links(&app, &alice, &id).await[0]["download_count"], 6);
}

/// A protected link says whether it was revoked, has expired or is used up only to whoever
/// gives its password: before it, every link asks for the password alike.
#[tokio::test]
async fn a_protected_link_tells_its_state_only_after_the_password() {
    let Shared { app, alice, id, .. } = shared_file(|_| {}).await;
    let protected = |extra: Value| {
        let mut body = json!({"password": "open sesame"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let revoked = app.share_ok(&alice, &id, protected(json!({}))).await;
    let res = app
        .delete_bearer(
            &format!("/api/v1/files/{id}/share/{}", token_of(&revoked)),
            &alice,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let expired = app.share_ok(&alice, &id, protected(json!({}))).await;
    sqlx::query("UPDATE share_links SET expires_at = 1 WHERE id = $1")
        .bind(expired["id"].as_str().unwrap())
        .execute(&app.state.db().pool)
        .await
        .unwrap();
    let used_up = app
        .share_ok(&alice, &id, protected(json!({"max_downloads": 1})))
        .await;
    let res = fetch_shared(&app, &token_of(&used_up), Some("open sesame")).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap();

    for (link, status, code, heading) in [
        (
            &revoked,
            StatusCode::NOT_FOUND,
            "link_revoked",
            "Link revoked",
        ),
        (&expired, StatusCode::GONE, "link_expired", "Link expired"),
        (
            &used_up,
            StatusCode::FORBIDDEN,
            "download_limit_reached",
            "Download limit reached",
        ),
    ] {
        let token = token_of(link);
        let res = fetch_shared(&app, &token, None).await;
        assert_eq!(
            error_code(res, StatusCode::UNAUTHORIZED).await,
            "password_required",
            "{code}"
        );
        let res = fetch_shared(&app, &token, Some("guess")).await;
        assert_eq!(
            error_code(res, StatusCode::UNAUTHORIZED).await,
            "wrong_password",
            "{code}"
        );
        let res = fetch_shared(&app, &token, Some("open sesame")).await;
        assert_eq!(error_code(res, status).await, code);
        // The recipient's page asks for the password, and says nothing else.
        let html = new_client()
            .get(app.url(&format!("/s/{token}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("recipient-password"), "{code}: {html}");
        assert!(!html.contains(heading), "{code}: told before the password");
        // The page's password form, then the page: the right password tells the state.
        let browser = new_client();
        let res = browser
            .post(app.url(&format!("/s/{token}/download")))
            .header("origin", &app.base)
            .form(&[("password", "open sesame")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{code}");
        let (_, html) = app.page(&browser, &format!("/s/{token}")).await;
        assert!(html.contains(heading), "{code}: {html}");
    }
}

#[tokio::test]
async fn links_to_unscanned_or_infected_files_refuse_and_count_nothing() {
    let Shared { app, alice, id, .. } = shared_file(|s| s.scanning.worker = false).await;
    let token = token_of(&app.share_ok(&alice, &id, json!({"max_downloads": 1})).await);
    let res = fetch_shared(&app, &token, None).await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "scan_pending");
    assert_eq!(links(&app, &alice, &id).await[0]["download_count"], 0);

    let eicar = coffer::server::scanner::EICAR.to_vec();
    let bad = app.upload_ok(&alice, "eicar.txt", eicar).await;
    let bad_id = bad["id"].as_str().unwrap();
    let bad_token = token_of(&app.share_ok(&alice, bad_id, json!({})).await);
    app.run_scans().await;
    let res = fetch_shared(&app, &bad_token, None).await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "file_infected"
    );

    // Once clean, the one allowed download is still there.
    assert_eq!(
        fetch_shared(&app, &token, None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_links_page_reloads_itself_while_the_scan_runs() {
    let Shared { app, alice, id, .. } = shared_file(|s| s.scanning.worker = false).await;
    let token = token_of(&app.share_ok(&alice, &id, json!({})).await);
    let page = || async {
        let (status, html) = app.page(&new_client(), &format!("/s/{token}")).await;
        assert_eq!(status, StatusCode::OK);
        html
    };
    // Sent without the wasm, the page does its own checking again: every 3 s in HTML.
    let html = page().await;
    assert!(html.contains("Still being scanned"), "{html}");
    assert!(
        html.contains(r#"<meta http-equiv="refresh" content="3""#),
        "{html}"
    );
    assert!(!html.contains("recipient-download"), "{html}");

    app.run_scans().await;
    let html = page().await;
    assert!(html.contains("recipient-download"), "{html}");
    assert!(
        !html.contains("http-equiv"),
        "a clean file's page stays put: {html}"
    );
}

/// The recipient's page downloads in two steps: its form clears the download and sends the
/// browser back to the page, which says "Download started" with what is left and fetches it.
/// A GET alone (a link previewer, a prefetch) never starts, nor counts, one.
#[tokio::test]
async fn the_page_says_a_download_started_and_only_its_form_uses_one_up() {
    let Shared {
        app,
        alice,
        id,
        bytes,
        ..
    } = shared_file(|_| {}).await;
    let token = token_of(&app.share_ok(&alice, &id, json!({"max_downloads": 1})).await);
    let (page, download) = (format!("/s/{token}"), format!("/s/{token}/download"));

    let previewer = new_client();
    let res = previewer.get(app.url(&download)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], page.as_str());
    assert_eq!(links(&app, &alice, &id).await[0]["download_count"], 0);

    // A browser with no session: the page's flash travels in a signed cookie.
    let browser = new_client();
    let res = browser
        .post(app.url(&download))
        .header("origin", &app.base)
        .form(&[("file_id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], page.as_str());
    assert_eq!(links(&app, &alice, &id).await[0]["download_count"], 0);
    let (status, html) = app.page(&browser, &page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Download of report.txt started · no downloads left"),
        "{html}"
    );
    assert!(html.contains(&format!(
        r#"<meta http-equiv="refresh" content="0;url={download}""#
    )));
    // The last download: nothing more can start from this page.
    assert!(html.contains("That was the last download this link allows"));
    assert!(
        html.contains(r#"data-testid="recipient-download" disabled"#),
        "{html}"
    );
    let res = browser.get(app.url(&download)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("report.txt"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
    assert_eq!(links(&app, &alice, &id).await[0]["download_count"], 1);
    let (status, html) = app.page(&browser, &page).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Download limit reached"), "{html}");

    // A ticket cleared while the link could still be used is checked again when redeemed.
    let second = app.share_ok(&alice, &id, json!({"max_downloads": 1})).await;
    let token = token_of(&second);
    let (page, download) = (format!("/s/{token}"), format!("/s/{token}/download"));
    let (slow, quick) = (new_client(), new_client());
    for browser in [&slow, &quick] {
        let res = browser
            .post(app.url(&download))
            .header("origin", &app.base)
            .form::<[(&str, &str); 0]>(&[])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    let res = quick.get(app.url(&download)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = slow.get(app.url(&download)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, html) = app.page(&slow, &page).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Download limit reached"), "{html}");
    let uses = links(&app, &alice, &id).await;
    let second = uses.iter().find(|l| l["id"] == second["id"]).unwrap();
    assert_eq!(second["download_count"], 1);
}

#[tokio::test]
async fn concurrent_downloads_never_pass_the_limit() {
    let Shared {
        app,
        alice,
        id,
        bytes,
        ..
    } = shared_file(|s| s.rates.download_per_min = 0).await;
    let token = token_of(&app.share_ok(&alice, &id, json!({"max_downloads": 3})).await);
    let attempts = (0..20).map(|_| {
        let url = app.url(&format!("/api/v1/files/shared/{token}"));
        async move {
            let res = Client::new().get(url).send().await.unwrap();
            let status = res.status();
            let body = res.bytes().await.unwrap();
            (status, body)
        }
    });
    let results = futures::future::join_all(attempts).await;
    let ok: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .collect();
    assert_eq!(ok.len(), 3, "exactly max_downloads succeed");
    assert!(ok.iter().all(|(_, body)| *body == bytes));
    assert!(results
        .iter()
        .all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::FORBIDDEN));
    assert_eq!(links(&app, &alice, &id).await[0]["download_count"], 3);
}

/// Bodies that are not JSON, or not the JSON asked for, answer `{"detail","code"}` like every
/// other API error (axum's own rejections are plain text).
#[tokio::test]
async fn malformed_share_and_signed_url_bodies_answer_in_the_error_format() {
    let Shared { app, alice, id, .. } = shared_file(|_| {}).await;
    for path in ["share", "signed-url"] {
        let url = app.url(&format!("/api/v1/files/{id}/{path}"));
        for (content_type, body) in [
            ("application/json", "{not json"),
            ("application/json", "[1, 2]"),
            ("text/plain", "{}"),
        ] {
            let res = app
                .client
                .post(&url)
                .bearer_auth(&alice)
                .header(header::CONTENT_TYPE, content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(
                error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
                "validation_error",
                "{path} with {content_type} {body}"
            );
        }
    }
}

async fn signed_url(app: &TestApp, token: &str, file_id: &str, body: Option<Value>) -> Response {
    let mut req = app
        .client
        .post(app.url(&format!("/api/v1/files/{file_id}/signed-url")))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// The path and query of a pre-signed URL, on this test's server.
fn local(app: &TestApp, url: &str) -> String {
    app.url(url.strip_prefix(&app.settings.site.public_url).unwrap())
}

#[tokio::test]
async fn pre_signed_urls_download_until_they_expire_and_resist_tampering() {
    let Shared {
        app,
        alice,
        bob,
        id,
        bytes,
    } = shared_file(|_| {}).await;
    let res = signed_url(&app, &alice, &id, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let signed: Value = res.json().await.unwrap();
    let url = signed["url"].as_str().unwrap();
    assert!(url.starts_with(&format!(
        "{}/api/v1/files/token-download?token=",
        app.settings.site.public_url
    )));
    assert!((unix(&signed["expires_at"]) - (now() + 300)).abs() <= 5);

    let res = new_client().get(local(&app, url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap() == bytes);
    let res = new_client()
        .get(local(&app, url))
        .header(header::RANGE, "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert!(res.bytes().await.unwrap() == bytes[100..200]);

    // Any change to the file id, the expiry or the signature is refused.
    let token = url.split("token=").nth(1).unwrap().to_owned();
    let (file_part, rest) = token.split_once('.').unwrap();
    let (expiry, tag) = rest.split_once('.').unwrap();
    let other = app.upload_ok(&alice, "other.txt", b"other".to_vec()).await;
    let flipped_tag = format!(
        "{}{}",
        &tag[..tag.len() - 2],
        if tag.ends_with('A') { "BA" } else { "AA" }
    );
    for forged in [
        format!("{}.{rest}", other["id"].as_str().unwrap()),
        format!(
            "{file_part}.{}.{tag}",
            expiry.parse::<i64>().unwrap() + 3600
        ),
        format!("{file_part}.{expiry}.{flipped_tag}"),
        format!("{file_part}.{expiry}"),
        "garbage".to_owned(),
    ] {
        let res = new_client()
            .get(app.url("/api/v1/files/token-download"))
            .query(&[("token", &forged)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::UNAUTHORIZED).await,
            "invalid_token",
            "{forged}"
        );
    }

    // Bounds, and who may ask.
    for bad in [0, 301] {
        let res = signed_url(&app, &alice, &id, Some(json!({"expires_seconds": bad}))).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(
        signed_url(&app, &bob, &id, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let admin = app.login("admin").await.access;
    assert_eq!(
        signed_url(&app, &admin, &id, None).await.status(),
        StatusCode::OK
    );

    // Expired.
    let res = signed_url(&app, &alice, &id, Some(json!({"expires_seconds": 1}))).await;
    let short: Value = res.json().await.unwrap();
    app.state.clock().advance(2);
    let res = new_client()
        .get(local(&app, short["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::GONE).await, "link_expired");

    // A deleted file's URL finds nothing.
    app.delete_bearer(&format!("/api/v1/files/{id}"), &alice)
        .await;
    let res = new_client().get(local(&app, url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&app, "file.signed_url").await, 3);
    // The whole download counts; the range from byte 100 does not.
    assert_eq!(audit_count(&app, "file.signed_url_download").await, 1);
}

#[tokio::test]
async fn a_disabled_owners_links_and_signed_urls_stop_until_re_enabled() {
    let Shared {
        app,
        alice,
        id,
        bytes,
        ..
    } = shared_file(|_| {}).await;
    let admin = app.login("admin").await.access;
    let alice_id = app.me(&alice).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = token_of(&app.share_ok(&alice, &id, json!({})).await);
    let signed: Value = signed_url(&app, &alice, &id, None)
        .await
        .json()
        .await
        .unwrap();
    let url = local(&app, signed["url"].as_str().unwrap());

    let res = app
        .patch_user(&admin, &alice_id, &json!({"is_active": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // The same answers as for a link or file that does not exist.
    assert_eq!(
        error_code(fetch_shared(&app, &link, None).await, StatusCode::NOT_FOUND).await,
        "not_found"
    );
    let res = new_client().get(&url).send().await.unwrap();
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let page = new_client()
        .get(app.url(&format!("/s/{link}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);

    let res = app
        .patch_user(&admin, &alice_id, &json!({"is_active": true}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = fetch_shared(&app, &link, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap() == bytes);
    let res = new_client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_password_protected_link_shows_nothing_before_the_password() {
    let Shared { app, alice, id, .. } = shared_file(|_| {}).await;
    let link = token_of(
        &app.share_ok(
            &alice,
            &id,
            json!({"password": "open sesame", "max_downloads": 3}),
        )
        .await,
    );
    let res = new_client()
        .get(app.url(&format!("/s/{link}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("recipient-password"), "asks for the password");
    for secret in [
        "report.txt",
        "alice",
        "146.5 KiB",
        "Downloads left",
        "Expires",
    ] {
        assert!(!html.contains(secret), "the page shows {secret:?}");
    }
}

#[tokio::test]
async fn answers_that_carry_tokens_are_never_cached() {
    let Shared { app, alice, id, .. } = shared_file(|_| {}).await;
    let login = app
        .login_with("bob@example.org", crate::helpers::PASSWORD)
        .await;
    assert_eq!(login.headers()["cache-control"], "no-store");
    let refresh_token = login.json::<Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refreshed = app.refresh(&refresh_token).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    assert_eq!(refreshed.headers()["cache-control"], "no-store");
    let created = app.share(&alice, &id, json!({})).await;
    assert_eq!(created.headers()["cache-control"], "no-store");
    let signed = signed_url(&app, &alice, &id, None).await;
    assert_eq!(signed.headers()["cache-control"], "no-store");
}

/// A link made with a password takes an argon2 hash; a file deleted meanwhile is gone for the
/// link too: 404, never a 500 from the database refusing a link to a missing file.
#[tokio::test]
async fn a_file_deleted_while_its_link_is_made_answers_404() {
    let app = spawn_app_with(|_| {}).await;
    let alice = app.user("alice").await.access;
    let mut refused = 0;
    for round in 0..5 {
        let file = app
            .upload_ok(&alice, &format!("r{round}.txt"), b"hello".to_vec())
            .await;
        let id = file["id"].as_str().unwrap().to_owned();
        let creating = {
            let (client, url, alice) = (
                app.client.clone(),
                app.url(&format!("/api/v1/files/{id}/share")),
                alice.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(alice)
                    .json(&json!({"password": "a link password"}))
                    .send()
                    .await
                    .unwrap()
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        let res = app
            .delete_bearer(&format!("/api/v1/files/{id}"), &alice)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = creating.await.unwrap();
        match res.status() {
            StatusCode::CREATED => {}
            StatusCode::NOT_FOUND => refused += 1,
            other => panic!("round {round}: {other} {}", res.text().await.unwrap()),
        }
    }
    assert!(refused > 0, "the delete never landed during the hash");
}
