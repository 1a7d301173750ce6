//! The audit log: who did what, when, from where. Writing an entry never fails the action it
//! records; a failed write is logged loudly instead.

use crate::server::{
    db::{self, audit::AuditRow},
    service::RequestMeta,
    state::AppState,
};

/// Audit actions; the strings are stable (admins filter by them).
pub mod action {
    pub const REGISTER: &str = "user.register";
    pub const LOGIN_OK: &str = "login.ok";
    pub const LOGIN_FAILED: &str = "login.failed";
    pub const LOGOUT: &str = "logout";
    pub const PASSWORD_CHANGED: &str = "user.password_changed";
    pub const TOKEN_REUSE: &str = "token.refresh_reuse";
    pub const TWO_FACTOR_SETUP: &str = "2fa.setup";
    pub const TWO_FACTOR_ENABLED: &str = "2fa.enabled";
    pub const TWO_FACTOR_DISABLED: &str = "2fa.disabled";
    pub const TWO_FACTOR_FAILED: &str = "2fa.failed";
    pub const RECOVERY_CODE_USED: &str = "2fa.recovery_code_used";
    pub const RECOVERY_CODES_RENEWED: &str = "2fa.recovery_codes_renewed";
    pub const TWO_FACTOR_LOCKED: &str = "2fa.locked";
    pub const PASSWORD_CHECK_FAILED: &str = "user.password_check_failed";
    pub const SESSION_ENDED: &str = "session.ended";
    pub const ADMIN_CREATED: &str = "admin.create_admin";
    pub const ADMIN_USER_UPDATED: &str = "admin.user_updated";
    pub const ADMIN_USER_DELETED: &str = "admin.user_deleted";
    pub const ADMIN_TWO_FACTOR_RESET: &str = "admin.2fa_reset";
    pub const FILE_UPLOADED: &str = "file.upload";
    pub const FILE_DOWNLOADED: &str = "file.download";
    pub const FILE_DELETED: &str = "file.delete";
    pub const FILE_INFECTED: &str = "file.infected";
    pub const SHARE_CREATED: &str = "share.create";
    pub const SHARE_REVOKED: &str = "share.revoke";
    pub const SHARE_DOWNLOADED: &str = "share.download";
    pub const SHARE_PASSWORD_FAILED: &str = "share.password_failed";
    pub const SIGNED_URL_CREATED: &str = "file.signed_url";
    pub const SIGNED_URL_DOWNLOADED: &str = "file.signed_url_download";
    pub const MASTER_KEY_ROTATED: &str = "admin.master_key_rotated";
}

/// One entry of the audit log, built up from its action: `Event::by(actor, action::X)
/// .on(target).detail(…)`, then [`record`](Event::record)ed.
#[must_use = "an audit event is written only by .record(…)"]
pub struct Event<'a> {
    actor_id: Option<&'a str>,
    action: &'static str,
    target: Option<&'a str>,
    detail: Option<String>,
}

impl<'a> Event<'a> {
    pub fn new(action: &'static str) -> Self {
        Self {
            actor_id: None,
            action,
            target: None,
            detail: None,
        }
    }

    /// An action done by a user (their id).
    pub fn by(actor_id: &'a str, action: &'static str) -> Self {
        Self::new(action).by_opt(Some(actor_id))
    }

    /// Who did it, when that may be nobody known.
    pub fn by_opt(mut self, actor_id: Option<&'a str>) -> Self {
        self.actor_id = actor_id;
        self
    }

    /// What it was done to (a file, user or token family id).
    pub fn on(mut self, target: &'a str) -> Self {
        self.target = Some(target);
        self
    }

    pub fn detail(self, detail: impl Into<String>) -> Self {
        self.detail_opt(Some(detail.into()))
    }

    pub fn detail_opt(mut self, detail: Option<String>) -> Self {
        self.detail = detail;
        self
    }

    /// Writes the entry, with the client's address. Never fails the action it records: a
    /// failed write is logged loudly instead.
    pub async fn record(self, state: &AppState, meta: &RequestMeta) {
        let row = AuditRow {
            id: db::new_id(),
            at: db::now(),
            actor_id: self.actor_id.map(str::to_owned),
            action: self.action.to_owned(),
            target: self.target.map(str::to_owned),
            ip: meta.ip.clone(),
            detail: self.detail,
        };
        tracing::info!(action = row.action, actor = ?row.actor_id, target = ?row.target, ip = ?row.ip, "audit");
        if let Err(e) = db::audit::insert(&state.db().pool, &row).await {
            tracing::error!(error = %e, action = row.action, "could not write audit entry");
        }
    }
}
