//! Share links: sharing a file with people who have no account, through a link that is stored,
//! counted, revocable and optionally password-protected. (Pre-signed URLs, stateless and
//! minutes long, are `signed_urls`.) The REST API, the owner's page and the recipient's page
//! all come here.
//!
//! A share token is 256 random bits, shown once; only its SHA-256 is stored, looked up by that
//! hash and compared again in constant time. A download by link counts when its response
//! starts, through one conditional UPDATE, so a limit of N lets at most N downloads start
//! however many run at once.
//!
//! Here: where a link stands (`LinkState`) and how its owner sees it; `owner` (making, listing,
//! revoking), `link` (a token opened by its recipient: the password, the page),
//! `downloads` (a file or all of them as a zip, counted).

mod downloads;
mod link;
mod owner;

pub use downloads::{
    clear, download, download_all, download_link, redeem, LinkDownload, Ticket, ZipDownload,
};
pub use link::{unlock, view};
pub use owner::{create, file_with_links, list, list_mine, revoke, revoke_link, selection, update};

use crate::{
    model::ShareInfo,
    server::{db, db::shares::ShareRow, error::Error},
};

/// Where a link stands at a moment; a link is revoked before expired before used up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LinkState {
    Active,
    Revoked,
    Expired,
    UsedUp,
}

impl LinkState {
    fn of(link: &ShareRow, now: i64) -> Self {
        if link.revoked_at.is_some() {
            LinkState::Revoked
        } else if link.expires_at <= now {
            LinkState::Expired
        } else if link
            .max_downloads
            .is_some_and(|max| link.download_count >= max)
        {
            LinkState::UsedUp
        } else {
            LinkState::Active
        }
    }

    /// In the words of [`ShareInfo::status`].
    fn as_str(self) -> &'static str {
        match self {
            LinkState::Active => "active",
            LinkState::Revoked => "revoked",
            LinkState::Expired => "expired",
            LinkState::UsedUp => "used_up",
        }
    }

    /// Why a link in this state cannot be used; `None` when it can.
    fn refusal(self) -> Option<Error> {
        match self {
            LinkState::Active => None,
            LinkState::Revoked => Some(Error::LinkRevoked),
            LinkState::Expired => Some(Error::LinkExpired),
            LinkState::UsedUp => Some(Error::DownloadLimitReached),
        }
    }
}

/// A link as its owner's lists show it, in its state at `now`.
pub(super) fn share_info((link, file_ids): (ShareRow, Vec<String>), now: i64) -> ShareInfo {
    {
        ShareInfo {
            status: LinkState::of(&link, now).as_str().to_owned(),
            id: link.id,
            file_id: file_ids.first().cloned().unwrap_or_default(),
            file_ids,
            created_at: db::to_datetime(link.created_at),
            expires_at: db::to_datetime(link.expires_at),
            max_downloads: link.max_downloads.map(|n| n.max(0) as u64),
            download_count: link.download_count.max(0) as u64,
            has_password: link.password_hash.is_some(),
            label: link.label,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(expires_at: i64, max: Option<i64>, count: i64, revoked: bool) -> ShareRow {
        ShareRow {
            id: "l".into(),
            token_hash: String::new(),
            created_by: "u".into(),
            created_at: 0,
            expires_at,
            max_downloads: max,
            download_count: count,
            password_hash: None,
            revoked_at: revoked.then_some(1),
            label: None,
        }
    }

    #[test]
    fn a_link_is_revoked_before_expired_before_used_up() {
        let status = |link: &ShareRow, now| LinkState::of(link, now).as_str();
        assert_eq!(status(&link(100, Some(1), 1, true), 200), "revoked");
        assert_eq!(status(&link(100, Some(1), 1, false), 100), "expired");
        assert_eq!(status(&link(100, Some(1), 1, false), 99), "used_up");
        assert_eq!(status(&link(100, Some(2), 1, false), 99), "active");
        assert_eq!(status(&link(100, None, 1000, false), 99), "active");
    }
}
