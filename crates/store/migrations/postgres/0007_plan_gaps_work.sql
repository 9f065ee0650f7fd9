-- The responsibility plan (责任分解方案), the gaps each assessment finds, and the work
-- items (交办事项) that rectify them. Text that is compared with Rust uses the "C" collation.

-- A plan belongs to a year; every import is a new revision of that year's plan, and the
-- highest revision is the one in force. Old revisions stay.
CREATE TABLE plans (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year           BIGINT NOT NULL,
    revision       BIGINT NOT NULL,
    name           TEXT NOT NULL,
    overall_post   TEXT,
    commander_post TEXT,
    declared_tasks BIGINT,
    file_name      TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    imported_at    TIMESTAMPTZ NOT NULL,
    imported_by    BIGINT REFERENCES users (id),
    UNIQUE (year, revision)
);

CREATE TABLE plan_tasks (
    plan_id   BIGINT NOT NULL REFERENCES plans (id),
    task_no   BIGINT NOT NULL,
    title     TEXT NOT NULL,
    -- A post (常务副县长), as the plan names it.
    leader    TEXT NOT NULL,
    lead_unit TEXT COLLATE "C" NOT NULL,
    -- NULL: 长期 or no deadline given (long_term says which).
    deadline  DATE,
    long_term BOOLEAN NOT NULL,
    -- Gap codes this task answers for, joined by ','; '' when none.
    owns      TEXT NOT NULL,
    PRIMARY KEY (plan_id, task_no)
);

CREATE TABLE plan_units (
    plan_id BIGINT NOT NULL,
    task_no BIGINT NOT NULL,
    seq     BIGINT NOT NULL,
    unit    TEXT COLLATE "C" NOT NULL,
    owner   TEXT NOT NULL,
    PRIMARY KEY (plan_id, task_no, seq),
    FOREIGN KEY (plan_id, task_no) REFERENCES plan_tasks (plan_id, task_no)
);

-- The post a county leader's account holds (a leader's "my tasks" are the plan's tasks
-- whose 责任领导 is that post).
CREATE TABLE leader_posts (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    post    TEXT NOT NULL
);

-- A gap (短板): a failed criterion of a household, an open data problem, a failed village
-- condition. Its key is stable across assessments, so the same gap found again is the
-- same row; a gap that no longer fails is closed with the evidence.
CREATE TABLE gaps (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gap_key        TEXT COLLATE "C" NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    township       TEXT COLLATE "C" NOT NULL,
    village        TEXT COLLATE "C" NOT NULL,
    household_no   TEXT COLLATE "C",
    detail         TEXT NOT NULL,
    open           BOOLEAN NOT NULL,
    -- Route: the plan's task (and its lead unit), or NULL for the headquarters' queue.
    plan_id        BIGINT REFERENCES plans (id),
    task_no        BIGINT,
    lead_unit      TEXT COLLATE "C",
    first_version  BIGINT NOT NULL REFERENCES register_versions (id),
    last_version   BIGINT NOT NULL REFERENCES register_versions (id),
    opened_at      TIMESTAMPTZ NOT NULL,
    closed_at      TIMESTAMPTZ,
    evidence       TEXT
);
CREATE INDEX gaps_open_by_area ON gaps (open, township, village);
CREATE INDEX gaps_open_by_unit ON gaps (open, lead_unit);

CREATE TABLE work_items (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The gap it answers, if any (one item per gap).
    gap_id      BIGINT UNIQUE REFERENCES gaps (id),
    plan_id     BIGINT REFERENCES plans (id),
    task_no     BIGINT,
    title       TEXT NOT NULL,
    detail      TEXT NOT NULL,
    unit        TEXT COLLATE "C" NOT NULL,
    -- The place, for township and village staff; NULL for county-wide items.
    township    TEXT COLLATE "C",
    village     TEXT COLLATE "C",
    deadline    DATE,
    state       TEXT NOT NULL CHECK (state IN ('todo', 'in_progress', 'done', 'closed')),
    progress    BIGINT NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    reminders   BIGINT NOT NULL DEFAULT 0,
    escalated_at TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  BIGINT REFERENCES users (id),
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX work_items_by_unit ON work_items (unit, state);
CREATE INDEX work_items_by_task ON work_items (plan_id, task_no, state);
CREATE INDEX work_items_by_area ON work_items (township, village);

-- What happened to an item, for everyone who may read it (the audit log is the
-- headquarters'): transitions, progress reports, reminders, escalations, reasons.
CREATE TABLE work_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id    BIGINT NOT NULL REFERENCES work_items (id),
    at         TIMESTAMPTZ NOT NULL,
    user_id    BIGINT REFERENCES users (id),
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    note       TEXT NOT NULL,
    percent    BIGINT
);
CREATE INDEX work_events_by_item ON work_events (item_id, id);

-- Files attached to a progress report, kept in the database (any server process serves
-- them).
CREATE TABLE work_attachments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     BIGINT NOT NULL REFERENCES work_events (id),
    item_id      BIGINT NOT NULL REFERENCES work_items (id),
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    data         BYTEA NOT NULL
);
CREATE INDEX work_attachments_by_item ON work_attachments (item_id);

-- The county's incidence threshold for village INCIDENCE gaps, in basis points (200:
-- central and eastern regions, 300: western), set by `fupin serve --region`.
CREATE TABLE gap_settings (
    id                     BIGINT PRIMARY KEY CHECK (id = 1),
    incidence_threshold_bp BIGINT NOT NULL
);
INSERT INTO gap_settings (id, incidence_threshold_bp) VALUES (1, 200);
