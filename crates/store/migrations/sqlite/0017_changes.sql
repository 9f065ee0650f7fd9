-- Change requests (变更申请): a cadre's changes to a household of the current register
-- version after a visit, reviewed by the township (or made directly by headquarters).
-- An approved change is applied to the version's rows in the same transaction as its
-- reassessment; its cells keep the old and new values, so the version's values as
-- imported are its rows with the approved changes undone.
CREATE TABLE change_requests (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The register version it was made against (and applied to).
    version_id     BIGINT NOT NULL REFERENCES register_versions (id),
    household_no   TEXT NOT NULL,
    township       TEXT NOT NULL,
    village        TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'returned')),
    visit_date     TEXT NOT NULL,
    reason         TEXT NOT NULL,
    -- 竣工日期 of a renovation reported 已竣工.
    done_on        TEXT,
    submitted_by   BIGINT NOT NULL REFERENCES users (id),
    submitted_at   TEXT NOT NULL,
    reviewed_by    BIGINT REFERENCES users (id),
    reviewed_at    TEXT,
    -- The reviewer's words: why it was sent back, or a note on approval.
    review_note    TEXT,
    -- The household's verdict and failed criteria before and after (on approval).
    verdict_before TEXT,
    verdict_after  TEXT,
    failed_before  TEXT,
    failed_after   TEXT
);
CREATE INDEX change_requests_by_household ON change_requests (household_no, id);
CREATE INDEX change_requests_by_state ON change_requests (state, township, village, id);

-- The cells a request changes. member_line 0: a household field; otherwise the member's
-- row line in the version. Values as the import format writes them ('' empty).
CREATE TABLE change_cells (
    change_id    BIGINT NOT NULL REFERENCES change_requests (id),
    seq          BIGINT NOT NULL,
    household_no TEXT NOT NULL,
    member_line  BIGINT NOT NULL,
    -- The member's name when the register has it, for the words of the change.
    member_name  TEXT,
    field        TEXT NOT NULL,
    old_value    TEXT NOT NULL,
    new_value    TEXT NOT NULL,
    -- TRUE while the request waits for review: one waiting request per cell.
    pending      BOOLEAN NOT NULL,
    PRIMARY KEY (change_id, seq)
);
CREATE UNIQUE INDEX change_cells_pending ON change_cells (household_no, member_line, field)
    WHERE pending;

-- Evidence (photos, documents) of a request, kept in the database as work attachments are.
CREATE TABLE change_attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id    BIGINT NOT NULL REFERENCES change_requests (id),
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    data         BLOB NOT NULL
);
CREATE INDEX change_attachments_by_change ON change_attachments (change_id);

-- 强制销号: headquarters closed the item although its gap still failed, for this reason
-- (cannot_rectify 无法整改, not_applicable 政策不适用); the words are its close event's.
ALTER TABLE work_items ADD COLUMN close_override TEXT;
