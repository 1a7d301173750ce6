//! What a link's owner does: make a link to files they may see (expiry, limits, password),
//! list their links, revoke one.

use crate::{
    model::{
        recipient_path, CreatedShare, Paging, ShareChanges, ShareInfo, ShareRequest,
        DEFAULT_EXPIRY_HOURS, MAX_ACTIVE_LINKS, MAX_EXPIRY_HOURS, MAX_LINK_DOWNLOADS,
        MAX_LINK_FILES, MAX_LINK_LABEL_CHARS,
    },
    server::{
        db::{self, files::FileRow, shares::ShareRow, users::UserRow},
        error::{Error, Result},
        service::{
            audit::{action, Event},
            files::{self},
            rate_limits,
            secret_tokens::{self, digest as token_hash},
            unlock::{self, Lock},
            RequestMeta,
        },
        state::AppState,
    },
};

use super::share_info;

const HOUR: i64 = 3600;

/// The expiry a request asks for, as unix seconds, checked against the limits.
fn expiry(request: &ShareRequest, now: i64) -> Result<i64> {
    match (request.expires_hours, request.expires_at) {
        (Some(_), Some(_)) => Err(Error::Validation(
            "Give either expires_hours or expires_at, not both".into(),
        )),
        (hours, None) => {
            let hours = hours.unwrap_or(DEFAULT_EXPIRY_HOURS);
            if !(1..=MAX_EXPIRY_HOURS).contains(&hours) {
                return Err(Error::Validation(format!(
                    "A link can last from 1 to {MAX_EXPIRY_HOURS} hours"
                )));
            }
            Ok(now + i64::from(hours) * HOUR)
        }
        (None, Some(at)) => {
            let at = at.unix_timestamp();
            if at <= now {
                return Err(Error::Validation("The expiry must be in the future".into()));
            }
            if at > now + i64::from(MAX_EXPIRY_HOURS) * HOUR {
                return Err(Error::Validation("A link can last at most 30 days".into()));
            }
            Ok(at)
        }
    }
}

/// A link's files written while one of them was deleted: that file is not there (404).
fn file_gone(e: sqlx::Error) -> Error {
    if db::is_foreign_key_violation(&e) {
        Error::NotFound("file")
    } else {
        e.into()
    }
}

fn revoked_unchangeable() -> Error {
    Error::Validation("A revoked link cannot be changed: make a new one".into())
}

/// A link's label as given: trimmed; blank is none.
fn label(given: Option<String>) -> Result<Option<String>> {
    let Some(label) = given.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    if label.chars().count() > MAX_LINK_LABEL_CHARS {
        return Err(Error::Validation(format!(
            "A label can have at most {MAX_LINK_LABEL_CHARS} characters"
        )));
    }
    if label.chars().any(char::is_control) {
        return Err(Error::Validation(
            "A label is one line of text, without control characters".into(),
        ));
    }
    Ok(Some(label))
}

/// A download limit as given, checked.
fn download_limit(given: Option<u32>) -> Result<Option<i64>> {
    match given {
        Some(n) if !(1..=MAX_LINK_DOWNLOADS).contains(&n) => Err(Error::Validation(format!(
            "A download limit must be from 1 to {MAX_LINK_DOWNLOADS}"
        ))),
        limit => Ok(limit.map(i64::from)),
    }
}

/// The files a new link may point at: 1 to [`MAX_LINK_FILES`], each once, each one the actor
/// may see; in the order given.
pub async fn selection(
    state: &AppState,
    actor: &UserRow,
    file_ids: &[String],
) -> Result<Vec<FileRow>> {
    if file_ids.is_empty() {
        return Err(Error::Validation(
            "Choose at least one file to share".into(),
        ));
    }
    if file_ids.len() > MAX_LINK_FILES {
        return Err(Error::Validation(format!(
            "A link can share at most {MAX_LINK_FILES} files"
        )));
    }
    let mut files: Vec<FileRow> = Vec::with_capacity(file_ids.len());
    for id in file_ids {
        let file = files::find_visible(state, actor, id).await?;
        if files.iter().any(|f| f.id == file.id) {
            return Err(Error::Validation(format!(
                "{} is chosen twice",
                file.filename
            )));
        }
        files.push(file);
    }
    Ok(files)
}

