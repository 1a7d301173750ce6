//! The REST API, `/api/v1`: thin handlers per resource over the service layer, and the OpenAPI
//! document generated from them.

pub mod admin;
pub mod auth;

use axum::{
    routing::{get, patch, post},
    Json, Router,
};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use crate::server::{error::Error, state::AppState};

#[derive(OpenApi)]
#[openapi(
    info(title = "Coffer API", description = "Secure file transfer and sharing. Errors are `{\"detail\", \"code\"}`."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::me,
        admin::list_users, admin::update_user,
    ),
    components(schemas(crate::server::error::ErrorBody, crate::app::model::UserInfo)),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Accounts and tokens"), (name = "admin", description = "Administration")),
)]
pub struct ApiDoc;

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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/admin/users", get(admin::list_users))
        .route("/admin/users/{id}", patch(admin::update_user))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .fallback(|| async { Error::NotFound("API route") })
}
