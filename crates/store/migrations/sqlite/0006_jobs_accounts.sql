-- Who asked for a job (its audit rows name them), and accounts an admin can disable
-- without deleting them (the audit log keeps pointing at them).
ALTER TABLE jobs ADD COLUMN requested_by BIGINT REFERENCES users (id);
ALTER TABLE users ADD COLUMN disabled_at TEXT;
