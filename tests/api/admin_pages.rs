//! The admin pages as a browser without JavaScript uses them: the 403 page for everyone else,
//! the pages' content, their forms (which come back to the page they were sent from), the
//! confirmation before a user is deleted, and the audit page's CSV export.

use reqwest::{header, StatusCode};

use crate::helpers::{audit_count, new_client, spawn_app, spawn_app_with};

const PAGES: [&str; 5] = [
    "/admin",
    "/admin/users",
    "/admin/files",
    "/admin/audit",
    "/admin/users/00000000-0000-0000-0000-000000000000/delete",
];

#[tokio::test]
async fn anyone_but_an_admin_gets_a_403_page_that_says_so() {
    let app = spawn_app().await;
    app.register("admin").await;
    app.register("bob").await;
    let bob = app.browser_login("bob").await;
    for browser in [&bob, &new_client()] {
        for page in PAGES {
            let (status, html) = app.page(browser, page).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
            assert!(html.contains("Admins only"), "{page}: {html}");
            assert!(
                !html.contains("admin-stats") && !html.contains("user-table"),
                "{page}"
            );
        }
    }
    let (_, home) = app.page(&bob, "/files").await;
    assert!(
        !home.contains(r#"data-testid="admin-link""#),
        "no Admin link for users"
    );
}

#[tokio::test]
async fn the_admin_pages_show_the_installation() {
    let app = spawn_app().await;
    app.register("admin").await;
    let bob = app.user("bob").await;
    app.upload_ok(&bob.access, "bob-report.txt", b"report".to_vec())
        .await;
    let browser = app.browser_login("admin").await;

    let (status, html) = app.page(&browser, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"data-testid="admin-link""#),
        "the header links here"
    );
    assert!(html.contains(r#"data-testid="transfer-chart""#), "{html}");
    assert!(html.contains("<svg"), "the chart is drawn by the server");
    assert_eq!(html.matches("class=\"bar-up\"").count(), 30, "a bar a day");
    assert!(
        html.contains("1 uploads") || html.contains(": 1 uploads"),
        "today's upload has a tooltip"
    );

    let (status, html) = app.page(&browser, "/admin/users?q=bob").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("bob@example.org"));
    assert_eq!(
        html.matches(r#"data-testid="user-row""#).count(),
        1,
        "the search narrows the table"
    );
    assert!(html.contains("6 bytes (no quota)"));

    let (status, html) = app.page(&browser, "/admin/files?owner=bob").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("bob-report.txt"));

    let (status, html) = app.page(&browser, "/admin/audit?action=file.upload").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("bob@example.org"));
    assert!(
        html.contains(r#"href="/admin/audit.csv?action=file.upload""#),
        "{html}"
    );
    assert_eq!(html.matches(r#"data-testid="audit-row""#).count(), 1);

    let (status, html) = app
        .page(&browser, &format!("/admin/users/{}/delete", bob.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("1 file (6 bytes)"), "{html}");
    assert!(html.contains("0 share links"));
    let (status, _) = app
        .page(
            &browser,
            "/admin/users/00000000-0000-0000-0000-000000000000/delete",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The forms work as plain posts: each comes back to the page it was sent from, with its
/// search kept; a refusal is shown there in words.
#[tokio::test]
async fn the_users_forms_work_without_javascript() {
    let app = spawn_app_with(|s| s.uploads.user_quota_bytes = Some(1 << 30)).await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let browser = app.browser_login("admin").await;
    let bobs_browser = app.browser_login("bob").await;
    let back = "/admin/users?q=bob";

    let res = app
        .form_post(
            &browser,
            "admin_change_user",
            &[
                ("id", bob.id.as_str()),
                ("change", "disable"),
                ("back", back),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[header::LOCATION], back);
    assert!(
        !app.signed_in(&bobs_browser).await,
        "bob's browser is signed out"
    );
    assert_eq!(app.me(&bob.access).await.status(), StatusCode::UNAUTHORIZED);
    let (_, html) = app.page(&browser, back).await;
    assert!(
        html.contains(r#"class="status user-disabled">disabled"#),
        "{html}"
    );

    let res = app
        .form_post(
            &browser,
            "admin_set_quota",
            &[
                ("id", bob.id.as_str()),
                ("quota", "custom"),
                ("amount", "2.5"),
                ("unit", "GiB"),
                ("back", "https://evil.example/admin"),
            ],
        )
        .await;
    assert_eq!(
        res.headers()[header::LOCATION],
        "/admin/users",
        "only our own pages"
    );
    let (_, html) = app.page(&browser, back).await;
    assert!(html.contains("0 bytes of 2.5 GiB"), "{html}");

    // Refused: the last active admin stays, and the page says why.
    let res = app
        .form_post(
            &browser,
            "admin_change_user",
            &[
                ("id", admin.id.as_str()),
                ("change", "make_user"),
                ("back", back),
            ],
        )
        .await;
    assert_eq!(res.headers()[header::LOCATION], back);
    let (_, html) = app.page(&browser, back).await;
    assert!(html.contains("last active admin"), "{html}");

    // Deleting, from the confirmation page.
    let res = app
        .form_post(&browser, "admin_delete_user", &[("id", bob.id.as_str())])
        .await;
    assert_eq!(res.headers()[header::LOCATION], "/admin/users");
    let (_, html) = app.page(&browser, "/admin/users").await;
    assert!(!html.contains("bob@example.org"));
    assert_eq!(audit_count(&app, "admin.user_deleted").await, 1);

    // A user's browser cannot post the admin forms.
    app.register("carol").await;
    let carol = app.browser_login("carol").await;
    let res = app
        .form_post(
            &carol,
            "admin_change_user",
            &[("id", admin.id.as_str()), ("change", "disable")],
        )
        .await;
    assert_eq!(res.headers()[header::LOCATION], "/admin/users");
    assert_eq!(app.me(&admin.access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_audit_page_exports_its_filtered_rows_as_csv() {
    let app = spawn_app().await;
    app.register("admin").await;
    app.register("bob").await;
    let _ = app.login_with("bob@example.org", "not his password").await;
    let browser = app.browser_login("admin").await;
    let res = browser
        .get(app.url("/admin/audit.csv?action=login.failed&since=2000-01-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("time,actor_id,actor_email,action"));
    assert!(lines[1].contains("login.failed") && lines[1].contains("bob@example.org"));

    let res = browser
        .get(app.url("/admin/audit.csv?since=last%20week"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bob = app.browser_login("bob").await;
    let res = bob.get(app.url("/admin/audit.csv")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = new_client()
        .get(app.url("/admin/audit.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// `/files` shows an admin their own files, titled so, with a switch to everyone's; anyone else
/// sees their own whatever they ask.
#[tokio::test]
async fn an_admins_file_list_is_their_own_with_a_switch_to_everyones() {
    let app = spawn_app().await;
    let admin = app.user("root").await;
    let alice = app.user("alice").await;
    app.upload_ok(&admin.access, "admin-notes.txt", b"mine".to_vec())
        .await;
    app.upload_ok(&alice.access, "alice-photo.txt", b"hers".to_vec())
        .await;
    let (root_browser, alice_browser) = (new_client(), new_client());
    app.login_form(&root_browser, "root", crate::helpers::PASSWORD)
        .await;
    app.login_form(&alice_browser, "alice", crate::helpers::PASSWORD)
        .await;

    let (_, html) = app.page(&root_browser, "/files").await;
    assert!(html.contains("<h2>Your files<"), "{html}");
    assert!(html.contains("admin-notes.txt") && !html.contains("alice-photo.txt"));
    assert!(html.contains(r#"data-testid="whose-switch""#));
    let (_, html) = app.page(&root_browser, "/files?whose=everyone").await;
    assert!(html.contains("<h2>Everyone's files<"), "{html}");
    assert!(html.contains("admin-notes.txt") && html.contains("alice-photo.txt"));

    let (_, html) = app.page(&alice_browser, "/files?whose=everyone").await;
    assert!(html.contains("alice-photo.txt") && !html.contains("admin-notes.txt"));
    assert!(!html.contains(r#"data-testid="whose-switch""#));
}
