//! `/api/v1/files/*`: upload, list, metadata, download (ranges), delete; scanning; encryption at
//! rest; the master key rotation.

use bytes::Bytes;
use coffer::server::{
    db,
    scanner::EICAR,
    service::{files as file_service, key_rotation},
    storage::{BlobKey, BlobLayout},
};
use futures::TryStreamExt;
use reqwest::{header, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{error_code, new_client, pattern, spawn_app, spawn_app_with, TestApp};

const SEGMENT: usize = 64 * 1024;

/// An app with two users, the first an admin.
struct AppWithUsers {
    app: TestApp,
    /// The admin's access token.
    admin: String,
    /// Alice's access token: a user like any other.
    alice: String,
}

async fn app_with_users(
    configure: impl FnOnce(&mut coffer::server::config::Settings),
) -> AppWithUsers {
    let app = spawn_app_with(configure).await;
    let admin = app.user("admin").await.access;
    let alice = app.user("alice").await.access;
    AppWithUsers { app, admin, alice }
}

fn id(file: &Value) -> String {
    file["id"].as_str().unwrap().to_owned()
}

/// The sealed blob of a file, read straight from storage.
async fn stored_blob(app: &TestApp, file_id: &str) -> Vec<u8> {
    let row = db::files::find(&app.state.db().pool, file_id)
        .await
        .unwrap()
        .expect("row");
    let key = BlobKey::from_stored(row.blob_key);
    let size = app.state.storage().size(&key).await.unwrap();
    let chunks: Vec<Bytes> = app
        .state
        .storage()
        .read(&key, BlobLayout::Whole, 0..size)
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

/// Replaces a file's blob with `bytes` (an attacker with access to the storage).
async fn overwrite_blob(app: &TestApp, file_id: &str, bytes: Vec<u8>) {
    let row = db::files::find(&app.state.db().pool, file_id)
        .await
        .unwrap()
        .unwrap();
    let key = BlobKey::from_stored(row.blob_key);
    let mut writer = app.state.storage().create(&key).await.unwrap();
    writer.write(Bytes::from(bytes)).await.unwrap();
    writer.finish().await.unwrap();
}

#[tokio::test]
async fn upload_is_encrypted_at_rest_scanned_and_downloads_byte_for_byte() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    let content = format!("{}\n", "Confidential contract text. ".repeat(10_000)).into_bytes();
    let file = app.upload_ok(&alice, "contract.txt", content.clone()).await;
    assert_eq!(file["filename"], "contract.txt");
    assert_eq!(file["size"], content.len());
    assert_eq!(file["mime_type"], "text/plain");
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&content)));
    assert_eq!(file["scan_status"], "pending");
    assert_eq!(file["download_count"], 0);
    assert!(uuid::Uuid::parse_str(&id(&file)).is_ok());

    let blob = stored_blob(&app, &id(&file)).await;
    assert_eq!(
        blob.len(),
        content.len() + 16 * content.len().div_ceil(SEGMENT)
    );
    assert!(
        !blob.windows(24).any(|w| w == &content[..24]),
        "plaintext found at rest"
    );

    assert_eq!(app.scanned_status(&alice, &id(&file)).await, "clean");
    let res = app.download(&alice, &id(&file)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert_eq!(
        headers[header::CONTENT_LENGTH],
        content.len().to_string().as_str()
    );
    assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"contract.txt\""));
    assert!(res.bytes().await.unwrap() == content);

    let listed = app.list_files(&alice).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["download_count"], 1);
}

#[tokio::test]
async fn every_boundary_size_round_trips() {
    let AppWithUsers { app, alice, .. } = app_with_users(|s| s.rates.upload_per_min = 0).await;
    for size in [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 5] {
        let content: Vec<u8> = pattern(size).iter().map(|b| b'a' + b % 26).collect();
        let file = app.upload_ok(&alice, "sized.txt", content.clone()).await;
        assert_eq!(
            app.scanned_status(&alice, &id(&file)).await,
            "clean",
            "size {size}"
        );
        let res = app.download(&alice, &id(&file)).await;
        assert_eq!(res.status(), StatusCode::OK, "size {size}");
        assert!(res.bytes().await.unwrap() == content, "size {size}");
    }
}

