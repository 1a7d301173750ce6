//! Resumable uploads (tus 1.0.0 at `/api/v1/uploads`): the protocol's answers, and the upload
//! rules (limit, quota, type, owner, encryption, "nothing visible until complete") kept across
//! requests, instances and interruptions.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use coffer::server::service::files::resumable;

use crate::{
    client::{error_code, text, tus_metadata, tuspy},
    helpers::{spawn_app, spawn_app_with, TestApp},
};

const KIB: usize = 1024;

fn offset_of(res: &reqwest::Response) -> u64 {
    res.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn id_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap()
}

/// The file's bytes, once its scan passed.
async fn downloaded(app: &TestApp, token: &str, id: &str) -> Vec<u8> {
    assert_eq!(app.scanned_status(token, id).await, "clean");
    let res = app.download(token, id).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap().to_vec()
}

async fn listed(app: &TestApp, token: &str, id: &str) -> bool {
    app.list_files(token).await.iter().any(|f| f["id"] == id)
}

/// The `resumable_uploads` column `carried` of an upload, as stored.
async fn carried(app: &TestApp, id: &str) -> Option<Vec<u8>> {
    sqlx::query_scalar("SELECT carried FROM resumable_uploads WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn discovery_says_what_the_server_supports_without_signing_in() {
    let app = spawn_app_with(|s| s.uploads.max_bytes = 5_000_000).await;
    let res = app.anonymous(Method::OPTIONS, "/api/v1/uploads").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let h = res.headers();
    assert_eq!(h["tus-resumable"], "1.0.0");
    assert_eq!(h["tus-version"], "1.0.0");
    assert_eq!(h["tus-max-size"], "5000000");
    assert_eq!(h["tus-checksum-algorithm"], "sha256");
    let extensions: Vec<&str> = h["tus-extension"].to_str().unwrap().split(',').collect();
    for needed in [
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    ] {
        assert!(extensions.contains(&needed), "{needed} in {extensions:?}");
    }
}

#[tokio::test]
async fn a_request_without_tus_1_0_0_is_refused_with_the_version_spoken() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    for version in [None, Some("0.2.2")] {
        let mut req = app
            .client
            .post(app.url("/api/v1/uploads"))
            .bearer_auth(&alice.access)
            .header("upload-length", 10)
            .header("upload-metadata", tus_metadata("a.txt"));
        if let Some(v) = version {
            req = req.header("tus-resumable", v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.headers()["tus-version"], "1.0.0");
        assert_eq!(res.headers()["tus-resumable"], "1.0.0");
        assert_eq!(
            error_code(res, StatusCode::PRECONDITION_FAILED).await,
            "unsupported_tus_version"
        );
    }
    // No upload was made.
    assert_eq!(app.blob_count().await, 0);
    assert_eq!(app.pending_uploads().await, 0);
}

#[tokio::test]
async fn a_file_sent_in_uneven_pieces_appears_only_when_whole_and_reads_back_exactly() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let content = text(300_000);
    let path = app
        .tus_create_ok(&alice.access, "notes.txt", content.len() as u64)
        .await;
    assert!(path.starts_with("/api/v1/uploads/"));
    let id = id_of(&path).to_owned();
    // Pieces that cut segments (64 KiB) anywhere: 1 byte, up to the sniffing length, across a
    // segment boundary, a whole segment, and the rest.
    let cuts = [0, 1, 8192, 8194, 65_538, 131_074, 231_074, content.len()];
    for window in cuts.windows(2) {
        let (from, to) = (window[0], window[1]);
        assert!(
            !listed(&app, &alice.access, &id).await,
            "listed before the end"
        );
        assert_eq!(app.tus_offset(&alice.access, &path).await, from as u64);
        let res = app
            .tus_patch(
                &alice.access,
                &path,
                from as u64,
                content[from..to].to_vec(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "PATCH {from}..{to}");
        assert_eq!(offset_of(&res), to as u64);
        assert_eq!(res.headers()["tus-resumable"], "1.0.0");
        if to < content.len() {
            assert!(res.headers().contains_key("upload-expires"));
            // What waits for the next request is sealed: no run of the file's bytes in it.
            let kept = carried(&app, &id).await.expect("carried state");
            let tail = &content[to.saturating_sub(64)..to];
            assert!(
                !kept.windows(16).any(|w| tail.windows(16).any(|t| t == w)),
                "plaintext in the carried state after {to}"
            );
        }
    }
    assert!(listed(&app, &alice.access, &id).await);
    let file: Value = app
        .get_bearer(&format!("/api/v1/files/{id}"), &alice.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file["filename"], "notes.txt");
    assert_eq!(file["size"], content.len());
    assert_eq!(file["mime_type"], "text/plain");
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&content)));
    assert!(downloaded(&app, &alice.access, &id).await == content);
    // A range across the parts the requests stored.
    let res = app
        .download_range(&alice.access, &id, "bytes=60000-140000")
        .await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert!(res.bytes().await.unwrap() == content[60_000..=140_000]);
    assert_eq!(app.scanned_status(&alice.access, &id).await, "clean");
    // HEAD still answers for the finished upload: everything is in.
    assert_eq!(
        app.tus_offset(&alice.access, &path).await,
        content.len() as u64
    );
    assert_eq!(app.pending_uploads().await, 0);
    // Deleting the file deletes every part.
    let res = app
        .delete_bearer(&format!("/api/v1/files/{id}"), &alice.access)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.blob_count().await, 0);
}

