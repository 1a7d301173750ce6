//! The scan queue across instances: each job runs once however many workers share the database,
//! a job whose worker died is taken again once its lease runs out, and a rescan that lands while
//! a scan runs wins over that scan's verdict.

use std::collections::HashMap;

use coffer::server::{db::scan_jobs, service::scanning, state::AppState};
use serde_json::Value;

use crate::helpers::{spawn_app_with, TestApp};

async fn statuses(app: &TestApp) -> HashMap<String, String> {
    sqlx::query_as::<_, (String, String)>("SELECT id, scan_status FROM files")
        .fetch_all(&app.state.db().pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Runs due jobs until none is left, as one instance's worker.
async fn drain(state: AppState) -> usize {
    let mut ran = 0;
    while scanning::run_next(&state).await.expect("queue readable") {
        ran += 1;
    }
    ran
}

#[tokio::test]
async fn three_instances_sharing_a_database_scan_each_file_exactly_once() {
    let app = spawn_app_with(|s| {
        s.scanning.worker = false;
        s.rates.upload_per_min = 0;
    })
    .await;
    let second = app.another_instance(|_| {}).await;
    let third = app.another_instance(|_| {}).await;
    let user = app.user("alice").await;
    let mut ids = Vec::new();
    for n in 0..24 {
        let file: Value = app
            .upload_ok(
                &user.access,
                &format!("f{n}.txt"),
                format!("file {n}").into_bytes(),
            )
            .await;
        ids.push(file["id"].as_str().unwrap().to_owned());
    }
    let (a, b, c) = tokio::join!(
        drain(app.state.clone()),
        drain(second.state.clone()),
        drain(third.state.clone())
    );
    assert_eq!(a + b + c, 24, "every job ran once: {a} + {b} + {c}");
    let statuses = statuses(&app).await;
    assert!(ids.iter().all(|id| statuses[id] == "clean"), "{statuses:?}");
    // One verdict per file in the audit log.
    let verdicts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT target, COUNT(*) FROM audit_log WHERE action = 'file.scan_clean' GROUP BY target",
    )
    .fetch_all(&app.state.db().pool)
    .await
    .unwrap();
    assert_eq!(verdicts.len(), 24);
    assert!(verdicts.iter().all(|(_, n)| *n == 1), "{verdicts:?}");
    // The other instances' pages see the same verdicts.
    let res = second
        .get_bearer(&format!("/api/v1/files/{}", ids[0]), &user.access)
        .await;
    let file: Value = res.json().await.unwrap();
    assert_eq!(file["scan_status"], "clean");
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_again_after_its_lease() {
    let app = spawn_app_with(|s| s.scanning.worker = false).await;
    let user = app.user("alice").await;
    let file = app
        .upload_ok(
            &user.access,
            "orphan.txt",
            b"leased, never finished".to_vec(),
        )
        .await;
    let id = file["id"].as_str().unwrap().to_owned();
    // A worker leases the job for two seconds and dies.
    let start = app.state.now();
    let job = scan_jobs::lease_next(app.state.db(), start, start + 2)
        .await
        .unwrap()
        .expect("the job was due");
    assert_eq!(job.file_id, id);

    assert_eq!(drain(app.state.clone()).await, 0, "still leased");
    assert_eq!(statuses(&app).await[&id], "pending");
    app.state.clock().advance(3);
    assert_eq!(drain(app.state.clone()).await, 1, "taken again");
    assert_eq!(statuses(&app).await[&id], "clean");
    // The dead worker's verdict, were it to come back, is dropped.
    assert!(!scan_jobs::complete(
        &app.state.db().pool,
        &job,
        coffer::model::ScanStatus::Infected,
        Some("stale")
    )
    .await
    .unwrap());
    assert_eq!(statuses(&app).await[&id], "clean");
}

#[tokio::test]
async fn a_rescan_during_a_scan_drops_that_scans_verdict() {
    let app = spawn_app_with(|s| s.scanning.worker = false).await;
    let admin = app.user("admin").await;
    let file = app
        .upload_ok(&admin.access, "report.txt", b"scanned twice".to_vec())
        .await;
    let id = file["id"].as_str().unwrap().to_owned();
    let t = app.state.now();
    let running = scan_jobs::lease_next(app.state.db(), t, t + 300)
        .await
        .unwrap()
        .unwrap();
    // An admin asks for a rescan while that scan runs.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/admin/files/{id}/rescan")))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::ACCEPTED);
    // The running scan finishes with an old verdict: it must not stand, nor end the new job.
    let pool = &app.state.db().pool;
    assert!(!scan_jobs::complete(
        pool,
        &running,
        coffer::model::ScanStatus::Infected,
        Some("old")
    )
    .await
    .unwrap());
    assert!(
        !scan_jobs::fail(pool, &running, "old failure", app.state.now() + 60)
            .await
            .unwrap()
    );
    assert_eq!(statuses(&app).await[&id], "pending");
    assert_eq!(drain(app.state.clone()).await, 1);
    assert_eq!(statuses(&app).await[&id], "clean");
}