#[tokio::test]
async fn ranges_answer_206_with_exactly_those_bytes() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    let content: Vec<u8> = pattern(3 * SEGMENT + 100)
        .iter()
        .map(|b| b'a' + b % 26)
        .collect();
    let file = app.upload_ok(&alice, "big.txt", content.clone()).await;
    app.scanned_status(&alice, &id(&file)).await;
    let total = content.len();
    for (range, start, end) in [
        ("bytes=0-9", 0, 9),
        ("bytes=65530-65545", 65530, 65545),
        (&*format!("bytes={}-", total - 7), total - 7, total - 1),
        ("bytes=-100", total - 100, total - 1),
        (&*format!("bytes=10-{}", total + 50), 10, total - 1),
    ] {
        let res = app.download_range(&alice, &id(&file), range).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            res.headers()[header::CONTENT_RANGE],
            format!("bytes {start}-{end}/{total}").as_str()
        );
        assert!(
            res.bytes().await.unwrap() == content[start..=end],
            "{range}"
        );
    }
    let res = app
        .download_range(&alice, &id(&file), format!("bytes={total}-"))
        .await;
    assert_eq!(
        res.headers()[header::CONTENT_RANGE],
        format!("bytes */{total}").as_str()
    );
    assert_eq!(
        error_code(res, StatusCode::RANGE_NOT_SATISFIABLE).await,
        "range_not_satisfiable"
    );
    // Several ranges at once are not served as multipart: the whole file comes back.
    let res = app
        .download_range(&alice, &id(&file), "bytes=0-1,5-6")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().len(), total);
}

