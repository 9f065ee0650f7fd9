-- The append-only ledger and audit log, hardened (issue 20, item 3).
--
-- 1. A hash chain. Each row carries the hash of the row before it (`prev_hash`) and its own
--    (`hash`: SHA-256 over a canonical encoding of its fields and `prev_hash`, computed by
--    the store, crates/store/src/chain.rs). `chain_heads` holds each chain's last id and
--    hash as of the last commit; a trigger (SECURITY DEFINER, so that a runtime role with
--    no right on chain_heads still moves it) advances it, and a new row must follow the
--    chain (the next id, the previous hash). The store appends under an advisory lock held to
--    the end of its transaction, so that concurrent servers append one at a time. Rows
--    stored before this migration are chained by the store right after it
--    (`Store::migrate`), in id order, from a head of 64 zeros: the one UPDATE the
--    append-only trigger lets through is that one, filling a row's empty hash and
--    changing nothing else.
-- 2. Roles. The triggers hold only against a role that cannot disable them: `fupin
--    migrate --runtime-role ROLE` grants a runtime role INSERT and SELECT only on these
--    tables (README, "Deployment roles"); the role that migrates owns them.

ALTER TABLE fund_entries ADD COLUMN prev_hash TEXT, ADD COLUMN hash TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT, ADD COLUMN hash TEXT;

CREATE TABLE chain_heads (
    chain     TEXT PRIMARY KEY CHECK (chain IN ('fund_entries', 'audit_log')),
    last_id   BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO chain_heads (chain, last_id, last_hash) VALUES
    ('fund_entries', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('audit_log', 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- A new row follows the chain: its id and prev_hash continue the newer of the table's last
-- row and the head. The head moves once per transaction (a deferred trigger, for the
-- transaction's last row), not once per row: on PostgreSQL each UPDATE of the head row
-- leaves a version that the same transaction's next read walks past, which made a
-- 2,000-row disbursement file quadratic. Within a transaction the last row is ahead of
-- the head; a head ahead of the last row means rows were cut from the end, and the next
-- row then links to the head, so that the cut stays visible to `fupin verify`.
CREATE FUNCTION chain_follows_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head chain_heads%ROWTYPE;
    last_id BIGINT;
    last_hash TEXT;
BEGIN
    SELECT * INTO head FROM chain_heads WHERE chain = TG_TABLE_NAME;
    EXECUTE format('SELECT id, hash FROM %I ORDER BY id DESC LIMIT 1', TG_TABLE_NAME)
        INTO last_id, last_hash;
    IF last_id IS NULL OR last_id < head.last_id THEN
        last_id := head.last_id;
        last_hash := head.last_hash;
    END IF;
    IF NEW.hash IS NULL OR NEW.id IS DISTINCT FROM last_id + 1
        OR NEW.prev_hash IS DISTINCT FROM last_hash THEN
        RAISE EXCEPTION '% is hash-chained: a new row must follow the chain (id %)',
            TG_TABLE_NAME, last_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE FUNCTION chain_advance_head() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    top BIGINT;
BEGIN
    EXECUTE format('SELECT max(id) FROM public.%I', TG_TABLE_NAME) INTO top;
    IF NEW.id = top THEN
        UPDATE public.chain_heads SET last_id = NEW.id, last_hash = NEW.hash
            WHERE chain = TG_TABLE_NAME AND last_id < NEW.id;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION chain_advance_head() FROM PUBLIC;
CREATE TRIGGER fund_entries_chain BEFORE INSERT ON fund_entries
    FOR EACH ROW EXECUTE FUNCTION chain_follows_head();
CREATE CONSTRAINT TRIGGER fund_entries_chain_head AFTER INSERT ON fund_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION chain_advance_head();
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION chain_follows_head();
CREATE CONSTRAINT TRIGGER audit_log_chain_head AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION chain_advance_head();

-- The append-only row triggers again, letting through only the chaining of a row stored
-- before this migration: its empty hash filled, nothing else changed. TRUNCATE stays
-- refused by the statement triggers of 0003 and 0009.
CREATE FUNCTION append_only_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND NEW.hash IS NOT NULL
        AND NEW.prev_hash IS NOT NULL
        AND to_jsonb(OLD) - 'hash' - 'prev_hash' = to_jsonb(NEW) - 'hash' - 'prev_hash' THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'fund_entries' THEN
        RAISE EXCEPTION 'fund_entries is append-only: correct an entry with a reversal';
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
DROP TRIGGER fund_entries_no_change ON fund_entries;
CREATE TRIGGER fund_entries_no_change BEFORE UPDATE OR DELETE ON fund_entries
    FOR EACH ROW EXECUTE FUNCTION append_only_row();
DROP TRIGGER audit_log_no_change ON audit_log;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION append_only_row();
