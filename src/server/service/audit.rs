//! The audit log: who did what, when, from where. Writing an entry never fails the action it
//! records; a failed write is logged loudly instead.

use crate::{
    model::AuditOutcome,
    server::{
        db::{self, audit::AuditRow},
        service::RequestMeta,
        state::AppState,
    },
};

/// An audited action: its stable name (admins filter by it) and its outcome: success, or
/// failure for an attempt refused (a wrong password or code, a reused token) or a scan that
/// failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    pub name: &'static str,
    pub outcome: AuditOutcome,
}

impl Action {
    const fn success(name: &'static str) -> Self {
        Action {
            name,
            outcome: AuditOutcome::Success,
        }
    }

    const fn failure(name: &'static str) -> Self {
        Action {
            name,
            outcome: AuditOutcome::Failure,
        }
    }
}

/// Audit actions; the names are stable (admins filter by them, scripts read them).
pub mod action {
    use super::Action;

    pub const REGISTER: Action = Action::success("user.register");
    pub const LOGIN_OK: Action = Action::success("login.ok");
    pub const LOGIN_FAILED: Action = Action::failure("login.failed");
    pub const LOGOUT: Action = Action::success("logout");
    pub const PASSWORD_CHANGED: Action = Action::success("user.password_changed");
    pub const TOKEN_REUSE: Action = Action::failure("token.refresh_reuse");
    pub const TWO_FACTOR_SETUP: Action = Action::success("2fa.setup");
    pub const TWO_FACTOR_ENABLED: Action = Action::success("2fa.enabled");
    pub const TWO_FACTOR_DISABLED: Action = Action::success("2fa.disabled");
    pub const TWO_FACTOR_FAILED: Action = Action::failure("2fa.failed");
    pub const RECOVERY_CODE_USED: Action = Action::success("2fa.recovery_code_used");
    pub const RECOVERY_CODES_RENEWED: Action = Action::success("2fa.recovery_codes_renewed");
    pub const TWO_FACTOR_LOCKED: Action = Action::failure("2fa.locked");
    pub const PASSWORD_CHECK_FAILED: Action = Action::failure("user.password_check_failed");
    pub const SESSION_ENDED: Action = Action::success("session.ended");
    pub const ADMIN_CREATED: Action = Action::success("admin.create_admin");
    pub const ADMIN_USER_UPDATED: Action = Action::success("admin.user_updated");
    pub const ADMIN_USER_DELETED: Action = Action::success("admin.user_deleted");
    pub const ADMIN_TWO_FACTOR_RESET: Action = Action::success("admin.2fa_reset");
    pub const ADMIN_QUOTA_SET: Action = Action::success("admin.quota_set");
    pub const ADMIN_FILE_DOWNLOADED: Action = Action::success("admin.file_download");
    pub const ADMIN_FILE_DELETED: Action = Action::success("admin.file_delete");
    pub const ADMIN_FILE_RESCAN: Action = Action::success("admin.file_rescan");
    pub const FILE_UPLOADED: Action = Action::success("file.upload");
    pub const FILE_DOWNLOADED: Action = Action::success("file.download");
    pub const FILE_DELETED: Action = Action::success("file.delete");
    pub const FILE_CLEAN: Action = Action::success("file.scan_clean");
    pub const FILE_INFECTED: Action = Action::success("file.infected");
    pub const FILE_SCAN_FAILED: Action = Action::failure("file.scan_error");
    pub const SHARE_CREATED: Action = Action::success("share.create");
    pub const SHARE_REVOKED: Action = Action::success("share.revoke");
    pub const SHARE_UPDATED: Action = Action::success("share.update");
    pub const SHARE_DOWNLOADED: Action = Action::success("share.download");
    pub const SHARE_PASSWORD_FAILED: Action = Action::failure("share.password_failed");
    pub const REQUEST_CREATED: Action = Action::success("request.create");
    pub const REQUEST_CLOSED: Action = Action::success("request.close");
    pub const REQUEST_FILE_RECEIVED: Action = Action::success("request.file_received");
    pub const REQUEST_PASSWORD_FAILED: Action = Action::failure("request.password_failed");
    pub const SIGNED_URL_CREATED: Action = Action::success("file.signed_url");
    pub const SIGNED_URL_DOWNLOADED: Action = Action::success("file.signed_url_download");
    pub const MASTER_KEY_ROTATED: Action = Action::success("admin.master_key_rotated");
    pub const AUDIT_PRUNED: Action = Action::success("audit.pruned");

