//! Server functions for the webhooks page (`/settings/webhooks`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::PageError;
use crate::model::{CreatedWebhook, DeliveryInfo, WebhookInfo};

/// One webhook with its latest deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookWithDeliveries {
    pub webhook: WebhookInfo,
    pub deliveries: Vec<DeliveryInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksOverview {
    pub webhooks: Vec<WebhookWithDeliveries>,
    /// The webhook a plain form post (JavaScript off) just made, with its secret, shown once.
    pub just_created: Option<CreatedWebhook>,
}

#[cfg(feature = "ssr")]
const FLASH_CREATED: &str = "flash_created_webhook";
#[cfg(feature = "ssr")]
const WEBHOOKS_PAGE: &str = "/settings/webhooks";

/// The signed-in user's webhooks; `None` when nobody is signed in.
#[server(prefix = "/app", endpoint = "my_webhooks")]
pub async fn my_webhooks() -> Result<Option<WebhooksOverview>, PageError> {
    use crate::server::{http::server_fns::web_request, service::webhooks};
    let req = web_request().await?;
    let Some(user) = req.user().await? else {
        return Ok(None);
    };
    let mut list = Vec::new();
    for webhook in webhooks::list(&req.state, &user).await? {
        let deliveries = webhooks::deliveries(&req.state, &user, &webhook.id).await?;
        list.push(WebhookWithDeliveries {
            webhook,
            deliveries,
        });
    }
    Ok(Some(WebhooksOverview {
        webhooks: list,
        just_created: req.take_flash::<CreatedWebhook>(FLASH_CREATED).await,
    }))
}

/// Adds a webhook from the page's form: a box per event.
#[server(prefix = "/app", endpoint = "create_webhook")]
pub async fn create_webhook(
    url: String,
    on_request: Option<String>,
    on_share: Option<String>,
) -> Result<CreatedWebhook, PageError> {
    use crate::{
        model::{NewWebhook, EVENT_REQUEST_FILE_RECEIVED, EVENT_SHARE_DOWNLOADED},
        server::{http::server_fns::web_request, service::webhooks},
    };
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            let mut events = Vec::new();
            if on_request.is_some() {
                events.push(EVENT_REQUEST_FILE_RECEIVED.to_owned());
            }
            if on_share.is_some() {
                events.push(EVENT_SHARE_DOWNLOADED.to_owned());
            }
            let new = NewWebhook {
                url,
                events: Some(events),
            };
            webhooks::create(&req.state, &me.user, new).await
        })
        .await;
    req.finish_keeping(WEBHOOKS_PAGE, Some(WEBHOOKS_PAGE), FLASH_CREATED, result)
        .await
}

#[server(prefix = "/app", endpoint = "delete_webhook")]
pub async fn delete_webhook(id: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::webhooks};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| webhooks::delete(&req.state, &me.user, &id).await)
        .await;
    req.finish(WEBHOOKS_PAGE, Some(WEBHOOKS_PAGE), result).await
}

/// Resumes a webhook suspended for failing: what it kept waiting is sent now.
#[server(prefix = "/app", endpoint = "resume_webhook")]
pub async fn resume_webhook(id: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::webhooks};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            webhooks::resume(&req.state, &me.user, &id)
                .await
                .map(|_| ())
        })
        .await;
    req.finish(WEBHOOKS_PAGE, Some(WEBHOOKS_PAGE), result).await
}
