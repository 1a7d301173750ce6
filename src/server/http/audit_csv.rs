//! The audit log as CSV, for `GET /api/v1/admin/audit` with `Accept: text/csv` and the audit
//! page's export (`/admin/audit.csv`): streamed a row at a time, one header line first.

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use futures::{stream::BoxStream, StreamExt};

use crate::{
    model::AuditEntry,
    server::{db, error::Error},
};

pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

const HEADER: [&str; 11] = [
    "time",
    "actor_id",
    "actor_email",
    "action",
    "target",
    "outcome",
    "ip",
    "user_agent",
    "detail",
    "id",
    "request_id",
];

/// Whether a request asks for CSV rather than JSON.
pub fn wants_csv(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/csv"))
}

/// A download of the entries as a CSV file.
pub fn response(entries: BoxStream<'static, Result<AuditEntry, Error>>, now: i64) -> Response {
    let head = futures::stream::once(async { Ok::<_, Error>(record(HEADER.map(str::to_owned))) });
    let rows = entries.map(|entry| entry.map(|e| record(fields(e))));
    let body = Body::from_stream(head.chain(rows).map(|chunk| {
        chunk.map_err(|e| {
            // The status is sent already: the export breaks off, and the log says why.
            tracing::error!(error = %e.chain(), "audit export failed part-way");
            std::io::Error::other(e.to_string())
        })
    }));
    let filename = format!(
        "attachment; filename=\"coffer-audit-{}.csv\"",
        db::to_datetime(now).date()
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn fields(e: AuditEntry) -> [String; 11] {
    let at =
        e.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
    [
        at,
        e.actor_id.unwrap_or_default(),
        e.actor_email.unwrap_or_default(),
        e.action,
        e.target.unwrap_or_default(),
        e.outcome.as_str().to_owned(),
        e.ip.unwrap_or_default(),
        e.user_agent.unwrap_or_default(),
        e.detail.unwrap_or_default(),
        e.id,
        e.request_id.unwrap_or_default(),
    ]
}

/// One CSV line. Values a spreadsheet would take for a formula (a filename or user agent that
/// starts with `=`, `+`, `-` or `@`) get a leading `'`, so opening the export runs nothing.
fn record(fields: [String; 11]) -> Bytes {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(256));
    let safe = fields.map(|field| {
        if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{field}")
        } else {
            field
        }
    });
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(&safe);
    Bytes::from(writer.into_inner().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_neutralised() {
        let line = record([
            "2026-12-02T10:00:00Z".into(),
            String::new(),
            String::new(),
            "file.upload".into(),
            "=HYPERLINK(\"http://evil\")".into(),
            "success".into(),
            "127.0.0.1".into(),
            "-cmd".into(),
            "name=\"a, b\"\nnext".into(),
            "id".into(),
            "req-1".into(),
        ]);
        let text = String::from_utf8(line.to_vec()).unwrap();
        assert_eq!(
            text,
            "2026-12-02T10:00:00Z,,,file.upload,\"'=HYPERLINK(\"\"http://evil\"\")\",success,\
             127.0.0.1,'-cmd,\"name=\"\"a, b\"\"\nnext\",id,req-1\n"
        );
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let back = reader.records().next().unwrap().unwrap();
        assert_eq!(&back[8], "name=\"a, b\"\nnext");
    }
}
