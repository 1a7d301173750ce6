//! /api/v1/admin/users.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    helpers::{audit_count, error_code, spawn_app, PASSWORD},
    two_factor::{alice_with_2fa, login, AliceWith2fa},
};

#[tokio::test]
async fn non_admins_get_403() {
    let app = spawn_app().await;
    app.register("admin").await;
    let bob = app.user("bob").await;
    let res = app.get_bearer("/api/v1/admin/users", &bob.access).await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await, "forbidden");
    let res = app
        .patch_user(&bob.access, &bob.id, &json!({"role": "admin"}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// Every admin route answers 403 to a signed-in user who is no admin, and 401 to nobody.
#[tokio::test]
async fn every_admin_route_is_for_admins_only() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let file = app
        .upload_ok(&admin.access, "a.txt", b"admin's".to_vec())
        .await;
    let file_id = file["id"].as_str().unwrap();
    let user_id = admin.id.as_str();
    let routes = [
        (Method::GET, "/api/v1/admin/stats".to_owned()),
        (Method::GET, "/api/v1/admin/users".to_owned()),
        (Method::PATCH, format!("/api/v1/admin/users/{user_id}")),
        (Method::DELETE, format!("/api/v1/admin/users/{user_id}")),
        (Method::DELETE, format!("/api/v1/admin/users/{user_id}/2fa")),
        (Method::GET, "/api/v1/admin/files".to_owned()),
        (
            Method::POST,
            format!("/api/v1/admin/files/{file_id}/rescan"),
        ),
        (Method::DELETE, format!("/api/v1/admin/files/{file_id}")),
        (Method::GET, "/api/v1/admin/audit".to_owned()),
    ];
    for (method, path) in routes {
        let request = app.client.request(method.clone(), app.url(&path));
        let request = if method == Method::PATCH {
            request.json(&json!({"role": "user"}))
        } else {
            request
        };
        let res = request
            .try_clone()
            .unwrap()
            .bearer_auth(&bob.access)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::FORBIDDEN).await,
            "forbidden",
            "{method} {path}"
        );
        let res = request.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    assert_eq!(
        app.list_files(&admin.access).await.len(),
        1,
        "nothing was deleted"
    );
}

#[tokio::test]
async fn the_users_table_is_searched_and_paged() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    for name in ["bob", "bobby", "carol", "dave_b"] {
        app.register(name).await;
    }
    let list = |query: &'static str| {
        let (app, token) = (&app, admin.access.clone());
        async move {
            let res = app
                .get_bearer(&format!("/api/v1/admin/users{query}"), &token)
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{query}");
            let users: Vec<Value> = res.json().await.unwrap();
            // Oldest first; accounts made in the same second come in id order, so sort.
            let mut names: Vec<String> = users
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(list("").await, ["admin", "bob", "bobby", "carol", "dave_b"]);
    assert_eq!(list("?q=BOB").await, ["bob", "bobby"]);
    assert_eq!(
        list("?q=_b").await,
        ["dave_b"],
        "_ is a character, not a wildcard"
    );
    assert_eq!(list("?q=carol%40example").await, ["carol"], "emails too");
    let (first, second) = (
        list("?q=bob&limit=1").await,
        list("?q=bob&limit=1&offset=1").await,
    );
    assert_eq!([first, second].concat().len(), 2);
    assert_eq!(list("?q=zed").await, Vec::<String>::new());
    assert_eq!(list("?limit=2&offset=4").await.len(), 1);
    assert_eq!(list("?limit=3").await.len(), 3);
    let res = app
        .get_bearer("/api/v1/admin/users?limit=0", &admin.access)
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
}

