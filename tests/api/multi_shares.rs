//! Links to several files: `POST /api/v1/shares`, `GET /api/v1/shares`,
//! `PATCH` and `DELETE /api/v1/shares/{id}` and the recipient's `/files/shared/{token}/files[/{file_id}]`.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_code, new_client, pattern, spawn_app_with, TestApp};

/// An app where alice has three files scanned clean; bob is another user.
struct Three {
    app: TestApp,
    alice: String,
    bob: String,
    ids: Vec<String>,
    contents: Vec<Vec<u8>>,
}

async fn three_files(configure: impl FnOnce(&mut coffer::server::config::Settings)) -> Three {
    let app = spawn_app_with(configure).await;
    let alice = app.user("alice").await.access;
    let bob = app.user("bob").await.access;
    let mut ids = Vec::new();
    let mut contents = Vec::new();
    for (i, name) in ["a.txt", "b.txt", "c.txt"].into_iter().enumerate() {
        let bytes: Vec<u8> = pattern(40_000 + i * 1000)
            .iter()
            .map(|b| b'a' + b.wrapping_add(i as u8) % 26)
            .collect();
        let file = app.upload_ok(&alice, name, bytes.clone()).await;
        let id = file["id"].as_str().unwrap().to_owned();
        if app.settings.scanning.worker {
            assert_eq!(app.scanned_status(&alice, &id).await, "clean");
        }
        ids.push(id);
        contents.push(bytes);
    }
    Three {
        app,
        alice,
        bob,
        ids,
        contents,
    }
}

async fn create(app: &TestApp, token: &str, body: Value) -> Response {
    app.post_bearer("/api/v1/shares", token, body).await
}

