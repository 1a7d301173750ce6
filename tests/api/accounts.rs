//! POST /api/v1/auth/register and POST /api/v1/auth/login.

use reqwest::StatusCode;
use serde_json::{json, Value};

use coffer::{model::Role, server::db::users};

use crate::helpers::{error_code, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn first_account_becomes_admin_and_the_next_a_user() {
    let app = spawn_app().await;
    let first = app.register("alice").await;
    assert_eq!(first["role"], "admin");
    assert_eq!(first["email"], "alice@example.org");
    assert_eq!(first["is_active"], true);
    assert_eq!(first["two_factor_enabled"], false);
    assert!(first["last_login"].is_null());
    assert!(
        uuid::Uuid::parse_str(first["id"].as_str().unwrap()).is_ok(),
        "ids are UUIDs"
    );
    assert!(first.get("password_hash").is_none());
    let second = app.register("bob").await;
    assert_eq!(second["role"], "user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_first_accounts_make_exactly_one_admin() {
    // Straight at the store, on several threads, so the inserts really overlap (password
    // hashing would spread registrations out over milliseconds and hide the race).
    let app = spawn_app().await;
    let pool = app.state.db().pool.clone();
    // Open the connections first, so no insert waits for a connect while another commits.
    drop(futures::future::join_all((0..8).map(|_| pool.acquire())).await);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let inserts = (0..8).map(|i| {
        let (pool, start) = (pool.clone(), start.clone());
        tokio::spawn(async move {
            let (id, email, username) = (
                uuid::Uuid::new_v4().to_string(),
                format!("founder{i}@example.org"),
                format!("founder{i}"),
            );
            let user = users::NewUser {
                id: &id,
                email: &email,
                username: &username,
                password_hash: "x",
                role: None,
                now: 1,
            };
            start.wait().await;
            users::insert(&pool, &user).await.expect("insert")
        })
    });
    let roles: Vec<Role> = futures::future::try_join_all(inserts).await.unwrap();
    let admins = roles.iter().filter(|role| **role == Role::Admin).count();
    assert_eq!(admins, 1, "roles: {roles:?}");
}

#[tokio::test]
async fn taken_email_returns_409() {
    let app = spawn_app().await;
    app.register("alice").await;
    let res = app
        .register_with("ALICE@example.org", "other", PASSWORD)
        .await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "email_taken");
}

#[tokio::test]
async fn taken_username_returns_409_whatever_its_case() {
    let app = spawn_app().await;
    app.register("alice").await;
    let res = app.register_with("x@example.org", "ALICE", PASSWORD).await;
    assert_eq!(
        error_code(res, StatusCode::CONFLICT).await,
        "username_taken"
    );
}

#[tokio::test]
async fn invalid_registrations_return_422_and_create_nothing() {
    let app = spawn_app().await;
    let cases = [
        json!({"email": "a@example.org", "username": "alice", "password": "short"}),
        json!({"email": "not-an-email", "username": "alice", "password": PASSWORD}),
        json!({"email": "a@example.org", "username": "a", "password": PASSWORD}),
        json!({"email": "a@example.org", "username": "alice"}),
        json!("nonsense"),
    ];
    for body in cases {
        let res = app.post_json("/api/v1/auth/register", &body).await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_error",
            "{body}"
        );
    }
    // Nothing was created: the name is still free and the next account is the first (admin).
    assert_eq!(app.register("alice").await["role"], "admin");
}

#[tokio::test]
async fn password_is_checked_for_length_in_the_message() {
    let app = spawn_app().await;
    let res = app.register_with("a@example.org", "alice", "1234567").await;
    let body: Value = res.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("at least 8"),
        "{body}"
    );
}

#[tokio::test]
async fn login_returns_a_bearer_token_pair() {
    let app = spawn_app().await;
    app.register("alice").await;
    let res = app.login_with("alice@example.org", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800);
    assert!(body["access_token"].as_str().unwrap().len() >= 43);
    assert_ne!(body["access_token"], body["refresh_token"]);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_both_return_401() {
    let app = spawn_app().await;
    app.register("alice").await;
    let wrong = app.login_with("alice@example.org", "wrong password").await;
    assert_eq!(
        error_code(wrong, StatusCode::UNAUTHORIZED).await,
        "invalid_credentials"
    );
    let unknown = app.login_with("nobody@example.org", PASSWORD).await;
    assert_eq!(
        error_code(unknown, StatusCode::UNAUTHORIZED).await,
        "invalid_credentials"
    );
}

#[tokio::test]
async fn login_is_rate_limited_per_account_with_retry_after() {
    let app = spawn_app_with(|s| s.rates.login_per_min = 3).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    app.register("alice").await;
    // With Redis the counters are fixed one-minute windows: start at the beginning of one.
    app.state
        .clock()
        .advance(60 - app.state.now().rem_euclid(60));
    for _ in 0..3 {
        let res = app.login_with("alice@example.org", "nope nope").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.login_with("alice@example.org", PASSWORD).await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
}

#[tokio::test]
async fn rate_limit_zero_switches_it_off() {
    let app = spawn_app_with(|s| s.rates.login_per_min = 0).await;
    app.register("alice").await;
    for _ in 0..15 {
        let res = app.login_with("alice@example.org", "nope nope").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn logins_are_audited_ok_and_failed_with_the_reason() {
    let app = spawn_app().await;
    let admin = app.user("admin").await;
    let alice = app.register("alice").await;
    let _ = app.login_with("alice@example.org", "bad password").await;
    let _ = app.login_with("nobody@example.org", "bad password").await;
    app.login("alice").await;
    let id = alice["id"].as_str().unwrap();
    let entries = |query: String| {
        let app = &app;
        let token = admin.access.clone();
        async move {
            let page: Value = app
                .get_bearer(&format!("/api/v1/admin/audit?{query}"), &token)
                .await
                .json()
                .await
                .unwrap();
            page["entries"].as_array().unwrap().clone()
        }
    };
    let failed = entries(format!("actor={id}&action=login.failed")).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["outcome"], "failure");
    assert!(failed[0]["detail"]
        .as_str()
        .unwrap()
        .contains("reason=wrong_password"));
    let unknown = entries("action=login.failed&outcome=failure".into()).await;
    assert_eq!(unknown.len(), 2, "both failures, newest first");
    assert!(unknown[0]["detail"]
        .as_str()
        .unwrap()
        .contains("reason=unknown_email"));
    assert!(unknown[0]["actor_id"].is_null());
    let ok = entries("actor=alice&action=login.ok".to_owned()).await;
    assert_eq!(ok.len(), 1, "the actor found by username");
    assert_eq!(ok[0]["outcome"], "success");
    assert_eq!(ok[0]["ip"], "127.0.0.1");
    assert_eq!(ok[0]["actor_email"], "alice@example.org");
}
