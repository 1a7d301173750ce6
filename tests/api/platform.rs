//! Probes, security headers, request ids, the OpenAPI document.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_ready_answer_200() {
    let app = spawn_app().await;
    let res = app.get("/health").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get("/ready").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
    if std::env::var("COFFER_TEST_REDIS_URL").is_ok_and(|v| !v.is_empty()) {
        assert_eq!(body["checks"]["redis"], "ok");
    }
}

#[tokio::test]
async fn ready_returns_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.db().pool.close().await;
    let res = app.get("/ready").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_the_security_headers() {
    let app = spawn_app().await;
    let res = app.get("/login").await;
    let headers = res.headers().clone();
    let html = res.text().await.unwrap();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("nonce in CSP");
    assert!(nonce.len() >= 16);
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the CSP nonce"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        !headers.contains_key("strict-transport-security"),
        "no HSTS over plain http"
    );
    // A fresh nonce per response.
    let again = app.get("/login").await;
    assert_ne!(
        again.headers()["content-security-policy"].to_str().unwrap(),
        csp
    );
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let app = spawn_app().await;
    let res = app.get("/health").await;
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn unknown_api_routes_answer_json_404() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/nope").await;
    assert_eq!(
        crate::helpers::error_code(res, StatusCode::NOT_FOUND).await,
        "not_found"
    );
}

#[tokio::test]
async fn openapi_document_lists_the_auth_endpoints_and_docs_are_served() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    let res = app.get("/docs/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("swagger"));
}

/// Every `$ref` in the document, wherever it is.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => found.push(r.clone()),
                    _ => refs(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

async fn openapi_document(app: &crate::helpers::TestApp) -> Value {
    app.get("/api/v1/openapi.json").await.json().await.unwrap()
}

#[tokio::test]
async fn every_schema_the_openapi_document_refers_to_is_in_it() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 10, "{found:?}");
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} is not in components.schemas"
        );
    }
}

/// The document and the router come from one list: every documented operation is served (it
/// answers as itself, never with the API's "no such route" 404 or a 405).
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{:?}", paths.keys());
    for (path, operations) in paths {
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in operations.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app
                .client
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !body.contains("API route not found"),
                "{method} {path} is documented but not routed"
            );
        }
    }
}
