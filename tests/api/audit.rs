//! `/api/v1/admin/audit`: filters, keyset pages, the CSV export, what is audited and by whom,
//! and the retention sweep.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use coffer::{
    model::AuditOutcome,
    server::{
        db::{self, audit::AuditRow},
        scanner::EICAR,
        service::audit,
    },
};

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp};

async fn audit_page(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app
        .get_bearer(&format!("/api/v1/admin/audit{query}"), token)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    res.json().await.unwrap()
}

fn actions(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_log_filters_by_action_target_outcome_and_time() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let _ = app.login_with("bob@example.org", "wrong password").await;
    let file = app.upload_ok(&bob.access, "b.txt", b"bee".to_vec()).await;
    let file_id = file["id"].as_str().unwrap();

    let page = audit_page(&app, &admin.access, "?action=file.upload").await;
    assert_eq!(actions(&page), ["file.upload"]);
    let entry = &page["entries"][0];
    assert_eq!(entry["actor_id"], bob.id.as_str());
    assert_eq!(entry["actor_email"], "bob@example.org");
    assert_eq!(entry["target"], file_id);
    assert_eq!(entry["ip"], "127.0.0.1");
    assert!(entry["detail"].as_str().unwrap().contains("b.txt"));

    let on_file = audit_page(&app, &admin.access, &format!("?target={file_id}")).await;
    assert!(actions(&on_file).contains(&"file.upload".to_owned()));
    assert!(on_file["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["target"] == file_id));

    let failures = audit_page(&app, &admin.access, "?outcome=failure").await;
    assert_eq!(actions(&failures), ["login.failed"]);
    let by_bob = audit_page(
        &app,
        &admin.access,
        "?actor=bob@example.org&outcome=success",
    )
    .await;
    assert!(actions(&by_bob).contains(&"user.register".to_owned()));
    assert!(!actions(&by_bob).contains(&"login.failed".to_owned()));

    let future = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let since_future = audit_page(&app, &admin.access, &format!("?since={future}")).await;
    assert_eq!(actions(&since_future).len(), 0);
    let until_future = audit_page(&app, &admin.access, &format!("?until={future}")).await;
    let everything = audit_page(&app, &admin.access, "").await;
    assert_eq!(ids(&until_future), ids(&everything));

    for bad in [
        "?since=yesterday",
        "?outcome=maybe",
        "?limit=0",
        "?limit=501",
        "?cursor=page-2",
        "?cursor=",
        "?cursor=1-0B2C41D2-8a4e-4c1a-9d3e-2f6b7a8c9d0e",
    ] {
        let res = app
            .get_bearer(&format!("/api/v1/admin/audit{bad}"), &admin.access)
            .await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_error",
            "{bad}"
        );
    }
    let res = app.get_bearer("/api/v1/admin/audit", &bob.access).await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await, "forbidden");
}

/// Pages of two, newest first, followed by their cursors, give every entry once, in the order of
/// one big page, even while new entries arrive between the pages.
#[tokio::test]
async fn cursors_page_through_the_log_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    for name in ["bea", "cid", "dan"] {
        app.register(name).await;
    }
    let whole = audit_page(&app, &admin.access, "?limit=500").await;
    assert!(whole["next_cursor"].is_null());
    let expected = ids(&whole);
    assert!(expected.len() >= 5, "{expected:?}");

    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = audit_page(&app, &admin.access, &query).await;
        seen.extend(ids(&page));
        // New entries meanwhile land before the first page, not in the pages still to come.
        app.register(&format!("late{}", seen.len())).await;
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    let times: Vec<String> = whole["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
}

#[tokio::test]
async fn the_csv_export_holds_every_selected_entry_with_a_header() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    for i in 0..3 {
        let _ = app
            .login_with("admin@example.org", &format!("wrong {i}"))
            .await;
    }
    let csv = |query: &str| {
        let (app, token, path) = (
            &app,
            admin.access.clone(),
            format!("/api/v1/admin/audit{query}"),
        );
        async move {
            app.client
                .get(app.url(&path))
                .bearer_auth(token)
                .header(header::ACCEPT, "text/csv")
                .send()
                .await
                .unwrap()
        }
    };
    let res = csv("?action=login.failed").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let disposition = res.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"coffer-audit-"),
        "{disposition}"
    );
    let text = res.text().await.unwrap();
    let mut reader = csv_reader(&text);
    let header_row = reader.headers().unwrap().clone();
    assert_eq!(
        header_row.iter().collect::<Vec<_>>(),
        [
            "time",
            "actor_id",
            "actor_email",
            "action",
            "target",
            "outcome",
            "ip",
            "user_agent",
            "detail",
            "id",
            "request_id"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|r| &r[3] == "login.failed" && &r[5] == "failure"));
    assert_eq!(&rows[0][2], "admin@example.org");

    let everything = audit_page(&app, &admin.access, "?limit=500").await;
    let all_rows = csv_reader(&csv("").await.text().await.unwrap())
        .records()
        .count();
    assert_eq!(all_rows, ids(&everything).len());
    let two = csv_reader(&csv("?limit=2").await.text().await.unwrap())
        .records()
        .count();
    assert_eq!(two, 2);
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::Reader::from_reader(text.as_bytes())
}