async fn create_ok(app: &TestApp, token: &str, body: Value) -> String {
    let res = create(app, token, body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let link: Value = res.json().await.unwrap();
    link["share_token"].as_str().unwrap().to_owned()
}

async fn info(app: &TestApp, token: &str, password: Option<&str>) -> Response {
    let mut req = new_client().get(app.url(&format!("/api/v1/files/shared/{token}/files")));
    if let Some(password) = password {
        req = req.header("X-Share-Password", password);
    }
    req.send().await.unwrap()
}

async fn download(app: &TestApp, token: &str, file_id: &str) -> Response {
    new_client()
        .get(app.url(&format!("/api/v1/files/shared/{token}/files/{file_id}")))
        .send()
        .await
        .unwrap()
}

async fn patch(app: &TestApp, token: &str, id: &str, changes: Value) -> Response {
    app.client
        .patch(app.url(&format!("/api/v1/shares/{id}")))
        .bearer_auth(token)
        .json(&changes)
        .send()
        .await
        .unwrap()
}

async fn patch_ok(app: &TestApp, token: &str, id: &str, changes: Value) -> Value {
    let res = patch(app, token, id, changes).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn mine(app: &TestApp, token: &str) -> Vec<Value> {
    let res = app.get_bearer("/api/v1/shares", token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn mark_pending(app: &TestApp, ids: &[&String]) {
    for id in ids {
        sqlx::query("UPDATE files SET scan_status = 'pending' WHERE id = $1")
            .bind(id)
            .execute(&app.state.db().pool)
            .await
            .unwrap();
    }
}

/// GETs every URL at once, each from a client of its own; the bodies of those that got 200.
/// Every other answer must be 403 (the limit reached).
async fn fetch_at_once(urls: Vec<String>) -> Vec<(usize, Vec<u8>)> {
    let attempts = urls.into_iter().enumerate().map(|(i, url)| async move {
        let res = new_client().get(url).send().await.unwrap();
        let status = res.status();
        (i, status, res.bytes().await.unwrap().to_vec())
    });
    let results = futures::future::join_all(attempts).await;
    assert!(results
        .iter()
        .all(|(_, s, _)| *s == StatusCode::OK || *s == StatusCode::FORBIDDEN));
    results
        .into_iter()
        .filter(|(_, s, _)| *s == StatusCode::OK)
        .map(|(i, _, body)| (i, body))
        .collect()
}

#[tokio::test]
async fn several_files_share_under_one_link_and_every_download_counts() {
    let Three {
        app,
        alice,
        ids,
        contents,
        ..
    } = three_files(|_| {}).await;
    let order = vec![ids[2].clone(), ids[0].clone(), ids[1].clone()];
    let token = create_ok(
        &app,
        &alice,
        json!({"file_ids": order, "max_downloads": 2, "expires_hours": 2}),
    )
    .await;

    let res = info(&app, &token, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let shared: Value = res.json().await.unwrap();
    let names: Vec<&str> = shared["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c.txt", "a.txt", "b.txt"], "in the order chosen");
    assert_eq!(shared["shared_by"], "alice");
    assert_eq!(shared["downloads_left"], 2);
    assert_eq!(shared["files"][0]["scan_status"], "clean");

    // Each file's bytes are its own; each download counts one.
    for i in [1, 2] {
        let res = download(&app, &token, &ids[i]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap().to_vec(), contents[i]);
    }
    let res = download(&app, &token, &ids[0]).await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "download_limit_reached"
    );

    // The owner's list shows the link with its files, all kinds together.
    let links = mine(&app, &alice).await;
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["file_ids"], json!(order));
    assert_eq!(links[0]["file_id"], json!(order[0]));
    assert_eq!(links[0]["download_count"], 2);
    assert_eq!(links[0]["status"], "used_up");
    // The link is also among each of its files' links.
    let res = app
        .get_bearer(&format!("/api/v1/files/{}/shares", ids[1]), &alice)
        .await;
    let of_file: Vec<Value> = res.json().await.unwrap();
    assert_eq!(of_file.len(), 1);
    assert_eq!(of_file[0]["id"], links[0]["id"]);
}

#[tokio::test]
async fn a_link_needs_files_of_yours_each_once_and_not_too_many() {
    let Three {
        app,
        alice,
        bob,
        ids,
        ..
    } = three_files(|_| {}).await;
    for body in [
        json!({"file_ids": []}),
        json!({"file_ids": [ids[0], ids[1], ids[0]]}),
        json!({"file_ids": vec![ids[0].clone(); 101]}),
        json!({"file_ids": [ids[0]], "max_downloads": 0}),
        json!({"file_ids": [ids[0]], "expires_hours": 721}),
    ] {
        let res = create(&app, &alice, body.clone()).await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_error",
            "{body}"
        );
    }
    for body in [
        json!({"file_ids": [ids[0], "no-such-file"]}),
        json!({"file_ids": [ids[0]]}),
    ] {
        let res = create(&app, &bob, body).await;
        assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    }
    let res = create(&app, &alice, json!({"files": [ids[0]]})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mine(&app, &alice).await.is_empty(), "nothing was made");
    assert!(mine(&app, &bob).await.is_empty());
}

#[tokio::test]
async fn deleted_files_leave_their_links_and_a_link_left_empty_is_not_found() {
    let Three {
        app, alice, ids, ..
    } = three_files(|_| {}).await;
    let token = create_ok(&app, &alice, json!({"file_ids": [ids[0], ids[1]]})).await;
    let res = app
        .delete_bearer(&format!("/api/v1/files/{}", ids[0]), &alice)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let shared: Value = info(&app, &token, None).await.json().await.unwrap();
    assert_eq!(shared["files"].as_array().unwrap().len(), 1);
    assert_eq!(shared["files"][0]["id"], json!(ids[1]));
    let res = download(&app, &token, &ids[0]).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    assert_eq!(mine(&app, &alice).await[0]["file_ids"], json!([ids[1]]));

    app.delete_bearer(&format!("/api/v1/files/{}", ids[1]), &alice)
        .await;
    let res = info(&app, &token, None).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let res = download(&app, &token, &ids[1]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(mine(&app, &alice).await.is_empty());
}

#[tokio::test]
async fn a_file_not_in_the_link_is_not_found_through_it() {
    let Three {
        app, alice, ids, ..
    } = three_files(|_| {}).await;
    let token = create_ok(&app, &alice, json!({"file_ids": [ids[0], ids[1]]})).await;
    let res = download(&app, &token, &ids[2]).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let shared: Value = info(&app, &token, None).await.json().await.unwrap();
    assert_eq!(shared["downloads_left"], Value::Null);
    assert_eq!(
        mine(&app, &alice).await[0]["download_count"],
        0,
        "nothing counted"
    );
}

#[tokio::test]
async fn a_password_guards_the_list_and_every_file() {
    let Three {
        app, alice, ids, ..
    } = three_files(|_| {}).await;
    let token = create_ok(
        &app,
        &alice,
        json!({"file_ids": [ids[0], ids[1]], "password": "open sesame"}),
    )
    .await;
    let res = info(&app, &token, None).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "password_required"
    );
    let res = info(&app, &token, Some("wrong")).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "wrong_password"
    );
    let res = info(&app, &token, Some("open sesame")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = download(&app, &token, &ids[0]).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "password_required"
    );
    let res = new_client()
        .get(app.url(&format!("/api/v1/files/shared/{token}/files/{}", ids[0])))
        .header("X-Share-Password", "open sesame")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// The recipient's page: the password form opens a link to several files for that browser,
/// which then sees the list and downloads each file without giving the password again.
#[tokio::test]
async fn the_page_unlocks_a_protected_link_to_several_files_for_its_browser() {
    let Three {
        app,
        alice,
        ids,
        contents,
        ..
    } = three_files(|_| {}).await;
    let token = create_ok(
        &app,
        &alice,
        json!({"file_ids": [ids[0], ids[1]], "password": "open sesame", "max_downloads": 5}),
    )
    .await;
    let browser = new_client();
    let page = format!("/s/{token}");
    let post = |fields: Vec<(&'static str, String)>| {
        let (browser, url, origin) = (
            browser.clone(),
            app.url(&format!("{page}/download")),
            app.base.clone(),
        );
        async move {
            browser
                .post(url)
                .header("origin", origin)
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };
    let (_, html) = app.page(&browser, &page).await;
    assert!(html.contains("recipient-password") && !html.contains("a.txt"));

    let res = post(vec![("password", "wrong".into())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&browser, &page).await;
    assert!(html.contains("That password is not right") && !html.contains("a.txt"));

    let res = post(vec![("password", "open sesame".into())]).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "back to the list, no zip"
    );
    let (_, html) = app.page(&browser, &page).await;
    assert!(html.contains("a.txt") && html.contains("b.txt") && html.contains("Download all"));
    assert!(html.contains(">5<"), "nothing was counted yet");

    // A download from the page: the form clears it and sends the browser back to the page,
    // which says so and fetches it; it counts as it starts.
    let res = post(vec![("file_id", ids[1].clone())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&browser, &page).await;
    assert!(
        html.contains("Download of b.txt started · 4 downloads left"),
        "{html}"
    );
    assert!(html.contains(&format!("content=\"0;url={page}/download\"")));
    assert!(!html.contains("That password is not right"));
    let fetch = || browser.get(app.url(&format!("{page}/download"))).send();
    let res = fetch().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), contents[1].as_slice());
    // Its ticket was for one download: fetched again, it only goes back to the page.
    let res = fetch().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&browser, &page).await;
    assert!(html.contains("That download was started already"), "{html}");
    assert!(html.contains(">4<"), "one download counted");

    // Another browser is still asked.
    let stranger = new_client();
    let (_, html) = app.page(&stranger, &page).await;
    assert!(html.contains("recipient-password") && !html.contains("a.txt"));
    let res = stranger
        .post(app.url(&format!("{page}/download")))
        .header("origin", &app.base)
        .form(&[("file_id", ids[1].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_link_is_revoked_by_its_maker_only() {
    let Three {
        app,
        alice,
        bob,
        ids,
        ..
    } = three_files(|_| {}).await;
    let res = create(&app, &alice, json!({"file_ids": [ids[0], ids[1]]})).await;
    let link: Value = res.json().await.unwrap();
    let path = format!("/api/v1/shares/{}", link["id"].as_str().unwrap());
    let res = app.delete_bearer(&path, &bob).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    assert_eq!(
        app.delete_bearer(&path, &alice).await.status(),
        StatusCode::NO_CONTENT
    );
    // Again: nothing changes, and it is audited once.
    assert_eq!(
        app.delete_bearer(&path, &alice).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(crate::helpers::audit_count(&app, "share.revoke").await, 1);
    let res = info(&app, link["share_token"].as_str().unwrap(), None).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "link_revoked");
    assert_eq!(mine(&app, &alice).await[0]["status"], "revoked");
}

#[tokio::test]
async fn concurrent_downloads_of_different_files_never_pass_the_limit() {
    let Three {
        app,
        alice,
        ids,
        contents,
        ..
    } = three_files(|s| s.rates.download_per_min = 0).await;
    let token = create_ok(&app, &alice, json!({"file_ids": ids, "max_downloads": 5})).await;
    let urls = (0..20)
        .map(|i| {
            app.url(&format!(
                "/api/v1/files/shared/{token}/files/{}",
                ids[i % 3]
            ))
        })
        .collect();
    let ok = fetch_at_once(urls).await;
    assert_eq!(ok.len(), 5, "exactly max_downloads succeed");
    assert!(ok.iter().all(|(i, body)| *body == contents[*i % 3]));
    assert_eq!(mine(&app, &alice).await[0]["download_count"], 5);
}

/// The entries of a zip as an independent reader sees them: names and bytes, in order.
fn entries(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).expect("a valid zip");
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().to_owned(), bytes)
        })
        .collect()
}

