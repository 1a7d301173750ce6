//! The REST API, `/api/v1`: thin handlers per resource over the service layer. Each resource
//! module lists its routes once, in `routes()`, and that one list makes both the router and the
//! OpenAPI document (`utoipa-axum`), so no route exists without its documentation.

pub mod admin;
pub mod auth;
pub mod files;
pub mod shares;
pub mod two_factor;

use axum::{
    routing::{any, get},
    Json, Router,
};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
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
        (name = "sharing", description = "Share links and pre-signed URLs, for recipients without an account"),
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

/// The API's routes, `/api/v1/openapi.json` (made from the same list), and a JSON 404 for
/// anything else under `/api/v1`.
pub fn router() -> Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes())
        .merge(two_factor::routes())
        .merge(files::routes())
        .merge(shares::routes())
        .merge(admin::routes())
        .split_for_parts();
    router
        .route(
            "/api/v1/openapi.json",
            get(move || async move { Json(doc) }),
        )
        .route(
            "/api/v1/{*rest}",
            any(|| async { Error::NotFound("API route") }),
        )
}