#[tokio::test]
async fn creation_can_carry_the_first_bytes_and_an_empty_file_is_complete_at_once() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let content = text(100_000);
    let res = app
        .tus(Method::POST, "/api/v1/uploads", &alice.access)
        .header("upload-length", content.len())
        .header("upload-metadata", tus_metadata("first.txt"))
        .header("content-type", "application/offset+octet-stream")
        .body(content[..70_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(offset_of(&res), 70_000);
    let path = res.headers()["location"].to_str().unwrap().to_owned();
    let res = app
        .tus_patch(&alice.access, &path, 70_000, content[70_000..].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(downloaded(&app, &alice.access, id_of(&path)).await == content);

    let path = app.tus_create_ok(&alice.access, "empty.txt", 0).await;
    let file: Value = app
        .get_bearer(&format!("/api/v1/files/{}", id_of(&path)), &alice.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file["size"], 0);
    assert!(downloaded(&app, &alice.access, id_of(&path))
        .await
        .is_empty());
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let create = |length: Option<&str>, metadata: Option<&str>| {
        let mut req = app.tus(Method::POST, "/api/v1/uploads", &alice.access);
        if let Some(length) = length {
            req = req.header("upload-length", length);
        }
        if let Some(metadata) = metadata {
            req = req.header("upload-metadata", metadata);
        }
        req.send()
    };
    let named = tus_metadata("a.txt");
    for (length, metadata) in [
        (None, Some(named.as_str())),
        (Some("-1"), Some(named.as_str())),
        (Some("ten"), Some(named.as_str())),
        (Some("10"), None),
        (Some("10"), Some("filename not-base64!")),
    ] {
        let res = create(length, metadata).await.unwrap();
        assert_eq!(
            error_code(res, StatusCode::BAD_REQUEST).await,
            "bad_upload",
            "{length:?} {metadata:?}"
        );
    }
    let res = app
        .tus(Method::POST, "/api/v1/uploads", &alice.access)
        .header("upload-defer-length", "1")
        .header("upload-metadata", named.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::BAD_REQUEST).await, "bad_upload");

    let content = text(1000);
    let path = app.tus_create_ok(&alice.access, "a.txt", 1000).await;
    // Wrong offset.
    let res = app
        .tus_patch(&alice.access, &path, 5, content.clone())
        .await;
    assert_eq!(
        error_code(res, StatusCode::CONFLICT).await,
        "upload_offset_mismatch"
    );
    // Wrong content type, no offset.
    let res = app
        .tus(Method::PATCH, &path, &alice.access)
        .header("upload-offset", 0)
        .header("content-type", "application/octet-stream")
        .body(content.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "unsupported_type"
    );
    let res = app
        .tus(Method::PATCH, &path, &alice.access)
        .header("content-type", "application/offset+octet-stream")
        .body(content.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::BAD_REQUEST).await, "bad_upload");
    // More than the declared length: nothing of it is kept.
    let res = app.tus_patch(&alice.access, &path, 0, text(1001)).await;
    assert_eq!(
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
        "file_too_large"
    );
    assert_eq!(app.tus_offset(&alice.access, &path).await, 0);
    // The upload still works.
    let res = app
        .tus_patch(&alice.access, &path, 0, content.clone())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(downloaded(&app, &alice.access, id_of(&path)).await == content);
}

