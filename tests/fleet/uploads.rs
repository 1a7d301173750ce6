//! Resumable uploads (tus) on the fleet: through a proxy that limits a request's body, across
//! instances, and past an instance that dies mid-request.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::{
    client::{text, tuspy},
    harness::{Fleet, Options},
};

const MIB: usize = 1024 * 1024;

/// Text whose every 4 KiB differs, so a misplaced piece shows.
fn content(len: usize) -> Vec<u8> {
    let mut bytes = text(len);
    for (i, byte) in bytes.iter_mut().step_by(4099).enumerate() {
        *byte = b'A' + (i % 26) as u8;
    }
    bytes
}

#[tokio::test]
async fn behind_a_proxy_that_takes_10_mib_a_request_tus_brings_in_100_mib_and_a_plain_upload_cannot(
) {
    let fleet = Fleet::start_with(Options {
        nginx: true,
        proxy_body_limit: Some("10m"),
        ..Options::default()
    })
    .await;
    let proxy = fleet.proxy.as_ref().unwrap();
    let alice = proxy.user("alice").await;
    let bytes = content(100 * MIB);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hundred.txt");
    std::fs::write(&file, &bytes).unwrap();

    // The plain upload is one request: nginx refuses it, as a CDN would.
    let res = proxy
        .upload(&alice.access, "hundred.txt", bytes.clone())
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        res.text().await.unwrap().contains("nginx"),
        "nginx's own refusal"
    );

    // tuspy sends it in 8 MiB requests, each within the limit.
    let endpoint = proxy.url("/api/v1/uploads");
    let storage = dir.path().join("urls.json");
    let chunk = (8 * MIB).to_string();
    let out = tuspy(&[
        "--endpoint",
        &endpoint,
        "--token",
        &alice.access,
        "--file",
        file.to_str().unwrap(),
        "--storage",
        storage.to_str().unwrap(),
        "--chunk-size",
        &chunk,
    ])
    .await;
    assert_eq!(out["offset"], 100 * MIB);
    let id = out["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let stored = proxy.scanned(&alice.access, &id).await;
    assert_eq!(stored["scan_status"], "clean");
    assert_eq!(stored["size"], 100 * MIB);
    assert_eq!(stored["sha256"], hex::encode(Sha256::digest(&bytes)));
    let res = proxy.download(&alice.access, &id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap() == bytes);

    // nginx passed the requests to both instances: the upload went on wherever they landed.
    let log = fleet.proxy_log();
    let patches: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"PATCH /api/v1/uploads/"))
        .collect();
    assert_eq!(patches.len(), 13, "{log}");
    for node in 0..2 {
        let upstream = format!(
            "upstream={}",
            fleet.node(node).base.trim_start_matches("http://")
        );
        assert!(
            patches.iter().any(|l| l.contains(&upstream)),
            "no PATCH reached instance {node}: {log}"
        );
    }
}

#[tokio::test]
async fn an_upload_carries_on_through_the_other_instance_when_the_one_it_was_sending_to_dies() {
    let mut fleet = Fleet::start().await;
    let (a, b) = (fleet.node(0).clone(), fleet.node(1).clone());
    let alice = a.user("alice").await;
    let bytes = content(24 * MIB);
    let path = a
        .tus_create_ok(&alice.access, "long.txt", bytes.len() as u64)
        .await;
    let res = a
        .tus_patch(&alice.access, &path, 0, bytes[..8 * MIB].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // The next request goes to A, which dies while the bytes stream in.
    let (tx, request) = a.tus_patch_stream(&alice.access, &path, 8 * MIB as u64);
    for piece in bytes[8 * MIB..11 * MIB].chunks(MIB) {
        tx.send(Ok(Bytes::copy_from_slice(piece))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    fleet.kill(0).await;
    assert!(
        request.await.unwrap().is_err(),
        "the dead instance answered"
    );

    // B knows where the upload is: what A recorded before it died.
    assert_eq!(b.tus_offset(&alice.access, &path).await, 8 * MIB as u64);
    // The dead request's hold on the upload runs out; then B takes the rest.
    let res = b
        .tus_patch_when_free(&alice.access, &path, 8 * MIB as u64, &bytes[8 * MIB..])
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let id = path.rsplit('/').next().unwrap();
    let stored = b.scanned(&alice.access, id).await;
    assert_eq!(stored["scan_status"], "clean");
    let res = b.download(&alice.access, id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap() == bytes);
    // Deleting the file leaves nothing of it in the bucket, the dead request's part included.
    let res = b
        .delete_bearer(&format!("/api/v1/files/{id}"), &alice.access)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        fleet.bucket_objects().await.is_empty(),
        "{:?}",
        fleet.bucket_objects().await
    );
}
