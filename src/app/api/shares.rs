//! Server functions for sharing: the owner's page of a file's links (`/files/{id}/share`) and
//! the recipient's page (`/s/{token}`). The recipient's download itself is a plain route
//! (`server::http::web_shares`), since it streams.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::PageError;
use crate::model::{CreatedShare, FileInfo, LinkForRecipient, ShareInfo, WithQrCode};

/// What the owner's share page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareOverview {
    pub file: FileInfo,
    pub links: Vec<ShareInfo>,
    /// The link a plain form post (JavaScript off) just made, shown this once.
    pub just_created: Option<WithQrCode<CreatedShare>>,
}

/// The choices of the expiry menu, in hours; `date` picks a day instead.
pub const EXPIRY_CHOICES: [(&str, &str); 5] = [
    ("1", "1 hour"),
    ("24", "1 day"),
    ("168", "7 days"),
    ("720", "30 days"),
    ("date", "Until a date…"),
];

#[cfg(feature = "ssr")]
const FLASH_CREATED: &str = "flash_created_share";

/// A file and its links, for a signed-in user who may see the file; `None` when nobody is
/// signed in.
#[server(prefix = "/app", endpoint = "file_shares")]
pub async fn file_shares(file_id: String) -> Result<Option<ShareOverview>, PageError> {
    use crate::server::{
        http::server_fns::{web_request, with_qr_code},
        service::shares,
    };
    let req = web_request().await?;
    let Some(user) = req.user().await? else {
        return Ok(None);
    };
    // The newest links the page can hold; scripts page through all (`GET /api/v1/files/{id}/shares`).
    let newest = crate::model::Paging::largest();
    let (file, links) = shares::file_with_links(&req.state, &user, &file_id, newest)
        .await
        .inspect_err(|e| req.set_status(e.status()))?;
    let just_created = req
        .take_flash::<CreatedShare>(FLASH_CREATED)
        .await
        .filter(|created| links.iter().any(|l| l.id == created.id))
        .map(|created| with_qr_code(created, |c| &c.share_url))
        .transpose()?;
    Ok(Some(ShareOverview {
        file: file.into(),
        links,
        just_created,
    }))
}

/// Makes a link from the share form: `expiry` is a number of hours or `date`, which takes
/// `until` (a `YYYY-MM-DD` day, which lasts to its end in the browser's time zone, given as
/// `tz_offset` minutes west of UTC; UTC without JavaScript).
#[server(prefix = "/app", endpoint = "create_share")]
pub async fn create_share(
    file_id: String,
    expiry: String,
    until: Option<String>,
    tz_offset: Option<String>,
    max_downloads: Option<String>,
    password: Option<String>,
    label: Option<String>,
) -> Result<WithQrCode<CreatedShare>, PageError> {
    use crate::server::{
        http::server_fns::{web_request, with_qr_code},
        service::shares,
    };
    let req = web_request().await?;
    let page = crate::model::share_page_path(&file_id);
    let result = req
        .signed_in(async |me| {
            let request =
                form::share_request(&expiry, until, tz_offset, max_downloads, password, label)?;
            shares::create(
                &req.state,
                &me.user,
                &req.meta,
                std::slice::from_ref(&file_id),
                request,
            )
            .await
        })
        .await;
    req.finish_keeping(&page, Some(&page), FLASH_CREATED, result)
        .await
        .and_then(|created| with_qr_code(created, |c| &c.share_url))
}

/// What the page for sharing several files shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub files: Vec<FileInfo>,
    /// The link a plain form post (JavaScript off) just made, shown this once.
    pub just_created: Option<WithQrCode<CreatedShare>>,
}

#[cfg(feature = "ssr")]
const FLASH_CREATED_MULTI: &str = "flash_created_multi_share";

/// File ids as the forms carry them: comma-separated (ids never hold a comma).
fn split_ids(file_ids: &str) -> Vec<String> {
    file_ids
        .split(',')
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The page path for sharing `file_ids` (comma-separated) together.
pub fn selection_path(file_ids: &str) -> String {
    let query: Vec<String> = split_ids(file_ids)
        .iter()
        .map(|id| format!("files={id}"))
        .collect();
    format!("/shares/new?{}", query.join("&"))
}

/// The files chosen to share together (`file_ids` comma-separated), checked as a link's files
/// are; `None` when nobody is signed in.
#[server(prefix = "/app", endpoint = "selected_files")]
pub async fn selected_files(file_ids: String) -> Result<Option<Selection>, PageError> {
    use crate::server::{
        http::server_fns::{web_request, with_qr_code},
        service::shares,
    };
    let req = web_request().await?;
    let Some(user) = req.user().await? else {
        return Ok(None);
    };
    let ids = split_ids(&file_ids);
    let files = shares::selection(&req.state, &user, &ids)
        .await
        .inspect_err(|e| req.set_status(e.status()))?;
    let just_created = req
        .take_flash::<CreatedShare>(FLASH_CREATED_MULTI)
        .await
        .map(|created| with_qr_code(created, |c| &c.share_url))
        .transpose()?;
    Ok(Some(Selection {
        files: files.into_iter().map(Into::into).collect(),
        just_created,
    }))
}

/// Makes one link for several files (`file_ids` comma-separated) from the share form.
#[server(prefix = "/app", endpoint = "create_multi_share")]
pub async fn create_multi_share(
    file_ids: String,
    expiry: String,
    until: Option<String>,
    tz_offset: Option<String>,
    max_downloads: Option<String>,
    password: Option<String>,
    label: Option<String>,
) -> Result<WithQrCode<CreatedShare>, PageError> {
    use crate::server::{
        http::server_fns::{web_request, with_qr_code},
        service::shares,
    };
    let req = web_request().await?;
    let page = selection_path(&file_ids);
    let result = req
        .signed_in(async |me| {
            let request =
                form::share_request(&expiry, until, tz_offset, max_downloads, password, label)?;
            let ids = split_ids(&file_ids);
            shares::create(&req.state, &me.user, &req.meta, &ids, request).await
        })
        .await;
    req.finish_keeping(&page, Some(&page), FLASH_CREATED_MULTI, result)
        .await
        .and_then(|created| with_qr_code(created, |c| &c.share_url))
}

#[server(prefix = "/app", endpoint = "revoke_share")]
pub async fn revoke_share(file_id: String, link_id: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::shares};
    let req = web_request().await?;
    let page = crate::model::share_page_path(&file_id);
    let result = req
        .signed_in(async |me| {
            shares::revoke(&req.state, &me.user, &req.meta, &file_id, &link_id).await
        })
        .await;
    req.finish(&page, Some(&page), result).await
}

