//! The installation's numbers for the overview page.

use time::OffsetDateTime;

use super::{require_admin, users::count};
use crate::{
    model::{AdminStats, DayTransfers, FileCounts, Transfers, UserCounts},
    server::{
        db::{self, users::UserRow},
        error::Result,
        service::audit::action,
        state::AppState,
    },
};

const DAY: i64 = 86_400;
/// How many days the overview's chart shows.
pub const CHART_DAYS: i64 = 30;

/// The installation's numbers for the overview. Transfers are counted from the audit log (an
/// upload; a download by owner or admin, share link or pre-signed URL).
pub async fn stats(state: &AppState, actor: &UserRow) -> Result<AdminStats> {
    require_admin(actor)?;
    let pool = &state.db().pool;
    let now = state.now();
    let upload = action::FILE_UPLOADED.name;
    let downloads = action::DOWNLOADS.map(|a| a.name);
    let counts = db::stats::counts(pool, now).await?;
    let today = now.div_euclid(DAY);
    let first = today - (CHART_DAYS - 1);
    // The chart's days reach back further than the last 24 hours, so one pass gives both.
    let days =
        db::stats::transfers_per_day(pool, first * DAY, now - DAY, upload, downloads).await?;
    let daily = (first..=today)
        .map(|day| {
            let found = days.iter().find(|d| d.day == day);
            DayTransfers {
                day: OffsetDateTime::from_unix_timestamp(day * DAY)
                    .map(|t| t.date().to_string())
                    .unwrap_or_default(),
                uploads: found.map_or(0, |d| count(d.uploads)),
                downloads: found.map_or(0, |d| count(d.downloads)),
            }
        })
        .collect();
    Ok(AdminStats {
        users: UserCounts {
            active: count(counts.users_active),
            disabled: count(counts.users_disabled),
            admins: count(counts.admins),
        },
        files: FileCounts {
            count: count(counts.files),
            bytes: count(counts.bytes),
            scan_pending: count(counts.scan_pending),
            scan_infected: count(counts.scan_infected),
            scan_error: count(counts.scan_error),
        },
        active_share_links: count(counts.active_share_links),
        last_24_hours: Transfers {
            uploads: count(days.iter().map(|d| d.recent_uploads).sum()),
            downloads: count(days.iter().map(|d| d.recent_downloads).sum()),
        },
        daily,
    })
}