#[tokio::test]
async fn pending_downloads_are_409_and_jobs_survive_a_restart() {
    let AppWithUsers { app, alice, .. } = app_with_users(|s| s.scanning.worker = false).await;
    let file = app
        .upload_ok(&alice, "wait.txt", b"not yet scanned".to_vec())
        .await;
    let res = app.download(&alice, &id(&file)).await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "scan_pending");

    // The job is in the database: a restarted instance with a worker picks it up.
    let app = app.restart(|s| s.scanning.worker = true).await;
    assert_eq!(app.scanned_status(&alice, &id(&file)).await, "clean");
    assert_eq!(
        app.download(&alice, &id(&file)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn eicar_and_blocklisted_files_are_infected_and_refused_with_403() {
    let blocked = b"a file the operator has blocked".to_vec();
    let digest: [u8; 32] = Sha256::digest(&blocked).into();
    let AppWithUsers { app, admin, alice } =
        app_with_users(|s| s.scanning.blocklist = vec![digest]).await;
    let mut eicar_inside = pattern(100_000)
        .iter()
        .map(|b| b'a' + b % 26)
        .collect::<Vec<u8>>();
    eicar_inside.splice(70_000..70_000, EICAR.iter().copied());
    for (name, content) in [
        ("eicar.txt", EICAR.to_vec()),
        ("inside.txt", eicar_inside),
        ("blocked.txt", blocked),
    ] {
        let file = app.upload_ok(&alice, name, content).await;
        assert_eq!(
            app.scanned_status(&alice, &id(&file)).await,
            "infected",
            "{name}"
        );
        let res = app.download(&alice, &id(&file)).await;
        assert_eq!(
            error_code(res, StatusCode::FORBIDDEN).await,
            "file_infected",
            "{name}"
        );
    }
    let audit: Vec<(String,)> =
        sqlx::query_as("SELECT action FROM audit_log WHERE action = 'file.infected'")
            .fetch_all(&app.state.db().pool)
            .await
            .unwrap();
    assert_eq!(audit.len(), 3);
    let _ = admin;
}

#[tokio::test]
async fn a_scan_that_fails_gives_error_never_clean_and_is_retried_later() {
    let AppWithUsers { app, alice, .. } = app_with_users(|s| s.scanning.worker = false).await;
    let content = b"will be damaged before its scan".to_vec();
    let file = app.upload_ok(&alice, "damaged.txt", content).await;
    let mut blob = stored_blob(&app, &id(&file)).await;
    blob[3] ^= 0x40;
    overwrite_blob(&app, &id(&file), blob).await;
    app.run_scans().await;
    let meta: Value = app
        .get_bearer(&format!("/api/v1/files/{}", id(&file)), &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(meta["scan_status"], "error");
    let res = app.download(&alice, &id(&file)).await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "scan_error");
    let (attempts, run_after): (i64, i64) =
        sqlx::query_as("SELECT attempts, run_after FROM scan_jobs WHERE file_id = $1")
            .bind(id(&file))
            .fetch_one(&app.state.db().pool)
            .await
            .expect("the job stays queued for a retry");
    assert_eq!(attempts, 1);
    assert!(
        run_after >= app.state.now() + 20,
        "retried after a back-off"
    );
}

#[tokio::test]
async fn a_tampered_blob_never_downloads_as_wrong_bytes() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    // Small file: the damage is found before the response starts, so it is a 500.
    let small = app
        .upload_ok(&alice, "small.txt", b"exact bytes matter".to_vec())
        .await;
    assert_eq!(app.scanned_status(&alice, &id(&small)).await, "clean");
    let mut blob = stored_blob(&app, &id(&small)).await;
    blob[0] ^= 1;
    overwrite_blob(&app, &id(&small), blob).await;
    let res = app.download(&alice, &id(&small)).await;
    assert_eq!(
        error_code(res, StatusCode::INTERNAL_SERVER_ERROR).await,
        "internal_error"
    );

    // Large file damaged in its seventh segment (past the first storage read): the response has
    // started, so it is cut off, never completed.
    let content: Vec<u8> = pattern(8 * SEGMENT).iter().map(|b| b'a' + b % 26).collect();
    let large = app.upload_ok(&alice, "large.txt", content.clone()).await;
    assert_eq!(app.scanned_status(&alice, &id(&large)).await, "clean");
    assert!(download_completes(&app, &alice, &id(&large), &content).await);
    let mut blob = stored_blob(&app, &id(&large)).await;
    blob[6 * (SEGMENT + 16) + 10] ^= 1;
    overwrite_blob(&app, &id(&large), blob).await;
    assert!(!download_completes(&app, &alice, &id(&large), &content).await);

    // Truncated at a segment boundary: also refused.
    let blob = stored_blob(&app, &id(&large)).await;
    overwrite_blob(&app, &id(&large), blob[..2 * (SEGMENT + 16)].to_vec()).await;
    assert!(!download_completes(&app, &alice, &id(&large), &content).await);
}

/// Whether a download delivers `content` in full. An aborted response may fail at any point:
/// before its headers reach the client, or in the body. Each try uses a fresh connection, as an
/// aborted response closes its own.
async fn download_completes(app: &TestApp, token: &str, id: &str, content: &[u8]) -> bool {
    let sent = new_client()
        .get(app.url(&format!("/api/v1/files/{id}/download")))
        .bearer_auth(token)
        .send()
        .await;
    match sent {
        Ok(res) if res.status() == StatusCode::OK => {
            res.bytes().await.is_ok_and(|body| body == content)
        }
        _ => false,
    }
}

#[tokio::test]
async fn too_large_uploads_get_413_and_leave_nothing() {
    let AppWithUsers { app, alice, .. } =
        app_with_users(|s| s.uploads.max_bytes = 100 * 1024).await;
    let res = app.upload(&alice, "big.txt", vec![b'a'; 300 * 1024]).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "file_too_large");
    assert!(
        body["detail"].as_str().unwrap().contains("100 KiB"),
        "{body}"
    );
    // Exactly at the limit is fine.
    app.upload_ok(&alice, "edge.txt", vec![b'a'; 100 * 1024])
        .await;
    let listed = app.list_files(&alice).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(app.blob_count().await, 1, "only the accepted file's blob");
    assert_eq!(app.pending_uploads().await, 0);
}

