//! The admin pages' own route for a file download: the audit page's CSV export, signed in by the
//! session cookie, with the page's filters.

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Response},
};

use crate::{
    model::AuditFilterForm,
    server::{
        error::Error,
        http::{audit_csv, extract::WebUser},
        service::admin,
        state::AppState,
    },
};

/// `GET /admin/audit.csv`: every entry the page's filter selects, as a CSV file.
pub async fn audit_csv(
    State(state): State<AppState>,
    user: Result<WebUser, Error>,
    Query(fields): Query<AuditFilterForm>,
) -> Response {
    let result = async {
        let user = user.map_err(|_| Error::Forbidden)?;
        let filter = fields.read().map_err(Error::Validation)?;
        admin::audit_export(&state, &user.user, &filter, None, None).await
    }
    .await;
    match result {
        Ok(entries) => audit_csv::response(entries, state.now()),
        Err(e) => e.into_response(),
    }
}
