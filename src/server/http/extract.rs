//! Request extractors shared by the REST handlers.

use axum::{
    extract::{
        multipart::MultipartRejection,
        rejection::{JsonRejection, PathRejection, QueryRejection},
        FromRequest, FromRequestParts, Multipart, OptionalFromRequest, Request,
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

/// A JSON object body (or `null`, where `T` is an `Option`) whose rejections (wrong content type,
/// malformed, missing fields, not an object) answer in the API's error format.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) =
            <Json<serde_json::Value> as FromRequest<S>>::from_request(req, state).await?;
        body_from(value).map(ApiJson)
    }
}

/// An optional JSON body (`Option<ApiJson<T>>`): absent when the request has no
/// `Content-Type`; present but malformed is the same error as for a required body.
impl<T, S> OptionalFromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let body =
            <Json<serde_json::Value> as OptionalFromRequest<S>>::from_request(req, state).await?;
        body.map(|Json(value)| body_from(value).map(ApiJson))
            .transpose()
    }
}

/// Reads a body as `T`, which must be sent as a JSON object: serde would also take a struct
/// from an array of its fields in order, which no schema of ours allows.
fn body_from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    if !(value.is_object() || value.is_null()) {
        return Err(Error::Validation(
            "The request body must be a JSON object".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        Error::Validation(format!(
            "Failed to deserialize the JSON body into the target type: {e}"
        ))
    })
}

/// Query parameters whose rejections (a missing parameter, a number out of range) answer in the
/// API's error format.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct ApiQuery<T>(pub T);

/// Path parameters whose rejections (bytes that are not UTF-8 once percent-decoded) answer in
/// the API's error format.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct ApiPath<T>(pub T);

/// A `multipart/form-data` body; without one (no boundary, another content type) the answer is
/// the API's error format.
pub struct ApiMultipart(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(ApiMultipart(
            <Multipart as FromRequest<S>>::from_request(req, state).await?,
        ))
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        // A body cut off by `request_limits::cap_body` while it was read.
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return Error::BodyTooLarge {
                limit: crate::server::http::request_limits::MAX_BODY_BYTES as u64,
            };
        }
        Error::Validation(rejection.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Error::Validation(rejection.body_text())
    }
}

impl From<PathRejection> for Error {
    fn from(rejection: PathRejection) -> Self {
        Error::Validation(rejection.body_text())
    }
}

impl From<MultipartRejection> for Error {
    fn from(_: MultipartRejection) -> Self {
        Error::BadUpload("send the file as multipart/form-data, in a field named \"file\"".into())
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
        request_id: parts
            .headers
            .get(super::middleware::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

pub struct ClientMeta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for ClientMeta {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientMeta(request_meta(parts)))
    }
}

/// The token of `Authorization: Bearer <token>`, if the request has one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
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
        let token = bearer_token(&parts.headers).ok_or(Error::Unauthenticated)?;
        let (user, family_id) = api_tokens::authenticate(state, token).await?;
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

/// The user behind a bearer token or, for our own pages' requests to the API (the resumable
/// uploads of `/files`), the browser's session. A state-changing request signed in by session
/// must come from our own origin, the rule every page request follows (the API is otherwise
/// exempt from it, as it never reads the cookie).
pub struct TokenOrSessionUser {
    pub user: UserRow,
}

impl FromRequestParts<AppState> for TokenOrSessionUser {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if bearer_token(&parts.headers).is_some() {
            let ApiUser { user, .. } = ApiUser::from_request_parts(parts, state).await?;
            return Ok(Self { user });
        }
        let safe = matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
        );
        let WebUser { user, .. } = WebUser::from_request_parts(parts, state).await?;
        if !safe && !super::middleware::is_same_origin(&parts.headers, state.settings()) {
            return Err(Error::CrossSiteRequest);
        }
        Ok(Self { user })
    }
}
