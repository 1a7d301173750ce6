//! Backup and restore as the README tells an operator to do it, while Coffer runs: for the
//! fleet, the database with `pg_dump`, then the bucket with `rclone copy`, and the master key
//! from where it is kept; for the embedded default, `sqlite3 .backup`, then the blobs and the
//! key file. Restored, a new server has every file, link and account.

use std::{path::Path, process::Command};

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    client::text,
    harness::{fresh_database, new_s3_root, Fleet, Options, Restored, Solo},
};

fn pg_tool(name: &str) -> String {
    let bin = std::env::var("COFFER_TEST_PG_BIN").expect("COFFER_TEST_PG_BIN (scripts/test.sh)");
    format!("{bin}/{name}")
}

fn run(command: &mut Command) {
    let out = command.output().expect("the tool runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// rclone with one remote, `s3:`, for the test's S3 server (given by environment, as an
/// operator may; `rclone config` writes the same to a file).
fn rclone() -> Command {
    let var = |name: &str| std::env::var(name).unwrap();
    let mut command = Command::new("rclone");
    command
        // This machine points AWS tools at its own CA bundle, which rclone's transport refuses;
        // the test's S3 server is plain HTTP.
        .env_remove("AWS_CA_BUNDLE")
        .env("RCLONE_CONFIG_S3_TYPE", "s3")
        .env("RCLONE_CONFIG_S3_PROVIDER", "Other")
        .env("RCLONE_CONFIG_S3_ENDPOINT", var("COFFER_TEST_S3_ENDPOINT"))
        .env(
            "RCLONE_CONFIG_S3_ACCESS_KEY_ID",
            var("COFFER_TEST_S3_ACCESS_KEY_ID"),
        )
        .env(
            "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY",
            var("COFFER_TEST_S3_SECRET_ACCESS_KEY"),
        )
        .env("RCLONE_CONFIG_S3_REGION", "us-east-1");
    command
}

fn bucket_path(root: &str) -> String {
    let bucket = std::env::var("COFFER_TEST_S3_BUCKET").unwrap();
    format!("s3:{bucket}{}", root.trim_end_matches('/'))
}

#[tokio::test]
async fn a_backup_taken_while_running_restores_every_file_link_and_account() {
    let fleet = Fleet::start().await;
    let (a, b) = (fleet.node(0), fleet.node(1));
    let alice = a.user("alice").await;
    let mut files = Vec::new();
    for (i, size) in [10_000usize, 3 * 1024 * 1024].into_iter().enumerate() {
        let content = text(size);
        let file = a
            .upload_ok(&alice.access, &format!("kept-{i}.txt"), content.clone())
            .await;
        let id = file["id"].as_str().unwrap().to_owned();
        assert_eq!(b.scanned_status(&alice.access, &id).await, "clean");
        files.push((id, content));
    }
    let link = b.share_ok(&alice.access, &files[0].0, json!({})).await;
    let share_token = link["share_token"].as_str().unwrap().to_owned();

    // The backup, in the README's order, with both instances serving: the database first, then
    // the blobs (every blob the dump names exists by then: blobs only go when their row has).
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("coffer.dump");
    run(Command::new(pg_tool("pg_dump"))
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(&dump)
        .arg(&fleet.database_url));
    let blobs = dir.path().join("blobs");
    run(rclone()
        .args(["copy", &bucket_path(&fleet.s3_root)])
        .arg(&blobs));
    // Uploads after the dump are not in it; their blobs in the copy are harmless.
    a.upload_ok(&alice.access, "after.txt", b"not in the backup".to_vec())
        .await;
    let master_key = fleet.master_key.clone();
    drop(fleet);

    // Restore into a new database and a new folder of the bucket.
    let database_url = fresh_database().await;
    run(Command::new(pg_tool("pg_restore"))
        .args(["--no-owner", "--dbname"])
        .arg(&database_url)
        .arg(&dump));
    let s3_root = new_s3_root();
    run(rclone()
        .arg("copy")
        .arg(Path::new(&blobs))
        .arg(bucket_path(&s3_root)));
    let restored = Fleet::start_with(Options {
        restored: Some(Restored {
            database_url,
            s3_root,
            master_key,
        }),
        ..Options::default()
    })
    .await;

    for i in 0..2 {
        let node = restored.node(i);
        let tokens = node.login("alice").await;
        let listed = node.list_files(&tokens.access).await;
        assert_eq!(listed.len(), 2, "{listed:?}");
        for (id, content) in &files {
            let res = node.download(&tokens.access, id).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.bytes().await.unwrap(), *content);
        }
        let res = node
            .get(&format!("/api/v1/files/shared/{share_token}"))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap(), files[0].1);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    run(Command::new("cp").arg("-a").arg(from).arg(to));
}

#[tokio::test]
async fn the_embedded_default_backs_up_with_sqlite3_and_a_copy_of_its_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let solo = Solo::start(&data).await;
    let api = &solo.api;
    let bob = api.user("bob").await;
    let content = text(2 * 1024 * 1024);
    let file = api
        .upload_ok(&bob.access, "solo.txt", content.clone())
        .await;
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(api.scanned_status(&bob.access, &id).await, "clean");
    let link = api.share_ok(&bob.access, &id, json!({})).await;
    let share_token = link["share_token"].as_str().unwrap().to_owned();

    // While it serves: the database with sqlite3's online backup, then the blobs and the key.
    let backup = dir.path().join("backup");
    std::fs::create_dir(&backup).unwrap();
    run(Command::new("sqlite3")
        .arg(data.join("coffer.db"))
        .arg(format!(".backup '{}'", backup.join("coffer.db").display())));
    copy_dir(&data.join("blobs"), &backup);
    run(Command::new("cp").arg(data.join("master.key")).arg(&backup));
    solo.stop().await;

    // Restore: the three, in an empty data directory of a new server.
    let restored_data = dir.path().join("restored");
    copy_dir(&backup, &restored_data);
    let restored = Solo::start(&restored_data).await;
    let api = &restored.api;
    let tokens = api.login("bob").await;
    let res = api.download(&tokens.access, &id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap(), content);
    let res = api
        .get(&format!("/api/v1/files/shared/{share_token}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    restored.stop().await;
}
