//! Instances die and restart; the fleet loses nothing and keeps nothing half-made.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    client::{new_client, PASSWORD},
    harness::Fleet,
};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn an_instance_killed_mid_upload_leaves_no_file_and_the_survivor_sweeps_its_blob() {
    let mut fleet = Fleet::start_setting("COFFER_SWEEP_INTERVAL_SECS", "1").await;
    let alice = fleet.node(0).user("alice").await;
    let db = fleet.db().await;

    // 200 MiB announced, streamed to instance 1 a MiB at a time as the test sends them.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let part =
        reqwest::multipart::Part::stream_with_length(body, 200 * MIB as u64).file_name("big.txt");
    let upload = {
        let api = fleet.node(1).clone();
        let token = alice.access.clone();
        tokio::spawn(async move { api.send_upload(&token, part).await })
    };
    let chunk = Bytes::from(vec![b'x'; MIB]);
    for _ in 0..60 {
        tx.send(Ok(chunk.clone())).await.unwrap();
    }
    // Under way: its blob is claimed, so a sweeper would know it.
    let claimed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blob_uploads")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(claimed, 1);

    fleet.kill(1).await;
    drop(tx);
    assert!(
        upload.await.unwrap().is_err(),
        "the upload cannot have succeeded"
    );
    assert!(
        !fleet.healthcheck(1).await,
        "a killed instance is not healthy"
    );

    let a = fleet.node(0);
    assert!(a.list_files(&alice.access).await.is_empty());
    // Nobody touches the claim again; once it is old enough (15 minutes, made so here) the
    // survivor's sweeper removes the blob and the claim.
    sqlx::query("UPDATE blob_uploads SET touched_at = touched_at - 3600")
        .execute(&db)
        .await
        .unwrap();
    let mut swept = false;
    for _ in 0..100 {
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blob_uploads")
            .fetch_one(&db)
            .await
            .unwrap();
        if left == 0 {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(swept, "the survivor did not sweep:\n{}", fleet.log(0));
    assert_eq!(fleet.bucket_objects().await, Vec::<String>::new());
    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(files, 0);
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn restarting_every_instance_loses_no_file_link_session_or_token() {
    let mut fleet = Fleet::start().await;
    let alice = fleet.node(0).user("alice").await;
    let content = b"kept across restarts".to_vec();
    let file = fleet
        .node(0)
        .upload_ok(&alice.access, "kept.txt", content.clone())
        .await;
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(
        fleet.node(1).scanned_status(&alice.access, &id).await,
        "clean"
    );
    let link = fleet.node(1).share_ok(&alice.access, &id, json!({})).await;
    let token = link["share_token"].as_str().unwrap().to_owned();
    let browser = new_client();
    let res = fleet.node(1).login_form(&browser, "alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::FOUND);

    for i in 0..2 {
        fleet.stop(i).await;
        assert!(!fleet.healthcheck(i).await);
    }
    for i in 0..2 {
        fleet.launch(i).await;
        assert!(fleet.healthcheck(i).await);
    }

    for i in 0..2 {
        let node = fleet.node(i);
        assert_eq!(node.me(&alice.access).await.status(), StatusCode::OK);
        let res = node.download(&alice.access, &id).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap(), content);
        let res = node.get(&format!("/api/v1/files/shared/{token}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap(), content);
        assert!(
            node.signed_in(&browser).await,
            "the browser session survives"
        );
    }
    assert_eq!(
        fleet.node(0).refresh(&alice.refresh).await.status(),
        StatusCode::OK
    );
}