/// The dates of a zip's entries as an independent reader sees them: `YYYY-MM-DDTHH:MM`.
fn entry_dates(archive: &[u8]) -> Vec<String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).expect("a valid zip");
    (0..zip.len())
        .map(|i| {
            let d = zip.by_index(i).unwrap().last_modified().expect("a date");
            let (y, mo, day, h, mi) = (d.year(), d.month(), d.day(), d.hour(), d.minute());
            format!("{y:04}-{mo:02}-{day:02}T{h:02}:{mi:02}")
        })
        .collect()
}

async fn zip_of(app: &TestApp, token: &str) -> Response {
    new_client()
        .get(app.url(&format!("/api/v1/files/shared/{token}/zip")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn download_all_streams_a_zip_of_the_clean_files_with_safe_distinct_names() {
    let Three {
        app,
        alice,
        ids,
        contents,
        ..
    } = three_files(|_| {}).await;
    // A second file called a.txt, and one still being scanned.
    let again: Vec<u8> = b"the other a.txt\n".repeat(100);
    let dup = app.upload_ok(&alice, "A.txt", again.clone()).await;
    let dup = dup["id"].as_str().unwrap().to_owned();
    if app.settings.scanning.worker {
        assert_eq!(app.scanned_status(&alice, &dup).await, "clean");
    }
    mark_pending(&app, &[&ids[2]]).await;
    let token = create_ok(
        &app,
        &alice,
        json!({"file_ids": [ids[0], dup, ids[1], ids[2]], "max_downloads": 3}),
    )
    .await;

    let res = zip_of(&app, &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    assert_eq!(res.headers()["x-coffer-left-out"], "1");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let archive = res.bytes().await.unwrap();
    let got = entries(&archive);
    assert_eq!(
        got,
        vec![
            ("a.txt".to_owned(), contents[0].clone()),
            ("A (2).txt".to_owned(), again),
            ("b.txt".to_owned(), contents[1].clone()),
        ]
    );
    // Each entry is dated when its file was uploaded (UTC, to the minute here; the format keeps
    // two seconds), not 1980-00-00.
    for (date, id) in entry_dates(&archive).iter().zip([&ids[0], &dup, &ids[1]]) {
        let info: serde_json::Value = app
            .get_bearer(&format!("/api/v1/files/{id}"), &alice)
            .await
            .json()
            .await
            .unwrap();
        let uploaded = info["created_at"].as_str().unwrap();
        assert_eq!(date, &uploaded[..16], "{id}");
    }
    // One audit row for the zip, naming every file in it.
    assert_eq!(crate::helpers::audit_count(&app, "share.download").await, 1);
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'share.download'")
            .fetch_one(&app.state.db().pool)
            .await
            .unwrap();
    for id in [&ids[0], &dup, &ids[1]] {
        assert!(detail.contains(id.as_str()), "{detail}");
    }
    assert!(
        !detail.contains(ids[2].as_str()),
        "the file left out is not named"
    );

    // The link's own download is the same zip for a link to several files; both count.
    let res = new_client()
        .get(app.url(&format!("/api/v1/files/shared/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(entries(&res.bytes().await.unwrap()).len(), 3);
    assert_eq!(crate::helpers::audit_count(&app, "share.download").await, 2);
    assert_eq!(mine(&app, &alice).await[0]["download_count"], 2);
    let files: Vec<Value> = app
        .get_bearer("/api/v1/files", &alice)
        .await
        .json()
        .await
        .unwrap();
    let counts: Vec<(String, Value)> = files
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["download_count"].clone(),
            )
        })
        .collect();
    for (id, count) in counts {
        let zipped = [&ids[0], &dup, &ids[1]].iter().any(|z| **z == id);
        assert_eq!(count, if zipped { 2 } else { 0 }, "{id}");
    }

    // Nothing downloadable: the reason of the first file.
    mark_pending(&app, &[&ids[0], &dup, &ids[1]]).await;
    let res = zip_of(&app, &token).await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "scan_pending");
    assert_eq!(
        mine(&app, &alice).await[0]["download_count"],
        2,
        "a refused zip counts nothing"
    );
}

#[tokio::test]
async fn twenty_concurrent_zips_never_pass_the_limit_and_each_is_whole() {
    let Three {
        app,
        alice,
        ids,
        contents,
        ..
    } = three_files(|s| s.rates.download_per_min = 0).await;
    let token = create_ok(&app, &alice, json!({"file_ids": ids, "max_downloads": 4})).await;
    let urls = (0..20)
        .map(|_| app.url(&format!("/api/v1/files/shared/{token}/zip")))
        .collect();
    let ok = fetch_at_once(urls).await;
    assert_eq!(ok.len(), 4, "exactly max_downloads succeed");
    for (_, archive) in ok {
        let got: Vec<Vec<u8>> = entries(&archive).into_iter().map(|(_, b)| b).collect();
        assert_eq!(got, contents);
    }
    assert_eq!(mine(&app, &alice).await[0]["download_count"], 4);
}

/// The caller's links page by `limit` and `offset`, newest first.
#[tokio::test]
async fn my_links_are_listed_a_page_at_a_time() {
    let Three {
        app, alice, ids, ..
    } = three_files(|_| {}).await;
    for id in &ids {
        create_ok(&app, &alice, json!({"file_ids": [id]})).await;
    }
    let listed = |query: &'static str| {
        let (app, alice) = (&app, &alice);
        async move {
            let res = app
                .get_bearer(&format!("/api/v1/shares{query}"), alice)
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Vec<Value>>().await.unwrap()
        }
    };
    let all = listed("").await;
    assert_eq!(all.len(), 3);
    assert_eq!(listed("?limit=2").await, all[..2].to_vec());
    assert_eq!(listed("?limit=2&offset=2").await, all[2..].to_vec());
    // A file's links page too.
    create_ok(&app, &alice, json!({"file_ids": [ids[1]]})).await;
    let of_file = |query: &'static str| {
        let (app, alice, id) = (&app, &alice, ids[1].clone());
        async move {
            let res = app
                .get_bearer(&format!("/api/v1/files/{id}/shares{query}"), alice)
                .await;
            res.json::<Vec<Value>>().await.unwrap()
        }
    };
    let both = of_file("").await;
    assert_eq!(both.len(), 2);
    assert_eq!(of_file("?limit=1&offset=1").await, both[1..].to_vec());
}

/// A link is edited after it was made: label, expiry, limit, password (set, changed, removed)
/// and its files; each field left out stays, `null` removes; its maker only.
#[tokio::test]
async fn a_link_is_edited_after_it_was_made() {
    let Three {
        app,
        alice,
        bob,
        ids,
        contents,
    } = three_files(|_| {}).await;
    let res = create(
        &app,
        &alice,
        json!({"file_ids": [ids[0]], "label": "  For the accountant  ", "max_downloads": 1}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: Value = res.json().await.unwrap();
    let (id, token) = (
        made["id"].as_str().unwrap().to_owned(),
        made["share_token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(mine(&app, &alice).await[0]["label"], "For the accountant");

    // Its maker only; nothing to change is said.
    let res = patch(&app, &bob, &id, json!({"label": "mine now"})).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let res = patch(&app, &alice, &id, json!({})).await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );

    // The label, the files (one added), the expiry: the rest stays.
    let link = patch_ok(
        &app,
        &alice,
        &id,
        json!({"label": "Q3 figures", "file_ids": [ids[0], ids[2]], "expires_hours": 2}),
    )
    .await;
    assert_eq!(link["label"], "Q3 figures");
    assert_eq!(link["file_ids"], json!([ids[0], ids[2]]));
    assert_eq!(link["max_downloads"], 1);
    let in_two_hours = crate::helpers::now() + 2 * 3600;
    let expires = time::OffsetDateTime::parse(
        link["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    assert!(
        (expires - in_two_hours).abs() <= 5,
        "{expires} {in_two_hours}"
    );
    let listed: Value = info(&app, &token, None).await.json().await.unwrap();
    let names: Vec<&str> = listed["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.txt", "c.txt"]);

    // The limit: used up, then raised, then removed.
    assert_eq!(
        download(&app, &token, &ids[2]).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        error_code(download(&app, &token, &ids[0]).await, StatusCode::FORBIDDEN).await,
        "download_limit_reached"
    );
    patch_ok(&app, &alice, &id, json!({"max_downloads": 2})).await;
    let res = download(&app, &token, &ids[0]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), contents[0].as_slice());
    let link = patch_ok(&app, &alice, &id, json!({"max_downloads": null})).await;
    assert_eq!(link["max_downloads"], Value::Null);
    assert_eq!(link["status"], "active");

    // A password set: asked for; changed: the old one no longer opens it, nor does a browser
    // that was given it; removed: open again.
    patch_ok(&app, &alice, &id, json!({"password": "first secret"})).await;
    let res = info(&app, &token, None).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "password_required"
    );
    assert_eq!(
        info(&app, &token, Some("first secret")).await.status(),
        StatusCode::OK
    );
    let browser = new_client();
    let page = format!("/s/{token}");
    let res = browser
        .post(app.url(&format!("{page}/download")))
        .header("origin", &app.base)
        .form(&[("password", "first secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&browser, &page).await;
    assert!(html.contains("a.txt"), "unlocked: {html}");
    let link = patch_ok(&app, &alice, &id, json!({"password": "second secret"})).await;
    assert_eq!(link["has_password"], true);
    let res = info(&app, &token, Some("first secret")).await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "wrong_password"
    );
    let (_, html) = app.page(&browser, &page).await;
    assert!(
        html.contains("recipient-password") && !html.contains("a.txt"),
        "asked again: {html}"
    );
    let link = patch_ok(&app, &alice, &id, json!({"password": null})).await;
    assert_eq!(link["has_password"], false);
    assert_eq!(info(&app, &token, None).await.status(), StatusCode::OK);

    // Bad values are refused and change nothing; someone else's file is unknown.
    for (changes, why) in [
        (json!({"label": "x".repeat(101)}), "label too long"),
        (json!({"label": "two\nlines"}), "label with a newline"),
        (json!({"expires_hours": 0}), "expiry of 0 hours"),
        (json!({"expires_hours": 721}), "expiry past 30 days"),
        (json!({"max_downloads": 0}), "limit of 0"),
        (json!({"file_ids": []}), "no files"),
        (json!({"file_ids": [ids[0], ids[0]]}), "a file twice"),
        (json!({"password": "p".repeat(1025)}), "password too long"),
    ] {
        let res = patch(&app, &alice, &id, changes).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    }
    // (Alice is the instance's first user, its admin: she may link any file she can see, as
    // when she makes a link; a file that is not there is unknown.)
    let res = patch(&app, &alice, &id, json!({"file_ids": ["no-such-file"]})).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "not_found");
    let link = &mine(&app, &alice).await[0];
    assert_eq!(link["label"], "Q3 figures");
    assert_eq!(link["file_ids"], json!([ids[0], ids[2]]));
    assert_eq!(link["has_password"], false);

    // Revoked: no longer changed. Each change was audited.
    assert_eq!(
        app.delete_bearer(&format!("/api/v1/shares/{id}"), &alice)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let res = patch(&app, &alice, &id, json!({"label": "again"})).await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );
    assert_eq!(crate::helpers::audit_count(&app, "share.update").await, 6);
}
