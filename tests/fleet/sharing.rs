//! Files, share links, limits and scans are the fleet's: whatever instance a request reaches.

use std::collections::HashMap;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    client::{error_code, text},
    harness::Fleet,
};

#[tokio::test]
async fn a_file_uploaded_through_one_instance_downloads_whole_and_in_ranges_through_the_other() {
    let fleet = Fleet::start().await;
    let (a, b) = (fleet.node(0), fleet.node(1));
    let alice = a.user("alice").await;
    let content = text(3 * 1024 * 1024 + 17);
    let file = a
        .upload_ok(&alice.access, "report.txt", content.clone())
        .await;
    let id = file["id"].as_str().unwrap();
    // clamd scans it, on whichever instance's worker took the job.
    assert_eq!(b.scanned_status(&alice.access, id).await, "clean");

    let whole = b.download(&alice.access, id).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap(), content);
    let res = b
        .download_range(&alice.access, id, "bytes=1048570-2097160")
        .await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap(), content[1_048_570..=2_097_160]);
    let listed = b.list_files(&alice.access).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["filename"], "report.txt");
}

#[tokio::test]
async fn a_link_for_five_downloads_gives_exactly_five_to_forty_clients_on_both_instances() {
    // The per-client download limit is off: every request here comes from one address.
    let fleet = Fleet::start_setting("COFFER_RATE_DOWNLOAD_PER_MIN", "0").await;
    let (a, b) = (fleet.node(0), fleet.node(1));
    let alice = a.user("alice").await;
    let content = text(256 * 1024);
    let file = a
        .upload_ok(&alice.access, "five.txt", content.clone())
        .await;
    let id = file["id"].as_str().unwrap();
    assert_eq!(a.scanned_status(&alice.access, id).await, "clean");
    let link = a
        .share_ok(&alice.access, id, json!({"max_downloads": 5}))
        .await;
    let token = link["share_token"].as_str().unwrap().to_owned();

    let attempts = (0..40).map(|i| {
        let api = fleet.node(i % 2).clone();
        let path = format!("/api/v1/files/shared/{token}");
        async move {
            let res = api.get(&path).await;
            let status = res.status();
            let body = res.bytes().await.unwrap();
            (status, body)
        }
    });
    let results = join_all(attempts).await;
    let mut by_status: HashMap<StatusCode, usize> = HashMap::new();
    for (status, body) in &results {
        *by_status.entry(*status).or_default() += 1;
        if *status == StatusCode::OK {
            assert_eq!(
                body.as_ref(),
                content.as_slice(),
                "a download came out whole"
            );
        }
    }
    assert_eq!(by_status.get(&StatusCode::OK), Some(&5), "{by_status:?}");
    assert_eq!(
        by_status.get(&StatusCode::FORBIDDEN),
        Some(&35),
        "{by_status:?}"
    );
    let res = b.get(&format!("/api/v1/files/shared/{token}")).await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "download_limit_reached"
    );
    let count: i64 = sqlx::query_scalar("SELECT download_count FROM share_links")
        .fetch_one(&fleet.db().await)
        .await
        .unwrap();
    assert_eq!(count, 5);
}

#[tokio::test]
async fn the_upload_rate_limit_counts_uploads_on_both_instances() {
    let fleet = Fleet::start_setting("COFFER_RATE_UPLOAD_PER_MIN", "4").await;
    let a = fleet.node(0);
    let alice = a.user("alice").await;
    for i in 0..4 {
        let node = fleet.node(i % 2);
        node.upload_ok(&alice.access, &format!("{i}.txt"), b"one of four".to_vec())
            .await;
    }
    for node in [fleet.node(0), fleet.node(1)] {
        let res = node
            .upload(&alice.access, "fifth.txt", b"one too many".to_vec())
            .await;
        assert!(res.headers().contains_key("retry-after"));
        assert_eq!(
            error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
            "rate_limited"
        );
    }
}

#[tokio::test]
async fn each_scan_job_runs_once_although_both_instances_run_workers() {
    let fleet = Fleet::start_setting("COFFER_RATE_UPLOAD_PER_MIN", "0").await;
    let alice = fleet.node(0).user("alice").await;
    let mut ids = Vec::new();
    for i in 0..16 {
        let file = fleet
            .node(i % 2)
            .upload_ok(&alice.access, &format!("{i}.txt"), text(64 * 1024 + i))
            .await;
        ids.push(file["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(
            fleet.node(1).scanned_status(&alice.access, id).await,
            "clean"
        );
    }
    let db = fleet.db().await;
    for id in &ids {
        let verdicts: Vec<String> = sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'file.scan_clean' AND target = $1",
        )
        .bind(id)
        .fetch_all(&db)
        .await
        .unwrap();
        assert_eq!(verdicts, ["scanner=clamd"], "file {id}");
    }
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM scan_jobs")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // Each scan is in exactly one instance's log.
    let logs = [fleet.log(0), fleet.log(1)];
    for id in &ids {
        let lines = logs
            .iter()
            .flat_map(|log| log.lines())
            .filter(|line| line.contains("scan: clean") && line.contains(id.as_str()))
            .count();
        assert_eq!(lines, 1, "file {id}");
    }
}
