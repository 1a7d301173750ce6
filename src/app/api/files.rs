//! The `/files` page's server functions: the list (with the upload rules the page checks before
//! sending) and delete. Uploads and downloads stream through plain routes instead
//! (`server::http::web_files`), since server functions buffer their bodies.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::app::{
    error::PageError,
    model::{FileInfo, ScanStatus, UploadPolicy, Usage},
};

/// The files the page lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileListing {
    pub files: Vec<FileInfo>,
    /// Whether `files` is everyone's (the viewer is an admin).
    pub all_users: bool,
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
    use crate::server::{http::server_fns::web_request, service::web_sessions};
    let req = web_request().await?;
    if web_sessions::current(&req.state, &req.session)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    Ok(Some(req.state.settings().upload_policy()))
}

/// The signed-in user's files (everyone's for an admin); `None` when nobody is signed in.
#[server(prefix = "/app", endpoint = "files")]
pub async fn list_files() -> Result<Option<FileListing>, PageError> {
    use crate::server::{
        http::server_fns::web_request,
        service::{admin::is_admin, files, web_sessions},
    };
    let req = web_request().await?;
    let Some((user, _)) = web_sessions::current(&req.state, &req.session).await? else {
        return Ok(None);
    };
    let rows = files::list(&req.state, &user, crate::app::model::Paging::largest()).await?;
    Ok(Some(FileListing {
        files: rows.into_iter().map(Into::into).collect(),
        all_users: is_admin(&user),
        usage: files::quota::usage(&req.state, &user).await?,
    }))
}

#[server(prefix = "/app", endpoint = "delete_file")]
pub async fn delete_file(id: String) -> Result<(), PageError> {
    use crate::server::{
        http::server_fns::web_request,
        service::{files, web_sessions},
    };
    let req = web_request().await?;
    let result = async {
        let user = web_sessions::require(&req.state, &req.session).await?;
        files::delete(&req.state, &user, &req.meta, &id).await
    }
    .await;
    req.finish("/files", Some("/files"), result).await
}