#[tokio::test]
async fn admin_lists_users_and_changes_roles() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let bob = app.register("bob").await;
    let users: Vec<Value> = app
        .get_bearer("/api/v1/admin/users", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    let bob_id = bob["id"].as_str().unwrap();
    let res = app
        .patch_user(&admin.access, bob_id, &json!({"role": "admin"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "admin");
}

#[tokio::test]
async fn disabling_a_user_ends_their_tokens_and_browser_sessions_at_once() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let browser = app.browser_login("bob").await;
    assert!(app.signed_in(&browser).await);

    let res = app
        .patch_user(&admin.access, &bob.id, &json!({"is_active": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    app.assert_tokens_revoked(&bob.access, &bob.refresh).await;
    assert!(!app.signed_in(&browser).await);
    let res = app.login_with("bob@example.org", PASSWORD).await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "account_disabled"
    );
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_disabled_by_anyone() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    for change in [json!({"is_active": false}), json!({"role": "user"})] {
        let res = app.patch_user(&admin.access, &admin.id, &change).await;
        assert_eq!(
            error_code(res, StatusCode::CONFLICT).await,
            "last_active_admin",
            "{change}"
        );
    }
    let res = app
        .patch_user(&admin.access, &admin.id, &json!({"role": "owner"}))
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error",
        "a role that is none of the schema's"
    );

    // With a second admin, the first may step down; then the second is the last.
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    for user in [&bob, &carol] {
        let res = app
            .patch_user(&admin.access, &user.id, &json!({"role": "admin"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    // A disabled admin manages nothing, so does not count.
    let res = app
        .patch_user(&admin.access, &carol.id, &json!({"is_active": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .patch_user(&admin.access, &admin.id, &json!({"role": "user"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "bob is still an admin");
    let res = app
        .patch_user(&bob.access, &bob.id, &json!({"is_active": false}))
        .await;
    assert_eq!(
        error_code(res, StatusCode::CONFLICT).await,
        "last_active_admin"
    );
    let users: Vec<Value> = app
        .get_bearer("/api/v1/admin/users", &bob.access)
        .await
        .json()
        .await
        .unwrap();
    let bob_row = users.iter().find(|u| u["username"] == "bob").unwrap();
    assert_eq!(
        (&bob_row["role"], &bob_row["is_active"]),
        (&json!("admin"), &json!(true))
    );

    let res = app
        .patch_user(
            &bob.access,
            "00000000-0000-0000-0000-000000000000",
            &json!({"role": "user"}),
        )
        .await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
}

/// Two admins demoting each other at the same moment: one wins, the other is refused, and one
/// active admin is left (run on PostgreSQL too, where the two requests truly overlap).
#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    for round in 0..5 {
        let other = app.user(&format!("second{round}")).await;
        let res = app
            .patch_user(&admin.access, &other.id, &json!({"role": "admin"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let demote = json!({"role": "user"});
        let (a, b) = tokio::join!(
            app.patch_user(&admin.access, &other.id, &demote),
            app.patch_user(&other.access, &admin.id, &demote),
        );
        // The loser is refused: 409 if both got past the admin check, 403 if the winner's
        // change had already landed when the loser's request was authorised.
        let mut statuses = [a.status(), b.status()];
        statuses.sort();
        assert!(
            matches!(
                statuses,
                [StatusCode::OK, StatusCode::FORBIDDEN | StatusCode::CONFLICT]
            ),
            "round {round}: {statuses:?}"
        );
        let users: Vec<Value> = app
            .get_bearer(
                "/api/v1/admin/users",
                if a.status() == StatusCode::OK {
                    &admin.access
                } else {
                    &other.access
                },
            )
            .await
            .json()
            .await
            .unwrap();
        let admins = users.iter().filter(|u| u["role"] == "admin").count();
        assert_eq!(admins, 1, "round {round}");
        // Whoever is left makes the first admin admin again for the next round.
        if a.status() != StatusCode::OK {
            let res = app
                .patch_user(&other.access, &admin.id, &json!({"role": "admin"}))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let res = app.patch_user(&admin.access, &other.id, &demote).await;
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
}

/// An admin deletes bob: his files (rows and blobs), share links, sessions and tokens go at
/// once, his audit rows stay, and the delete is audited with what went.
#[tokio::test]
async fn deleting_a_user_takes_their_files_links_and_sessions_and_keeps_the_audit() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let browser = app.browser_login("bob").await;
    let file = app
        .upload_ok(&bob.access, "bob.txt", b"bob's file".to_vec())
        .await;
    let id = file["id"].as_str().unwrap();
    app.scanned_status(&bob.access, id).await;
    let share = app.share_ok(&bob.access, id, json!({})).await;
    let token = share["share_token"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/files/shared/{token}"))
            .await
            .status(),
        StatusCode::OK
    );
    let blobs_before = app.state.storage().list_keys().await.unwrap().len();

    let res = app
        .delete_bearer(&format!("/api/v1/admin/users/{}", bob.id), &admin.access)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let res = app.get(&format!("/api/v1/files/shared/{token}")).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    app.assert_tokens_revoked(&bob.access, &bob.refresh).await;
    assert!(!app.signed_in(&browser).await, "his browser is signed out");
    assert_eq!(
        app.state.storage().list_keys().await.unwrap().len(),
        blobs_before - 1,
        "his blob is deleted"
    );
    let pool = &app.state.db().pool;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blob_uploads")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "no blob left for the sweeper");
    let his_audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE actor_id = $1")
        .bind(&bob.id)
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(his_audit >= 3, "register, login, upload… stay: {his_audit}");
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'admin.user_deleted' AND actor_id = $1",
    )
    .bind(&admin.id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(detail, "files=1 bytes=10 share_links=1");
    let res = app.login_with("bob@example.org", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The username is free again; the new account is no admin.
    let again = app.register("bob").await;
    assert_eq!(again["role"], "user");
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_deleted_and_users_cannot_delete() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let delete = |token: &str, id: &str| {
        let path = format!("/api/v1/admin/users/{id}");
        let (app, token) = (&app, token.to_owned());
        async move { app.delete_bearer(&path, &token).await }
    };
    let res = delete(&admin.access, &admin.id).await;
    assert_eq!(
        error_code(res, StatusCode::CONFLICT).await,
        "last_active_admin"
    );
    let res = delete(&bob.access, &admin.id).await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await, "forbidden");
    let res = delete(&admin.access, "00000000-0000-0000-0000-000000000000").await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    assert_eq!(app.me(&admin.access).await.status(), StatusCode::OK);
}

/// A lost phone: an admin switches alice's 2FA off; her sessions end, and she signs in with her
/// password alone.
#[tokio::test]
async fn an_admin_resets_a_lost_second_factor_and_ends_the_users_sessions() {
    let AliceWith2fa { app, token, .. } = alice_with_2fa(-1, |_| {}).await;
    let alice = app.me(&token).await.json::<Value>().await.unwrap();
    let alice_id = alice["id"].as_str().unwrap().to_owned();
    // Alice was the first account, so an admin; bob becomes one to help her.
    let bob = app.user("bob").await;
    let res = app
        .patch_user(&token, &bob.id, &json!({"role": "admin"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let reset = |id: String| {
        let (app, token) = (&app, &bob.access);
        let path = format!("/api/v1/admin/users/{id}/2fa");
        async move { app.delete_bearer(&path, token).await }
    };
    let res = login(&app, None).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "totp_required"
    );

    assert_eq!(
        reset(alice_id.clone()).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.me(&token).await.status(),
        StatusCode::UNAUTHORIZED,
        "her token ended"
    );
    assert_eq!(
        login(&app, None).await.status(),
        StatusCode::OK,
        "password alone"
    );
    assert_eq!(audit_count(&app, "admin.2fa_reset").await, 1);
    // Again, and for someone unknown.
    assert_eq!(reset(alice_id).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        audit_count(&app, "admin.2fa_reset").await,
        1,
        "nothing was reset"
    );
    let res = reset("00000000-0000-0000-0000-000000000000".into()).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
}

#[tokio::test]
async fn the_overview_counts_users_files_links_and_transfers() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let res = app
        .patch_user(&admin.access, &carol.id, &json!({"is_active": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let file = app
        .upload_ok(&bob.access, "b.txt", b"twelve bytes".to_vec())
        .await;
    let id = file["id"].as_str().unwrap();
    assert_eq!(app.scanned_status(&bob.access, id).await, "clean");
    assert_eq!(app.download(&bob.access, id).await.status(), StatusCode::OK);
    let share = app
        .share_ok(&bob.access, id, json!({"max_downloads": 5}))
        .await;
    let token = share["share_token"].as_str().unwrap();
    let res = app.get(&format!("/api/v1/files/shared/{token}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap();

    let res = app.get_bearer("/api/v1/admin/stats", &bob.access).await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await, "forbidden");
    let stats: Value = app
        .get_bearer("/api/v1/admin/stats", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["users"],
        json!({"active": 2, "disabled": 1, "admins": 1})
    );
    assert_eq!(
        stats["files"],
        json!({"count": 1, "bytes": 12, "scan_pending": 0, "scan_infected": 0, "scan_error": 0})
    );
    assert_eq!(stats["active_share_links"], 1);
    assert_eq!(
        stats["last_24_hours"],
        json!({"uploads": 1, "downloads": 2})
    );
    let daily = stats["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(
        daily[29],
        json!({"day": today, "uploads": 1, "downloads": 2})
    );
    assert!(daily[..29]
        .iter()
        .all(|d| d["uploads"] == 0 && d["downloads"] == 0));
}
