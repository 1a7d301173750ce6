//! The REST API, `/api/v1`: thin handlers per resource over the service layer, and the OpenAPI
//! document generated from them.

pub mod admin;
pub mod auth;
pub mod files;

use axum::{
    extract::DefaultBodyLimit,
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
        files::upload, files::list, files::get, files::download, files::delete,
    ),
    components(schemas(
        crate::server::error::ErrorBody, crate::app::model::UserInfo, crate::app::model::FileInfo,
        files::UploadForm,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "files", description = "Encrypted file storage"),
        (name = "admin", description = "Administration"),
    ),
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
        // The files service enforces the configured upload limit while streaming.
        .route(
            "/files/upload",
            post(files::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/files", get(files::list))
        .route("/files/{id}", get(files::get).delete(files::delete))
        .route("/files/{id}/download", get(files::download))
        .route("/admin/users", get(admin::list_users))
        .route("/admin/users/{id}", patch(admin::update_user))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .fallback(|| async { Error::NotFound("API route") })
}
