-- A user's webhooks: URLs Coffer POSTs JSON events to, signed with HMAC-SHA256 under the
-- webhook's secret (sealed by the master key, like TOTP secrets, and re-sealed on rotation).
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    events        TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    secret        BYTEA NOT NULL,
    seal_version  BIGINT NOT NULL DEFAULT 2,
    created_at    BIGINT NOT NULL
);
CREATE INDEX webhooks_user ON webhooks (user_id);

-- The outbox: one row per event per webhook, written in the transaction of what happened, so a
-- crash never loses one. A worker leases due rows (locked_until), posts them, and records the
-- answer: delivered, or tried again later with a growing pause, until it gives up.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT,
    lease_token     TEXT,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT,
    gave_up_at      BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);
