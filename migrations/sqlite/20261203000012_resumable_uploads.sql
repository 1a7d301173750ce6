-- Resumable uploads (tus): one row per upload from its creation until the sweeper removes it,
-- expired or, once complete, after its expiry (until then HEAD still answers for it). The id is
-- also the id of the file the upload becomes, so its data key is wrapped for that file from
-- the start and moves to the files row as it is.
CREATE TABLE resumable_uploads (
    id            TEXT PRIMARY KEY NOT NULL,
    owner_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filename      TEXT NOT NULL,
    -- Upload-Metadata as the client sent it, answered back on HEAD.
    metadata      TEXT NOT NULL,
    length        BIGINT NOT NULL,
    received      BIGINT NOT NULL DEFAULT 0,
    -- How many parts of the blob are stored (see blob_parts).
    parts         BIGINT NOT NULL DEFAULT 0,
    blob_key      TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    wrapped_key   BLOB NOT NULL,
    seal_version  BIGINT NOT NULL DEFAULT 2,
    nonce_prefix  BLOB NOT NULL,
    -- What one request leaves the next, sealed under the data key (crypto::aside): the running
    -- SHA-256 state and the plaintext of the segment not yet complete. NULL before any byte.
    carried       BLOB,
    -- The content's type, once its first bytes passed the check.
    mime_type     TEXT,
    completed     BIGINT NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    -- The request writing to the upload: one at a time, across instances.
    lease_token   TEXT,
    lease_until   BIGINT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX resumable_uploads_expires ON resumable_uploads (expires_at);
CREATE INDEX resumable_uploads_owner ON resumable_uploads (owner_id);
CREATE INDEX resumable_uploads_master_key ON resumable_uploads (master_key_id);

-- The parts of blobs stored in parts (a resumable upload's, one per request), in order. A part
-- is recorded only once stored; the rows go when the blob is deleted.
CREATE TABLE blob_parts (
    blob_key TEXT NOT NULL,
    idx      BIGINT NOT NULL,
    name     TEXT NOT NULL,
    len      BIGINT NOT NULL,
    PRIMARY KEY (blob_key, idx)
);

-- How many parts a file's blob is stored in; 0: one object under its key.
ALTER TABLE files ADD COLUMN blob_parts BIGINT NOT NULL DEFAULT 0;
