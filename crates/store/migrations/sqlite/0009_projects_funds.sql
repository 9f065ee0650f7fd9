-- Projects and funds (issue 7): the project library, budgets by fund source, the
-- append-only disbursement ledger (资金拨付台账) and the households that benefit. Dates are
-- 'YYYY-MM-DD' text; times RFC 3339 UTC text; amounts integer fen.

-- A project is keyed by year and name; an import that changes it raises its revision and
-- writes the before and after to the audit log.
CREATE TABLE projects (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    year          BIGINT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    township      TEXT NOT NULL,
    -- NULL for a project of a whole township.
    village       TEXT,
    -- The plan's key task (序号) of the project's year the project serves.
    task_no       BIGINT,
    unit          TEXT NOT NULL,
    stage         TEXT NOT NULL,
    planned_start TEXT,
    planned_end   TEXT,
    actual_start  TEXT,
    actual_end    TEXT,
    revision      BIGINT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
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
-- the disbursement it reverses), never by UPDATE or DELETE, which the triggers refuse.
CREATE TABLE fund_entries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id      BIGINT NOT NULL REFERENCES projects (id),
    source          TEXT NOT NULL,
    entry_date      TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    kind            TEXT NOT NULL CHECK (kind IN ('disbursement', 'reversal')),
    reverses        BIGINT REFERENCES fund_entries (id),
    voucher         TEXT NOT NULL,
    payee           TEXT NOT NULL,
    note            TEXT NOT NULL,
    -- Set when the entry took its source over budget, by an override with this reason.
    override_reason TEXT,
    recorded_at     TEXT NOT NULL,
    recorded_by     BIGINT REFERENCES users (id),
    CHECK ((kind = 'reversal') = (reverses IS NOT NULL))
);
CREATE INDEX fund_entries_by_project ON fund_entries (project_id, id);
CREATE INDEX fund_entries_by_reversed ON fund_entries (reverses) WHERE reverses IS NOT NULL;

CREATE TRIGGER fund_entries_no_update BEFORE UPDATE ON fund_entries
BEGIN
    SELECT RAISE(ABORT, 'fund_entries is append-only: correct an entry with a reversal');
END;
CREATE TRIGGER fund_entries_no_delete BEFORE DELETE ON fund_entries
BEGIN
    SELECT RAISE(ABORT, 'fund_entries is append-only: correct an entry with a reversal');
END;

-- Households that benefit from a project (带贫), with the yearly amount.
CREATE TABLE project_beneficiaries (
    project_id   BIGINT NOT NULL REFERENCES projects (id),
    household_no TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('dividend', 'wage', 'land_rent', 'service')),
    yearly       BIGINT NOT NULL CHECK (yearly >= 0),
    PRIMARY KEY (project_id, household_no, kind)
);
CREATE INDEX project_beneficiaries_by_household ON project_beneficiaries (household_no);
