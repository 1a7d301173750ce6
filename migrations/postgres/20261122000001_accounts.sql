-- Accounts, browser sessions, API token families and the audit log.
-- Ids are UUID strings; times are unix seconds (UTC). The same schema exists for PostgreSQL in
-- migrations/postgres so that one set of repository queries serves both databases.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    is_active     BIGINT NOT NULL CHECK (is_active IN (0, 1)),  -- 0/1: the Any driver has no SQLite bool
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_login    BIGINT
);
-- Emails are stored lower-cased; usernames keep their case but are unique without it.
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- One row per signed-in browser. The cookie session only points here, so deleting rows ends
-- sessions at once whatever store (SQL or Redis) keeps the cookie session itself.
CREATE TABLE web_sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);

-- A login through the API starts a family; refreshing rotates tokens within it. Reusing a spent
-- refresh token revokes the family.
CREATE TABLE token_families (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX token_families_user_idx ON token_families (user_id);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id  TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at   BIGINT
);
CREATE INDEX api_tokens_family_idx ON api_tokens (family_id);

CREATE TABLE audit_log (
    id       TEXT PRIMARY KEY NOT NULL,
    at       BIGINT NOT NULL,
    actor_id TEXT,
    action   TEXT NOT NULL,
    target   TEXT,
    ip       TEXT,
    detail   TEXT
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id);
CREATE INDEX audit_log_action_idx ON audit_log (action);