/// Makes a share link for one or more files the actor may see.
pub async fn create(
    state: &AppState,
    actor: &UserRow,
    meta: &RequestMeta,
    file_ids: &[String],
    request: ShareRequest,
) -> Result<CreatedShare> {
    let files = selection(state, actor, file_ids).await?;
    let now = state.now();
    let expires_at = expiry(&request, now)?;
    let protected = request.password.as_ref().is_some_and(|p| !p.is_empty());
    rate_limits::making_link(state, &actor.id, protected).await?;
    if db::shares::count_active_by_creator(&state.db().pool, &actor.id, now).await?
        >= MAX_ACTIVE_LINKS
    {
        return Err(Error::Validation(format!(
            "You have {MAX_ACTIVE_LINKS} share links that can still be used, the most one account \
             may have: revoke some, or wait for some to expire"
        )));
    }
    let max_downloads = download_limit(request.max_downloads)?;
    let label = label(request.label)?;
    let password_hash = unlock::hash_new_password(Lock::Share, request.password).await?;
    let token = secret_tokens::generate("");
    let link = ShareRow {
        id: db::new_id(),
        token_hash: token_hash(&token),
        created_by: actor.id.clone(),
        created_at: now,
        expires_at,
        max_downloads,
        download_count: 0,
        password_hash,
        revoked_at: None,
        label,
    };
    let ids: Vec<String> = files.iter().map(|f| f.id.clone()).collect();
    // A file may be deleted while the password above was hashed.
    db::shares::insert(&state.db().pool, &link, &ids)
        .await
        .map_err(file_gone)?;
    Event::by(&actor.id, action::SHARE_CREATED)
        .on(&ids[0])
        .detail(format!(
            "link={} files={} expires_at={expires_at} max_downloads={max_downloads:?} password={}",
            link.id,
            ids.join(","),
            link.password_hash.is_some()
        ))
        .record(state, meta)
        .await;
    Ok(CreatedShare {
        id: link.id,
        share_url: state.settings().site.public_link(&recipient_path(&token)),
        share_token: token,
        expires_at: db::to_datetime(expires_at),
        max_downloads: max_downloads.map(|n| n as u64),
    })
}

/// A link by its id, revoked or not, if the actor made it (or is an admin); anyone else is
/// told, as for a link that does not exist, that there is none.
async fn own_link(state: &AppState, actor: &UserRow, link_id: &str) -> Result<ShareRow> {
    match db::shares::find(&state.db().pool, link_id).await? {
        Some(link)
            if link.created_by == actor.id || crate::server::service::admin::is_admin(actor) =>
        {
            Ok(link)
        }
        _ => Err(Error::NotFound("share link")),
    }
}

/// Changes a link the actor made (or any, for an admin) that is not revoked: its label,
/// expiry, download limit, password or files. Checked as a new link's are; a lower limit than
/// the downloads made so far leaves the link used up.
pub async fn update(
    state: &AppState,
    actor: &UserRow,
    meta: &RequestMeta,
    link_id: &str,
    changes: ShareChanges,
) -> Result<ShareInfo> {
    let pool = &state.db().pool;
    let mut link = own_link(state, actor, link_id).await?;
    if link.revoked_at.is_some() {
        return Err(revoked_unchangeable());
    }
    let mut changed = Vec::new();
    if let Some(given) = changes.label {
        link.label = label(given)?;
        changed.push("label");
    }
    if changes.expires_hours.is_some() || changes.expires_at.is_some() {
        let request = ShareRequest {
            expires_hours: changes.expires_hours,
            expires_at: changes.expires_at,
            ..Default::default()
        };
        link.expires_at = expiry(&request, state.now())?;
        changed.push("expiry");
    }
    if let Some(given) = changes.max_downloads {
        link.max_downloads = download_limit(given)?;
        changed.push("max_downloads");
    }
    let files = match changes.file_ids {
        Some(ids) => {
            // The owner's own files, or for an admin the files they may see: as a new link's.
            let files = selection(state, actor, &ids).await?;
            changed.push("files");
            Some(files.into_iter().map(|f| f.id).collect::<Vec<_>>())
        }
        None => None,
    };
    if let Some(given) = changes.password {
        let protected = given.as_ref().is_some_and(|p| !p.is_empty());
        if protected {
            rate_limits::making_link(state, &actor.id, true).await?;
        }
        link.password_hash = unlock::hash_new_password(Lock::Share, given).await?;
        changed.push("password");
    }
    if changed.is_empty() {
        return Err(Error::Validation(
            "Nothing to change: give a label, an expiry, a download limit, a password or files"
                .into(),
        ));
    }
    let updated = db::shares::update(pool, &link, files.as_deref())
        .await
        .map_err(file_gone)?;
    if !updated {
        // Revoked meanwhile.
        return Err(revoked_unchangeable());
    }
    let file_ids: Vec<String> = db::shares::files(pool, &link.id)
        .await?
        .into_iter()
        .map(|f| f.id)
        .collect();
    Event::by(&actor.id, action::SHARE_UPDATED)
        .on(file_ids.first().map(String::as_str).unwrap_or_default())
        .detail(format!("link={} changed={}", link.id, changed.join(",")))
        .record(state, meta)
        .await;
    Ok(share_info((link, file_ids), state.now()))
}

