//! The admin pages' own route for a file download: the audit page's CSV export, signed in by the
//! session cookie, with the page's filters.

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    app::api::admin::form,
    server::{
        error::Error,
        http::{audit_csv, extract::WebUser},
        service::admin,
        state::AppState,
    },
};

/// The audit page's filter fields (days for `since` and `until`, as its form sends them).
#[derive(Debug, Default, Deserialize)]
pub struct AuditFilterForm {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// `GET /admin/audit.csv`: every entry the page's filter selects, as a CSV file.
pub async fn audit_csv(
    State(state): State<AppState>,
    user: Result<WebUser, Error>,
    Query(f): Query<AuditFilterForm>,
) -> Response {
    let result = async {
        let user = user.map_err(|_| Error::Forbidden)?;
        let filter = form::audit_filter(f.actor, f.action, f.target, f.outcome, f.since, f.until)?;
        admin::audit_export(&state, &user.user, &filter, None, None).await
    }
    .await;
    match result {
        Ok(entries) => audit_csv::response(entries),
        Err(e) => e.into_response(),
    }
}
