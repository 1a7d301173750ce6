//! The REST API, `/api/v1`: thin handlers per resource over the service layer. Each resource
//! module lists its routes once, in `routes()`, and that one list makes both the router and the
//! OpenAPI document (`utoipa-axum`), so no route exists without its documentation.

pub mod admin;
pub mod auth;
pub mod files;
pub mod requests;
pub mod shares;
pub mod two_factor;
pub mod uploads;
pub mod webhooks;

use axum::{
    body::Bytes,
    http::header,
    routing::{any, get},
    Router,
};
use utoipa::{
    openapi::{
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        Content, Ref, ResponseBuilder,
    },
    Modify, OpenApi,
};
use utoipa_axum::router::OpenApiRouter;

use crate::server::{error::Error, state::AppState};

/// What the document says besides its paths (which the routes add).
#[derive(OpenApi)]
#[openapi(
    info(title = "Coffer API", description = "Secure file transfer and sharing. Errors are `{\"detail\", \"code\"}`."),
    components(schemas(crate::server::error::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "files", description = "Encrypted file storage"),
        (name = "uploads", description = "Resumable uploads by the tus 1.0.0 protocol"),
        (name = "sharing", description = "Share links and pre-signed URLs, for recipients without an account"),
        (name = "requests", description = "Upload requests: links through which people without an account send you files"),
        (name = "webhooks", description = "Signed JSON events posted to your URLs: files received on a request, share links downloaded"),
        (name = "admin", description = "Administration"),
    ),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// The API's documented routes, and the document they make.
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes())
        .merge(two_factor::routes())
        .merge(files::routes())
        .merge(uploads::routes())
        .merge(shares::routes())
        .merge(requests::routes())
        .merge(webhooks::routes())
        .merge(admin::routes())
        .split_for_parts()
}

/// Where the API's own document is served.
const DOCUMENT: &str = "/api/v1/openapi.json";
/// Anything else under `/api/v1`: a JSON 404.
const NOT_FOUND: &str = "/api/v1/{*rest}";

/// The template of every route [`router`] has.
pub fn route_templates() -> Vec<String> {
    let (_, doc) = documented();
    let mut templates: Vec<String> = doc.paths.paths.keys().cloned().collect();
    templates.extend([DOCUMENT.to_owned(), NOT_FOUND.to_owned()]);
    templates
}

/// The API's routes, `/api/v1/openapi.json` (made from the same list), and a JSON 404 for
/// anything else under `/api/v1`.
pub fn router() -> Router<AppState> {
    let (router, mut doc) = documented();
    document_common_errors(&mut doc);
    let doc = Bytes::from(served_document(&doc).to_string());
    router
        .route(
            DOCUMENT,
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], doc) }),
        )
        .route(NOT_FOUND, any(|| async { Error::NotFound("API route") }))
}

/// The answers every operation of a kind can give, written once instead of on each route:
/// 401 where a token is needed, and 422 where there is input to refuse (a body, query or path
/// that does not fit the schema; the extractors in [`extract`](super::extract) give it).
fn document_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            (&mut item.get, true),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, true),
            (&mut item.patch, true),
            (&mut item.options, true),
            // The answer to HEAD has no body, errors included.
            (&mut item.head, false),
        ];
        for (operation, with_body) in operations {
            let Some(operation) = operation else {
                continue;
            };
            let error_response = |operation: &mut Operation, status: &str, description: &str| {
                error_response(operation, status, description, with_body)
            };
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_input = operation.request_body.is_some()
                || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            if secured {
                error_response(
                    operation,
                    "401",
                    "No valid access token (not_authenticated, invalid_token)",
                );
            }
            if has_input {
                error_response(
                    operation,
                    "422",
                    "The input does not fit the schema (validation_error)",
                );
            }
            if operation.request_body.is_some() {
                error_response(
                    operation,
                    "413",
                    "The body is larger than 1 MiB (body_too_large); files go through an upload",
                );
            }
            // Every route sits behind the per-client request rate.
            error_response(
                operation,
                "429",
                "Too many requests from this client address (too_many_requests); see Retry-After",
            );
        }
    }
}

/// The document as JSON, with the link objects' fields in the spelling OpenAPI gives them:
/// utoipa 5.5 writes `operation_id`, `operation_ref` and `request_body` there, which no client
/// reads, instead of `operationId`, `operationRef` and `requestBody`.
fn served_document(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut json = serde_json::to_value(doc).expect("the OpenAPI document serialises");
    let operations = json["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let responses = operation
            .get_mut("responses")
            .and_then(|r| r.as_object_mut())
            .into_iter()
            .flatten();
        for (_, response) in responses {
            let links = response
                .get_mut("links")
                .and_then(|l| l.as_object_mut())
                .into_iter()
                .flat_map(|links| links.values_mut())
                .filter_map(|link| link.as_object_mut());
            for link in links {
                for (from, to) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(value) = link.remove(from) {
                        link.insert(to.to_owned(), value);
                    }
                }
            }
        }
    }
    json
}

/// Adds an error answer to an operation unless the route documents that status itself.
fn error_response(operation: &mut Operation, status: &str, description: &str, with_body: bool) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            let response = ResponseBuilder::new().description(description);
            if with_body {
                response
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                    )
                    .into()
            } else {
                response.into()
            }
        });
}
