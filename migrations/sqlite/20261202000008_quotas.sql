-- Storage quotas. A user follows the installation's default (COFFER_USER_QUOTA_BYTES) until an
-- admin gives them one of their own: own_quota = 1, and quota_bytes is it (NULL: no quota).
ALTER TABLE users ADD COLUMN quota_bytes BIGINT;
ALTER TABLE users ADD COLUMN own_quota BIGINT NOT NULL DEFAULT 0 CHECK (own_quota IN (0, 1));

-- An upload reserves the bytes it has received against its owner's quota on its blob_uploads
-- row, as it streams. The reservation goes with the row: into the file's size when the file row
-- is added (same transaction), or away when the upload fails or is swept. Rows written for a
-- deletion have no owner and reserve nothing.
ALTER TABLE blob_uploads ADD COLUMN owner_id TEXT;
ALTER TABLE blob_uploads ADD COLUMN reserved_bytes BIGINT NOT NULL DEFAULT 0;
CREATE INDEX blob_uploads_owner ON blob_uploads (owner_id);
-- The admin's files table filters by scan status.
CREATE INDEX files_scan_status ON files (scan_status);
