//! Every user's files as admins see them: the filtered table, a rescan, a delete.

use super::{filter_value, require_admin, users::count};
use crate::{
    model::{AdminFile, FileFilter, FileInfo, Paging},
    server::{
        db::{
            self,
            files::{FileSelection, FileWithOwner},
            users::{contains_pattern, UserRow},
        },
        error::{Error, Result},
        service::{
            audit::{action, Event},
            files, RequestMeta,
        },
        state::AppState,
    },
};

/// Every user's files, newest first, narrowed by scan status, owner (id, email or username)
/// and part of the name.
pub async fn list_files(
    state: &AppState,
    actor: &UserRow,
    filter: &FileFilter,
    page: Paging,
) -> Result<Vec<AdminFile>> {
    require_admin(actor)?;
    let pool = &state.db().pool;
    let owner = filter_value("The owner", filter.owner.as_deref())?;
    let name = filter_value("The name", filter.name.as_deref())?;
    let owner_id = match owner {
        Some(who) => match db::users::find_by_reference(pool, &who).await? {
            Some(user) => Some(user.id),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    let name_pattern = name.as_deref().map(contains_pattern);
    let selection = FileSelection {
        scan_status: filter.scan_status,
        owner_id: owner_id.as_deref(),
        name_pattern: name_pattern.as_deref(),
    };
    let rows =
        db::files::list_with_owners(pool, &selection, state.now(), page.limit(), page.offset())
            .await?;
    Ok(rows.into_iter().map(admin_file).collect())
}

fn admin_file(row: FileWithOwner) -> AdminFile {
    AdminFile {
        file: row.file.into(),
        owner_email: row.owner_email,
        owner_username: row.owner_username,
        active_share_links: count(row.active_share_links),
    }
}

/// Scans a file again (new signatures, a scan that failed): it is `pending` until the verdict,
/// so downloads close meanwhile.
pub async fn rescan_file(
    state: &AppState,
    actor: &UserRow,
    file_id: &str,
    meta: &RequestMeta,
) -> Result<FileInfo> {
    require_admin(actor)?;
    let pool = &state.db().pool;
    if !db::scan_jobs::requeue(pool, file_id, state.now()).await? {
        return Err(Error::NotFound("file"));
    }
    state.scan_queue().job_added();
    Event::by(&actor.id, action::ADMIN_FILE_RESCAN)
        .on(file_id)
        .record(state, meta)
        .await;
    let file = db::files::find(pool, file_id)
        .await?
        .ok_or(Error::NotFound("file"))?;
    Ok(file.into())
}

/// An admin deletes any user's file (row, links and blob), as its owner could.
pub async fn delete_file(
    state: &AppState,
    actor: &UserRow,
    file_id: &str,
    meta: &RequestMeta,
) -> Result<()> {
    require_admin(actor)?;
    files::delete(state, actor, meta, file_id).await
}
