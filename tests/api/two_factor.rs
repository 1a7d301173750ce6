//! Two-factor authentication through the REST API: enrolment, login with a code or a recovery
//! code, replay, windows, disabling, rate limits, and the master key rotation.

use base64::Engine as _;
use coffer::server::service::{key_rotation, two_factor::code_at};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    audit_count, error_code, spawn_app_with, TestApp, PASSWORD, TOTP_STEP as STEP,
};

/// The code the user's app shows `steps` steps after the moment `t0`.
pub(crate) fn code(secret: &str, t0: i64, steps: i64) -> String {
    code_at(secret, (t0 + steps * STEP) as u64).unwrap()
}

async fn setup(app: &TestApp, token: &str) -> Value {
    let res = app
        .post_bearer(
            "/api/v1/auth/2fa/setup",
            token,
            json!({"current_password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn verify(app: &TestApp, token: &str, code: &str) -> Response {
    app.post_bearer(
        "/api/v1/auth/2fa/verify",
        token,
        json!({"current_password": PASSWORD, "totp_code": code}),
    )
    .await
}

async fn disable(app: &TestApp, token: &str, code: &str) -> Response {
    app.client
        .delete(app.url("/api/v1/auth/2fa/disable"))
        .bearer_auth(token)
        .json(&json!({"current_password": PASSWORD, "totp_code": code}))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn login(app: &TestApp, code: Option<&str>) -> Response {
    let mut body = json!({"email": "alice@example.org", "password": PASSWORD});
    if let Some(code) = code {
        body["totp_code"] = json!(code);
    }
    app.post_json("/api/v1/auth/login", &body).await
}

/// Alice with 2FA switched on by a code of `enrol_step` steps from `t0`.
pub(crate) struct AliceWith2fa {
    pub app: TestApp,
    /// Her access token, from before 2FA was on.
    pub token: String,
    /// The TOTP secret, base32.
    pub secret: String,
    pub recovery_codes: Vec<String>,
    /// Later codes are made relative to this moment, so a test that runs across a step boundary
    /// still means the steps it names.
    pub t0: i64,
}

pub(crate) async fn alice_with_2fa(
    enrol_step: i64,
    configure: impl FnOnce(&mut coffer::server::config::Settings),
) -> AliceWith2fa {
    let app = spawn_app_with(configure).await;
    let token = app.user("alice").await.access;
    let secret = setup(&app, &token).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let t0 = app.at_step_start();
    let res = verify(&app, &token, &code(&secret, t0, enrol_step)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let recovery_codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    AliceWith2fa {
        app,
        token,
        secret,
        recovery_codes,
        t0,
    }
}

#[tokio::test]
async fn enrolment_shows_a_secret_and_switches_on_only_with_a_valid_code() {
    let app = spawn_app_with(|_| {}).await;
    app.register("alice").await;
    let token = app.login("alice").await.access;
    let other_login = app.login("alice").await.access;

    let started = setup(&app, &token).await;
    let secret = started["secret"].as_str().unwrap();
    assert!(secret.len() >= 32, "at least 160 bits, base32");
    let url = started["otpauth_url"].as_str().unwrap();
    assert!(
        url.starts_with("otpauth://totp/Coffer:alice%40example.org?"),
        "{url}"
    );
    assert!(url.contains(&format!("secret={secret}")));
    let qr = started["qr_code"].as_str().unwrap();
    let svg = base64::engine::general_purpose::STANDARD
        .decode(
            qr.strip_prefix("data:image/svg+xml;base64,")
                .expect("SVG data URL"),
        )
        .unwrap();
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));

    // The secret is sealed at rest.
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret FROM user_totp")
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    let raw = totp_rs::Secret::try_from_base32(secret).unwrap();
    assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_ref()));

    // Not on yet: logging in needs no code, and me says off.
    assert_eq!(login(&app, None).await.status(), StatusCode::OK);
    let user: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(user["two_factor_enabled"], false);

    // Wrong codes, and codes two steps away, are refused.
    let t0 = app.at_step_start();
    for bad in [
        code(secret, t0, 2),
        code(secret, t0, -2),
        "000000".to_owned(),
        "12345".to_owned(),
    ] {
        let res = verify(&app, &token, &bad).await;
        assert_eq!(
            error_code(res, StatusCode::BAD_REQUEST).await,
            "invalid_code",
            "{bad}"
        );
    }
    let res = verify(&app, &token, &code(secret, t0, 0)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let mut distinct: Vec<_> = codes.iter().map(|c| c.as_str().unwrap()).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(&app.state.db().pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(!stored
        .iter()
        .any(|h| codes.iter().any(|c| h.contains(c.as_str().unwrap()))));

    let user: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(user["two_factor_enabled"], true);
    // Enabling ended the other token family, not the caller's.
    assert_eq!(
        app.me(&other_login).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(audit_count(&app, "2fa.enabled").await, 1);
    assert!(audit_count(&app, "2fa.failed").await >= 4);

    let body = json!({"current_password": PASSWORD});
    let res = app
        .post_bearer("/api/v1/auth/2fa/setup", &token, body)
        .await;
    assert_eq!(
        error_code(res, StatusCode::CONFLICT).await,
        "two_factor_enabled"
    );
}

#[tokio::test]
async fn verify_without_a_setup_is_refused() {
    let app = spawn_app_with(|_| {}).await;
    app.register("alice").await;
    let token = app.login("alice").await.access;
    let res = verify(&app, &token, "123456").await;
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "two_factor_not_started"
    );
    let res = disable(&app, &token, "123456").await;
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "two_factor_disabled"
    );
}

#[tokio::test]
async fn login_needs_a_code_and_no_code_works_twice() {
    let AliceWith2fa {
        app, secret, t0, ..
    } = alice_with_2fa(0, |_| {}).await;
    let res = login(&app, None).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "totp_required"
    );
    let res = login(&app, Some("000000")).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "invalid_totp"
    );
    // The code that switched 2FA on was of this step: that step is spent.
    let res = login(&app, Some(&code(&secret, t0, 0))).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "invalid_totp"
    );
    // A wrong password with a good code is still a wrong password.
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "alice@example.org", "password": "nope nope", "totp_code": code(&secret, t0, 1)}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "invalid_credentials"
    );

    // The next step's code (within the one-step skew) works once.
    let next = code(&secret, t0, 1);
    let res = login(&app, Some(&next)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.me(&token).await.status(), StatusCode::OK);
    let res = login(&app, Some(&next)).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "invalid_totp"
    );
    // An earlier step than the last accepted one is spent too.
    let res = login(&app, Some(&code(&secret, t0, 0))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let via: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'login.ok' AND detail = 'channel=api via=password+totp'",
    )
    .fetch_one(&app.state.db().pool)
    .await
    .unwrap();
    assert_eq!(via, 1);
}