#[tokio::test]
async fn a_checksum_that_fails_discards_the_request_with_460() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let content = text(200_000);
    let path = app.tus_create_ok(&alice.access, "sum.txt", 200_000).await;
    let patch = |from: usize, to: usize, digest: String| {
        app.tus(Method::PATCH, &path, &alice.access)
            .header("upload-offset", from)
            .header("content-type", "application/offset+octet-stream")
            .header("upload-checksum", digest)
            .body(content[from..to].to_vec())
            .send()
    };
    let sha = |bytes: &[u8]| format!("sha256 {}", STANDARD.encode(Sha256::digest(bytes)));

    let res = patch(0, 100_000, sha(&content[..100_000])).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = patch(100_000, 200_000, sha(b"something else"))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 460);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "checksum_mismatch");
    assert_eq!(app.tus_offset(&alice.access, &path).await, 100_000);
    let res = patch(
        100_000,
        200_000,
        format!("md5 {}", STANDARD.encode([0u8; 16])),
    )
    .await
    .unwrap();
    assert_eq!(error_code(res, StatusCode::BAD_REQUEST).await, "bad_upload");
    assert_eq!(app.tus_offset(&alice.access, &path).await, 100_000);
    let res = patch(100_000, 200_000, sha(&content[100_000..]))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(downloaded(&app, &alice.access, id_of(&path)).await == content);
}

#[tokio::test]
async fn the_size_limit_and_the_quota_are_checked_when_the_upload_is_created() {
    let app = spawn_app_with(|s| {
        s.uploads.max_bytes = 150 * KIB as u64;
        s.uploads.user_quota_bytes = Some(100 * KIB as u64);
    })
    .await;
    let alice = app.user("alice").await;
    let res = app
        .tus_create(&alice.access, "big.txt", 150 * KIB as u64 + 1)
        .await;
    assert_eq!(
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
        "file_too_large"
    );
    let res = app
        .tus_create(&alice.access, "big.txt", 120 * KIB as u64)
        .await;
    assert_eq!(
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
        "quota_exceeded"
    );
    // An upload holds its whole length from the start, so two cannot pass the quota together.
    let first = app
        .tus_create_ok(&alice.access, "a.txt", 60 * KIB as u64)
        .await;
    let res = app
        .tus_create(&alice.access, "b.txt", 60 * KIB as u64)
        .await;
    assert_eq!(
        error_code(res, StatusCode::PAYLOAD_TOO_LARGE).await,
        "quota_exceeded"
    );
    // Ending the first gives its room back.
    let res = app
        .tus(Method::DELETE, &first, &alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.tus_create_ok(&alice.access, "b.txt", 60 * KIB as u64)
        .await;
    assert_eq!(app.blob_count().await, 0);
}

#[tokio::test]
async fn a_type_not_allowed_or_content_that_lies_about_it_is_refused_with_415() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let res = app.tus_create(&alice.access, "setup.exe", 1000).await;
    assert_eq!(
        error_code(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "unsupported_type"
    );
    // A "PDF" that is text: found once its first bytes are in, and the upload ends there.
    let path = app
        .tus_create_ok(&alice.access, "report.pdf", 300_000)
        .await;
    let res = app.tus_patch(&alice.access, &path, 0, text(100_000)).await;
    assert_eq!(
        error_code(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "unsupported_type"
    );
    let res = app
        .tus(Method::HEAD, &path, &alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.blob_count().await, 0);
    assert_eq!(app.pending_uploads().await, 0);
    assert!(app.list_files(&alice.access).await.is_empty());
}

#[tokio::test]
async fn another_users_upload_is_not_found_whatever_the_method() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let path = app.tus_create_ok(&alice.access, "mine.txt", 1000).await;
    let res = app
        .tus(Method::HEAD, &path, &bob.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.tus_patch(&bob.access, &path, 0, text(1000)).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let res = app
        .tus(Method::DELETE, &path, &bob.access)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    // Without a token at all.
    let res = app
        .client
        .head(app.url(&path))
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.tus_offset(&alice.access, &path).await, 0);
}

#[tokio::test]
async fn termination_deletes_what_was_stored_and_a_finished_upload_is_not_terminated() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let path = app.tus_create_ok(&alice.access, "gone.txt", 300_000).await;
    let res = app.tus_patch(&alice.access, &path, 0, text(200_000)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.blob_count().await, 1);
    let res = app
        .tus(Method::DELETE, &path, &alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .tus(Method::HEAD, &path, &alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.blob_count().await, 0);
    assert_eq!(app.pending_uploads().await, 0);

    let id = app
        .tus_upload(&alice.access, "kept.txt", &text(5000), 5000)
        .await;
    let path = format!("/api/v1/uploads/{id}");
    let res = app
        .tus(Method::DELETE, &path, &alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::CONFLICT).await,
        "upload_complete"
    );
    assert!(listed(&app, &alice.access, &id).await);
}

