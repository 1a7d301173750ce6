//! The browser side of account security, as a browser without JavaScript uses it: the second
//! step of a login with 2FA, enrolment on `/settings/security`, the session list and signing
//! other sessions out, and the password change.

use reqwest::{Response, StatusCode};

use crate::helpers::{new_client, session_cookie, spawn_app, spawn_app_with, PASSWORD};
use crate::two_factor::{alice_with_2fa, code, AliceWith2fa};

fn location(res: &Response) -> &str {
    res.headers()["location"].to_str().unwrap()
}

/// The session cookie's `name=value`, if the response sets it.
fn session_id(res: &Response) -> Option<String> {
    session_cookie(res).map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_browser_login_with_2fa_takes_a_second_step_under_a_new_session_id() {
    let AliceWith2fa {
        app, secret, t0, ..
    } = alice_with_2fa(-1, |_| {}).await;
    let browser = new_client();

    let res = app.login_form(&browser, "alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/login/code");
    let after_password = session_id(&res).expect("a new session id after the password");
    assert!(
        !app.signed_in(&browser).await,
        "not signed in before the code"
    );
    let (status, html) = app.page(&browser, "/login/code").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"login-code\""), "{html}");

    let res = app
        .form_post(&browser, "login_code", &[("code", "000000")])
        .await;
    assert_eq!(location(&res), "/login/code");
    let (_, html) = app.page(&browser, "/login/code").await;
    assert!(html.contains("That code is not right"), "{html}");
    assert!(!app.signed_in(&browser).await);

    let code = code(&secret, t0, 0);
    let res = app
        .form_post(&browser, "login_code", &[("code", &code)])
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/");
    let after_code = session_id(&res).expect("the session id rotates again");
    assert_ne!(after_code, after_password);
    assert!(app.signed_in(&browser).await);

    // The same code in another browser is a replay.
    let other = new_client();
    app.login_form(&other, "alice", PASSWORD).await;
    app.form_post(&other, "login_code", &[("code", &code)])
        .await;
    assert!(!app.signed_in(&other).await);
}

#[tokio::test]
async fn the_code_step_needs_a_password_step_first() {
    let app = spawn_app().await;
    app.register("alice").await;
    let browser = new_client();
    let res = app
        .form_post(&browser, "login_code", &[("code", "123456")])
        .await;
    assert_eq!(location(&res), "/login");
    let (_, html) = app.page(&browser, "/login").await;
    assert!(html.contains("The sign-in took too long"), "{html}");
    let (_, html) = app.page(&browser, "/login/code").await;
    assert!(
        html.contains("There is no sign-in waiting for a code"),
        "{html}"
    );
}

#[tokio::test]
async fn enrolment_on_the_page_shows_the_recovery_codes_once() {
    let app = spawn_app().await;
    app.register("alice").await;
    let browser = new_client();
    app.login_form(&browser, "alice", PASSWORD).await;
    let res = app
        .form_post(
            &browser,
            "start_two_factor",
            &[("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&res), "/settings/security");
    let (_, html) = app.page(&browser, "/settings/security").await;
    assert!(html.contains("data:image/svg+xml;base64,"), "a QR code");
    let secret: String = html
        .split("data-testid=\"totp-secret\" class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret on the page")
        .replace(' ', "");

    let res = app
        .form_post(
            &browser,
            "enable_two_factor",
            &[("current_password", PASSWORD), ("code", "000000")],
        )
        .await;
    assert_eq!(location(&res), "/settings/security");
    let (_, html) = app.page(&browser, "/settings/security").await;
    assert!(html.contains("That code is not right"));
    assert!(html.contains("data-testid=\"enrolment\""), "still waiting");

    let code = code(&secret, app.at_step_start(), 0);
    app.form_post(
        &browser,
        "enable_two_factor",
        &[("current_password", PASSWORD), ("code", &code)],
    )
    .await;
    let (_, html) = app.page(&browser, "/settings/security").await;
    assert!(html.contains("data-testid=\"recovery-codes\""), "{html}");
    assert_eq!(html.matches("<li><code>").count(), 10);
    assert!(html.contains("10 unused recovery codes left"));
    let (_, html) = app.page(&browser, "/settings/security").await;
    assert!(
        !html.contains("data-testid=\"recovery-codes\""),
        "shown once"
    );
    assert!(
        app.signed_in(&browser).await,
        "this browser stays signed in"
    );
}

#[tokio::test]
async fn the_session_list_signs_other_browsers_and_clients_out() {
    let app = spawn_app_with(|_| {}).await;
    app.register("alice").await;
    const FIREFOX: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";
    let firefox = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(FIREFOX)
        .build()
        .unwrap();
    let (mine, other, third) = (new_client(), firefox, new_client());
    for browser in [&mine, &other, &third] {
        app.login_form(browser, "alice", PASSWORD).await;
    }
    let token = app.login("alice").await.access;
    let (_, html) = app.page(&mine, "/settings/security").await;
    assert_eq!(html.matches("data-testid=\"session-row\"").count(), 3);
    // A browser in words, its whole user-agent string on hover.
    let device = r#"data-testid="session-device" class="name">Firefox 140 on Windows 10<"#;
    assert!(html.contains(device), "{html}");
    assert!(html.contains(&format!(r#"title="{FIREFOX}""#)), "{html}");
    assert_eq!(html.matches("data-testid=\"this-browser\"").count(), 1);

    // One of them, by its id from the page.
    let ids: Vec<String> = html
        .split("name=\"id\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    app.form_post(&mine, "end_session", &[("id", &ids[0])])
        .await;
    let still: Vec<bool> =
        futures::future::join_all([&other, &third].map(|b| app.signed_in(b))).await;
    assert_eq!(still.iter().filter(|s| **s).count(), 1);

    // Everyone else, API tokens included.
    app.form_post(&mine, "end_other_sessions", &[]).await;
    assert!(!app.signed_in(&other).await && !app.signed_in(&third).await);
    assert!(app.signed_in(&mine).await);
    let res = app.me(&token).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn changing_the_password_on_the_page_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    app.register("alice").await;
    let (mine, other) = (new_client(), new_client());
    app.login_form(&mine, "alice", PASSWORD).await;
    app.login_form(&other, "alice", PASSWORD).await;

    let res = app
        .form_post(
            &mine,
            "change_password",
            &[
                ("current_password", "not it at all"),
                ("new_password", "a new long secret"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/settings/security");
    let (_, html) = app.page(&mine, "/settings/security").await;
    assert!(html.contains("That password is not right"), "{html}");
    assert!(app.signed_in(&other).await);

    app.form_post(
        &mine,
        "change_password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a new long secret"),
        ],
    )
    .await;
    let (_, html) = app.page(&mine, "/settings/security").await;
    assert!(html.contains("data-testid=\"password-changed\""), "{html}");
    assert!(app.signed_in(&mine).await);
    assert!(!app.signed_in(&other).await);
    let res = app
        .login_form(&new_client(), "alice", "a new long secret")
        .await;
    assert_eq!(location(&res), "/");
}
