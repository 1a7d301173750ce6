//! What of a request URI may appear in a log line: share tokens and pre-signed URL tokens are
//! credentials, so the path segments and query values that carry them are replaced.

use axum::http::Uri;

const HIDDEN: &str = "[redacted]";

/// The path (and query, if any) of `uri` with every token replaced by `[redacted]`:
/// `/s/{token}…`, `/api/v1/files/shared/{token}`, `…/share/{token}`, and `token=` values.
pub fn uri_for_logs(uri: &Uri) -> String {
    let segments: Vec<&str> = uri.path().split('/').collect();
    let mut shown: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let after = |name: &str| i > 0 && segments[i - 1] == name;
        let token = (after("s") && i == 2)
            || (after("shared") && i >= 2 && segments[i - 2] == "files")
            || after("share");
        shown.push(if token && !segment.is_empty() {
            HIDDEN
        } else {
            segment
        });
    }
    let mut text = shown.join("/");
    if let Some(query) = uri.query() {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("token") => format!("{key}={HIDDEN}"),
                _ => pair.to_owned(),
            })
            .collect();
        text.push('?');
        text.push_str(&pairs.join("&"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(uri: &str) -> String {
        uri_for_logs(&uri.parse().unwrap())
    }

    #[test]
    fn tokens_are_hidden_and_the_rest_stays() {
        assert_eq!(shown("/s/abc123"), "/s/[redacted]");
        assert_eq!(shown("/s/abc123/download"), "/s/[redacted]/download");
        assert_eq!(
            shown("/api/v1/files/shared/abc123"),
            "/api/v1/files/shared/[redacted]"
        );
        assert_eq!(
            shown("/api/v1/files/f1/share/abc123"),
            "/api/v1/files/f1/share/[redacted]"
        );
        assert_eq!(shown("/api/v1/files/f1/share"), "/api/v1/files/f1/share");
        assert_eq!(
            shown("/api/v1/files/token-download?token=f1.99.sig&x=1"),
            "/api/v1/files/token-download?token=[redacted]&x=1"
        );
        assert_eq!(shown("/api/v1/files?limit=5"), "/api/v1/files?limit=5");
        assert_eq!(shown("/settings/security"), "/settings/security");
    }
}