/// What the recipient's page shows for a token, and the download its form just started. A link
/// that cannot be used is an error whose status (404, 410, 403) the page is served with.
#[server(prefix = "/app", endpoint = "recipient_view")]
pub async fn recipient_view(token: String) -> Result<LinkForRecipient, PageError> {
    use crate::server::{
        http::{server_fns::web_request, web_shares::STARTED_KEY},
        service::{shares, unlock::Pass},
    };
    let req = web_request().await?;
    let pass = Pass::Session(req.session.clone());
    let link = shares::view(&req.state, &req.meta, &token, &pass)
        .await
        .inspect_err(|e| req.set_status(e.status()))?;
    let infected =
        |f: &crate::model::SharedFile| f.scan_status == crate::model::ScanStatus::Infected;
    if matches!(&link, crate::model::SharedLink::Open(shared) if shared.files.iter().all(infected))
    {
        req.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    let started = req
        .take_flash::<crate::model::DownloadStarted>(STARTED_KEY)
        .await;
    Ok(LinkForRecipient { link, started })
}

/// Reading the share form's fields into a request for the service.
#[cfg(feature = "ssr")]
mod form {
    use time::{macros::format_description, Date, Duration, OffsetDateTime, Time};

    use crate::{model::ShareRequest, server::error::Error};

    pub fn share_request(
        expiry: &str,
        until: Option<String>,
        tz_offset: Option<String>,
        max_downloads: Option<String>,
        password: Option<String>,
        label: Option<String>,
    ) -> Result<ShareRequest, Error> {
        let mut request = ShareRequest {
            password: password.filter(|p| !p.is_empty()),
            label,
            ..Default::default()
        };
        if expiry == "date" {
            request.expires_at = Some(end_of_day(
                until.as_deref().unwrap_or_default(),
                tz_offset.as_deref(),
            )?);
        } else {
            request.expires_hours = Some(
                expiry
                    .parse()
                    .map_err(|_| Error::Validation("Choose how long the link lasts".into()))?,
            );
        }
        request.max_downloads = match max_downloads.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(n) => Some(n.parse().map_err(|_| {
                Error::Validation("The download limit must be a whole number, 1 or more".into())
            })?),
        };
        Ok(request)
    }

    /// The last second of `day` in a time zone `tz_offset` minutes west of UTC (as JavaScript's
    /// `getTimezoneOffset` gives it).
    fn end_of_day(day: &str, tz_offset: Option<&str>) -> Result<OffsetDateTime, Error> {
        let date = Date::parse(day.trim(), format_description!("[year]-[month]-[day]"))
            .map_err(|_| Error::Validation("Choose the day the link expires".into()))?;
        let offset: i64 = tz_offset
            .and_then(|o| o.trim().parse().ok())
            .filter(|o: &i64| o.abs() <= 14 * 60)
            .unwrap_or(0);
        let last_second = Time::from_hms(23, 59, 59).expect("a valid time");
        Ok(date.with_time(last_second).assume_utc() + Duration::minutes(offset))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_day_lasts_to_its_end_in_the_browsers_time_zone() {
            let utc = end_of_day("2026-12-24", None).unwrap();
            assert_eq!(utc.to_string(), "2026-12-24 23:59:59.0 +00:00:00");
            // Berlin in winter: getTimezoneOffset() is -60, so the day ends an hour earlier.
            let berlin = end_of_day("2026-12-24", Some("-60")).unwrap();
            assert_eq!(berlin.to_string(), "2026-12-24 22:59:59.0 +00:00:00");
            assert!(end_of_day("24.12.2026", None).is_err());
            assert!(end_of_day("", None).is_err());
        }

        #[test]
        fn form_fields_become_a_request() {
            let r = share_request(
                "168",
                None,
                None,
                Some(" 3 ".into()),
                Some("pw".into()),
                Some("Q3".into()),
            )
            .unwrap();
            assert_eq!(r.label.as_deref(), Some("Q3"));
            assert_eq!(r.expires_hours, Some(168));
            assert_eq!(r.max_downloads, Some(3));
            assert_eq!(r.password.as_deref(), Some("pw"));
            let r =
                share_request("24", None, None, Some("".into()), Some("".into()), None).unwrap();
            assert_eq!((r.max_downloads, r.password), (None, None));
            for bad in [
                share_request("forever", None, None, None, None, None),
                share_request("24", None, None, Some("three".into()), None, None),
                share_request("24", None, None, Some("-1".into()), None, None),
                share_request("date", None, None, None, None, None),
            ] {
                assert_eq!(bad.unwrap_err().code(), "validation_error");
            }
        }
    }
}
