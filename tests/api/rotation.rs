//! Rotating the master key from another process while a server runs: nothing the server seals
//! meanwhile may depend on a key the rotation retires, before or after a restart.

use coffer::server::{master_keys::KEY_FILE, startup::Application};
use coffer_crypto::MasterKey;
use reqwest::StatusCode;

use crate::{
    helpers::{error_code, TestApp},
    two_factor::{alice_with_2fa, code, login},
};

/// Runs `coffer rotate-master-key` as its own process on the app's database and data dir (off
/// the test's runtime thread, which also runs the server: it must go on answering meanwhile).
async fn rotate_in_another_process(app: &TestApp, master_key: Option<&str>) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_coffer"));
    command
        .arg("rotate-master-key")
        .env("COFFER_CONFIG", app.data_dir().join("no-such-config.toml"))
        .env("COFFER_DATA_DIR", app.data_dir())
        .env("DATABASE_URL", &app.settings.data.database_url)
        .env("RUST_LOG", "warn")
        .env_remove("COFFER_MASTER_KEY");
    if let Some(keys) = master_key {
        command.env("COFFER_MASTER_KEY", keys);
    }
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("the coffer binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "rotation failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn assert_downloads(app: &TestApp, token: &str, files: &[(&str, &[u8])]) {
    for (id, bytes) in files {
        let res = app.download(token, id).await;
        assert_eq!(res.status(), StatusCode::OK, "file {id}");
        assert_eq!(&res.bytes().await.unwrap()[..], *bytes);
    }
}

async fn upload_scanned(app: &TestApp, token: &str, name: &str, bytes: &[u8]) -> String {
    let file = app.upload_ok(token, name, bytes.to_vec()).await;
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(app.scanned_status(token, &id).await, "clean");
    id
}

#[tokio::test]
async fn rotating_the_key_file_under_a_running_server_loses_nothing() {
    let alice = alice_with_2fa(-1, |_| {}).await;
    let (app, token) = (alice.app, alice.token);
    let before = upload_scanned(&app, &token, "before.txt", b"sealed before").await;
    let old_key = app.state.keys().ring().current().id().to_owned();
    let res = app
        .post_bearer(
            "/api/v1/webhooks",
            &token,
            serde_json::json!({"url": "https://hooks.example.org/x"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let printed = rotate_in_another_process(&app, None).await;
    assert!(printed.contains("Master key is now"), "{printed}");
    assert!(printed.contains("1 webhook secret(s)"), "{printed}");
    // The running server seals this upload after the rotation, still holding the old key.
    let after = upload_scanned(&app, &token, "after.txt", b"sealed after").await;
    let files: [(&str, &[u8]); 2] = [(&before, b"sealed before"), (&after, b"sealed after")];
    assert_downloads(&app, &token, &files).await;
    let res = login(&app, Some(&code(&alice.secret, alice.t0, 0))).await;
    assert_eq!(res.status(), StatusCode::OK, "2FA login before the restart");

    let key_ids: Vec<String> = sqlx::query_scalar(
        "SELECT master_key_id FROM files UNION ALL SELECT master_key_id FROM webhooks",
    )
    .fetch_all(&app.state.db().pool)
    .await
    .unwrap();
    assert!(key_ids.iter().all(|id| *id != old_key), "{key_ids:?}");
    let key_file = std::fs::read_to_string(app.data_dir().join(KEY_FILE)).unwrap();
    assert_eq!(key_file.lines().count(), 1, "the old key is retired");

    let app = app.restart(|_| {}).await;
    assert_downloads(&app, &token, &files).await;
    let res = login(&app, Some(&code(&alice.secret, alice.t0, 1))).await;
    assert_eq!(res.status(), StatusCode::OK, "2FA login after the restart");
}

#[tokio::test]
async fn a_server_without_the_new_environment_key_refuses_to_seal_and_nothing_is_lost() {
    let (old, new) = (MasterKey::generate(), MasterKey::generate());
    let old_b64 = old.to_base64().to_string();
    let new_b64 = new.to_base64().to_string();
    let alice = alice_with_2fa(-1, |s| s.data.master_key = Some(old_b64.clone())).await;
    let (app, token) = (alice.app, alice.token);
    let before = upload_scanned(&app, &token, "before.txt", b"sealed before").await;

    let printed = rotate_in_another_process(&app, Some(&format!("{new_b64},{old_b64}"))).await;
    assert!(printed.contains(new.id()), "{printed}");
    // This server only knows the old key: it must not seal anything with it any more.
    let res = app.upload(&token, "during.txt", b"refused".to_vec()).await;
    assert_eq!(
        error_code(res, StatusCode::SERVICE_UNAVAILABLE).await,
        "unavailable"
    );
    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files")
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert_eq!(files, 1, "nothing half-stored");

    // Started with only the new key: nothing needs the old one any more.
    let app = app
        .restart(|s| s.data.master_key = Some(new_b64.clone()))
        .await;
    let after = upload_scanned(&app, &token, "after.txt", b"sealed after").await;
    let files: [(&str, &[u8]); 2] = [(&before, b"sealed before"), (&after, b"sealed after")];
    assert_downloads(&app, &token, &files).await;
    let res = login(&app, Some(&code(&alice.secret, alice.t0, 0))).await;
    assert_eq!(res.status(), StatusCode::OK);

    // A server given a key list without a key some row needs refuses to start, naming it.
    let mut settings = app.settings.clone();
    settings.data.master_key = Some(old_b64);
    settings.site.addr = "127.0.0.1:0".parse().unwrap();
    let refused = Application::build(settings, coffer::server::clock::Clock::system())
        .await
        .err()
        .expect("refused");
    let message = refused.to_string();
    assert!(message.contains(new.id()), "{message}");
    assert!(message.contains("COFFER_MASTER_KEY"), "{message}");
}

#[tokio::test]
async fn an_upload_in_progress_across_a_rotation_is_readable_after_the_old_key_is_retired() {
    let app = crate::helpers::spawn_app().await;
    let alice = app.user("alice").await;
    let content = crate::client::text(300_000);
    let path = app
        .tus_create_ok(&alice.access, "across.txt", 300_000)
        .await;
    let res = app
        .tus_patch(&alice.access, &path, 0, content[..100_000].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let old_key = app.state.keys().ring().current().id().to_owned();

    // The upload's data key is re-wrapped under the new key, and the old key retired.
    let printed = rotate_in_another_process(&app, None).await;
    assert!(printed.contains("Master key is now"), "{printed}");
    let key_file = std::fs::read_to_string(app.data_dir().join(KEY_FILE)).unwrap();
    assert_eq!(key_file.lines().count(), 1, "the old key is retired");

    // The running server may still hold the old key: a restart reads only the new one.
    let app = app.restart(|_| {}).await;
    let res = app
        .tus_patch(&alice.access, &path, 100_000, content[100_000..].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let id = path.rsplit('/').next().unwrap();
    assert_eq!(app.scanned_status(&alice.access, id).await, "clean");
    assert_downloads(&app, &alice.access, &[(id, &content)]).await;
    let key_id: String = sqlx::query_scalar("SELECT master_key_id FROM files WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert_ne!(key_id, old_key);
}
