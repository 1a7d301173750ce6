//! Storage quotas: the installation's default (`COFFER_USER_QUOTA_BYTES`), a user's own set by an
//! admin, checked while uploads stream so that concurrent uploads cannot pass it together.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::{json, Value};

use coffer::server::db;

use crate::helpers::{audit_count, error_code, spawn_app_with, TestApp};

const KIB: u64 = 1024;

/// Sends `size` bytes of a text file, `chunks` pieces with a pause between them, so that
/// several such uploads are in flight at the same time.
async fn slow_upload(
    app: &TestApp,
    token: &str,
    name: &str,
    size: usize,
    chunks: usize,
) -> reqwest::Response {
    let piece = size / chunks;
    let body = futures::stream::iter(0..chunks).then(move |i| async move {
        tokio::time::sleep(Duration::from_millis(if i == 0 { 0 } else { 40 })).await;
        Ok::<_, std::io::Error>(Bytes::from(vec![b'q'; piece]))
    });
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body))
        .file_name(name.to_owned());
    app.client
        .post(app.url("/api/v1/files/upload"))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

use futures::StreamExt;

async fn admin_users(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app
        .get_bearer(&format!("/api/v1/admin/users{query}"), token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn an_upload_past_the_default_quota_is_refused_with_413_naming_it_and_keeps_nothing() {
    let app = spawn_app_with(|s| s.uploads.user_quota_bytes = Some(100 * KIB)).await;
    app.register("admin").await;
    let alice = app.user("alice").await;
    app.upload_ok(&alice.access, "first.txt", vec![b'a'; 60 * 1024])
        .await;
    let blobs = app.blob_count().await;

    let res = app
        .upload(&alice.access, "second.txt", vec![b'b'; 60 * 1024])
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "quota_exceeded");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("storage quota of 100 KiB") && detail.contains("60 KiB already in use"),
        "{detail}"
    );
    assert_eq!(app.list_files(&alice.access).await.len(), 1);
    assert_eq!(
        app.blob_count().await,
        blobs,
        "no blob of the refused upload"
    );
    assert_eq!(app.pending_uploads().await, 0, "its reservation is gone");

    // What is left still fits, exactly.
    app.upload_ok(&alice.access, "rest.txt", vec![b'c'; 40 * 1024])
        .await;
    let res = app.upload(&alice.access, "one-more.txt", vec![b'd']).await;
    assert_eq!(
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
        "quota_exceeded"
    );
}

/// Eight uploads of 256 KiB at once against a 1 MiB quota: each reserves its bytes as they
/// arrive, so whatever the interleaving, what is stored never passes the quota, and every
/// refused upload leaves nothing behind.
#[tokio::test]
async fn concurrent_uploads_cannot_pass_the_quota_together() {
    let app = spawn_app_with(|s| {
        s.uploads.user_quota_bytes = Some(1024 * KIB);
        s.rates.upload_per_min = 0;
        s.uploads.max_per_user = 0;
    })
    .await;
    app.register("admin").await;
    let alice = app.user("alice").await;
    let uploads = (0..8).map(|i| {
        let (app, token) = (&app, alice.access.clone());
        async move { slow_upload(app, &token, &format!("part{i}.txt"), 256 * 1024, 32).await }
    });
    let results = futures::future::join_all(uploads).await;
    let mut stored = 0;
    for res in results {
        match res.status() {
            StatusCode::CREATED => stored += 1,
            status => {
                assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["code"], "quota_exceeded");
            }
        }
    }
    let files = app.list_files(&alice.access).await;
    let bytes: u64 = files.iter().map(|f| f["size"].as_u64().unwrap()).sum();
    assert!(bytes <= 1024 * KIB, "{bytes} bytes stored past the quota");
    assert!(stored >= 1, "at least the first upload fits");
    assert_eq!(files.len(), stored);
    assert_eq!(app.blob_count().await, stored);
    assert_eq!(app.pending_uploads().await, 0);
}