#[tokio::test]
async fn every_admin_action_is_audited_with_the_admin_as_actor() {
    let app = spawn_app_with(|s| s.scanning.worker = false).await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let file = app.upload_ok(&bob.access, "b.txt", b"bee".to_vec()).await;
    let id = file["id"].as_str().unwrap();
    app.run_scans().await;
    app.patch_user(&admin.access, &carol.id, &json!({"role": "admin"}))
        .await;
    app.patch_user(&admin.access, &bob.id, &json!({"quota_bytes": 1000}))
        .await;
    app.delete_bearer(
        &format!("/api/v1/admin/users/{}/2fa", bob.id),
        &admin.access,
    )
    .await;
    app.client
        .post(app.url(&format!("/api/v1/admin/files/{id}/rescan")))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    app.delete_bearer(&format!("/api/v1/admin/files/{id}"), &admin.access)
        .await;
    app.delete_bearer(&format!("/api/v1/admin/users/{}", carol.id), &admin.access)
        .await;
    let page = audit_page(&app, &admin.access, &format!("?actor={}", admin.id)).await;
    let mine = actions(&page);
    for action in [
        "admin.user_updated",
        "admin.quota_set",
        "admin.file_rescan",
        "admin.file_delete",
        "admin.user_deleted",
    ] {
        assert!(mine.contains(&action.to_owned()), "{action} in {mine:?}");
    }
    // Bob has no 2FA: a reset changed nothing, so nothing was recorded.
    assert!(!mine.contains(&"admin.2fa_reset".to_owned()));
    // A deleted admin's entries stay, under their id.
    let carols = audit_page(&app, &admin.access, &format!("?actor={}", carol.id)).await;
    assert!(actions(&carols).contains(&"user.register".to_owned()));
    assert!(carols["entries"][0]["actor_email"].is_null());
}

#[tokio::test]
async fn entries_past_the_retention_are_pruned_and_the_prune_is_recorded() {
    let app = spawn_app_with(|s| s.upkeep.audit_retention_days = 30).await;
    let admin = app.user("admin").await;
    let pool = &app.state.db().pool;
    for (id, days_ago) in [("old", 31), ("recent", 29)] {
        db::audit::insert(
            pool,
            &AuditRow {
                id: format!("{id}-entry"),
                at: app.state.now() - days_ago * 86_400,
                actor_id: None,
                action: "test.entry".into(),
                target: Some(id.into()),
                outcome: AuditOutcome::Success,
                ip: None,
                user_agent: None,
                detail: None,
                request_id: None,
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(audit::prune_expired(&app.state).await.unwrap(), 1);
    let page = audit_page(&app, &admin.access, "?action=test.entry").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert_eq!(page["entries"][0]["target"], "recent");
    let pruned = audit_page(&app, &admin.access, "?action=audit.pruned").await;
    assert!(pruned["entries"][0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("entries=1 older_than_days=30"));
    assert_eq!(audit::prune_expired(&app.state).await.unwrap(), 0);
    // With a retention of 0, nothing is ever pruned.
    let keep = spawn_app_with(|s| s.upkeep.audit_retention_days = 0).await;
    keep.user("admin").await;
    assert_eq!(audit::prune_expired(&keep.state).await.unwrap(), 0);
}

/// The id of the one entry with `action` (and, for a failed login, the row for this attempt).
async fn request_id_of(app: &TestApp, token: &str, action: &str) -> Value {
    let page = audit_page(app, token, &format!("?action={action}")).await;
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{action}: {page}");
    entries[0]["request_id"].clone()
}

/// A failed login sent with `X-Request-Id: id`; the id the response carries.
async fn login_with_request_id(app: &TestApp, email: &str, id: &str) -> String {
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-request-id", id)
        .json(&json!({"email": email, "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    res.headers()["x-request-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_entry_names_the_request_it_came_from() {
    // 127.0.0.1 is the proxy here: the id it sends is kept, a client's own is not.
    let app = spawn_app_with(|s| {
        s.connections.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.scanning.worker = false; // the test runs the scan, below
    })
    .await;
    let admin = app.user("admin").await;

    let res = app.login_with("admin@example.org", "wrong password").await;
    let made = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 36, "a UUID: {made}");
    assert_eq!(
        request_id_of(&app, &admin.access, "login.failed").await,
        made.as_str()
    );

    let kept = login_with_request_id(&app, "nobody@example.org", "nginx-4f1c2a").await;
    assert_eq!(kept, "nginx-4f1c2a");
    let page = audit_page(&app, &admin.access, "?action=login.failed").await;
    assert_eq!(page["entries"][0]["request_id"], "nginx-4f1c2a");

    // Not a plain token: replaced, and the entry carries the id Coffer made.
    let replaced = login_with_request_id(&app, "nobody@example.org", "a b <script>").await;
    assert_ne!(replaced, "a b <script>");
    let page = audit_page(&app, &admin.access, "?action=login.failed").await;
    assert_eq!(page["entries"][0]["request_id"], replaced.as_str());

    // The system's own work has no request.
    let bob = app.user("bob").await;
    app.upload_ok(&bob.access, "eicar.txt", EICAR.to_vec())
        .await;
    app.run_scans().await;
    assert_eq!(
        request_id_of(&app, &admin.access, "file.infected").await,
        Value::Null
    );
}

#[tokio::test]
async fn a_client_that_is_no_proxy_cannot_choose_its_request_id() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let id = login_with_request_id(&app, "admin@example.org", "chosen-by-the-client").await;
    assert_ne!(id, "chosen-by-the-client");
    assert_eq!(
        request_id_of(&app, &admin.access, "login.failed").await,
        id.as_str()
    );
}
