//! Types the browser and the server both see, one file per resource; everything is re-exported
//! here, so `model::X` names any of them.

pub mod account_rules;
mod accounts;
mod admin;
mod audit;
mod files;
mod page_error;
mod requests;
mod shares;
mod webhooks;
pub mod whole_number;

pub use accounts::{Role, SessionInfo, TotpSetup, UserInfo};
pub use admin::{
    AdminFile, AdminStats, AdminUser, Belongings, DayTransfers, FileCounts, FileFilter,
    QuotaSetting, Transfers, Usage, UserCounts,
};
pub use audit::{AuditCursor, AuditEntry, AuditFilter, AuditFilterForm, AuditOutcome, AuditPage};
pub use files::{file_extension, human_bytes, FileInfo, ScanStatus, UploadPolicy};
pub use page_error::PageError;
pub use requests::{
    CreatedUploadRequest, NewUploadRequest, Receipt, RequestForSender, RequestStatus,
    SenderReceipts, UploadRequestInfo, DEFAULT_REQUEST_HOURS, MAX_OPEN_REQUESTS, MAX_REQUEST_FILES,
    MAX_REQUEST_MESSAGE_CHARS, MAX_REQUEST_TITLE_CHARS,
};
pub use shares::{
    CreatedShare, DownloadStarted, LinkForRecipient, MultiShareRequest, ShareChanges, ShareInfo,
    ShareRequest, SharedFile, SharedFiles, SharedLink, SignedUrl, WithQrCode, DEFAULT_EXPIRY_HOURS,
    MAX_ACTIVE_LINKS, MAX_EXPIRY_HOURS, MAX_LINK_DOWNLOADS, MAX_LINK_FILES, MAX_LINK_LABEL_CHARS,
    MAX_LINK_PASSWORD_CHARS,
};
pub use webhooks::{
    CreatedWebhook, DeliveryInfo, NewWebhook, WebhookInfo, EVENT_REQUEST_FILE_RECEIVED,
    EVENT_SHARE_DOWNLOADED, MAX_WEBHOOKS, WEBHOOK_EVENTS,
};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A stored state (a role, a scan status) that is none of its words.
#[derive(Debug, thiserror::Error)]
#[error("unknown stored value {0:?}")]
pub struct UnknownWord(String);

/// One page of a list: at most `limit` items (100 by default, 500 at most) after `offset`.
/// Out-of-range values are refused when the query is read, not silently brought within bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PagingInput")]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct Paging {
    /// 1 to 500; the default is 100.
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 500))]
    limit: Option<i32>,
    /// How many items to skip; the default is 0.
    #[cfg_attr(feature = "ssr", param(minimum = 0))]
    offset: Option<i32>,
}

/// [`Paging`] as it arrives, before its bounds are checked.
#[derive(Deserialize)]
struct PagingInput {
    limit: Option<i32>,
    offset: Option<i32>,
}

impl TryFrom<PagingInput> for Paging {
    type Error = String;

    fn try_from(input: PagingInput) -> Result<Self, String> {
        if input
            .limit
            .is_some_and(|limit| !(1..=Self::MAX_LIMIT).contains(&limit))
        {
            return Err(format!("limit must be from 1 to {}", Self::MAX_LIMIT));
        }
        if input.offset.is_some_and(|offset| offset < 0) {
            return Err("offset must be 0 or more".into());
        }
        Ok(Paging {
            limit: input.limit,
            offset: input.offset,
        })
    }
}

impl Paging {
    pub const DEFAULT_LIMIT: i32 = 100;
    pub const MAX_LIMIT: i32 = 500;

    /// The longest first page.
    pub fn largest() -> Self {
        Paging {
            limit: Some(Self::MAX_LIMIT),
            offset: None,
        }
    }

    /// A page of `limit` items after `offset`, checked like a query's.
    pub fn page(limit: i32, offset: i32) -> Result<Self, String> {
        Self::try_from(PagingInput {
            limit: Some(limit),
            offset: Some(offset),
        })
    }

    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(Self::DEFAULT_LIMIT).into()
    }

    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).into()
    }
}

/// The owner's page of a file's share links.
pub fn share_page_path(file_id: &str) -> String {
    format!("/files/{}/share", path_segment(file_id))
}

/// The confirmation page an admin sees before deleting a user.
pub fn user_deletion_path(user_id: &str) -> String {
    format!("/admin/users/{}/delete", path_segment(user_id))
}

/// The recipient page of a share token (share links point here).
pub fn recipient_path(token: &str) -> String {
    format!("/s/{}", path_segment(token))
}

/// The page senders open to send files through an upload request.
pub fn request_path(token: &str) -> String {
    format!("/r/{}", path_segment(token))
}

/// An id or token as a path segment: anything outside the alphabet ids and tokens are made of
/// (letters, digits, `-`, `_`) is dropped, so a crafted value cannot leave the page it names.
fn path_segment(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// `?name=value&…` for a page link, leaving out empty values; values are percent-encoded the
/// same way on the server and in the browser (all but `A-Z a-z 0-9 - . _ ~`), so that a
/// rendered link hydrates unchanged.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// A count and its noun, in the singular for one: `count(1, "file", "files")` is `1 file`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A moment as the pages show it: `2026-11-23 14:05 UTC`.
pub fn format_utc(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_for_one_only() {
        assert_eq!(count(0u64, "file", "files"), "0 files");
        assert_eq!(count(1u64, "second", "seconds"), "1 second");
        assert_eq!(count(2u32, "admin", "admins"), "2 admins");
    }

    #[test]
    fn query_strings_encode_everything_but_the_unreserved() {
        assert_eq!(query_string(&[]), "");
        assert_eq!(query_string(&[("q", ""), ("offset", "25")]), "?offset=25");
        assert_eq!(
            query_string(&[("q", "a b&c=d/é"), ("x", "a.b-c_d~")]),
            "?q=a%20b%26c%3Dd%2F%C3%A9&x=a.b-c_d~"
        );
    }

    #[test]
    fn page_paths_keep_ids_and_tokens_inside_their_segment() {
        assert_eq!(recipient_path("aZ09-_x"), "/s/aZ09-_x");
        assert_eq!(recipient_path("../../admin?x=1"), "/s/adminx1");
        assert_eq!(share_page_path("0b2c-41/../x"), "/files/0b2c-41x/share");
    }

    #[test]
    fn the_upload_policy_reads_the_same_in_browser_and_server() {
        let policy = UploadPolicy {
            max_upload_bytes: 1024,
            allowed_extensions: vec![".pdf".into(), ".txt".into()],
        };
        assert_eq!(policy.check_type("Report.PDF").unwrap(), ".pdf");
        assert!(policy
            .check_type("tool.exe")
            .unwrap_err()
            .contains(".exe are not accepted"));
        assert!(policy
            .check_type(".pdf")
            .unwrap_err()
            .contains("no extension"));
        assert!(policy
            .check_type("trailing.")
            .unwrap_err()
            .contains("no extension"));
        assert!(policy.check_size(1024).is_ok());
        assert_eq!(
            policy.check_size(1025).unwrap_err(),
            "The file is larger than the limit of 1 KiB"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(100 * 1024 * 1024), "100 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1), "1 byte");
        assert_eq!(human_bytes(50 << 20), "50 MiB");
    }
}
