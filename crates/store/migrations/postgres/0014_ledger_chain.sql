-- The append-only ledger and audit log, hardened (issue 20, item 3).
--
-- 1. A hash chain. Each row carries the hash of the row before it (`prev_hash`) and its own
--    (`hash`: SHA-256 over a canonical encoding of its fields and `prev_hash`, computed by
--    the store, crates/store/src/chain.rs). `chain_heads` holds each chain's last id and
--    hash; a trigger (SECURITY DEFINER, so that a runtime role with no right on
--    chain_heads still moves it) advances it on each insert, and a new row must follow
--    it (the next id, the head's hash). The store appends under an advisory lock held to
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

-- A new row follows the chain's head (the next id, the head's hash).
CREATE FUNCTION chain_follows_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head chain_heads%ROWTYPE;
BEGIN
    SELECT * INTO head FROM chain_heads WHERE chain = TG_TABLE_NAME;
    IF NEW.hash IS NULL OR NEW.id IS DISTINCT FROM head.last_id + 1
        OR NEW.prev_hash IS DISTINCT FROM head.last_hash THEN
        RAISE EXCEPTION '% is hash-chained: a new row must follow the chain head (id %)',
            TG_TABLE_NAME, head.last_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE FUNCTION chain_advance_head() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE public.chain_heads SET last_id = NEW.id, last_hash = NEW.hash
        WHERE chain = TG_TABLE_NAME;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION chain_advance_head() FROM PUBLIC;
CREATE TRIGGER fund_entries_chain BEFORE INSERT ON fund_entries
    FOR EACH ROW EXECUTE FUNCTION chain_follows_head();
CREATE TRIGGER fund_entries_chain_head AFTER INSERT ON fund_entries
    FOR EACH ROW EXECUTE FUNCTION chain_advance_head();
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION chain_follows_head();
CREATE TRIGGER audit_log_chain_head AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION chain_advance_head();

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
