//! Behind a reverse proxy: which client a request comes from decides rate limits and what audit
//! rows say, and forwarded headers count only from the proxies the operator trusts.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{error_code, spawn_app_with, TestApp, PASSWORD};

/// A login as alice, as forwarded by a proxy for `client`.
async fn login_via(app: &TestApp, client: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", client)
        .json(&json!({"email": "alice@example.org", "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stranger_behind_the_proxy_cannot_lock_a_user_out() {
    let app =
        spawn_app_with(|s| s.connections.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
            .await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    app.register("alice").await;
    for _ in 0..10 {
        let res = login_via(&app, "198.51.100.7", "wrong-password-1").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_via(&app, "198.51.100.7", "wrong-password-1").await;
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
    // Even the right password is refused to the guesser this minute...
    let res = login_via(&app, "198.51.100.7", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // ...while alice, from her own address, signs in.
    let res = login_via(&app, "203.0.113.20", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);

    let ips: Vec<Option<String>> =
        sqlx::query_scalar("SELECT ip FROM audit_log WHERE action = 'login.failed'")
            .fetch_all(&app.state.db().pool)
            .await
            .unwrap();
    assert_eq!(ips.len(), 10);
    assert!(
        ips.iter().all(|ip| ip.as_deref() == Some("198.51.100.7")),
        "{ips:?}"
    );
    let ok: Option<String> =
        sqlx::query_scalar("SELECT ip FROM audit_log WHERE action = 'login.ok'")
            .fetch_one(&app.state.db().pool)
            .await
            .unwrap();
    assert_eq!(ok.as_deref(), Some("203.0.113.20"));
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_change_nothing() {
    // No trusted proxies (the default): every request here comes from 127.0.0.1, whatever it
    // claims, so the guesses and alice's login share one client.
    let app = spawn_app_with(|_| {}).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    app.register("alice").await;
    for _ in 0..10 {
        let res = login_via(&app, "198.51.100.7", "wrong-password-1").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_via(&app, "203.0.113.20", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let ips: Vec<Option<String>> = sqlx::query_scalar("SELECT ip FROM audit_log")
        .fetch_all(&app.state.db().pool)
        .await
        .unwrap();
    assert!(
        ips.iter().all(|ip| ip.as_deref() == Some("127.0.0.1")),
        "{ips:?}"
    );
}

#[tokio::test]
async fn a_client_guessing_across_accounts_is_limited_too() {
    let app = spawn_app_with(|s| {
        s.connections.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.rates.login_per_min = 2;
    })
    .await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    app.register("alice").await;
    // Per client: three times the per-account rate, across accounts.
    for i in 0..6 {
        let res = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", "198.51.100.7")
            .json(&json!({"email": format!("nobody{i}@example.org"), "password": "x-password-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = login_via(&app, "198.51.100.7", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        login_via(&app, "198.51.100.8", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn registrations_are_limited_per_client_per_hour() {
    let app = spawn_app_with(|s| {
        s.connections.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.rates.register_per_hour = 2;
    })
    .await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let register = |client: &'static str, name: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/v1/auth/register"))
                .header("x-forwarded-for", client)
                .json(&json!({
                    "email": format!("{name}@example.org"),
                    "username": name,
                    "password": PASSWORD,
                }))
                .send()
                .await
                .unwrap()
        }
    };
    // A form refused for its content does not count.
    let res = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({"email": "not an email", "username": "zed", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        register("198.51.100.7", "alice1").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        register("198.51.100.7", "alice2").await.status(),
        StatusCode::CREATED
    );
    let res = register("198.51.100.7", "alice3").await;
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
    assert_eq!(
        register("198.51.100.8", "bob1").await.status(),
        StatusCode::CREATED
    );
}

/// An IPv6 client is counted by its /64: a host that owns one (as most do) cannot get a fresh
/// allowance by changing the low bits of its address, while another /64 keeps its own.
#[tokio::test]
async fn ipv6_clients_are_limited_by_their_64() {
    let app =
        spawn_app_with(|s| s.connections.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
            .await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    app.register("alice").await;
    for i in 1..=10 {
        let res = login_via(&app, &format!("2001:db8:7:1::{i:x}"), "wrong-password-1").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_via(&app, "2001:db8:7:1:ffff:1:2:3", PASSWORD).await;
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
    let res = login_via(&app, "2001:db8:7:2::1", PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "another /64 is another client"
    );
    // The audit log keeps each full address.
    let ips: Vec<Option<String>> =
        sqlx::query_scalar("SELECT ip FROM audit_log WHERE action = 'login.failed'")
            .fetch_all(&app.state.db().pool)
            .await
            .unwrap();
    assert!(
        ips.iter()
            .any(|ip| ip.as_deref() == Some("2001:db8:7:1::a")),
        "{ips:?}"
    );
}
