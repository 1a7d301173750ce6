//! Bearer tokens: /auth/me, /auth/refresh, /auth/logout.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn me_returns_the_current_user() {
    let app = spawn_app().await;
    app.register("alice").await;
    let tokens = app.login("alice").await;
    let res = app.me(&tokens.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: serde_json::Value = res.json().await.unwrap();
    assert_eq!(me["username"], "alice");
    assert!(me["last_login"].is_string(), "login recorded: {me}");
}

#[tokio::test]
async fn me_without_or_with_a_bad_token_returns_401() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/auth/me").await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "not_authenticated"
    );
    let res = app.me("cfa_forged").await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
}

#[tokio::test]
async fn refresh_tokens_cannot_be_used_as_access_tokens_or_vice_versa() {
    let app = spawn_app().await;
    app.register("alice").await;
    let tokens = app.login("alice").await;
    let res = app.me(&tokens.refresh).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.refresh(&tokens.access).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotates_the_pair() {
    let app = spawn_app().await;
    app.register("alice").await;
    let tokens = app.login("alice").await;
    let res = app.refresh(&tokens.refresh).await;
    assert_eq!(res.status(), StatusCode::OK);
    let pair: serde_json::Value = res.json().await.unwrap();
    assert_ne!(pair["refresh_token"].as_str().unwrap(), tokens.refresh);
    let res = app.me(pair["access_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    app.register("alice").await;
    let stolen = app.login("alice").await;
    let res = app.refresh(&stolen.refresh).await;
    let rotated: serde_json::Value = res.json().await.unwrap();

    let replay = app.refresh(&stolen.refresh).await;
    assert_eq!(
        error_code(replay, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );

    // The legitimate holder's newer tokens die with the family.
    let res = app.me(rotated["access_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .refresh(rotated["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Another login (another family) is untouched.
    let other = app.login("alice").await;
    assert_eq!(app.me(&other.access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_yield_at_most_one_pair() {
    let app = spawn_app().await;
    app.register("alice").await;
    let tokens = app.login("alice").await;
    let body = json!({"refresh_token": tokens.refresh});
    let attempts = (0..8).map(|_| app.post_json("/api/v1/auth/refresh", &body));
    let statuses: Vec<_> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count() <= 1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn garbage_refresh_token_returns_401() {
    let app = spawn_app().await;
    let res = app.refresh("cfr_nope").await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
}

#[tokio::test]
async fn logout_revokes_access_and_refresh_tokens_of_this_login() {
    let app = spawn_app().await;
    app.register("alice").await;
    let tokens = app.login("alice").await;
    let other = app.login("alice").await;
    let res = app.logout(&tokens.access).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.assert_tokens_revoked(&tokens.access, &tokens.refresh)
        .await;
    // Another device's login stays signed in.
    assert_eq!(app.me(&other.access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_without_a_token_returns_401() {
    let app = spawn_app().await;
    let res = app
        .anonymous(reqwest::Method::POST, "/api/v1/auth/logout")
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "not_authenticated"
    );
}

#[tokio::test]
async fn password_change_ends_every_token_and_browser_session() {
    use coffer::server::{
        db,
        service::{accounts, RequestMeta},
    };
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let tokens = app.login("alice").await;
    let user = db::users::find_by_id(&app.state.db().pool, alice["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    accounts::change_password(
        &app.state,
        &user,
        crate::helpers::PASSWORD.into(),
        "a brand new secret".into(),
        accounts::CurrentSession::None,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        app.me(&tokens.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .login_with("alice@example.org", "a brand new secret")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
