//! /api/v1/admin/users.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_code, new_client, spawn_app, PASSWORD};

#[tokio::test]
async fn non_admins_get_403() {
    let app = spawn_app().await;
    app.register("admin").await;
    let bob = app.register("bob").await;
    let tokens = app.login("bob").await;
    let res = app.get_bearer("/api/v1/admin/users", &tokens.access).await;
    assert_eq!(error_code(res, StatusCode::FORBIDDEN).await, "forbidden");
    let res = app
        .client
        .patch(app.url(&format!(
            "/api/v1/admin/users/{}",
            bob["id"].as_str().unwrap()
        )))
        .bearer_auth(&tokens.access)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admin_lists_users_and_changes_roles() {
    let app = spawn_app().await;
    app.register("admin").await;
    let bob = app.register("bob").await;
    let admin = app.login("admin").await;
    let users: Vec<Value> = app
        .get_bearer("/api/v1/admin/users", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    let res = app
        .client
        .patch(app.url(&format!(
            "/api/v1/admin/users/{}",
            bob["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin.access)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "admin");
}

#[tokio::test]
async fn disabling_a_user_ends_their_tokens_and_browser_sessions_at_once() {
    let app = spawn_app().await;
    app.register("admin").await;
    let bob = app.register("bob").await;
    let admin = app.login("admin").await;
    let bob_tokens = app.login("bob").await;
    let browser = new_client();
    let res = app
        .form_post(
            &browser,
            "login",
            &[("email", "bob@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(app.page(&browser, "/").await.1.contains("Signed in as"));

    let res = app
        .client
        .patch(app.url(&format!(
            "/api/v1/admin/users/{}",
            bob["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin.access)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    assert_eq!(
        app.get_bearer("/api/v1/auth/me", &bob_tokens.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": bob_tokens.refresh}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(!app.page(&browser, "/").await.1.contains("Signed in as"));
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "bob@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "account_disabled"
    );
}

#[tokio::test]
async fn admins_cannot_disable_themselves_and_unknown_users_are_404() {
    let app = spawn_app().await;
    let admin_user = app.register("admin").await;
    let admin = app.login("admin").await;
    let res = app
        .client
        .patch(app.url(&format!(
            "/api/v1/admin/users/{}",
            admin_user["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin.access)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
    let res = app
        .client
        .patch(app.url("/api/v1/admin/users/00000000-0000-0000-0000-000000000000"))
        .bearer_auth(&admin.access)
        .json(&json!({"role": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
}
