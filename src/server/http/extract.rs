//! Request extractors shared by the REST handlers.

use axum::{
    extract::{
        rejection::JsonRejection, FromRequest, FromRequestParts, OptionalFromRequest, Request,
    },
    http::{header, request::Parts},
    Json,
};

use crate::server::{
    db::users::UserRow,
    error::Error,
    http::client_addr::ClientAddr,
    service::{api_tokens, RequestMeta},
    state::AppState,
};

/// JSON body whose rejections (wrong content type, malformed or missing fields) answer in the
/// API's error format.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct ApiJson<T>(pub T);

/// An optional JSON body (`Option<ApiJson<T>>`): absent when the request has no
/// `Content-Type`; present but malformed is the same error as for a required body.
impl<T, S> OptionalFromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let body = <Json<T> as OptionalFromRequest<S>>::from_request(req, state).await?;
        Ok(body.map(|Json(value)| ApiJson(value)))
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        Error::Validation(rejection.body_text())
    }
}

/// The client's address (as [`client_address`](super::client_addr::client_address) decided)
/// and user agent, for audit, sessions and rate limits.
pub fn request_meta(parts: &Parts) -> RequestMeta {
    RequestMeta {
        ip: parts
            .extensions
            .get::<ClientAddr>()
            .map(|client| client.0.to_string()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
    }
}

pub struct ClientMeta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for ClientMeta {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientMeta(request_meta(parts)))
    }
}

/// The user behind `Authorization: Bearer <access token>`.
pub struct ApiUser {
    pub user: UserRow,
    pub family_id: String,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::Unauthenticated)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(Error::Unauthenticated)?;
        let (user, family_id) = api_tokens::authenticate(state, token.trim()).await?;
        Ok(ApiUser { user, family_id })
    }
}

/// The user signed in to this browser (session cookie), for the pages' own routes.
pub struct WebUser {
    pub user: UserRow,
    pub session: tower_sessions::Session,
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = tower_sessions::Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, message)| Error::internal("session", message))?;
        let user = crate::server::service::web_sessions::require(state, &session).await?;
        Ok(WebUser { user, session })
    }
}
