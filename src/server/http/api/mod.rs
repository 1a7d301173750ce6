//! The REST API, `/api/v1`: thin handlers per resource over the service layer, and the OpenAPI
//! document generated from them.

pub mod admin;
pub mod auth;
pub mod files;
pub mod shares;
pub mod two_factor;

use axum::{
    extract::DefaultBodyLimit,
    routing::{delete, get, patch, post},
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
        two_factor::setup, two_factor::verify, two_factor::disable,
        admin::list_users, admin::update_user,
        files::upload, files::list, files::get, files::download, files::delete,
        shares::create, shares::list, shares::revoke, shares::download, shares::signed_url,
        shares::token_download,
    ),
    components(schemas(
        crate::server::error::ErrorBody, crate::app::model::UserInfo, crate::app::model::FileInfo,
        files::UploadForm, crate::app::model::ShareRequest, crate::app::model::CreatedShare,
        crate::app::model::ShareInfo, crate::app::model::SignedUrl, shares::SignedUrlRequest,
        crate::app::model::TotpSetup, two_factor::CodeRequest, two_factor::RecoveryCodes,
        two_factor::Disabled,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "files", description = "Encrypted file storage"),
        (name = "sharing", description = "Share links and pre-signed URLs, for recipients without an account"),
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
        .route("/auth/2fa/setup", post(two_factor::setup))
        .route("/auth/2fa/verify", post(two_factor::verify))
        .route("/auth/2fa/disable", delete(two_factor::disable))
        // The files service enforces the configured upload limit while streaming.
        .route(
            "/files/upload",
            post(files::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/files", get(files::list))
        .route("/files/{id}", get(files::get).delete(files::delete))
        .route("/files/{id}/download", get(files::download))
        .route("/files/{id}/share", post(shares::create))
        .route("/files/{id}/shares", get(shares::list))
        .route("/files/{id}/share/{share_token}", delete(shares::revoke))
        .route("/files/{id}/signed-url", post(shares::signed_url))
        .route("/files/shared/{token}", get(shares::download))
        .route("/files/token-download", get(shares::token_download))
        .route("/admin/users", get(admin::list_users))
        .route("/admin/users/{id}", patch(admin::update_user))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .fallback(|| async { Error::NotFound("API route") })
}
