-- The audit log says whether each event was a success or a failure (a refused attempt, a failed
-- scan), and with which browser or client. Rows written before this migration are classified
-- by their action.
ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT 'success' CHECK (outcome IN ('success', 'failure'));
ALTER TABLE audit_log ADD COLUMN user_agent TEXT;
UPDATE audit_log SET outcome = 'failure'
WHERE action IN ('login.failed', '2fa.failed', '2fa.locked', 'user.password_check_failed',
                 'share.password_failed', 'token.refresh_reuse');
-- Filtering by target, and keyset pages (newest first, ties by id).
CREATE INDEX audit_log_target_idx ON audit_log (target);
CREATE INDEX audit_log_at_id_idx ON audit_log (at, id);