#[tokio::test]
async fn an_expired_upload_answers_410_and_is_swept_with_its_blob() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let path = app.tus_create_ok(&alice.access, "late.txt", 300_000).await;
    let res = app.tus_patch(&alice.access, &path, 0, text(100_000)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let expires = httpdate::parse_http_date(res.headers()["upload-expires"].to_str().unwrap())
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let hours = (expires - crate::client::now()) as f64 / 3600.0;
    assert!((23.9..=24.0).contains(&hours), "expires in {hours} h");

    sqlx::query("UPDATE resumable_uploads SET expires_at = $1 WHERE id = $2")
        .bind(crate::client::now() - 1)
        .bind(id_of(&path))
        .execute(&app.state.db().pool)
        .await
        .unwrap();
    let res = app
        .tus(Method::HEAD, &path, &alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    let res = app.tus_patch(&alice.access, &path, 100_000, text(10)).await;
    assert_eq!(error_code(res, StatusCode::GONE).await, "upload_expired");

    assert_eq!(resumable::sweep_expired(&app.state).await.unwrap(), 1);
    let res = app
        .tus(Method::HEAD, &path, &alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.blob_count().await, 0);
    assert_eq!(app.pending_uploads().await, 0);
}

#[tokio::test]
async fn one_request_at_a_time_writes_to_an_upload() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let content = text(200_000);
    let path = app.tus_create_ok(&alice.access, "one.txt", 200_000).await;
    let (tx, first) = app.tus_patch_stream(&alice.access, &path, 0);
    tx.send(Ok(Bytes::from(content[..50_000].to_vec())))
        .await
        .unwrap();
    // Wait until the first request holds the upload.
    let mut held = false;
    for _ in 0..200 {
        held = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM resumable_uploads WHERE lease_token IS NOT NULL",
        )
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap()
            == 1;
        if held {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(held, "the first request took the upload");
    let res = app
        .tus_patch(&alice.access, &path, 0, content.clone())
        .await;
    assert_eq!(error_code(res, StatusCode::LOCKED).await, "upload_locked");
    let res = app
        .tus(Method::DELETE, &path, &alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::LOCKED).await, "upload_locked");
    tx.send(Ok(Bytes::from(content[50_000..].to_vec())))
        .await
        .unwrap();
    drop(tx);
    let res = first.await.unwrap().unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(downloaded(&app, &alice.access, id_of(&path)).await == content);
}

#[tokio::test]
async fn a_request_cut_short_keeps_what_arrived_and_the_upload_resumes_from_there() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let content = text(400_000);
    let path = app.tus_create_ok(&alice.access, "cut.txt", 400_000).await;
    let (tx, request) = app.tus_patch_stream(&alice.access, &path, 0);
    for piece in content[..150_000].chunks(50_000) {
        tx.send(Ok(Bytes::from(piece.to_vec()))).await.unwrap();
    }
    // Let the bytes reach the server, then break the connection.
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(Err(std::io::Error::other("network gone")))
        .await
        .unwrap();
    // The client sees its request fail (or, at most, the server's answer to what arrived).
    let _ = request.await.unwrap();
    let mut offset = 0;
    for _ in 0..100 {
        let res = app
            .tus(Method::HEAD, &path, &alice.access)
            .send()
            .await
            .unwrap();
        offset = offset_of(&res);
        if offset == 150_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(offset, 150_000, "the bytes that arrived are kept");
    // Resumed, as a client does after HEAD (the lease of the cut request is given back).
    let res = app
        .tus_patch_when_free(&alice.access, &path, 150_000, &content[150_000..])
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(downloaded(&app, &alice.access, id_of(&path)).await == content);
}