#[tokio::test]
async fn disallowed_types_get_415_by_extension_and_by_content() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    for (name, content) in [
        ("tool.exe", b"MZ\x90\0".to_vec()),
        ("noextension", b"hello".to_vec()),
        ("fake.pdf", b"MZ\x90\0\x03 this is a program".to_vec()),
        ("fake.png", b"%PDF-1.4 not a picture".to_vec()),
    ] {
        let res = app.upload(&alice, name, content).await;
        assert_eq!(
            error_code(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
            "unsupported_type",
            "{name}"
        );
    }
    let ok = app
        .upload_ok(&alice, "real.pdf", b"%PDF-1.7\n%...".to_vec())
        .await;
    assert_eq!(ok["mime_type"], "application/pdf");
    assert_eq!(app.blob_count().await, 1);
    assert_eq!(app.pending_uploads().await, 0);
}

#[tokio::test]
async fn an_upload_without_a_file_field_is_422_and_names_are_normalised() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    let form = reqwest::multipart::Form::new().text("note", "no file here");
    let res = app
        .client
        .post(app.url("/api/v1/files/upload"))
        .bearer_auth(&alice)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
    let res = app
        .client
        .post(app.url("/api/v1/files/upload"))
        .bearer_auth(&alice)
        .body("not multipart")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());

    let file = app
        .upload_ok(&alice, "../../etc/report\u{202E}.txt", b"x".to_vec())
        .await;
    assert_eq!(file["filename"], "report.txt");
}

#[tokio::test]
async fn uploads_are_rate_limited_per_user() {
    let AppWithUsers { app, admin, alice } = app_with_users(|s| s.rates.upload_per_min = 2).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    app.upload_ok(&alice, "1.txt", b"1".to_vec()).await;
    app.upload_ok(&alice, "2.txt", b"2".to_vec()).await;
    let res = app.upload(&alice, "3.txt", b"3".to_vec()).await;
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
    // Another user has their own allowance.
    app.upload_ok(&admin, "a.txt", b"a".to_vec()).await;
}

#[tokio::test]
async fn downloads_are_rate_limited_per_client() {
    let AppWithUsers { app, alice, .. } = app_with_users(|s| s.rates.download_per_min = 2).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let file = app.upload_ok(&alice, "f.txt", b"f".to_vec()).await;
    app.scanned_status(&alice, &id(&file)).await;
    assert_eq!(
        app.download(&alice, &id(&file)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.download(&alice, &id(&file)).await.status(),
        StatusCode::OK
    );
    let res = app.download(&alice, &id(&file)).await;
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
}

#[tokio::test]
async fn others_files_are_404_and_admins_see_all() {
    let AppWithUsers { app, admin, alice } = app_with_users(|_| {}).await;
    app.register("bob").await;
    let bob = app.login("bob").await.access;
    let file = app.upload_ok(&alice, "alice.txt", b"mine".to_vec()).await;
    app.scanned_status(&alice, &id(&file)).await;
    let path = format!("/api/v1/files/{}", id(&file));
    assert_eq!(
        error_code(app.get_bearer(&path, &bob).await, StatusCode::NOT_FOUND).await,
        "not_found"
    );
    assert_eq!(
        error_code(app.download(&bob, &id(&file)).await, StatusCode::NOT_FOUND).await,
        "not_found"
    );
    let res = app.delete_bearer(&path, &bob).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let unknown = format!("/api/v1/files/{}", uuid::Uuid::new_v4());
    assert_eq!(
        error_code(app.get_bearer(&unknown, &bob).await, StatusCode::NOT_FOUND).await,
        "not_found"
    );
    let bobs = app.list_files(&bob).await;
    assert!(bobs.is_empty());
    assert_eq!(
        error_code(
            app.get_bearer("/api/v1/files", "nonsense").await,
            StatusCode::UNAUTHORIZED
        )
        .await,
        "invalid_token"
    );

    app.upload_ok(&bob, "bob.txt", b"bob's".to_vec()).await;
    let all = app.list_files(&admin).await;
    assert_eq!(all.len(), 2);
    assert_eq!(app.get_bearer(&path, &admin).await.status(), StatusCode::OK);
    assert_eq!(
        app.download(&admin, &id(&file)).await.status(),
        StatusCode::OK
    );
}

/// The owner and an admin delete the same file at the same moment (found by the fuzzer, which
/// sends requests two at a time): one is done, the other finds it gone, and nothing is left.
#[tokio::test]
async fn deleting_a_file_twice_at_once_answers_204_then_404() {
    let AppWithUsers { app, admin, alice } = app_with_users(|_| {}).await;
    for round in 0..5 {
        let file = app
            .upload_ok(&alice, &format!("twice{round}.txt"), b"going".to_vec())
            .await;
        let path = format!("/api/v1/files/{}", id(&file));
        let (a, b) = tokio::join!(
            app.delete_bearer(&path, &alice),
            app.delete_bearer(&path, &admin)
        );
        let mut statuses = [a.status(), b.status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND],
            "round {round}"
        );
    }
    assert_eq!(app.blob_count().await, 0);
    assert_eq!(app.pending_uploads().await, 0);
}

