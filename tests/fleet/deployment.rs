//! The deployment files: nginx on `deploy/nginx.conf` in front of the fleet, the image's health
//! check, and the metrics an operator scrapes from each instance.

use reqwest::StatusCode;

use crate::{
    client::text,
    harness::{Fleet, Options, METRICS_TOKEN},
};

/// Requests an instance answered on routes other than the probes and the scrape.
fn served(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("coffer_http_requests_total{"))
        .filter(|l| !l.contains("route=\"/ready\"") && !l.contains("route=\"/metrics\""))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn behind_nginx_requests_reach_both_instances_and_large_files_stream_through() {
    let fleet = Fleet::start_with(Options {
        nginx: true,
        ..Options::default()
    })
    .await;
    let proxy = fleet.proxy.as_ref().unwrap();
    let alice = proxy.user("alice").await;
    // Above nginx's default 1 MiB body limit, far above its buffers.
    let content = text(16 * 1024 * 1024);
    let res = proxy
        .upload(&alice.access, "big.txt", content.clone())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(proxy.scanned_status(&alice.access, &id).await, "clean");
    let res = proxy.download(&alice.access, &id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().len(), content.len());
    for _ in 0..10 {
        assert_eq!(proxy.me(&alice.access).await.status(), StatusCode::OK);
    }

    // nginx made the request id (its access log has it), Coffer kept it from its trusted
    // proxy, and the audit entry names it.
    assert_eq!(request_id.len(), 32, "nginx's $request_id: {request_id}");
    assert!(fleet.proxy_log().contains(&format!("id={request_id}")));
    let audited: Option<String> = sqlx::query_scalar(
        "SELECT request_id FROM audit_log WHERE action = 'file.upload' AND target = $1",
    )
    .bind(&id)
    .fetch_one(&fleet.db().await)
    .await
    .unwrap();
    assert_eq!(audited.as_deref(), Some(request_id.as_str()));

    // Both instances served some of it.
    for i in 0..2 {
        let text = fleet.node(i).metrics(METRICS_TOKEN).await;
        assert!(served(&text) >= 2.0, "instance {i} served nothing:\n{text}");
    }
}

#[tokio::test]
async fn the_health_check_follows_readiness_and_metrics_need_the_token() {
    let mut fleet = Fleet::start_with(Options {
        instances: 1,
        ..Options::default()
    })
    .await;
    assert!(fleet.healthcheck(0).await);
    let node = fleet.node(0).clone();
    let res = node.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(node
        .metrics(METRICS_TOKEN)
        .await
        .contains("coffer_db_connections_max"));
    fleet.kill(0).await;
    assert!(!fleet.healthcheck(0).await);
}
