-- Sealed values are bound to their row (the file id, the user id is part of what they are sealed
-- with), so a sealed column copied to another row does not open there. seal_version 2 is bound;
-- rows sealed before are marked 1 and re-sealed by the server when it starts.
ALTER TABLE files ADD COLUMN seal_version BIGINT NOT NULL DEFAULT 2;
UPDATE files SET seal_version = 1;
ALTER TABLE user_totp ADD COLUMN seal_version BIGINT NOT NULL DEFAULT 2;
UPDATE user_totp SET seal_version = 1;

-- The master key the last rotation made current, written by the process that ran it. Every
-- server checks it before sealing, so none keeps sealing with a key that is being retired.
CREATE TABLE master_key_state (
    id             BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    current_key_id TEXT NOT NULL,
    rotated_at     BIGINT NOT NULL
);

-- Consecutive wrong second-factor codes, and until when the second step is locked after too
-- many of them.
ALTER TABLE user_totp ADD COLUMN failed_codes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_totp ADD COLUMN locked_until BIGINT;
