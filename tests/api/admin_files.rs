//! `/api/v1/admin/files`: every user's files with filters, rescan and delete, for admins only.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{audit_count, error_code, spawn_app_with, TestApp, TestUser};

struct Installation {
    app: TestApp,
    admin: TestUser,
    alice: TestUser,
    /// Alice's `Report-2026.txt`, scanned clean.
    report: String,
    /// Bob's `notes.txt`, scanned clean.
    notes: String,
}

/// An admin, alice and bob, each of the users with a file scanned clean. The scan worker is
/// off: tests run scans when they want them.
async fn installation() -> Installation {
    let app = spawn_app_with(|s| s.scanning.worker = false).await;
    let admin = app.user("admin").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let report = app
        .upload_ok(&alice.access, "Report-2026.txt", b"alice's report".to_vec())
        .await;
    let notes = app
        .upload_ok(&bob.access, "notes.txt", b"bob's notes".to_vec())
        .await;
    app.run_scans().await;
    Installation {
        report: report["id"].as_str().unwrap().to_owned(),
        notes: notes["id"].as_str().unwrap().to_owned(),
        app,
        admin,
        alice,
    }
}

async fn admin_files(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app
        .get_bearer(&format!("/api/v1/admin/files{query}"), token)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    res.json().await.unwrap()
}

/// The files' names, sorted: files uploaded in the same second list in id order.
fn names(files: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = files
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn admins_list_every_file_with_its_owner_and_filter_them() {
    let Installation {
        app,
        admin,
        alice,
        report,
        ..
    } = installation().await;
    app.share_ok(&alice.access, &report, json!({})).await;
    let all = admin_files(&app, &admin.access, "").await;
    assert_eq!(names(&all), ["Report-2026.txt", "notes.txt"]);
    let alice_row = all
        .iter()
        .find(|f| f["filename"] == "Report-2026.txt")
        .unwrap();
    assert_eq!(alice_row["owner_email"], "alice@example.org");
    assert_eq!(alice_row["owner_username"], "alice");
    assert_eq!(alice_row["active_share_links"], 1);
    assert_eq!(alice_row["scan_status"], "clean");
    assert_eq!(alice_row["size"], 14);

    for (query, expected) in [
        ("?owner=bob", vec!["notes.txt"]),
        ("?owner=ALICE@example.org", vec!["Report-2026.txt"]),
        ("?owner=nobody", vec![]),
        ("?name=report", vec!["Report-2026.txt"]),
        ("?name=.TXT&owner=bob", vec!["notes.txt"]),
        ("?name=%25", vec![]),
        ("?name=_", vec![]),
        ("?scan_status=infected", vec![]),
        ("?name=%20%20", vec!["Report-2026.txt", "notes.txt"]),
    ] {
        assert_eq!(
            names(&admin_files(&app, &admin.access, query).await),
            expected,
            "{query}"
        );
    }
    let pages = [
        admin_files(&app, &admin.access, "?scan_status=clean&limit=1").await,
        admin_files(&app, &admin.access, "?scan_status=clean&limit=1&offset=1").await,
    ];
    assert_eq!(
        names(&pages.concat()),
        ["Report-2026.txt", "notes.txt"],
        "a page each"
    );
    let res = app
        .get_bearer("/api/v1/admin/files?scan_status=dirty", &admin.access)
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
    let long = "x".repeat(257);
    let res = app
        .get_bearer(&format!("/api/v1/admin/files?name={long}"), &admin.access)
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
    let res = app.get_bearer("/api/v1/admin/files", &alice.access).await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await, "forbidden");
}

#[tokio::test]
async fn a_rescan_closes_downloads_until_the_new_verdict_and_is_audited() {
    let Installation {
        app,
        admin,
        alice,
        report,
        ..
    } = installation().await;
    let path = format!("/api/v1/admin/files/{report}/rescan");
    let rescan = |token: &str| {
        let (app, path, token) = (&app, path.clone(), token.to_owned());
        async move {
            app.client
                .post(app.url(&path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let res = rescan(&alice.access).await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await, "forbidden");

    let res = rescan(&admin.access).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let file: Value = res.json().await.unwrap();
    assert_eq!(file["scan_status"], "pending");
    let res = app.download(&alice.access, &report).await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "scan_pending");

    app.run_scans().await;
    assert_eq!(
        app.download(&alice.access, &report).await.status(),
        StatusCode::OK
    );
    assert_eq!(audit_count(&app, "admin.file_rescan").await, 1);
    assert_eq!(
        audit_count(&app, "file.scan_clean").await,
        3,
        "two uploads, one rescan"
    );
    let res = app
        .client
        .post(app.url("/api/v1/admin/files/00000000-0000-0000-0000-000000000000/rescan"))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
}

#[tokio::test]
async fn an_admin_deletes_any_users_file_with_its_links_and_blob() {
    let Installation {
        app,
        admin,
        alice,
        report,
        notes,
        ..
    } = installation().await;
    let link = app.share_ok(&alice.access, &report, json!({})).await;
    let token = link["share_token"].as_str().unwrap();
    let blobs = app.blob_count().await;
    let path = format!("/api/v1/admin/files/{report}");

    let res = app.delete_bearer(&path, &alice.access).await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await, "forbidden");
    let res = app.delete_bearer(&path, &admin.access).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.blob_count().await, blobs - 1);
    let res = app.get(&format!("/api/v1/files/shared/{token}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        names(&admin_files(&app, &admin.access, "").await),
        ["notes.txt"]
    );
    let res = app.delete_bearer(&path, &admin.access).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");

    // An admin's delete and download of someone else's file are admin actions; their own are not.
    assert_eq!(audit_count(&app, "admin.file_delete").await, 1);
    assert_eq!(audit_count(&app, "file.delete").await, 0);
    assert_eq!(
        app.download(&admin.access, &notes).await.status(),
        StatusCode::OK
    );
    assert_eq!(audit_count(&app, "admin.file_download").await, 1);
    assert_eq!(audit_count(&app, "file.download").await, 0);
}
