-- Upload requests: a link (/r/<token>, only its hash kept) through which people without an
-- account send files into the owner's Coffer, until it expires, is closed, or is full.
CREATE TABLE upload_requests (
    id            TEXT PRIMARY KEY NOT NULL,
    owner_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL,
    title         TEXT NOT NULL,
    message       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    max_files     BIGINT,
    max_bytes     BIGINT,
    password_hash TEXT,
    notify        BIGINT NOT NULL DEFAULT 0 CHECK (notify IN (0, 1)),
    closed_at     BIGINT
);
CREATE UNIQUE INDEX upload_requests_token_hash ON upload_requests (token_hash);
CREATE INDEX upload_requests_owner ON upload_requests (owner_id, created_at);

-- The request a file came in through; a deleted request leaves its files with their owner.
ALTER TABLE files ADD COLUMN request_id TEXT REFERENCES upload_requests (id) ON DELETE SET NULL;
CREATE INDEX files_request ON files (request_id);

-- An upload into a request holds one of its file places from the start and its bytes as they
-- arrive, on its blob_uploads row (like the quota): they pass to the file row in the
-- transaction that adds it, or go with the row when the upload fails or is swept.
ALTER TABLE blob_uploads ADD COLUMN request_id TEXT;
ALTER TABLE blob_uploads ADD COLUMN request_bytes BIGINT NOT NULL DEFAULT 0;
CREATE INDEX blob_uploads_request ON blob_uploads (request_id);