#[tokio::test]
async fn delete_removes_the_row_and_the_blob() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    let file = app
        .upload_ok(&alice, "gone.txt", b"soon gone".to_vec())
        .await;
    assert_eq!(app.blob_count().await, 1);
    let path = format!("/api/v1/files/{}", id(&file));
    let res = app.delete_bearer(&path, &alice).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.blob_count().await, 0);
    assert_eq!(app.pending_uploads().await, 0);
    assert_eq!(
        error_code(app.get_bearer(&path, &alice).await, StatusCode::NOT_FOUND).await,
        "not_found"
    );
    let res = app.delete_bearer(&path, &alice).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Both likely in the same second: in name order.
    let actions: Vec<(String,)> = sqlx::query_as(
        "SELECT action FROM audit_log WHERE action IN ('file.upload', 'file.delete') ORDER BY action",
    )
    .fetch_all(&app.state.db().pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        vec![("file.delete".into(),), ("file.upload".into(),)]
    );
}

#[tokio::test]
async fn a_hostile_filename_stays_inside_the_content_disposition_header() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    let name = "<img src=x onerror=alert(1)>\"; x=\u{e9}.txt";
    let file = app.upload_ok(&alice, name, b"harmless".to_vec()).await;
    assert_eq!(file["filename"], name);
    app.scanned_status(&alice, &id(&file)).await;
    let res = app.download(&alice, &id(&file)).await;
    let disposition = res.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        "attachment; filename=\"<img src=x onerror=alert(1)>_; x=_.txt\"; \
         filename*=UTF-8''%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%3B%20x%3D%C3%A9.txt"
    );
    assert!(res.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("sandbox"));
}

#[tokio::test]
async fn abandoned_upload_blobs_are_swept() {
    let app = spawn_app().await;
    let key = BlobKey::generate();
    let mut writer = app.state.storage().create(&key).await.unwrap();
    writer.write(Bytes::from_static(b"orphan")).await.unwrap();
    writer.finish().await.unwrap();
    db::files::begin_upload(
        &app.state.db().pool,
        key.as_str(),
        "an-uploader",
        app.state.now() - 3600,
    )
    .await
    .unwrap();
    // The app's own sweeper may get there first (it also runs at start); either way it is gone.
    let swept = file_service::sweep_abandoned_uploads(&app.state)
        .await
        .unwrap();
    assert!(swept <= 1);
    assert!(app.state.storage().size(&key).await.is_err());
    assert_eq!(app.pending_uploads().await, 0);
}