#[tokio::test]
async fn recovery_codes_work_once_each() {
    let AliceWith2fa {
        app,
        recovery_codes: codes,
        ..
    } = alice_with_2fa(0, |_| {}).await;
    // Typed carelessly: upper case, spaces for dashes.
    let typed = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(login(&app, Some(&typed)).await.status(), StatusCode::OK);
    let res = login(&app, Some(&codes[0])).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "invalid_totp"
    );
    assert_eq!(login(&app, Some(&codes[1])).await.status(), StatusCode::OK);
    assert_eq!(audit_count(&app, "2fa.recovery_code_used").await, 2);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL")
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert_eq!(left, 8);
}

#[tokio::test]
async fn disabling_needs_a_current_code() {
    let AliceWith2fa {
        app,
        token,
        secret,
        t0,
        ..
    } = alice_with_2fa(-1, |_| {}).await;
    let res = disable(&app, &token, "000000").await;
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "invalid_code"
    );
    let res = disable(&app, &token, &code(&secret, t0, -1)).await;
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "invalid_code",
        "the enrolment's step is spent"
    );
    let other = login(&app, Some(&code(&secret, t0, 0))).await;
    let other: Value = other.json().await.unwrap();
    let other = other["access_token"].as_str().unwrap().to_owned();

    let res = disable(&app, &token, &code(&secret, t0, 1)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let user: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(user["two_factor_enabled"], false);
    assert_eq!(app.me(&other).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, None).await.status(), StatusCode::OK);
    assert_eq!(audit_count(&app, "2fa.disabled").await, 1);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes")
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the recovery codes go with it");
}

