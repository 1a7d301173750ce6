//! /api/v1/admin/users.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, PASSWORD};

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
async fn admins_cannot_disable_themselves_and_unknown_users_are_404() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let res = app
        .patch_user(&admin.access, &admin.id, &json!({"is_active": false}))
        .await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "own_account");
    let res = app
        .patch_user(&admin.access, &admin.id, &json!({"role": "user"}))
        .await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "own_account");
    let res = app
        .patch_user(&admin.access, &admin.id, &json!({"role": "owner"}))
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error",
        "a role that is none of the schema's"
    );
    let res = app
        .patch_user(
            &admin.access,
            "00000000-0000-0000-0000-000000000000",
            &json!({"role": "user"}),
        )
        .await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
}