#[tokio::test]
async fn rotating_the_master_key_rewraps_keys_and_leaves_blobs_alone() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    let content = b"survives rotation".to_vec();
    let file = app.upload_ok(&alice, "keep.txt", content.clone()).await;
    app.scanned_status(&alice, &id(&file)).await;
    let before = db::files::find(&app.state.db().pool, &id(&file))
        .await
        .unwrap()
        .unwrap();
    let blob_before = stored_blob(&app, &id(&file)).await;

    let rotation = key_rotation::rotate(&app.state).await.unwrap();
    assert_eq!(rotation.rewrapped, 1);
    assert!(rotation.failed.is_empty());
    assert_eq!(rotation.retired, vec![before.master_key_id.clone()]);

    let after = db::files::find(&app.state.db().pool, &id(&file))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(after.master_key_id, before.master_key_id);
    assert_ne!(after.wrapped_key, before.wrapped_key);
    assert!(
        stored_blob(&app, &id(&file)).await == blob_before,
        "blobs untouched"
    );
    let key_file =
        std::fs::read_to_string(app.data_dir().join(coffer::server::master_keys::KEY_FILE))
            .unwrap();
    assert_eq!(
        key_file.lines().count(),
        1,
        "the old key is gone once nothing needs it"
    );

    // A restart reads the new key from the file and still decrypts.
    let app = app.restart(|_| {}).await;
    let res = app.download(&alice, &id(&file)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap() == content);
}

