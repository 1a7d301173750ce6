//! The pages' server functions as a browser without JavaScript uses them: sessions, cookies,
//! errors on the page, CSRF.

use reqwest::{Client, Response, StatusCode};

use crate::helpers::{new_client, session_cookie, spawn_app, spawn_app_with, TestApp, PASSWORD};

/// Alice's login form sent as a browser sends it from our own page: same-origin fetch metadata,
/// no `Origin` header.
async fn same_origin_login(app: &TestApp, browser: &Client) -> Response {
    browser
        .post(app.url("/app/login"))
        .header("accept", "text/html")
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", "alice@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn register_form_signs_in_and_redirects_home() {
    let app = spawn_app().await;
    let browser = new_client();
    let res = app
        .form_post(
            &browser,
            "register",
            &[
                ("email", "alice@example.org"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/");
    let (status, html) = app.page(&browser, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Signed in as"), "{html}");
    assert!(html.contains("alice"));
}

#[tokio::test]
async fn session_cookie_is_httponly_lax_and_rotates_at_login() {
    let app = spawn_app().await;
    app.register("alice").await;
    let browser = new_client();
    let res = app.login_form(&browser, "alice", PASSWORD).await;
    let before = session_cookie(&res).expect("session cookie at login");
    assert!(before.contains("HttpOnly"), "{before}");
    assert!(before.contains("SameSite=Lax"), "{before}");
    assert!(
        !before.contains("Secure"),
        "plain http: no Secure flag: {before}"
    );
    // Signing in again from a browser that has a session gives it a new id.
    let res = app.login_form(&browser, "alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let after = session_cookie(&res).expect("new session cookie at login");
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&before), id(&after), "session id must rotate at login");
}

/// A failed form from a visitor without a session carries its error in a short-lived signed
/// cookie, not in a new session: fifty bad logins from clients that keep no cookies leave no
/// session behind (a session is saved exactly when its cookie is set).
#[tokio::test]
async fn failed_forms_from_visitors_without_a_session_make_no_session() {
    let app = spawn_app().await;
    app.register("alice").await;
    for _ in 0..50 {
        let res = app.login_form(&new_client(), "alice", "wrong one").await;
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(session_cookie(&res), None, "no session for a failed login");
        let flash = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("coffer_flash="))
            .expect("the error travels in the flash cookie")
            .to_owned();
        assert!(
            flash.contains("HttpOnly")
                && flash.contains("SameSite=Lax")
                && flash.contains("Max-Age=120"),
            "{flash}"
        );
    }
    // A registration refused for its content, too.
    let res = app
        .form_post(
            &new_client(),
            "register",
            &[
                ("email", "not an email"),
                ("username", "x"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(session_cookie(&res), None);
}

/// The flash cookie is signed: one made by anyone else puts no words on the page.
#[tokio::test]
async fn a_forged_flash_cookie_shows_nothing() {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let app = spawn_app().await;
    let forged = URL_SAFE_NO_PAD.encode(
        br#"{"flash_error":{"detail":"Call +1 555 0100 to unlock your files","code":"x"}}"#,
    );
    for cookie in [
        format!("coffer_flash={forged}"),
        format!(
            "coffer_flash={forged}.{}",
            URL_SAFE_NO_PAD.encode([0u8; 32])
        ),
    ] {
        let html = new_client()
            .get(app.url("/login"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Sign in") && !html.contains("555 0100"),
            "{html}"
        );
    }
}

#[tokio::test]
async fn https_public_url_gives_host_prefixed_secure_cookie_and_hsts() {
    let app = spawn_app_with(|s| s.site.public_url = "https://files.example.org".into()).await;
    app.register("alice").await;
    let browser = new_client();
    let res = same_origin_login(&app, &browser).await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-coffer_session="))
        .expect("__Host- cookie")
        .to_owned();
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    assert!(res.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn wrong_password_shows_a_message_on_the_login_page_without_javascript() {
    let app = spawn_app().await;
    app.register("alice").await;
    let browser = new_client();
    let res = app.login_form(&browser, "alice", "wrong one").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/login");
    let (_, html) = app.page(&browser, "/login").await;
    assert!(html.contains("Wrong email or password"), "{html}");
    // Shown once: a reload does not repeat it.
    let (_, html) = app.page(&browser, "/login").await;
    assert!(!html.contains("Wrong email or password"));
}

#[tokio::test]
async fn register_errors_are_shown_on_the_register_page() {
    let app = spawn_app().await;
    app.register("alice").await;
    let browser = new_client();
    let res = app
        .form_post(
            &browser,
            "register",
            &[
                ("email", "alice@example.org"),
                ("username", "alice2"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/register");
    let (_, html) = app.page(&browser, "/register").await;
    assert!(html.contains("already registered"), "{html}");
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    app.register("alice").await;
    let browser = new_client();
    let res = app.login_form(&browser, "alice", PASSWORD).await;
    let cookie = session_cookie(&res).unwrap();
    let cookie_pair = cookie.split(';').next().unwrap().to_owned();
    let res = app.form_post(&browser, "logout", &[]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/login");
    // Replaying the old cookie from another client: the session is gone server-side.
    let replay = reqwest::Client::new()
        .get(app.url("/"))
        .header("cookie", cookie_pair)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!replay.contains("Signed in as"));
}

#[tokio::test]
async fn cross_site_form_posts_are_refused_with_403() {
    let app = spawn_app().await;
    app.register("alice").await;
    let browser = new_client();
    let cases: [&[(&str, &str)]; 4] = [
        &[("origin", "https://evil.example")],
        &[("sec-fetch-site", "cross-site"), ("origin", "null")],
        &[("origin", "null")],
        &[],
    ];
    for headers in cases {
        let mut req = browser
            .post(app.url("/app/login"))
            .header("accept", "text/html")
            .form(&[("email", "alice@example.org"), ("password", PASSWORD)]);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "cross_site_request");
    }
    // Same-origin fetch metadata (what browsers send from our pages) passes.
    let res = same_origin_login(&app, &browser).await;
    assert_eq!(res.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn unknown_pages_return_404_in_words() {
    let app = spawn_app().await;
    let (status, html) = app.page(&app.client, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));
}

/// A page renders while other servers start in the same process. Starting a server once walked
/// the app's routes, and Leptos holds back every resource load in the process while it walks
/// (leptos-rs/leptos#4773): a render caught in that window never finished. The test suites run
/// many servers in one process; a page request here must never wait on another's start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_other_servers_start() {
    let app = spawn_app().await;
    let starting = std::thread::spawn(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            for _ in 0..8 {
                drop(spawn_app().await);
            }
        });
    });
    let mut renders = 0;
    while !starting.is_finished() || renders < 20 {
        let page = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            app.page(&app.client, "/files"),
        )
        .await;
        let (status, html) = page.expect("the page is sent, not held while servers start");
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Sign in to upload"), "{html}");
        renders += 1;
    }
    starting.join().unwrap();
}
