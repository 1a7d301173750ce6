//! Who may see a file: its owner, and admins. Anyone else is told it does not exist.

use crate::{
    model::Paging,
    server::{
        db::{self, files::FileRow, users::UserRow},
        error::{Error, Result},
        service::admin::is_admin,
        state::AppState,
    },
};

/// The file with this id if `actor` may see it (owner or admin); otherwise, as when it does not
/// exist, `NotFound`.
pub async fn find_visible(state: &AppState, actor: &UserRow, id: &str) -> Result<FileRow> {
    match db::files::find(&state.db().pool, id).await? {
        Some(file) if file.owner_id == actor.id || is_admin(actor) => Ok(file),
        _ => Err(Error::NotFound("file")),
    }
}

/// Whose files a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whose {
    /// The actor's own.
    Mine,
    /// Everyone's, for an admin; anyone else's list is their own.
    Everyone,
}

impl Whose {
    /// What the actor gets of what they ask for: everyone's files only for an admin.
    pub fn allowed_for(self, actor: &UserRow) -> Self {
        if self == Whose::Everyone && is_admin(actor) {
            Whose::Everyone
        } else {
            Whose::Mine
        }
    }
}

/// The files `whose` names that the actor may see ([`Whose::allowed_for`]), newest first.
pub async fn list(
    state: &AppState,
    actor: &UserRow,
    whose: Whose,
    page: Paging,
) -> Result<Vec<FileRow>> {
    let everyone = whose.allowed_for(actor) == Whose::Everyone;
    let owner = (!everyone).then_some(actor.id.as_str());
    Ok(db::files::list(&state.db().pool, owner, page.limit(), page.offset()).await?)
}

/// Whether a file may still be handed out without its owner signed in (by share link or
/// pre-signed URL): only while the owner's account is active. Disabling a user closes every
/// link of theirs at once; enabling them again opens the links that are still valid.
pub async fn owner_is_active(state: &AppState, file: &FileRow) -> Result<bool> {
    Ok(db::users::find_by_id(&state.db().pool, &file.owner_id)
        .await?
        .is_some_and(|owner| owner.is_active()))
}
