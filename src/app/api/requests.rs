//! Server functions for upload requests: the owner's page (`/requests`) and the sender's page
//! (`/r/{token}`). The sender's upload itself is a plain route (`server::http::web_requests`),
//! since it streams.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::PageError;
use crate::model::{
    CreatedUploadRequest, FileInfo, RequestForSender, SenderReceipts, UploadRequestInfo, WithQrCode,
};

/// One of the owner's requests with the files it has received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestWithFiles {
    pub request: UploadRequestInfo,
    pub files: Vec<FileInfo>,
}

/// Requests the owner's page shows at once.
pub const REQUESTS_PER_PAGE: i32 = 20;
/// Files the owner's page shows of each request (the newest; all are in `/files`).
pub const FILES_PER_REQUEST: i64 = 20;

/// What the owner's page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestsOverview {
    /// A page of the requests, newest first.
    pub requests: Vec<RequestWithFiles>,
    /// Where the page starts, and whether older requests follow.
    pub offset: i32,
    pub has_more: bool,
    /// The request a plain form post (JavaScript off) just made, shown this once.
    pub just_created: Option<WithQrCode<CreatedUploadRequest>>,
}

/// What the sender's page shows of a request that takes files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SenderPage {
    /// Protected: nothing about it shows before its password.
    PasswordRequired,
    Open(RequestForSender),
}

/// The choices of the expiry menu, in hours.
pub const REQUEST_EXPIRY_CHOICES: [(&str, &str); 4] = [
    ("24", "1 day"),
    ("72", "3 days"),
    ("168", "7 days"),
    ("720", "30 days"),
];

#[cfg(feature = "ssr")]
const FLASH_CREATED: &str = "flash_created_request";
#[cfg(feature = "ssr")]
const REQUESTS_PAGE: &str = "/requests";

/// A page of the signed-in user's requests (from `offset`) with the newest files of each, in
/// two queries whatever their number; `None` when nobody is signed in.
#[server(prefix = "/app", endpoint = "my_requests")]
pub async fn my_requests(offset: Option<i32>) -> Result<Option<RequestsOverview>, PageError> {
    use crate::{
        model::Paging,
        server::{
            error::Error,
            http::server_fns::{web_request, with_qr_code},
            service::requests,
        },
    };
    let req = web_request().await?;
    let Some(user) = req.user().await? else {
        return Ok(None);
    };
    let offset = offset.unwrap_or(0);
    // One more than a page: whether another follows.
    let paging = Paging::page(REQUESTS_PER_PAGE + 1, offset).map_err(Error::Validation)?;
    let mut page = requests::list_mine(&req.state, &user, paging).await?;
    let has_more = page.len() > REQUESTS_PER_PAGE as usize;
    page.truncate(REQUESTS_PER_PAGE as usize);
    let mut files = requests::latest_files(&req.state, &user, &page, FILES_PER_REQUEST).await?;
    let list = page
        .into_iter()
        .map(|request| RequestWithFiles {
            files: files.remove(&request.id).unwrap_or_default(),
            request,
        })
        .collect();
    let just_created = req
        .take_flash::<CreatedUploadRequest>(FLASH_CREATED)
        .await
        .map(|created| with_qr_code(created, |c| &c.url))
        .transpose()?;
    Ok(Some(RequestsOverview {
        requests: list,
        offset,
        has_more,
        just_created,
    }))
}

/// Makes a request from the page's form: `max_megabytes` is in MiB (2^20 bytes, the unit every
/// size on the pages is shown in); empty limits
/// mean none.
#[server(prefix = "/app", endpoint = "create_request")]
pub async fn create_request(
    title: String,
    message: Option<String>,
    expiry: String,
    max_files: Option<String>,
    max_megabytes: Option<String>,
    password: Option<String>,
    notify: Option<String>,
) -> Result<WithQrCode<CreatedUploadRequest>, PageError> {
    use crate::server::{
        error::Error,
        http::server_fns::{web_request, with_qr_code},
        service::requests,
    };
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            let number = |field: Option<String>, what: &str| -> Result<Option<u64>, Error> {
                match field.as_deref().map(str::trim) {
                    None | Some("") => Ok(None),
                    Some(n) => n.parse().map(Some).map_err(|_| {
                        Error::Validation(format!("{what} must be a whole number, 1 or more"))
                    }),
                }
            };
            let max_files = number(max_files, "The number of files")?
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
            let max_bytes =
                number(max_megabytes, "The size limit")?.map(|mib| mib.saturating_mul(1 << 20));
            let new = crate::model::NewUploadRequest {
                title,
                message: message.unwrap_or_default(),
                expires_hours: Some(expiry.parse().map_err(|_| {
                    Error::Validation("Choose how long the request stays open".into())
                })?),
                max_files,
                max_bytes,
                password,
                notify: notify.is_some_and(|v| !v.is_empty()),
            };
            requests::create(&req.state, &me.user, &req.meta, new).await
        })
        .await;
    req.finish_keeping(REQUESTS_PAGE, Some(REQUESTS_PAGE), FLASH_CREATED, result)
        .await
        .and_then(|created| with_qr_code(created, |c| &c.url))
}

#[server(prefix = "/app", endpoint = "close_request")]
pub async fn close_request(id: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::requests};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| {
            requests::close(&req.state, &me.user, &req.meta, &id)
                .await
                .map(|_| ())
        })
        .await;
    req.finish(REQUESTS_PAGE, Some(REQUESTS_PAGE), result).await
}

/// What the sender's page shows for a token. A request that takes nothing is an error whose
/// status (404, 410) the page is served with.
#[server(prefix = "/app", endpoint = "sender_view")]
pub async fn sender_view(token: String) -> Result<SenderPage, PageError> {
    use crate::server::{
        error::Error,
        http::server_fns::web_request,
        service::{requests, unlock::Pass},
    };
    let req = web_request().await?;
    let pass = Pass::Session(req.session.clone());
    let view = match requests::for_sender(&req.state, &req.meta, &token, &pass).await {
        Ok(request) => Ok(SenderPage::Open(request)),
        Err(Error::RequestPasswordRequired) => Ok(SenderPage::PasswordRequired),
        Err(e) => Err(e),
    };
    Ok(view.inspect_err(|e| req.set_status(e.status()))?)
}

/// What this browser has sent through the request behind `token`, newest first (also once
/// the request has closed or filled up), and whether it is full now.
#[server(prefix = "/app", endpoint = "request_receipts")]
pub async fn request_receipts(token: String) -> Result<SenderReceipts, PageError> {
    use crate::server::{http::server_fns::web_request, service::requests};
    let req = web_request().await?;
    Ok(requests::receipts(&req.state, &req.session, &token).await?)
}

/// The sender page's password form: unlocks the request for this browser.
#[server(prefix = "/app", endpoint = "unlock_request")]
pub async fn unlock_request(token: String, password: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::requests};
    let req = web_request().await?;
    let page = crate::model::request_path(&token);
    let result = requests::unlock(&req.state, &req.meta, &req.session, &token, password).await;
    req.finish(&page, Some(&page), result).await
}
