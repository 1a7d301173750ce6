-- Two-factor authentication (TOTP, RFC 6238). One row per user who has started enrolment: the
-- secret sealed by the master key (with that key's id, so a rotation can re-wrap it), enabled_at
-- set once a first valid code switched it on, and last_step, the highest time step accepted,
-- so that no code (nor any code of the same step) is accepted twice.
CREATE TABLE user_totp (
    user_id       TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    master_key_id TEXT NOT NULL,
    secret        BLOB NOT NULL,
    enabled_at    BIGINT,
    last_step     BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX user_totp_master_key ON user_totp (master_key_id);

-- One-time recovery codes, stored as SHA-256 (they carry 80 random bits); used_at marks a spent one.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