#[tokio::test]
async fn an_admin_gives_a_user_a_quota_of_their_own_or_none_or_the_default_again() {
    let app = spawn_app_with(|s| s.uploads.user_quota_bytes = Some(10 * KIB)).await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let bob_row = |users: Vec<Value>| users.into_iter().find(|u| u["username"] == "bob").unwrap();

    let row = bob_row(admin_users(&app, &admin.access, "").await);
    assert_eq!(
        (row["quota_bytes"].as_u64(), &row["quota_is_default"]),
        (Some(10 * KIB), &json!(true))
    );
    let res = app
        .upload(&bob.access, "big.txt", vec![b'x'; 20 * 1024])
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // His own, larger quota.
    let res = app
        .patch_user(&admin.access, &bob.id, &json!({"quota_bytes": 30 * 1024}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let row: Value = res.json().await.unwrap();
    assert_eq!(
        (row["quota_bytes"].as_u64(), &row["quota_is_default"]),
        (Some(30 * KIB), &json!(false))
    );
    app.upload_ok(&bob.access, "big.txt", vec![b'x'; 20 * 1024])
        .await;
    let row = bob_row(admin_users(&app, &admin.access, "").await);
    assert_eq!(
        (row["used_bytes"].as_u64(), row["file_count"].as_u64()),
        (Some(20 * KIB), Some(1))
    );

    // No quota at all, whatever the default.
    let res = app
        .patch_user(&admin.access, &bob.id, &json!({"quota_bytes": null}))
        .await;
    let row: Value = res.json().await.unwrap();
    assert_eq!(
        (&row["quota_bytes"], &row["quota_is_default"]),
        (&Value::Null, &json!(false))
    );
    app.upload_ok(&bob.access, "bigger.txt", vec![b'y'; 40 * 1024])
        .await;

    // Back to the default: he is over it now, so nothing more fits, and nothing is lost.
    let res = app
        .patch_user(&admin.access, &bob.id, &json!({"quota_bytes": "default"}))
        .await;
    let row: Value = res.json().await.unwrap();
    assert_eq!(
        (row["quota_bytes"].as_u64(), &row["quota_is_default"]),
        (Some(10 * KIB), &json!(true))
    );
    let res = app.upload(&bob.access, "tiny.txt", vec![b'z'; 10]).await;
    assert_eq!(
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
        "quota_exceeded"
    );
    assert_eq!(app.list_files(&bob.access).await.len(), 2);

    for bad in [
        json!({"quota_bytes": "none"}),
        json!({"quota_bytes": 1.5}),
        json!({"quota_bytes": -1}),
        json!({"quota_bytes": (1u64 << 50) + 1}),
        json!({"quota_bytes": "10 GB"}),
    ] {
        let res = app.patch_user(&admin.access, &bob.id, &bad).await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_error",
            "{bad}"
        );
    }
    let res = app
        .patch_user(&bob.access, &bob.id, &json!({"quota_bytes": null}))
        .await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await, "forbidden");
    assert_eq!(audit_count(&app, "admin.quota_set").await, 3);
}

#[tokio::test]
async fn without_any_quota_uploads_are_limited_by_size_alone() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.user("admin").await;
    app.upload_ok(&admin.access, "a.txt", vec![b'a'; 300 * 1024])
        .await;
    let row = admin_users(&app, &admin.access, "").await.remove(0);
    assert_eq!(
        (&row["quota_bytes"], &row["quota_is_default"]),
        (&Value::Null, &json!(true))
    );
    assert_eq!(row["used_bytes"].as_u64(), Some(300 * KIB));
}

#[tokio::test]
async fn the_files_page_shows_storage_against_the_quota() {
    let app = spawn_app_with(|s| s.uploads.user_quota_bytes = Some(1024 * KIB)).await;
    app.register("admin").await;
    let alice = app.user("alice").await;
    app.upload_ok(&alice.access, "a.txt", vec![b'a'; 256 * 1024])
        .await;
    let browser = app.browser_login("alice").await;
    let (status, html) = app.page(&browser, "/files").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("You use 256 KiB of your 1 MiB quota."),
        "{html}"
    );
    assert!(html.contains(r#"aria-valuenow="25""#), "a bar at 25%");
}

/// The reservation itself, raced: twenty uploads of one user each ask for 100 KiB of a 1 MiB
/// quota at the same moment. Reservations take turns on the user's row, so exactly ten get it
/// (on PostgreSQL, without that turn-taking, several read the same total and more than ten do).
#[tokio::test]
async fn racing_reservations_never_hold_more_than_the_quota() {
    let app = spawn_app_with(|s| s.uploads.user_quota_bytes = Some(1024 * KIB)).await;
    app.register("admin").await;
    let alice = app.user("alice").await;
    let pool = app.state.db().pool.clone();
    let now = app.state.now();
    let keys: Vec<String> = (0..20).map(|i| format!("race-{i}")).collect();
    for key in &keys {
        db::files::begin_upload(&pool, key, &alice.id, now)
            .await
            .unwrap();
    }
    let reservations = keys.iter().map(|key| {
        let (pool, owner) = (pool.clone(), alice.id.clone());
        let key = key.clone();
        tokio::spawn(async move {
            let check = db::files::QuotaCheck {
                owner_id: &owner,
                blob_key: &key,
                default_quota: Some(1024 * 1024),
                live_since: now - 60,
                now,
            };
            db::files::reserve(&pool, &check, 100 * 1024, 0)
                .await
                .unwrap()
        })
    });
    let outcomes = futures::future::join_all(reservations).await;
    let held = outcomes
        .into_iter()
        .filter(|o| matches!(o.as_ref().unwrap(), db::files::Reserved::Held(_)))
        .count();
    assert_eq!(held, 10, "1 MiB holds ten reservations of 100 KiB");
    let total: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(reserved_bytes), 0) AS BIGINT) FROM blob_uploads",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(total, 10 * 100 * 1024);
}
