//! Sessions, API tokens and second-factor codes are the fleet's, not one instance's.

use coffer::server::service::two_factor::code_at;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    client::{error_code, new_client, now, session_cookie, Api, PASSWORD, TOTP_STEP},
    harness::Fleet,
};

#[tokio::test]
async fn a_session_or_token_made_on_one_instance_works_and_ends_on_both() {
    let fleet = Fleet::start().await;
    let (a, b) = (fleet.node(0), fleet.node(1));

    let alice = a.user("alice").await;
    assert_eq!(b.me(&alice.access).await.status(), StatusCode::OK);
    // Refresh on B; the new access token works on A, and the spent refresh token is spent
    // everywhere (reuse ends the family).
    let res = b.refresh(&alice.refresh).await;
    assert_eq!(res.status(), StatusCode::OK);
    let renewed: Value = res.json().await.unwrap();
    let access = renewed["access_token"].as_str().unwrap();
    let refresh = renewed["refresh_token"].as_str().unwrap();
    assert_eq!(a.me(access).await.status(), StatusCode::OK);
    // Signing out through A ends the token on B.
    assert_eq!(a.logout(access).await.status(), StatusCode::NO_CONTENT);
    b.assert_tokens_revoked(access, refresh).await;

    // A browser signed in through A's login form is signed in on B.
    let browser = new_client();
    let res = a.login_form(&browser, "alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let cookie = session_cookie(&res).expect("a session cookie");
    let cookie_pair = cookie.split(';').next().unwrap().to_owned();
    assert!(b.signed_in(&browser).await);
    // Signing out on B ends the session for A too, even for a copy of the cookie.
    let res = b.form_post(&browser, "logout", &[]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let replay = reqwest::Client::new()
        .get(a.url("/"))
        .header("cookie", &cookie_pair)
        .send()
        .await
        .unwrap();
    let page = replay.text().await.unwrap();
    assert!(
        !page.contains("Signed in as"),
        "the session outlived logout"
    );
}

#[tokio::test]
async fn a_second_factor_code_used_on_one_instance_is_refused_on_the_other() {
    let fleet = Fleet::start().await;
    let (a, b) = (fleet.node(0), fleet.node(1));
    let alice = a.user("alice").await;
    // Enrol on A, confirm on B.
    let res = a
        .post_bearer(
            "/api/v1/auth/2fa/setup",
            &alice.access,
            json!({"current_password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let secret = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // Away from a step edge, so the codes below mean the steps they name.
    away_from_step_edge().await;
    let t0 = now();
    let code = |steps: i64| code_at(&secret, (t0 + steps * TOTP_STEP) as u64).unwrap();
    let res = b
        .post_bearer(
            "/api/v1/auth/2fa/verify",
            &alice.access,
            json!({"current_password": PASSWORD, "totp_code": code(0)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let login = |api: &Api, code: String| {
        let api = api.clone();
        async move {
            api.post_json(
                "/api/v1/auth/login",
                &json!({"email": "alice@example.org", "password": PASSWORD, "totp_code": code}),
            )
            .await
        }
    };
    assert_eq!(login(a, code(1)).await.status(), StatusCode::OK);
    // The same code a moment later on B: a replay.
    assert_eq!(
        error_code(login(b, code(1)).await, StatusCode::UNAUTHORIZED).await,
        "invalid_totp"
    );
}

/// Waits, if need be, until the current TOTP time step has at least twelve seconds left, so
/// that a code made now is checked by the servers in the same step: these are real processes,
/// on the system's clock, which a test cannot move.
async fn away_from_step_edge() {
    const MARGIN: i64 = 12;
    let into_step = now() % TOTP_STEP;
    if into_step >= TOTP_STEP - MARGIN {
        tokio::time::sleep(std::time::Duration::from_secs(
            (TOTP_STEP - into_step + 1) as u64,
        ))
        .await;
    }
}
