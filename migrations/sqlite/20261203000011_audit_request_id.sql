-- Each audit entry names the request it came from (the X-Request-Id every response carries and
-- every log line of the request has), so an entry can be followed to its logs and back. Entries
-- of the system's own work (scans, the retention sweep) and rows written before this have none.
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
