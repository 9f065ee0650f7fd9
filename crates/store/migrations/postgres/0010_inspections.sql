-- Inspections (issue 6): the inspection, its recorded sampling plan and sample, the field
-- teams' verification results, and findings, each of which becomes a work item of the
-- responsibility loop (交办 → 整改 → 销号) next to those from gaps.

CREATE TABLE inspections (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL,
    -- cross_province 省际交叉考核, third_party 第三方评估, county_self 县级自查.
    level       TEXT NOT NULL CHECK (level IN ('cross_province', 'third_party', 'county_self')),
    starts_on   DATE NOT NULL,
    ends_on     DATE,
    team        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  BIGINT REFERENCES users (id)
);

-- The recorded draw: the register version it was drawn from, the plan with its seed
-- (decimal text: a seed is any 64-bit number), the non-registered households given per
-- village, the county's totals and the whole sample (JSON, as `sample.json` holds it).
-- Redrawing the plan over the same version and villages gives the same sample.
CREATE TABLE inspection_samples (
    inspection_id  BIGINT PRIMARY KEY REFERENCES inspections (id),
    version_id     BIGINT NOT NULL REFERENCES register_versions (id),
    seed           TEXT NOT NULL,
    plan_json      TEXT NOT NULL,
    rural_json     TEXT NOT NULL,
    totals_json    TEXT NOT NULL,
    sample_json    TEXT NOT NULL,
    drawn_at       TIMESTAMPTZ NOT NULL,
    drawn_by       BIGINT REFERENCES users (id)
);

-- One row per sampled household (样本编号 = no), with its place, so that lists are scoped
-- in SQL.
CREATE TABLE sampled_households (
    inspection_id BIGINT NOT NULL REFERENCES inspection_samples (inspection_id),
    no            BIGINT NOT NULL,
    township      TEXT COLLATE "C" NOT NULL,
    village       TEXT COLLATE "C" NOT NULL,
    grp           TEXT NOT NULL,
    household_no  TEXT COLLATE "C",
    PRIMARY KEY (inspection_id, no)
);
CREATE INDEX sampled_households_by_area ON sampled_households (inspection_id, township, village);

-- What the field team found at a sampled household (NULL: not asked of this group, or
-- 饮水安全 left empty).
CREATE TABLE verification_results (
    inspection_id BIGINT NOT NULL,
    no            BIGINT NOT NULL,
    people        BIGINT,
    income        BOOLEAN,
    food          BOOLEAN,
    clothing      BOOLEAN,
    education     BOOLEAN,
    medical       BOOLEAN,
    housing       BOOLEAN,
    water         BOOLEAN,
    missed        BOOLEAN,
    approval      TEXT NOT NULL CHECK (approval IN ('yes', 'no', 'unsure')),
    recorded_at   TIMESTAMPTZ NOT NULL,
    recorded_by   BIGINT REFERENCES users (id),
    PRIMARY KEY (inspection_id, no),
    FOREIGN KEY (inspection_id, no) REFERENCES sampled_households (inspection_id, no)
);

-- A finding (问题) of an inspection; its rectification is the work item.
CREATE TABLE findings (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inspection_id BIGINT NOT NULL REFERENCES inspections (id),
    description   TEXT NOT NULL,
    category      TEXT NOT NULL,
    -- general 一般, serious 较重, grave 严重.
    severity      TEXT NOT NULL CHECK (severity IN ('general', 'serious', 'grave')),
    household_no  TEXT COLLATE "C",
    township      TEXT COLLATE "C",
    village       TEXT COLLATE "C",
    plan_id       BIGINT REFERENCES plans (id),
    task_no       BIGINT,
    -- 整改措施 and 责任人 (a post) as the ledger prints them.
    measure       TEXT NOT NULL,
    owner         TEXT NOT NULL,
    work_item_id  BIGINT NOT NULL UNIQUE REFERENCES work_items (id),
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    BIGINT REFERENCES users (id)
);
CREATE INDEX findings_by_inspection ON findings (inspection_id, id);