#[tokio::test]
async fn a_recovery_code_can_switch_2fa_off_for_a_lost_phone() {
    let AliceWith2fa {
        app,
        token,
        recovery_codes: codes,
        ..
    } = alice_with_2fa(0, |_| {}).await;
    assert_eq!(
        disable(&app, &token, &codes[3]).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_codes_are_limited_per_account_even_with_login_limits_off() {
    let AliceWith2fa { app, token, .. } = alice_with_2fa(0, |s| s.rates.login_per_min = 0).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    // Five wrong codes a minute; the right one at enrolment did not count.
    for _ in 0..5 {
        let res = disable(&app, &token, "000000").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    let res = disable(&app, &token, "000000").await;
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
}

#[tokio::test]
async fn rotating_the_master_key_re_seals_totp_secrets() {
    let AliceWith2fa {
        app, secret, t0, ..
    } = alice_with_2fa(-1, |_| {}).await;
    let before: String = sqlx::query_scalar("SELECT master_key_id FROM user_totp")
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    let rotation = key_rotation::rotate(&app.state).await.unwrap();
    assert_eq!(rotation.totp_rewrapped, 1);
    assert!(rotation.totp_failed.is_empty());
    assert_eq!(rotation.retired, vec![before.clone()]);
    let app = app.restart(|_| {}).await;
    let after: String = sqlx::query_scalar("SELECT master_key_id FROM user_totp")
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert_ne!(after, before);
    assert_eq!(
        login(&app, Some(&code(&secret, t0, 0))).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn account_security_changes_need_the_current_password() {
    let app = spawn_app_with(|_| {}).await;
    let token = app.user("alice").await.access;
    // A stolen token alone cannot start an enrolment...
    let res = app
        .post_bearer("/api/v1/auth/2fa/setup", &token, json!({}))
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
    let wrong = json!({"current_password": "not-her-password"});
    let res = app
        .post_bearer("/api/v1/auth/2fa/setup", &token, wrong)
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "wrong_password"
    );
    assert_eq!(audit_count(&app, "user.password_check_failed").await, 1);
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_totp")
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert_eq!(pending, 0, "no secret was made");

    // ...nor switch one on, even with the right code.
    let secret = setup(&app, &token).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_bearer(
            "/api/v1/auth/2fa/verify",
            &token,
            json!({"current_password": "not-her-password", "totp_code": code(&secret, app.state.now(), 0)}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "wrong_password"
    );
    let me: Value = app.me(&token).await.json().await.unwrap();
    assert_eq!(me["two_factor_enabled"], false);
}

#[tokio::test]
async fn wrong_current_passwords_are_limited_per_account() {
    let app = spawn_app_with(|s| s.rates.login_per_min = 3).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    let token = app.user("alice").await.access;
    let wrong = || json!({"current_password": "not-her-password"});
    for _ in 0..3 {
        let res = app
            .post_bearer("/api/v1/auth/2fa/setup", &token, wrong())
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app
        .post_bearer("/api/v1/auth/2fa/setup", &token, wrong())
        .await;
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_ones() {
    let AliceWith2fa {
        app,
        token,
        secret,
        recovery_codes,
        t0,
    } = alice_with_2fa(-1, |_| {}).await;
    let renew = |password: &str, code: &str| {
        app.post_bearer(
            "/api/v1/auth/2fa/recovery-codes",
            &token,
            json!({"current_password": password, "totp_code": code}),
        )
    };
    let res = renew("not-her-password", &code(&secret, t0, 0)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = renew(PASSWORD, "000000").await;
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "invalid_code"
    );
    let res = renew(PASSWORD, &code(&secret, t0, 0)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["cache-control"],
        "no-store",
        "recovery codes are never cached"
    );
    let fresh: Vec<String> =
        serde_json::from_value(res.json::<Value>().await.unwrap()["recovery_codes"].clone())
            .unwrap();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !recovery_codes.contains(c)));
    assert_eq!(
        login(&app, Some(&recovery_codes[0])).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old codes are gone"
    );
    assert_eq!(login(&app, Some(&fresh[0])).await.status(), StatusCode::OK);
    assert_eq!(audit_count(&app, "2fa.recovery_codes_renewed").await, 1);
}

#[tokio::test]
async fn ten_wrong_codes_in_a_row_lock_the_code_step_for_fifteen_minutes() {
    let AliceWith2fa {
        app, secret, t0, ..
    } = alice_with_2fa(-1, |_| {}).await;
    // Attempts count in rate-limit windows: the time holds still while they are made.
    app.state.clock().stop();
    // Nine wrong codes already, over the last minutes (the per-minute limit allows five).
    sqlx::query("UPDATE user_totp SET failed_codes = 9")
        .execute(&app.state.db().pool)
        .await
        .unwrap();
    let res = login(&app, Some("000000")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(audit_count(&app, "2fa.locked").await, 1);
    // Now even the right code is refused, saying for how long.
    let res = login(&app, Some(&code(&secret, t0, 0))).await;
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "two_factor_locked"
    );

    // Once the lock has passed, the right code works and the count starts again.
    sqlx::query("UPDATE user_totp SET locked_until = $1")
        .bind(app.state.now() - 1)
        .execute(&app.state.db().pool)
        .await
        .unwrap();
    let res = login(&app, Some(&code(&secret, t0, 0))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let failed: i64 = sqlx::query_scalar("SELECT failed_codes FROM user_totp")
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert_eq!(failed, 0);
}

/// A sealed TOTP secret is bound to its user: copied onto another account's row (by someone
/// with write access to the database who knows the secret), it opens nowhere but at home.
#[tokio::test]
async fn a_totp_secret_copied_to_another_account_does_not_open_there() {
    let AliceWith2fa {
        app, secret, t0, ..
    } = alice_with_2fa(-1, |_| {}).await;
    let bob = app.user("bob").await;
    sqlx::query(
        "INSERT INTO user_totp (user_id, master_key_id, secret, enabled_at, created_at, \
         seal_version) \
         SELECT $1, master_key_id, secret, enabled_at, created_at, seal_version FROM user_totp \
         WHERE user_id = (SELECT id FROM users WHERE email = 'alice@example.org')",
    )
    .bind(&bob.id)
    .execute(&app.state.db().pool)
    .await
    .unwrap();
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "bob@example.org", "password": PASSWORD, "totp_code": code(&secret, t0, 0)}),
        )
        .await;
    assert_eq!(
        error_code(res, StatusCode::INTERNAL_SERVER_ERROR).await,
        "internal_error"
    );
    let res = login(&app, Some(&code(&secret, t0, 0))).await;
    assert_eq!(res.status(), StatusCode::OK, "at home it still works");
}
