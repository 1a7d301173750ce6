//! Server functions of the admin pages (`/admin/…`): each reads or changes through
//! `service::admin`, which checks that the caller is an admin. Forms send `back`, the page they
//! were on (with its search or filters), so that a plain form post (no JavaScript) returns there.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::PageError;
use crate::model::{AdminFile, AdminStats, AdminUser, AuditFilterForm, AuditPage, Belongings};

/// Rows per page of the users and files tables.
pub const ADMIN_PAGE_SIZE: i32 = 25;

/// A page of a table, and whether another follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablePage<T> {
    pub rows: Vec<T>,
    pub offset: i32,
    pub has_more: bool,
}

/// The users table, with the installation's default quota for the quota form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: TablePage<AdminUser>,
    pub default_quota: Option<u64>,
}

/// What the confirmation page before deleting a user shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeletion {
    pub user: AdminUser,
    pub belongings: Belongings,
}

/// The audit page: a page of entries and the actions to filter by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub page: AuditPage,
    pub actions: Vec<String>,
}

#[server(prefix = "/app", endpoint = "admin_overview")]
pub async fn admin_overview() -> Result<AdminStats, PageError> {
    use crate::server::{http::server_fns::web_request, service::admin};
    let req = web_request().await?;
    req.admin_page(async |admin| admin::stats(&req.state, admin).await)
        .await
}

#[server(prefix = "/app", endpoint = "admin_users")]
pub async fn admin_users(q: Option<String>, offset: Option<i32>) -> Result<UsersPage, PageError> {
    use crate::server::{http::server_fns::web_request, service::admin};
    let req = web_request().await?;
    req.admin_page(async |admin| {
        let offset = offset.unwrap_or(0);
        let paging = form::page(offset)?;
        let rows = admin::list_users(&req.state, admin, q.as_deref(), paging).await?;
        Ok(UsersPage {
            users: form::table_page(rows, offset),
            default_quota: req.state.settings().uploads.user_quota_bytes,
        })
    })
    .await
}

#[server(prefix = "/app", endpoint = "admin_user_deletion")]
pub async fn admin_user_deletion(id: String) -> Result<UserDeletion, PageError> {
    use crate::server::{http::server_fns::web_request, service::admin};
    let req = web_request().await?;
    req.admin_page(async |admin| {
        let (user, belongings) = admin::user_with_belongings(&req.state, admin, &id).await?;
        Ok(UserDeletion { user, belongings })
    })
    .await
}

/// One change to a user from the users table: `change` is `make_admin`, `make_user`,
/// `disable`, `enable` or `reset_2fa`.
#[server(prefix = "/app", endpoint = "admin_change_user")]
pub async fn change_user(
    id: String,
    change: String,
    back: Option<String>,
) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::admin};
    let req = web_request().await?;
    req.admin_form(back.as_deref(), "/admin/users", async |admin| {
        let (state, meta) = (&req.state, &req.meta);
        if change == "reset_2fa" {
            return admin::reset_two_factor(state, admin, &id, meta).await;
        }
        let changes = form::user_change(&change)?;
        admin::update_user(state, admin, &id, changes, meta)
            .await
            .map(|_| ())
    })
    .await
}

/// The quota form: `quota` is `default`, `none` or `custom` (then `amount` of `unit`: MiB,
/// GiB or TiB).
#[server(prefix = "/app", endpoint = "admin_set_quota")]
pub async fn set_quota(
    id: String,
    quota: String,
    amount: Option<String>,
    unit: Option<String>,
    back: Option<String>,
) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::admin};
    let req = web_request().await?;
    req.admin_form(back.as_deref(), "/admin/users", async |admin| {
        let changes = admin::UserChanges {
            quota: Some(form::quota(&quota, amount.as_deref(), unit.as_deref())?),
            ..Default::default()
        };
        admin::update_user(&req.state, admin, &id, changes, &req.meta)
            .await
            .map(|_| ())
    })
    .await
}

/// Deletes a user, from the confirmation page; then to the users table (back to the
/// confirmation page, which shows why, when refused).
#[server(prefix = "/app", endpoint = "admin_delete_user")]
pub async fn delete_user(id: String) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::admin};
    let req = web_request().await?;
    let page = crate::model::user_deletion_path(&id);
    let result = async {
        let admin = req.require_admin().await?;
        admin::delete_user(&req.state, &admin, &id, &req.meta).await
    }
    .await;
    req.finish(&page, Some("/admin/users"), result).await
}

#[server(prefix = "/app", endpoint = "admin_files")]
pub async fn admin_files(
    scan_status: Option<String>,
    owner: Option<String>,
    name: Option<String>,
    offset: Option<i32>,
) -> Result<TablePage<AdminFile>, PageError> {
    use crate::{
        model::FileFilter,
        server::{http::server_fns::web_request, service::admin},
    };
    let req = web_request().await?;
    req.admin_page(async |admin| {
        let offset = offset.unwrap_or(0);
        let filter = FileFilter {
            scan_status: form::scan_status(scan_status.as_deref())?,
            owner,
            name,
        };
        let rows = admin::list_files(&req.state, admin, &filter, form::page(offset)?).await?;
        Ok(form::table_page(rows, offset))
    })
    .await
}

