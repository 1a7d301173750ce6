-- One row that every change to who is an active admin updates first, in its transaction: the
-- row lock (PostgreSQL) or write lock (SQLite) makes such changes take turns, so each counts
-- the admins the others left and the last active admin can never be removed, even by two
-- admins demoting each other at the same moment.
CREATE TABLE admin_guard (
    id         BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    changed_at BIGINT NOT NULL
);
INSERT INTO admin_guard (id, changed_at) VALUES (1, 0);
