-- A webhook whose receiver keeps failing is suspended (no deliveries are attempted) until its
-- owner resumes it; the failures in a row are counted to decide that. Events that find too many
-- deliveries already waiting for a webhook are not queued for it, and counted here instead.
ALTER TABLE webhooks ADD COLUMN consecutive_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN suspended_at BIGINT;
ALTER TABLE webhooks ADD COLUMN missed_events BIGINT NOT NULL DEFAULT 0;
-- The deliveries still to make, per webhook: the pending cap counts them at every event.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
