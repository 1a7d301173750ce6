-- Share links: a file's capability URLs for recipients without an account. Only a SHA-256 of
-- each token is kept. download_count is raised by one conditional UPDATE, so with
-- max_downloads = N at most N downloads start, however many run at once. Revoked links stay
-- (with revoked_at) so that the owner's list and the audit log keep their history.
CREATE TABLE share_links (
    id             TEXT PRIMARY KEY NOT NULL,
    file_id        TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL,
    created_by     TEXT NOT NULL REFERENCES users (id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    max_downloads  BIGINT,
    download_count BIGINT NOT NULL DEFAULT 0,
    password_hash  TEXT,
    revoked_at     BIGINT
);
CREATE UNIQUE INDEX share_links_token_hash ON share_links (token_hash);
CREATE INDEX share_links_file ON share_links (file_id, created_at);
