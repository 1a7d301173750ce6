//! The REST API keeps the contract its OpenAPI document states (what `scripts/fuzz-api.sh`
//! checks with Schemathesis, here pinned case by case): every answer it can give is documented,
//! every refusal is the JSON error format, the schema states the real bounds, and what the
//! schema allows is accepted.

use std::collections::HashSet;

use coffer::{
    model::{account_rules::MAX_PASSWORD_CHARS, AuditCursor, MAX_EXPIRY_HOURS, MAX_LINK_DOWNLOADS},
    server::service::admin::{MAX_FILTER_CHARS, MAX_QUOTA_BYTES},
};
use reqwest::{header, Response, StatusCode};
use serde_json::Value;

use crate::helpers::{error_code, spawn_app, TestApp, PASSWORD};

async fn document(app: &TestApp) -> Value {
    app.get("/api/v1/openapi.json").await.json().await.unwrap()
}

/// `(method, path, operation)` for every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    found
}

#[tokio::test]
async fn every_operation_has_its_own_id_and_documents_401_and_422_where_they_can_happen() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut ids = HashSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        assert!(
            ids.insert(id.clone()),
            "{method} {path}: operationId {id:?} twice"
        );
        let responses = op["responses"].as_object().unwrap();
        if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
            assert!(responses.contains_key("401"), "{method} {path} lacks 401");
        }
        let has_input = op.get("requestBody").is_some()
            || op["parameters"].as_array().is_some_and(|p| !p.is_empty());
        if has_input {
            assert!(responses.contains_key("422"), "{method} {path} lacks 422");
        }
        for (status, response) in responses {
            // Errors are the JSON error format, but for HEAD, whose answers have no body.
            if status.starts_with('4') && method != "head" {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn links_name_operations_that_exist_so_a_client_can_follow_upload_share_download() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    let ids: HashSet<&str> = ops
        .iter()
        .filter_map(|(_, _, op)| op["operationId"].as_str())
        .collect();
    let mut targets = HashSet::new();
    for (method, path, op) in &ops {
        for response in op["responses"].as_object().unwrap().values() {
            let Some(links) = response["links"].as_object() else {
                continue;
            };
            for (name, link) in links {
                let target = link["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} link {name}: {link}"));
                assert!(ids.contains(target), "{method} {path} links to {target}");
                targets.insert(target.to_owned());
            }
        }
    }
    for reached in [
        "download_shared",
        "token_download",
        "download_file",
        "revoke_share",
    ] {
        assert!(targets.contains(reached), "nothing links to {reached}");
    }
}

#[tokio::test]
async fn the_document_states_the_bounds_the_server_checks() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let share = &doc["components"]["schemas"]["ShareRequest"]["properties"];
    assert_eq!(share["expires_hours"]["minimum"], 1);
    assert_eq!(share["expires_hours"]["maximum"], MAX_EXPIRY_HOURS);
    assert_eq!(share["max_downloads"]["minimum"], 1);
    assert_eq!(share["max_downloads"]["maximum"], MAX_LINK_DOWNLOADS);
    let quota = &doc["components"]["schemas"]["QuotaInput"];
    let choices = quota["oneOf"]
        .as_array()
        .expect("a quota is one of several kinds");
    assert_eq!(choices[0]["maximum"].as_f64(), Some(MAX_QUOTA_BYTES as f64));
    assert_eq!(choices[1]["enum"], serde_json::json!(["default"]));
    assert_eq!(choices.len(), 2);
    let field = &doc["components"]["schemas"]["UserPatch"]["properties"]["quota_bytes"];
    assert_eq!(
        field["oneOf"][0]["type"], "null",
        "null, once: the field's own"
    );
    for path in [
        "/api/v1/admin/users",
        "/api/v1/admin/files",
        "/api/v1/admin/audit",
    ] {
        for param in doc["paths"][path]["get"]["parameters"].as_array().unwrap() {
            if param["schema"]["type"] == "string" && param["schema"]["format"].is_null() {
                assert_eq!(
                    param["schema"]["maxLength"].as_u64(),
                    (param["name"] != "cursor").then_some(MAX_FILTER_CHARS as u64),
                    "{path} {param}"
                );
            }
            if param["name"] == "cursor" {
                assert_eq!(param["schema"]["pattern"], AuditCursor::PATTERN);
            }
        }
    }
    let register = &doc["components"]["schemas"]["RegisterRequest"]["properties"];
    assert_eq!(register["password"]["maxLength"], MAX_PASSWORD_CHARS);
    assert_eq!(register["email"]["format"], "email");
    let list = &doc["paths"]["/api/v1/files"]["get"]["parameters"];
    for param in list.as_array().unwrap() {
        assert_eq!(param["in"], "query", "{param}");
        assert_ne!(param["required"], true, "{param}");
    }
    assert_eq!(list[0]["schema"]["maximum"], 500);
}