#[tokio::test]
async fn an_upload_carries_on_through_another_instance() {
    let app = spawn_app().await;
    let other = app.another_instance(|_| {}).await;
    let alice = app.user("alice").await;
    let content = text(700_000);
    let path = app.tus_create_ok(&alice.access, "both.txt", 700_000).await;
    let res = app
        .tus_patch(&alice.access, &path, 0, content[..333_333].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(other.tus_offset(&alice.access, &path).await, 333_333);
    let res = other
        .tus_patch(&alice.access, &path, 333_333, content[333_333..].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(downloaded(&app, &alice.access, id_of(&path)).await == content);
}

#[tokio::test]
async fn the_upload_rate_counts_an_upload_once_not_each_request() {
    let app = spawn_app_with(|s| s.rates.upload_per_min = 2).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let alice = app.user("alice").await;
    let content = text(100_000);
    // Ten requests make one upload.
    let id = app
        .tus_upload(&alice.access, "a.txt", &content, 10_000)
        .await;
    assert!(downloaded(&app, &alice.access, &id).await == content);
    app.tus_create_ok(&alice.access, "b.txt", 10).await;
    let res = app.tus_create(&alice.access, "c.txt", 10).await;
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
}

#[tokio::test]
async fn the_pages_upload_with_the_browser_session_from_their_own_origin_only() {
    let app = spawn_app().await;
    app.user("alice").await;
    let browser = app.browser_login("alice").await;
    let origin = app.base.clone();
    let create = |origin: &str| {
        browser
            .post(app.url("/api/v1/uploads"))
            .header("tus-resumable", "1.0.0")
            .header("origin", origin)
            .header("upload-length", 10)
            .header("upload-metadata", tus_metadata("page.txt"))
            .send()
    };
    let res = create("https://evil.example").await.unwrap();
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "cross_site_request"
    );
    let res = create(&origin).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let path = res.headers()["location"].to_str().unwrap().to_owned();
    let res = browser
        .head(app.url(&path))
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = browser
        .patch(app.url(&path))
        .header("tus-resumable", "1.0.0")
        .header("origin", origin.as_str())
        .header("upload-offset", 0)
        .header("content-type", "application/offset+octet-stream")
        .body(text(10))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn tuspy_resumes_an_interrupted_upload_from_a_new_client_and_the_bytes_are_exact() {
    const MIB: usize = 1024 * 1024;
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fifty.txt");
    let mut content = text(50 * MIB);
    // Not a repeating pattern: every MiB differs.
    for (i, byte) in content.iter_mut().step_by(4099).enumerate() {
        *byte = b'A' + (i % 26) as u8;
    }
    std::fs::write(&file, &content).unwrap();
    let storage = dir.path().join("tus-urls.json");
    let endpoint = app.url("/api/v1/uploads");
    let chunk = MIB.to_string();
    let args = |chunks: Option<&'static str>| {
        let mut args = vec![
            "--endpoint",
            endpoint.as_str(),
            "--token",
            alice.access.as_str(),
            "--file",
            file.to_str().unwrap(),
            "--storage",
            storage.to_str().unwrap(),
            "--chunk-size",
            chunk.as_str(),
            "--checksum",
        ];
        if let Some(n) = chunks {
            args.extend(["--chunks", n]);
        }
        args
    };
    // Ten chunks, then the client is gone.
    let first = tuspy(&args(Some("10"))).await;
    assert_eq!(first["offset"], 10 * MIB);
    let url = first["url"].as_str().unwrap().to_owned();
    let path = url.strip_prefix(&app.base).unwrap().to_owned();
    assert_eq!(app.tus_offset(&alice.access, &path).await, 10 * MIB as u64);
    assert!(!listed(&app, &alice.access, id_of(&path)).await);
    // A new client finds the upload by the file's fingerprint and finishes it.
    let second = tuspy(&args(None)).await;
    assert_eq!(second["url"], url.as_str());
    assert_eq!(second["offset"], 50 * MIB);
    let id = id_of(&path);
    let file: Value = app
        .get_bearer(&format!("/api/v1/files/{id}"), &alice.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&content)));
    let back = downloaded(&app, &alice.access, id).await;
    assert_eq!(
        hex::encode(Sha256::digest(&back)),
        hex::encode(Sha256::digest(&content))
    );
}
