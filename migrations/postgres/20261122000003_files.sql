-- Files: one row per stored upload, pointing at its sealed blob. The data key is kept wrapped
-- by a master key (whose id is stored beside it), with the nonce prefix of its segments.
CREATE TABLE files (
    id             TEXT PRIMARY KEY NOT NULL,
    owner_id       TEXT NOT NULL REFERENCES users (id),
    filename       TEXT NOT NULL,
    size           BIGINT NOT NULL,
    mime_type      TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    scan_status    TEXT NOT NULL CHECK (scan_status IN ('pending', 'clean', 'infected', 'error')),
    scan_detail    TEXT,
    blob_key       TEXT NOT NULL,
    master_key_id  TEXT NOT NULL,
    wrapped_key    BYTEA NOT NULL,
    nonce_prefix   BYTEA NOT NULL,
    download_count BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX files_blob_key ON files (blob_key);
CREATE INDEX files_owner_created ON files (owner_id, created_at);
CREATE INDEX files_master_key ON files (master_key_id);

-- Blobs being written. A row is added before the first byte and removed in the transaction that
-- adds the file row, so a blob whose row is still here after its upload went quiet belongs to no
-- file (a crash, a failed insert) and the sweeper deletes it.
CREATE TABLE blob_uploads (
    blob_key   TEXT PRIMARY KEY NOT NULL,
    touched_at BIGINT NOT NULL
);

-- Scan jobs, one per file still to scan. A worker leases a job (locked_until) so that with
-- several instances each job runs once; a failed scan is retried after run_after.
CREATE TABLE scan_jobs (
    file_id      TEXT PRIMARY KEY NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_after    BIGINT NOT NULL,
    locked_until BIGINT,
    last_error   TEXT
);
CREATE INDEX scan_jobs_run_after ON scan_jobs (run_after);
