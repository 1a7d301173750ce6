-- A scan job's lease names its holder: a worker whose lease ran out, or whose job an admin
-- re-queued, finds its token gone and its verdict is dropped instead of overwriting a newer one.
ALTER TABLE scan_jobs ADD COLUMN lease_token TEXT;
