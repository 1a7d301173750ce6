//! The audit log as admins read it: filtered, newest first, a page at a time (keyset cursors, so
//! pages hold still while new entries arrive) or all at once for an export, streamed in batches.

use futures::{stream::BoxStream, StreamExt};

use super::{filter_value, require_admin};
use crate::{
    model::{AuditCursor, AuditEntry, AuditFilter, AuditOutcome, AuditPage, Paging},
    server::{
        db::{
            self,
            audit::{AuditListRow, Selection},
            users::UserRow,
        },
        error::{Error, Result},
        state::AppState,
    },
};

/// An export reads the log this many rows at a time.
pub const AUDIT_EXPORT_BATCH: i64 = 500;

/// A filter with the actor resolved to an id, owned so that an export's stream can keep it.
#[derive(Clone, Debug, Default)]
struct Query {
    actor_id: Option<String>,
    action: Option<String>,
    target: Option<String>,
    outcome: Option<AuditOutcome>,
    since: Option<i64>,
    until: Option<i64>,
}

impl Query {
    /// Checks the filter's values and finds the actor: a user's id, email or username; a value
    /// that names no current user is taken as the id of a deleted one.
    async fn resolve(state: &AppState, filter: &AuditFilter) -> Result<Self> {
        let actor = filter_value("The actor", filter.actor.as_deref())?;
        let actor_id = match actor {
            Some(who) => Some(
                db::users::find_by_reference(&state.db().pool, &who)
                    .await?
                    .map_or(who, |user| user.id),
            ),
            None => None,
        };
        Ok(Query {
            actor_id,
            action: filter_value("The action", filter.action.as_deref())?,
            target: filter_value("The target", filter.target.as_deref())?,
            outcome: filter.outcome,
            since: filter.since.map(|t| t.unix_timestamp()),
            until: filter.until.map(|t| t.unix_timestamp()),
        })
    }

    fn selection<'a>(&'a self, after: Option<&'a AuditCursor>) -> Selection<'a> {
        Selection {
            actor_id: self.actor_id.as_deref(),
            action: self.action.as_deref(),
            target: self.target.as_deref(),
            outcome: self.outcome,
            since: self.since,
            until: self.until,
            after: after.map(|c| (c.at, c.id.as_str())),
        }
    }
}

/// One page of the filtered log, newest first, after `cursor` (a previous page's
/// `next_cursor`), at most `limit` entries (1 to 500).
pub async fn audit_page(
    state: &AppState,
    actor: &UserRow,
    filter: &AuditFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<AuditPage> {
    require_admin(actor)?;
    check_limit(limit)?;
    let cursor = parse_cursor(cursor)?;
    let query = Query::resolve(state, filter).await?;
    // One more than the page holds tells whether another page follows.
    let mut rows = db::audit::list(
        &state.db().pool,
        &query.selection(cursor.as_ref()),
        limit + 1,
    )
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last())
        .flatten()
        .map(|last| position(last).to_string());
    Ok(AuditPage {
        entries: rows.into_iter().map(entry).collect(),
        next_cursor,
    })
}

fn check_limit(limit: i64) -> Result<()> {
    if (1..=i64::from(Paging::MAX_LIMIT)).contains(&limit) {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "limit must be from 1 to {}",
            Paging::MAX_LIMIT
        )))
    }
}

fn parse_cursor(cursor: Option<&str>) -> Result<Option<AuditCursor>> {
    cursor
        .map(AuditCursor::parse)
        .transpose()
        .map_err(Error::Validation)
}

/// Every entry the filter selects, newest first, after `cursor` if given, at most `limit` (1 to
/// 500) when given; read in batches as the stream is consumed, so an export of any size holds
/// one batch in memory.
pub async fn audit_export(
    state: &AppState,
    actor: &UserRow,
    filter: &AuditFilter,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<BoxStream<'static, Result<AuditEntry>>> {
    require_admin(actor)?;
    limit.map(check_limit).transpose()?;
    let cursor = parse_cursor(cursor)?;
    let query = Query::resolve(state, filter).await?;
    let state = state.clone();
    let left = limit.map_or(u64::MAX, |n| n as u64);
    let batches = futures::stream::try_unfold(
        (state, query, cursor, left),
        |(state, query, after, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let size = AUDIT_EXPORT_BATCH.min(i64::try_from(left).unwrap_or(i64::MAX));
            let rows = db::audit::list(&state.db().pool, &query.selection(after.as_ref()), size)
                .await
                .map_err(Error::from)?;
            let Some(last) = rows.last() else {
                return Ok(None);
            };
            let next = position(last);
            let left = left - rows.len() as u64;
            let left = if (rows.len() as i64) < size { 0 } else { left };
            let entries: Vec<Result<AuditEntry>> = rows.into_iter().map(entry).map(Ok).collect();
            Ok(Some((
                futures::stream::iter(entries),
                (state, query, Some(next), left),
            )))
        },
    );
    Ok(batches
        .map(|batch| match batch {
            Ok(entries) => entries.left_stream(),
            Err(e) => futures::stream::once(async { Err(e) }).right_stream(),
        })
        .flatten()
        .boxed())
}

fn position(row: &AuditListRow) -> AuditCursor {
    AuditCursor {
        at: row.row.at,
        id: row.row.id.clone(),
    }
}

fn entry(row: AuditListRow) -> AuditEntry {
    let AuditListRow { row, actor_email } = row;
    AuditEntry {
        id: row.id,
        at: db::to_datetime(row.at),
        actor_id: row.actor_id,
        actor_email,
        action: row.action,
        target: row.target,
        outcome: row.outcome,
        ip: row.ip,
        user_agent: row.user_agent,
        detail: row.detail,
        request_id: row.request_id,
    }
}