    /// Every action, for the audit page's filter.
    pub const ALL: [Action; 42] = [
        REGISTER,
        LOGIN_OK,
        LOGIN_FAILED,
        LOGOUT,
        PASSWORD_CHANGED,
        TOKEN_REUSE,
        TWO_FACTOR_SETUP,
        TWO_FACTOR_ENABLED,
        TWO_FACTOR_DISABLED,
        TWO_FACTOR_FAILED,
        RECOVERY_CODE_USED,
        RECOVERY_CODES_RENEWED,
        TWO_FACTOR_LOCKED,
        PASSWORD_CHECK_FAILED,
        SESSION_ENDED,
        ADMIN_CREATED,
        ADMIN_USER_UPDATED,
        ADMIN_USER_DELETED,
        ADMIN_TWO_FACTOR_RESET,
        ADMIN_QUOTA_SET,
        ADMIN_FILE_DOWNLOADED,
        ADMIN_FILE_DELETED,
        ADMIN_FILE_RESCAN,
        FILE_UPLOADED,
        FILE_DOWNLOADED,
        FILE_DELETED,
        FILE_CLEAN,
        FILE_INFECTED,
        FILE_SCAN_FAILED,
        SHARE_CREATED,
        SHARE_REVOKED,
        SHARE_UPDATED,
        SHARE_DOWNLOADED,
        SHARE_PASSWORD_FAILED,
        REQUEST_CREATED,
        REQUEST_CLOSED,
        REQUEST_FILE_RECEIVED,
        REQUEST_PASSWORD_FAILED,
        SIGNED_URL_CREATED,
        SIGNED_URL_DOWNLOADED,
        MASTER_KEY_ROTATED,
        AUDIT_PRUNED,
    ];

    /// Every way a file's content leaves Coffer, as the overview counts downloads.
    pub const DOWNLOADS: [Action; 4] = [
        FILE_DOWNLOADED,
        ADMIN_FILE_DOWNLOADED,
        SHARE_DOWNLOADED,
        SIGNED_URL_DOWNLOADED,
    ];
}

/// One entry of the audit log, built up from its action: `Event::by(actor, action::X)
/// .on(target).detail(…)`, then [`record`](Event::record)ed.
#[must_use = "an audit event is written only by .record(…)"]
pub struct Event<'a> {
    actor_id: Option<&'a str>,
    action: Action,
    target: Option<&'a str>,
    detail: Option<String>,
}

impl<'a> Event<'a> {
    pub fn new(action: Action) -> Self {
        Self {
            actor_id: None,
            action,
            target: None,
            detail: None,
        }
    }

    /// An action done by a user (their id).
    pub fn by(actor_id: &'a str, action: Action) -> Self {
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
        // Ordered ids: an entry written after another sorts after it, so audit pages (newest
        // first, by time and id) hold still while new entries arrive.
        let (id, at) = db::new_ordered_id();
        let row = AuditRow {
            id,
            at,
            actor_id: self.actor_id.map(str::to_owned),
            action: self.action.name.to_owned(),
            target: self.target.map(str::to_owned),
            outcome: self.action.outcome,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            detail: self.detail,
            request_id: meta.request_id.clone(),
        };
        tracing::info!(action = row.action, outcome = row.outcome.as_str(), actor = ?row.actor_id, target = ?row.target, ip = ?row.ip, request_id = ?row.request_id, "audit");
        if let Err(e) = db::audit::insert(&state.db().pool, &row).await {
            tracing::error!(error = %e, action = row.action, "could not write audit entry");
        }
    }
}

/// The retention sweep: deletes entries older than `COFFER_AUDIT_RETENTION_DAYS` (none when it
/// is 0), the one way rows ever leave the log, and records that it did. How many went.
pub async fn prune_expired(state: &AppState) -> Result<u64, sqlx::Error> {
    let days = state.settings().upkeep.audit_retention_days;
    if days == 0 {
        return Ok(0);
    }
    let days = i64::try_from(days).unwrap_or(i64::MAX / 86_400);
    let before = state.now().saturating_sub(days.saturating_mul(86_400));
    let pruned = db::audit::prune(&state.db().pool, before).await?;
    if pruned > 0 {
        Event::new(action::AUDIT_PRUNED)
            .detail(format!(
                "entries={pruned} older_than_days={days} before={}",
                db::to_datetime(before)
            ))
            .record(state, &RequestMeta::default())
            .await;
    }
    Ok(pruned)
}
