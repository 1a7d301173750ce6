-- A share link points at a set of files: share_link_files, in the order they were chosen. A
-- file's deletion takes it out of its links (ON DELETE CASCADE); a link left with no files
-- answers as unknown. share_links loses its file_id, which is rebuilt into the new table the
-- way both databases can (create, copy, drop, rename).
CREATE TABLE share_links_new (
    id             TEXT PRIMARY KEY NOT NULL,
    token_hash     TEXT NOT NULL,
    created_by     TEXT NOT NULL REFERENCES users (id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    max_downloads  BIGINT,
    download_count BIGINT NOT NULL DEFAULT 0,
    password_hash  TEXT,
    revoked_at     BIGINT
);
INSERT INTO share_links_new (id, token_hash, created_by, created_at, expires_at, max_downloads,
                             download_count, password_hash, revoked_at)
SELECT id, token_hash, created_by, created_at, expires_at, max_downloads, download_count,
       password_hash, revoked_at
FROM share_links;
CREATE TABLE share_link_files (
    share_id TEXT NOT NULL REFERENCES share_links_new (id) ON DELETE CASCADE,
    file_id  TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    PRIMARY KEY (share_id, file_id)
);
INSERT INTO share_link_files (share_id, file_id, position)
SELECT id, file_id, 0 FROM share_links;
DROP TABLE share_links;
ALTER TABLE share_links_new RENAME TO share_links;
CREATE UNIQUE INDEX share_links_token_hash ON share_links (token_hash);
CREATE INDEX share_links_created_by ON share_links (created_by, created_at);
CREATE INDEX share_link_files_file ON share_link_files (file_id);