#[tokio::test]
async fn malformed_queries_paths_and_uploads_answer_in_the_error_format() {
    let app = spawn_app().await;
    let token = app.user("alice").await.access;
    for query in [
        "offset=-1",
        "offset=9223372036854775808",
        "limit=0",
        "limit=501",
        "limit=ten",
    ] {
        let res = app
            .get_bearer(&format!("/api/v1/files?{query}"), &token)
            .await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_error",
            "{query}"
        );
    }
    let res = app.get("/api/v1/files/token-download").await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error",
        "no token"
    );
    let res = app.get_bearer("/api/v1/files/%FF%FE", &token).await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error",
        "a path that is not UTF-8"
    );
    for content_type in [None, Some("text/plain"), Some("multipart/form-data")] {
        let mut req = app
            .client
            .post(app.url("/api/v1/files/upload"))
            .bearer_auth(&token)
            .body("hello");
        if let Some(value) = content_type {
            req = req.header(header::CONTENT_TYPE, value);
        }
        let res = req.send().await.unwrap();
        assert_eq!(
            error_code(res, StatusCode::BAD_REQUEST).await,
            "bad_upload",
            "{content_type:?}"
        );
    }
    assert!(app.list_files(&token).await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn a_json_array_is_not_an_object_even_when_its_items_fit() {
    let app = spawn_app().await;
    let token = app.user("alice").await.access;
    let file = app.upload_ok(&token, "a.txt", b"hello".to_vec()).await;
    let id = file["id"].as_str().unwrap();
    for (path, body) in [
        (format!("/api/v1/files/{id}/share"), "[null, null]"),
        (
            "/api/v1/auth/login".to_owned(),
            r#"["alice@example.org", "x"]"#,
        ),
    ] {
        let res = post(&app, &token, &path, body).await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_error",
            "{path} {body}"
        );
    }
}

/// A POST of `body` as it is, labelled JSON.
async fn post(app: &TestApp, token: &str, path: &str, body: &str) -> Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn what_the_schema_allows_is_accepted_in_every_json_spelling() {
    let app = spawn_app().await;
    let token = app.user("alice").await.access;
    let file = app.upload_ok(&token, "a.txt", b"hello".to_vec()).await;
    let id = file["id"].as_str().unwrap();

    // JSON Schema counts 24.0 as the integer 24.
    let res = post(
        &app,
        &token,
        &format!("/api/v1/files/{id}/share"),
        r#"{"expires_hours": 24.0, "max_downloads": 3.0}"#,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["max_downloads"], 3);
    let res = post(
        &app,
        &token,
        &format!("/api/v1/files/{id}/share"),
        r#"{"expires_hours": 24.5}"#,
    )
    .await;
    assert_eq!(
        error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_error"
    );

    // The signed-url body is optional, and `null` is the schema's way of leaving it out.
    for body in ["null", r#"{"expires_seconds": 60.0}"#, "{}"] {
        let res = post(
            &app,
            &token,
            &format!("/api/v1/files/{id}/signed-url"),
            body,
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{body}");
        let url: Value = res.json().await.unwrap();
        assert!(
            url["url"]
                .as_str()
                .unwrap()
                .ends_with(url["token"].as_str().unwrap()),
            "{url}"
        );
    }
}

#[tokio::test]
async fn registration_follows_the_documented_rules_exactly() {
    let app = spawn_app().await;
    for (email, username, password, why) in [
        (
            " carol@example.org",
            "carol",
            PASSWORD,
            "space around the email",
        ),
        (
            "carol@example.org",
            " carol",
            PASSWORD,
            "space around the username",
        ),
        ("carol@example.org", "carol", "short", "password under 8"),
    ] {
        let res = app.register_with(email, username, password).await;
        assert_eq!(
            error_code(res, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_error",
            "{why}"
        );
    }
    let too_long = "p".repeat(MAX_PASSWORD_CHARS + 1);
    let res = app
        .register_with("carol@example.org", "carol", &too_long)
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The longest allowed password, of characters that take two bytes each, is fine.
    let longest = "é".repeat(MAX_PASSWORD_CHARS);
    let res = app
        .register_with("Carol@Example.org", "carol", &longest)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app.login_with("carol@example.org", &longest).await;
    assert_eq!(res.status(), StatusCode::OK);
}