/// A page of the links the actor made that still point at a file, newest first.
pub async fn list_mine(state: &AppState, actor: &UserRow, page: Paging) -> Result<Vec<ShareInfo>> {
    let links =
        db::shares::list_by_creator(&state.db().pool, &actor.id, page.limit(), page.offset())
            .await?;
    let now = state.now();
    Ok(links.into_iter().map(|l| share_info(l, now)).collect())
}

/// A page of a file's links, newest first, for whoever may see the file.
pub async fn list(
    state: &AppState,
    actor: &UserRow,
    file_id: &str,
    page: Paging,
) -> Result<Vec<ShareInfo>> {
    Ok(file_with_links(state, actor, file_id, page).await?.1)
}

/// A file the actor may see, with a page of its links newest first (the owner's share page).
pub async fn file_with_links(
    state: &AppState,
    actor: &UserRow,
    file_id: &str,
    page: Paging,
) -> Result<(FileRow, Vec<ShareInfo>)> {
    let file = files::find_visible(state, actor, file_id).await?;
    let links =
        db::shares::list_for_file(&state.db().pool, &file.id, page.limit(), page.offset()).await?;
    let now = state.now();
    Ok((
        file,
        links.into_iter().map(|l| share_info(l, now)).collect(),
    ))
}

/// Revokes one of a file's active links, named by its id or by its token.
pub async fn revoke(
    state: &AppState,
    actor: &UserRow,
    meta: &RequestMeta,
    file_id: &str,
    id_or_token: &str,
) -> Result<()> {
    let file = files::find_visible(state, actor, file_id).await?;
    let pool = &state.db().pool;
    let link = db::shares::find_for_file(pool, &file.id, id_or_token, &token_hash(id_or_token))
        .await?
        .ok_or(Error::NotFound("share link"))?;
    // Revoking a revoked link changes nothing (DELETE is idempotent), and is not audited again.
    if db::shares::revoke(pool, &link.id, state.now()).await? {
        Event::by(&actor.id, action::SHARE_REVOKED)
            .on(&file.id)
            .detail(format!("link={}", link.id))
            .record(state, meta)
            .await;
    }
    Ok(())
}

/// Revokes a link the actor made (or any, for an admin), named by its id.
pub async fn revoke_link(
    state: &AppState,
    actor: &UserRow,
    meta: &RequestMeta,
    link_id: &str,
) -> Result<()> {
    let pool = &state.db().pool;
    let link = own_link(state, actor, link_id).await?;
    if !db::shares::revoke(pool, &link.id, state.now()).await? {
        // Revoked already: nothing changes (DELETE is idempotent).
        return Ok(());
    }
    let first = db::shares::files(pool, &link.id).await?.into_iter().next();
    let event = Event::by(&actor.id, action::SHARE_REVOKED).detail(format!("link={}", link.id));
    match &first {
        Some(file) => event.on(&file.id),
        None => event,
    }
    .record(state, meta)
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_defaults_to_a_day_and_stays_within_thirty_days() {
        let now = 1_000_000;
        let hours = |h| ShareRequest {
            expires_hours: Some(h),
            ..Default::default()
        };
        let at = |secs: i64| ShareRequest {
            expires_at: Some(db::to_datetime(now + secs)),
            ..Default::default()
        };
        assert_eq!(
            expiry(&ShareRequest::default(), now).unwrap(),
            now + 24 * HOUR
        );
        assert_eq!(expiry(&hours(1), now).unwrap(), now + HOUR);
        assert_eq!(expiry(&hours(720), now).unwrap(), now + 720 * HOUR);
        assert_eq!(expiry(&at(60), now).unwrap(), now + 60);
        assert_eq!(expiry(&at(720 * HOUR), now).unwrap(), now + 720 * HOUR);
        let both = ShareRequest {
            expires_hours: Some(1),
            expires_at: Some(db::to_datetime(now + 60)),
            ..Default::default()
        };
        for bad in [
            hours(0),
            hours(721),
            at(0),
            at(-60),
            at(720 * HOUR + 1),
            both,
        ] {
            assert_eq!(expiry(&bad, now).unwrap_err().code(), "validation_error");
        }
    }
}
