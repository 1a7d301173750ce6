//! `/api/v1/webhooks`: the caller's webhooks (add, list, delete, resume after a suspension) and
//! each one's deliveries.

use axum::{extract::State, http::StatusCode, Json};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::{CreatedWebhook, DeliveryInfo, NewWebhook, WebhookInfo},
    server::{
        error::{ErrorBody, Result},
        http::extract::{ApiJson, ApiPath, ApiUser},
        service::webhooks,
        state::AppState,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(delete))
        .routes(routes!(deliveries))
        .routes(routes!(resume))
}

/// Add a webhook: Coffer will `POST` the chosen events to it as JSON, signed with the secret in
/// the answer (shown this once) as `X-Coffer-Signature-256: sha256=<HMAC-SHA256 of
/// "<X-Coffer-Timestamp>.<body>">`.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "create_webhook",
    security(("bearer" = [])),
    request_body = NewWebhook,
    responses(
        (status = 201, description = "The new webhook and its secret", body = CreatedWebhook, links(
            ("deliveries" = (operation_id = "webhook_deliveries", parameters(("id" = "$response.body#/webhook/id")))),
            ("delete" = (operation_id = "delete_webhook", parameters(("id" = "$response.body#/webhook/id")))),
            ("resume" = (operation_id = "resume_webhook", parameters(("id" = "$response.body#/webhook/id")))),
        )),
        (status = 422, description = "Not an http(s) URL, a private address, an unknown event, or too many webhooks", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiJson(new): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>)> {
    let created = webhooks::create(&state, &auth.user, new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Your webhooks (never their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    security(("bearer" = [])),
    responses((status = 200, description = "The webhooks", body = [WebhookInfo])))]
pub async fn list(State(state): State<AppState>, auth: ApiUser) -> Result<Json<Vec<WebhookInfo>>> {
    Ok(Json(webhooks::list(&state, &auth.user).await?))
}

/// Delete one of your webhooks, and its deliveries still to come.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "delete_webhook",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such webhook of yours", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    webhooks::delete(&state, &auth.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The latest 50 deliveries of one of your webhooks, newest first: whether each arrived, how
/// many attempts it took, and the last answer.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "webhook_deliveries",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The deliveries", body = [DeliveryInfo]),
        (status = 404, description = "No such webhook of yours", body = ErrorBody),
    ))]
pub async fn deliveries(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<DeliveryInfo>>> {
    Ok(Json(webhooks::deliveries(&state, &auth.user, &id).await?))
}

/// Resume a webhook that was suspended after failing too many attempts in a row: the deliveries
/// it kept waiting are tried at once.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/resume", tag = "webhooks", operation_id = "resume_webhook",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook, no longer suspended", body = WebhookInfo),
        (status = 404, description = "No such webhook of yours", body = ErrorBody),
    ))]
pub async fn resume(
    State(state): State<AppState>,
    auth: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookInfo>> {
    Ok(Json(webhooks::resume(&state, &auth.user, &id).await?))
}