#[server(prefix = "/app", endpoint = "admin_rescan_file")]
pub async fn rescan_file(id: String, back: Option<String>) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::admin};
    let req = web_request().await?;
    req.admin_form(back.as_deref(), "/admin/files", async |admin| {
        admin::rescan_file(&req.state, admin, &id, &req.meta)
            .await
            .map(|_| ())
    })
    .await
}

#[server(prefix = "/app", endpoint = "admin_delete_file")]
pub async fn admin_delete_file(id: String, back: Option<String>) -> Result<(), PageError> {
    use crate::server::{http::server_fns::web_request, service::admin};
    let req = web_request().await?;
    req.admin_form(back.as_deref(), "/admin/files", async |admin| {
        admin::delete_file(&req.state, admin, &id, &req.meta).await
    })
    .await
}

/// A page of the audit log, after `cursor` (blank: the newest).
#[server(prefix = "/app", endpoint = "admin_audit")]
pub async fn admin_audit(
    filter: AuditFilterForm,
    cursor: Option<String>,
) -> Result<AuditView, PageError> {
    use crate::server::{
        error::Error,
        http::server_fns::web_request,
        service::{admin, audit},
    };
    let req = web_request().await?;
    req.admin_page(async |admin| {
        let filter = filter.read().map_err(Error::Validation)?;
        let cursor = cursor.as_deref().filter(|c| !c.is_empty());
        let limit = i64::from(ADMIN_PAGE_SIZE * 2);
        let page = admin::audit_page(&req.state, admin, &filter, cursor, limit).await?;
        Ok(AuditView {
            page,
            actions: audit::action::ALL
                .iter()
                .map(|a| a.name.to_owned())
                .collect(),
        })
    })
    .await
}

/// Reading the admin forms' fields into what the service takes.
#[cfg(feature = "ssr")]
pub(crate) mod form {
    use super::{TablePage, ADMIN_PAGE_SIZE};
    use crate::{
        model::{Paging, QuotaSetting, Role, ScanStatus},
        server::{error::Error, service::admin::UserChanges},
    };

    /// One more row than a page holds: whether another page follows.
    pub fn page(offset: i32) -> Result<Paging, Error> {
        Paging::page(ADMIN_PAGE_SIZE + 1, offset).map_err(Error::Validation)
    }

    /// The rows read with [`page`] (one too many when another page follows) as a table page.
    pub fn table_page<T>(mut rows: Vec<T>, offset: i32) -> TablePage<T> {
        let has_more = rows.len() > ADMIN_PAGE_SIZE as usize;
        rows.truncate(ADMIN_PAGE_SIZE as usize);
        TablePage {
            rows,
            offset,
            has_more,
        }
    }

    pub fn user_change(change: &str) -> Result<UserChanges, Error> {
        let mut changes = UserChanges::default();
        match change {
            "make_admin" => changes.role = Some(Role::Admin),
            "make_user" => changes.role = Some(Role::User),
            "disable" => changes.is_active = Some(false),
            "enable" => changes.is_active = Some(true),
            other => {
                return Err(Error::Validation(format!(
                    "{other:?} is not a change this page makes"
                )))
            }
        }
        Ok(changes)
    }

    pub fn quota(
        quota: &str,
        amount: Option<&str>,
        unit: Option<&str>,
    ) -> Result<QuotaSetting, Error> {
        match quota {
            "default" => Ok(QuotaSetting::Default),
            "none" => Ok(QuotaSetting::Unlimited),
            "custom" => {
                let amount = amount.map(str::trim).unwrap_or_default();
                let value: f64 = amount
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| {
                        Error::Validation(format!("The quota must be a number, not {amount:?}"))
                    })?;
                let unit_bytes: u64 = match unit.unwrap_or("GiB") {
                    "MiB" => 1 << 20,
                    "GiB" => 1 << 30,
                    "TiB" => 1 << 40,
                    other => {
                        return Err(Error::Validation(format!(
                            "{other:?} is not a unit of the quota form"
                        )))
                    }
                };
                Ok(QuotaSetting::Bytes(
                    (value * unit_bytes as f64).round() as u64
                ))
            }
            other => Err(Error::Validation(format!(
                "{other:?} is not a quota choice of this page"
            ))),
        }
    }

    pub fn scan_status(value: Option<&str>) -> Result<Option<ScanStatus>, Error> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(word) => ScanStatus::try_from(word.to_owned())
                .map(Some)
                .map_err(|_| Error::Validation(format!("{word:?} is not a scan status"))),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn quota_forms_read_as_meant() {
            assert_eq!(quota("default", None, None).unwrap(), QuotaSetting::Default);
            assert_eq!(
                quota("none", Some("5"), None).unwrap(),
                QuotaSetting::Unlimited
            );
            assert_eq!(
                quota("custom", Some("1.5"), Some("GiB")).unwrap(),
                QuotaSetting::Bytes(3 << 29)
            );
            assert_eq!(
                quota("custom", Some(" 200 "), Some("MiB")).unwrap(),
                QuotaSetting::Bytes(200 << 20)
            );
            for (amount, unit) in [("", "GiB"), ("-1", "GiB"), ("lots", "GiB"), ("1", "PB")] {
                assert!(
                    quota("custom", Some(amount), Some(unit)).is_err(),
                    "{amount} {unit}"
                );
            }
        }
    }
}
