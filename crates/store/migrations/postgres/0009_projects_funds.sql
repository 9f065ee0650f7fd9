-- Projects and funds (issue 7): the project library, budgets by fund source, the
-- append-only disbursement ledger (资金拨付台账) and the households that benefit. Amounts
-- are integer fen.

-- A project is keyed by year and name; an import that changes it raises its revision and
-- writes the before and after to the audit log.
CREATE TABLE projects (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year          BIGINT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    township      TEXT COLLATE "C" NOT NULL,
    -- NULL for a project of a whole township.
    village       TEXT COLLATE "C",
    -- The plan's key task (序号) of the project's year the project serves.
    task_no       BIGINT,
    unit          TEXT NOT NULL,
    stage         TEXT NOT NULL,
    planned_start DATE,
    planned_end   DATE,
    actual_start  DATE,
    actual_end    DATE,
    revision      BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (year, name)
);
CREATE INDEX projects_by_unit ON projects (unit);
CREATE INDEX projects_by_area ON projects (township, village);

CREATE TABLE project_budgets (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    source     TEXT NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (project_id, source)
);

-- The ledger: append-only. A mistake is corrected by a reversal (kind 'reversal', with
-- the disbursement it reverses), never by UPDATE, DELETE or TRUNCATE, which the triggers
-- refuse.
CREATE TABLE fund_entries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id      BIGINT NOT NULL REFERENCES projects (id),
    source          TEXT NOT NULL,
    entry_date      DATE NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    kind            TEXT NOT NULL CHECK (kind IN ('disbursement', 'reversal')),
    reverses        BIGINT REFERENCES fund_entries (id),
    voucher         TEXT NOT NULL,
    payee           TEXT NOT NULL,
    note            TEXT NOT NULL,
    -- Set when the entry took its source over budget, by an override with this reason.
    override_reason TEXT,
    recorded_at     TIMESTAMPTZ NOT NULL,
    recorded_by     BIGINT REFERENCES users (id),
    CHECK ((kind = 'reversal') = (reverses IS NOT NULL))
);
CREATE INDEX fund_entries_by_project ON fund_entries (project_id, id);
CREATE INDEX fund_entries_by_reversed ON fund_entries (reverses) WHERE reverses IS NOT NULL;

CREATE FUNCTION fund_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'fund_entries is append-only: correct an entry with a reversal';
END
$$;
CREATE TRIGGER fund_entries_no_change BEFORE UPDATE OR DELETE ON fund_entries
    FOR EACH ROW EXECUTE FUNCTION fund_entries_append_only();
CREATE TRIGGER fund_entries_no_truncate BEFORE TRUNCATE ON fund_entries
    FOR EACH STATEMENT EXECUTE FUNCTION fund_entries_append_only();

-- Households that benefit from a project (带贫), with the yearly amount.
CREATE TABLE project_beneficiaries (
    project_id   BIGINT NOT NULL REFERENCES projects (id),
    household_no TEXT COLLATE "C" NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('dividend', 'wage', 'land_rent', 'service')),
    yearly       BIGINT NOT NULL CHECK (yearly >= 0),
    PRIMARY KEY (project_id, household_no, kind)
);
CREATE INDEX project_beneficiaries_by_household ON project_beneficiaries (household_no);
