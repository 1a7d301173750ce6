-- The first account of an installation becomes admin. "Are there users yet?" read inside the
-- INSERT is not enough on PostgreSQL: two registrations at the same moment both see an empty
-- table. A claim row with a primary key is taken by exactly one of them.
CREATE TABLE instance_claims (
    name TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
);

-- Installations that already have accounts have had their first admin.
INSERT INTO instance_claims (name, user_id, claimed_at)
SELECT 'first_admin', id, created_at FROM users ORDER BY created_at, id LIMIT 1;
