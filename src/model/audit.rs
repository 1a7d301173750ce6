//! The audit log as admins read it: entries, their outcome, and the filters they are read with.

use serde::{Deserialize, Serialize};
use time::{macros::format_description, Date, Duration, OffsetDateTime, Time};

use super::UnknownWord;

/// Whether an audited event was done or refused (a wrong password, a wrong code, a reused
/// token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    Success,
    Failure,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 2] = [AuditOutcome::Success, AuditOutcome::Failure];

    /// The stored and serialised word.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == word)
    }
}

impl TryFrom<String> for AuditOutcome {
    type Error = UnknownWord;

    fn try_from(word: String) -> Result<Self, UnknownWord> {
        Self::parse(&word).ok_or(UnknownWord(word))
    }
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The user who acted (`null`: nobody signed in, or the system).
    pub actor_id: Option<String>,
    /// That user's email, while the account exists.
    pub actor_email: Option<String>,
    /// What was done, e.g. `login.failed`, `file.upload`, `admin.user_deleted`.
    pub action: String,
    /// What it was done to: a user, file or token family id.
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    /// The client's address (see `COFFER_TRUSTED_PROXIES`).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    /// The request it came from (its `X-Request-Id`, also on the request's log lines); `null`
    /// for the system's own work.
    pub request_id: Option<String>,
}

/// Which entries to read. Every field narrows the list; none given: everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// A user id, email or username.
    pub actor: Option<String>,
    /// An action, exactly.
    pub action: Option<String>,
    /// A target id, exactly.
    pub target: Option<String>,
    pub outcome: Option<AuditOutcome>,
    /// At or after this moment.
    pub since: Option<OffsetDateTime>,
    /// Before this moment.
    pub until: Option<OffsetDateTime>,
}

/// The audit page's filter as its form, its links and its CSV export send it: `since` and
/// `until` are days (`YYYY-MM-DD`, UTC, both included); blank fields do not narrow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilterForm {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl AuditFilterForm {
    /// The filter the form asks for: `since` and `until` are whole UTC days, both included.
    pub fn read(self) -> Result<AuditFilter, String> {
        let AuditFilterForm {
            actor,
            action,
            target,
            outcome,
            since,
            until,
        } = self;
        let outcome = match outcome.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(word) => Some(
                AuditOutcome::parse(word).ok_or_else(|| format!("{word:?} is not an outcome"))?,
            ),
        };
        Ok(AuditFilter {
            actor,
            action,
            target,
            outcome,
            since: day_start(since.as_deref(), "From")?,
            until: day_start(until.as_deref(), "To")?.map(|t| t + Duration::days(1)),
        })
    }
}

/// The start (00:00 UTC) of a `YYYY-MM-DD` day; blank: `None`.
fn day_start(day: Option<&str>, field: &str) -> Result<Option<OffsetDateTime>, String> {
    match day.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(text) => Date::parse(text, format_description!("[year]-[month]-[day]"))
            .map(|date| Some(date.with_time(Time::MIDNIGHT).assume_utc()))
            .map_err(|_| format!("{field}: {text:?} is not a date (YYYY-MM-DD)")),
    }
}

/// A page of the audit log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Give it as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Where a page of the audit log starts: after the entry at `at` with id `id` (newest first).
/// Written as `<unix seconds>-<id>`; any such string is a position, so a cursor can be neither
/// stale nor forged into anything but a place in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditCursor {
    pub at: i64,
    pub id: String,
}

impl AuditCursor {
    /// What a cursor looks like, for the OpenAPI document (ids are UUIDs).
    pub const PATTERN: &'static str =
        "^[0-9]{1,15}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || "cursor is not one this server handed out".to_owned();
        let (at, id) = text.split_once('-').ok_or_else(invalid)?;
        let at_ok = (1..=15).contains(&at.len()) && at.bytes().all(|b| b.is_ascii_digit());
        let id_ok = uuid_shaped(id);
        if !(at_ok && id_ok) {
            return Err(invalid());
        }
        Ok(AuditCursor {
            at: at.parse().map_err(|_| invalid())?,
            id: id.to_owned(),
        })
    }
}

impl std::fmt::Display for AuditCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.at, self.id)
    }
}

/// `8-4-4-4-12` lower-case hex digits.
fn uuid_shaped(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, len)| {
            g.len() == len && g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_days_cover_the_whole_of_both_ends() {
        let f = AuditFilterForm {
            outcome: Some("failure".into()),
            since: Some("2026-12-01".into()),
            until: Some("2026-12-01".into()),
            ..Default::default()
        }
        .read()
        .unwrap();
        let (since, until) = (f.since.unwrap(), f.until.unwrap());
        assert_eq!(until - since, Duration::days(1));
        assert_eq!(since.unix_timestamp() % 86_400, 0);
        let since = Some("12/01/2026".into());
        assert!(AuditFilterForm {
            since,
            ..Default::default()
        }
        .read()
        .is_err());
        let outcome = Some("maybe".into());
        assert!(AuditFilterForm {
            outcome,
            ..Default::default()
        }
        .read()
        .is_err());
    }

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_nothing_else() {
        let cursor = AuditCursor {
            at: 1_764_000_000,
            id: "0b2c41d2-8a4e-4c1a-9d3e-2f6b7a8c9d0e".into(),
        };
        assert_eq!(AuditCursor::parse(&cursor.to_string()).unwrap(), cursor);
        for bad in [
            "",
            "123",
            "abc-0b2c41d2-8a4e-4c1a-9d3e-2f6b7a8c9d0e",
            "1234567890123456-0b2c41d2-8a4e-4c1a-9d3e-2f6b7a8c9d0e",
            "1-0B2C41D2-8a4e-4c1a-9d3e-2f6b7a8c9d0e",
            "1-0b2c41d2-8a4e-4c1a-9d3e-2f6b7a8c9d0e-",
            "1-x",
        ] {
            assert!(AuditCursor::parse(bad).is_err(), "{bad:?}");
        }
    }
}