#[tokio::test]
async fn an_upload_cut_off_by_the_client_leaves_no_file_and_no_blob() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(vec![b'a'; 200_000]),
        Ok(vec![b'b'; 200_000]),
        Err(std::io::Error::other("the sender went away")),
    ];
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let part = reqwest::multipart::Part::stream(body).file_name("partial.txt");
    let form = reqwest::multipart::Form::new().part("file", part);
    let sent = new_client()
        .post(app.url("/api/v1/files/upload"))
        .bearer_auth(&alice)
        .multipart(form)
        .send()
        .await;
    assert!(sent.is_err() || !sent.unwrap().status().is_success());
    // The server notices the broken body and cleans up at once.
    let mut clean = false;
    for _ in 0..50 {
        if app.pending_uploads().await == 0 && app.blob_count().await == 0 {
            clean = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(clean, "an upload marker or a blob was left behind");
    let listed = app.list_files(&alice).await;
    assert!(listed.is_empty());
}

/// A file's sealed key as stored: (master key id, sealed bytes).
async fn sealed_key_of(app: &TestApp, id: &str) -> (String, Vec<u8>) {
    sqlx::query_as("SELECT master_key_id, wrapped_key FROM files WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sealed_key_copied_to_another_file_does_not_open_there() {
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    let mine = app
        .upload_ok(&alice, "mine.txt", b"alice's secret".to_vec())
        .await;
    let other = app
        .upload_ok(&alice, "other.txt", b"something else".to_vec())
        .await;
    let (mine_id, other_id) = (mine["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    for id in [mine_id, other_id] {
        assert_eq!(app.scanned_status(&alice, id).await, "clean");
    }
    // Someone with write access to the database moves one file's blob and its key (all that
    // decrypting it takes) onto another file's row, say one they can download.
    let pool = &app.state.db().pool;
    let (blob_key, key_id, sealed, nonce_prefix): (String, String, Vec<u8>, Vec<u8>) =
        sqlx::query_as(
            "SELECT blob_key, master_key_id, wrapped_key, nonce_prefix FROM files WHERE id = $1",
        )
        .bind(mine_id)
        .fetch_one(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE files SET blob_key = blob_key || '-moved' WHERE id = $1")
        .bind(mine_id)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE files SET blob_key = $1, master_key_id = $2, wrapped_key = $3, nonce_prefix = $4 \
         WHERE id = $5",
    )
    .bind(&blob_key)
    .bind(&key_id)
    .bind(&sealed)
    .bind(&nonce_prefix)
    .bind(other_id)
    .execute(pool)
    .await
    .unwrap();
    // The key is sealed to its own row: it does not open on another, so nothing is revealed.
    let res = app.download(&alice, other_id).await;
    assert_eq!(
        error_code(res, StatusCode::INTERNAL_SERVER_ERROR).await,
        "internal_error"
    );
}

#[tokio::test]
async fn keys_sealed_before_binding_are_re_sealed_bound_at_start() {
    use coffer_crypto::{
        keyring::{DATA_KEY_PURPOSE, LEGACY_DATA_KEY_PURPOSE},
        Binding, WrappedKey,
    };
    let AppWithUsers { app, alice, .. } = app_with_users(|_| {}).await;
    let file = app
        .upload_ok(&alice, "old.txt", b"from before".to_vec())
        .await;
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(app.scanned_status(&alice, &id).await, "clean");
    // Make the row look like one written before migration 6: sealed without its file id.
    let (master_key_id, sealed) = sealed_key_of(&app, &id).await;
    let ring = app.state.keys().ring();
    let data_key = ring
        .open(
            Binding::row(DATA_KEY_PURPOSE, &id),
            &WrappedKey {
                master_key_id,
                sealed,
            },
        )
        .unwrap();
    let legacy = ring.seal(
        Binding::Legacy {
            purpose: LEGACY_DATA_KEY_PURPOSE,
        },
        &data_key,
    );
    sqlx::query("UPDATE files SET wrapped_key = $1, seal_version = 1 WHERE id = $2")
        .bind(&legacy.sealed)
        .bind(&id)
        .execute(&app.state.db().pool)
        .await
        .unwrap();

    let app = app.restart(|_| {}).await;
    let version: i64 = sqlx::query_scalar("SELECT seal_version FROM files WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert_eq!(version, 2);
    assert_ne!(sealed_key_of(&app, &id).await.1, legacy.sealed);
    let res = app.download(&alice, &id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(&res.bytes().await.unwrap()[..], b"from before");
}

/// `/files` lists a hundred files a page, newest first, with links to the pages around.
#[tokio::test]
async fn the_files_page_lists_a_hundred_files_a_page() {
    let app = crate::helpers::spawn_app().await;
    let alice = app.user("alice").await.access;
    app.upload_ok(&alice, "first.txt", b"the first".to_vec())
        .await;
    // 104 more rows like it (the list reads rows only).
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 104) \
         INSERT INTO files (id, owner_id, filename, size, mime_type, sha256, scan_status, \
             blob_key, master_key_id, wrapped_key, nonce_prefix, created_at) \
         SELECT 'copy-' || CAST(i AS TEXT), f.owner_id, 'copy-' || CAST(i AS TEXT) || '.txt', \
             f.size, f.mime_type, f.sha256, f.scan_status, f.blob_key || CAST(i AS TEXT), \
             f.master_key_id, f.wrapped_key, f.nonce_prefix, f.created_at - i \
         FROM files f, n",
    )
    .execute(&app.state.db().pool)
    .await
    .unwrap();
    let browser = app.browser_login("alice").await;
    let rows = |html: &str| html.matches("data-testid=\"file-row\"").count();
    let (_, first) = app.page(&browser, "/files").await;
    assert_eq!(rows(&first), 100);
    assert!(first.contains("first.txt") && !first.contains("copy-104.txt"));
    assert!(
        first.contains("href=\"/files?offset=100\""),
        "a link to the next page"
    );
    let (_, second) = app.page(&browser, "/files?offset=100").await;
    assert_eq!(rows(&second), 5);
    assert!(second.contains("copy-104.txt") && !second.contains("first.txt"));
    assert!(second.contains("href=\"/files\""), "a link back");
}

/// Files of the same name are told apart on `/files` by the end of their ids; a name that
/// appears once shows none.
#[tokio::test]
async fn files_of_the_same_name_are_told_apart_on_the_page() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let first = app
        .upload_ok(&alice.access, "report.txt", b"one".to_vec())
        .await;
    let second = app
        .upload_ok(&alice.access, "report.txt", b"two".to_vec())
        .await;
    app.upload_ok(&alice.access, "notes.txt", b"three".to_vec())
        .await;
    let browser = new_client();
    app.login_form(&browser, "alice", crate::helpers::PASSWORD)
        .await;
    let (_, html) = app.page(&browser, "/files").await;
    assert_eq!(
        html.matches(r#"data-testid="file-tag""#).count(),
        2,
        "{html}"
    );
    for file in [&first, &second] {
        let id = file["id"].as_str().unwrap();
        let tag = format!("#{}", &id[id.len() - 6..]);
        assert!(html.contains(&tag), "{tag} in {html}");
        assert!(html.contains(&format!("Select report.txt ({tag})")));
    }
    assert!(html.contains(r#"aria-label="Select notes.txt""#));
}
