//! The `/files` page's server functions: the list (with the upload rules the page checks before
//! sending) and delete. Uploads and downloads stream through plain routes instead
//! (`server::http::web_files`), since server functions buffer their bodies.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::PageError;
use crate::model::{FileInfo, ScanStatus, UploadPolicy, Usage};

/// Files the page lists at once.
pub const FILES_PER_PAGE: i32 = 100;

/// The files the page lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileListing {
    /// A page of the files, newest first.
    pub files: Vec<FileInfo>,
    /// Where the page starts, and whether older files follow.
    pub offset: i32,
    pub has_more: bool,
    /// Whether `files` is everyone's (an admin who asked for them).
    pub all_users: bool,
    /// Whether the viewer may switch to everyone's files (an admin).
    pub can_see_all: bool,
    /// What the viewer stores against their quota.
    pub usage: Usage,
}

impl FileListing {
    pub fn any_pending(&self) -> bool {
        self.files
            .iter()
            .any(|f| f.scan_status == ScanStatus::Pending)
    }
}

/// The upload rules, for a signed-in user; `None` when nobody is signed in.
#[server(prefix = "/app", endpoint = "upload_rules")]
pub async fn upload_rules() -> Result<Option<UploadPolicy>, PageError> {
    use crate::server::http::server_fns::web_request;
    let req = web_request().await?;
    if req.user().await?.is_none() {
        return Ok(None);
    }
    Ok(Some(req.state.settings().uploads.policy()))
}

/// A page of the signed-in user's files (or, for an admin who asks, everyone's), from `offset`;
/// `None` when nobody is signed in.
#[server(prefix = "/app", endpoint = "files")]
pub async fn list_files(
    offset: Option<i32>,
    everyone: bool,
) -> Result<Option<FileListing>, PageError> {
    use crate::{
        model::Paging,
        server::{error::Error, http::server_fns::web_request, service::files},
    };
    let req = web_request().await?;
    let Some(user) = req.user().await? else {
        return Ok(None);
    };
    let offset = offset.unwrap_or(0);
    // One more than a page: whether another follows.
    let paging = Paging::page(FILES_PER_PAGE + 1, offset).map_err(Error::Validation)?;
    let asked = if everyone {
        files::Whose::Everyone
    } else {
        files::Whose::Mine
    };
    let whose = asked.allowed_for(&user);
    let mut rows = files::list(&req.state, &user, whose, paging).await?;
    let has_more = rows.len() > FILES_PER_PAGE as usize;
    rows.truncate(FILES_PER_PAGE as usize);
    Ok(Some(FileListing {
        offset,
        has_more,
        files: rows.into_iter().map(Into::into).collect(),
        all_users: whose == files::Whose::Everyone,
        can_see_all: files::Whose::Everyone.allowed_for(&user) == files::Whose::Everyone,
        usage: files::quota::usage(&req.state, &user).await?,
    }))
}

#[server(prefix = "/app", endpoint = "delete_file")]
pub async fn delete_file(id: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::files};
    let req = web_request().await?;
    let result = req
        .signed_in(async |me| files::delete(&req.state, &me.user, &req.meta, &id).await)
        .await;
    req.finish("/files", Some("/files"), result).await
}
