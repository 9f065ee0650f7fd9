-- The append-only ledger and audit log, hardened (issue 20, item 3).
--
-- 1. REPLACE and upsert. `INSERT OR REPLACE` deletes the row it conflicts with, and SQLite
--    fires no DELETE trigger for that unless `recursive_triggers` is on, which the store
--    sets on every connection (crates/store/src/lib.rs). A guard here refuses, whatever the
--    connection: an insert whose id already exists (REPLACE, `ON CONFLICT DO UPDATE`) is
--    aborted before any conflict is resolved.
-- 2. A hash chain. Each row carries the hash of the row before it (`prev_hash`) and its own
--    (`hash`: SHA-256 over a canonical encoding of its fields and `prev_hash`, computed by
--    the store, crates/store/src/chain.rs). `chain_heads` holds each chain's last id and
--    hash; a trigger moves it on each insert, and a new row must follow it (the next id,
--    the head's hash). Rows stored before this migration are chained by the store right
--    after it (`Store::migrate`), in id order, from a head of 64 zeros: the one UPDATE the
--    append-only triggers let through is that one, filling a row's empty hash and
--    changing nothing else. `fupin verify` walks both chains.

ALTER TABLE fund_entries ADD COLUMN prev_hash TEXT;
ALTER TABLE fund_entries ADD COLUMN hash TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

CREATE TABLE chain_heads (
    chain     TEXT PRIMARY KEY CHECK (chain IN ('fund_entries', 'audit_log')),
    last_id   BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO chain_heads (chain, last_id, last_hash) VALUES
    ('fund_entries', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('audit_log', 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- No row is written twice (REPLACE, upsert).
CREATE TRIGGER fund_entries_no_replace BEFORE INSERT ON fund_entries
WHEN EXISTS (SELECT 1 FROM fund_entries WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'fund_entries is append-only: an entry cannot be written over');
END;
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: a row cannot be written over');
END;

-- A new row follows the chain's head.
CREATE TRIGGER fund_entries_chain BEFORE INSERT ON fund_entries
WHEN NEW.hash IS NULL
    OR NEW.id IS NOT (SELECT last_id + 1 FROM chain_heads WHERE chain = 'fund_entries')
    OR NEW.prev_hash IS NOT (SELECT last_hash FROM chain_heads WHERE chain = 'fund_entries')
BEGIN
    SELECT RAISE(ABORT, 'fund_entries is hash-chained: a new entry must follow the chain head');
END;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
WHEN NEW.hash IS NULL
    OR NEW.id IS NOT (SELECT last_id + 1 FROM chain_heads WHERE chain = 'audit_log')
    OR NEW.prev_hash IS NOT (SELECT last_hash FROM chain_heads WHERE chain = 'audit_log')
BEGIN
    SELECT RAISE(ABORT, 'audit_log is hash-chained: a new row must follow the chain head');
END;
CREATE TRIGGER fund_entries_chain_head AFTER INSERT ON fund_entries
BEGIN
    UPDATE chain_heads SET last_id = NEW.id, last_hash = NEW.hash WHERE chain = 'fund_entries';
END;
CREATE TRIGGER audit_log_chain_head AFTER INSERT ON audit_log
BEGIN
    UPDATE chain_heads SET last_id = NEW.id, last_hash = NEW.hash WHERE chain = 'audit_log';
END;

-- The append-only triggers again, letting through only the chaining of a row stored
-- before this migration: its empty hash filled, nothing else changed.
DROP TRIGGER fund_entries_no_update;
CREATE TRIGGER fund_entries_no_update BEFORE UPDATE ON fund_entries
WHEN NOT (OLD.hash IS NULL AND NEW.hash IS NOT NULL AND NEW.prev_hash IS NOT NULL
    AND NEW.id IS OLD.id AND NEW.project_id IS OLD.project_id AND NEW.source IS OLD.source
    AND NEW.entry_date IS OLD.entry_date AND NEW.amount IS OLD.amount AND NEW.kind IS OLD.kind
    AND NEW.reverses IS OLD.reverses AND NEW.voucher IS OLD.voucher AND NEW.payee IS OLD.payee
    AND NEW.note IS OLD.note AND NEW.override_reason IS OLD.override_reason
    AND NEW.recorded_at IS OLD.recorded_at AND NEW.recorded_by IS OLD.recorded_by)
BEGIN
    SELECT RAISE(ABORT, 'fund_entries is append-only: correct an entry with a reversal');
END;
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.hash IS NULL AND NEW.hash IS NOT NULL AND NEW.prev_hash IS NOT NULL
    AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.user_id IS OLD.user_id
    AND NEW.action IS OLD.action AND NEW.entity IS OLD.entity AND NEW.entity_id IS OLD.entity_id
    AND NEW.before_json IS OLD.before_json AND NEW.after_json IS OLD.after_json)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
