-- Register versions: every accepted import is a new version of the county register; old
-- versions stay for history and `current_register` points at the one pages show.
-- Rows of a version are keyed by (version_id, seq), seq being the position in the file's
-- order (areas and households in order of first appearance, problems in report order), so
-- a bulk load (COPY) needs no generated keys.
-- Text compares in byte order (SQLite's BINARY collation), as in Rust and in the
-- PostgreSQL schema's "C" collation. Times are RFC 3339 UTC text, which sorts as time.
-- Tables keyed by (version_id, seq) are WITHOUT ROWID: stored in key order, so a
-- household's members or a page of households are one range of one B-tree.

CREATE TABLE register_versions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    imported_at      TEXT NOT NULL,
    imported_by      BIGINT REFERENCES users (id),
    file_name        TEXT NOT NULL,
    sha256           TEXT NOT NULL CHECK (length(sha256) = 64),
    format           TEXT NOT NULL,
    villages_file    TEXT,
    -- Assessment year Y and the poverty line used, with where it came from.
    year             BIGINT NOT NULL,
    line_fen         BIGINT NOT NULL,
    line_year        BIGINT NOT NULL,
    line_place       TEXT,
    line_source      TEXT NOT NULL,
    line_verified    BOOLEAN NOT NULL,
    row_count        BIGINT NOT NULL,
    household_count  BIGINT NOT NULL,
    member_count     BIGINT NOT NULL,
    village_count    BIGINT NOT NULL,
    error_count      BIGINT NOT NULL,
    warning_count    BIGINT NOT NULL
);

-- The current version: one row.
CREATE TABLE current_register (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    version_id BIGINT NOT NULL REFERENCES register_versions (id)
);

-- Villages as the register names them, with the villages file's data when given.
CREATE TABLE areas (
    version_id        BIGINT NOT NULL REFERENCES register_versions (id),
    seq               BIGINT NOT NULL,
    township          TEXT NOT NULL,
    village           TEXT NOT NULL,
    population        BIGINT,
    poor_village      BOOLEAN,
    road              BOOLEAN,
    power             BOOLEAN,
    broadband         BOOLEAN,
    clinic            BOOLEAN,
    collective_income BIGINT,
    PRIMARY KEY (version_id, seq),
    UNIQUE (version_id, township, village)
) WITHOUT ROWID;

-- The per-household tables (households, members, assessments, problems) carry no foreign
-- keys: only an import writes them, in one transaction, from one checked register, and
-- checking 10^6–10^7 rows one by one would double the load time.

-- Household-level values as read (labels as in the file; money in fen). NULL: empty or
-- unreadable (the problems table says which).
CREATE TABLE households (
    version_id          BIGINT NOT NULL,
    seq                 BIGINT NOT NULL,
    household_no        TEXT NOT NULL,
    area_seq            BIGINT NOT NULL,
    first_line          BIGINT NOT NULL,
    members             BIGINT NOT NULL,
    status              TEXT,
    household_type      TEXT,
    main_cause          TEXT,
    wage_income         BIGINT,
    operating_income    BIGINT,
    operating_expense   BIGINT,
    property_income     BIGINT,
    transfer_income     BIGINT,
    per_capita_declared BIGINT,
    food_secure         BOOLEAN,
    clothing_secure     BOOLEAN,
    housing_grade       TEXT,
    renovation          TEXT,
    relocation          TEXT,
    safe_water          BOOLEAN,
    has_errors          BOOLEAN NOT NULL,
    PRIMARY KEY (version_id, seq)
) WITHOUT ROWID;
-- 户编号 lookups and prefix search in a version; history looks it up in each version.
-- Version first: a new version's entries go to the end of the index, not between the
-- old versions' (which would touch every page of it on each import).
CREATE UNIQUE INDEX households_by_no ON households (version_id, household_no);
-- A village's households, paged by 户编号.
CREATE INDEX households_by_area ON households (version_id, area_seq, household_no);

CREATE TABLE members (
    version_id        BIGINT NOT NULL,
    household_seq     BIGINT NOT NULL,
    seq               BIGINT NOT NULL,
    line              BIGINT NOT NULL,
    -- NULL until the reader passes names on.
    name              TEXT,
    -- NULL when the ID number is invalid (E105).
    id_number         TEXT,
    birth             TEXT,
    is_head           BOOLEAN NOT NULL,
    sex               TEXT,
    schooling         TEXT,
    health            TEXT,
    labor             TEXT,
    medical_insurance BOOLEAN,
    active_military   BOOLEAN NOT NULL,
    PRIMARY KEY (version_id, household_seq, seq)
) WITHOUT ROWID;
CREATE INDEX members_by_id_number ON members (version_id, id_number) WHERE id_number IS NOT NULL;
CREATE INDEX members_by_name ON members (version_id, name, line) WHERE name IS NOT NULL;

-- The engine's judgement of each household, with the version's line.
CREATE TABLE assessments (
    version_id    BIGINT NOT NULL,
    household_seq BIGINT NOT NULL,
    verdict       TEXT NOT NULL CHECK (verdict IN ('ready', 'not_ready', 'stable', 'wrong_exit', 'data_error')),
    -- Failed criterion codes in the spec's order, joined by ','; '' when none.
    failed        TEXT NOT NULL,
    per_capita    BIGINT,
    explanation   TEXT NOT NULL,
    PRIMARY KEY (version_id, household_seq)
) WITHOUT ROWID;

CREATE TABLE problems (
    version_id    BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    line          BIGINT NOT NULL,
    column_name   TEXT NOT NULL,
    code          TEXT NOT NULL,
    message       TEXT NOT NULL,
    value         TEXT NOT NULL,
    -- The household whose row it is, and its place (copied here so that a township's
    -- problems are one range of an index); NULL for the header.
    household_seq BIGINT,
    household_no  TEXT,
    township      TEXT,
    village       TEXT,
    PRIMARY KEY (version_id, seq)
) WITHOUT ROWID;
CREATE INDEX problems_by_household ON problems (version_id, household_seq);
CREATE INDEX problems_by_township ON problems (version_id, township, seq);

-- Summaries, so that dashboards never scan households: the engine's tallies per village,
-- per township (villages added up) and for the county.
CREATE TABLE village_summaries (
    version_id         BIGINT NOT NULL,
    area_seq           BIGINT NOT NULL,
    households         BIGINT NOT NULL,
    members            BIGINT NOT NULL,
    poor_now           BIGINT NOT NULL,
    remaining          BIGINT NOT NULL,
    exited_members     BIGINT NOT NULL,
    wrong_exit_members BIGINT NOT NULL,
    ready              BIGINT NOT NULL,
    not_ready          BIGINT NOT NULL,
    stable             BIGINT NOT NULL,
    wrong_exit         BIGINT NOT NULL,
    data_error         BIGINT NOT NULL,
    fail_income        BIGINT NOT NULL,
    fail_food          BIGINT NOT NULL,
    fail_clothing      BIGINT NOT NULL,
    fail_education     BIGINT NOT NULL,
    fail_medical       BIGINT NOT NULL,
    fail_housing       BIGINT NOT NULL,
    fail_water         BIGINT NOT NULL,
    PRIMARY KEY (version_id, area_seq),
    FOREIGN KEY (version_id, area_seq) REFERENCES areas (version_id, seq)
) WITHOUT ROWID;

CREATE TABLE township_summaries (
    version_id         BIGINT NOT NULL REFERENCES register_versions (id),
    seq                BIGINT NOT NULL,
    township           TEXT NOT NULL,
    -- Sum of its villages' populations, when every one is known.
    population         BIGINT,
    households         BIGINT NOT NULL,
    members            BIGINT NOT NULL,
    poor_now           BIGINT NOT NULL,
    remaining          BIGINT NOT NULL,
    exited_members     BIGINT NOT NULL,
    wrong_exit_members BIGINT NOT NULL,
    ready              BIGINT NOT NULL,
    not_ready          BIGINT NOT NULL,
    stable             BIGINT NOT NULL,
    wrong_exit         BIGINT NOT NULL,
    data_error         BIGINT NOT NULL,
    fail_income        BIGINT NOT NULL,
    fail_food          BIGINT NOT NULL,
    fail_clothing      BIGINT NOT NULL,
    fail_education     BIGINT NOT NULL,
    fail_medical       BIGINT NOT NULL,
    fail_housing       BIGINT NOT NULL,
    fail_water         BIGINT NOT NULL,
    PRIMARY KEY (version_id, seq),
    UNIQUE (version_id, township)
) WITHOUT ROWID;

CREATE TABLE county_summaries (
    version_id         BIGINT PRIMARY KEY REFERENCES register_versions (id),
    population         BIGINT,
    households         BIGINT NOT NULL,
    members            BIGINT NOT NULL,
    poor_now           BIGINT NOT NULL,
    remaining          BIGINT NOT NULL,
    exited_members     BIGINT NOT NULL,
    wrong_exit_members BIGINT NOT NULL,
    ready              BIGINT NOT NULL,
    not_ready          BIGINT NOT NULL,
    stable             BIGINT NOT NULL,
    wrong_exit         BIGINT NOT NULL,
    data_error         BIGINT NOT NULL,
    fail_income        BIGINT NOT NULL,
    fail_food          BIGINT NOT NULL,
    fail_clothing      BIGINT NOT NULL,
    fail_education     BIGINT NOT NULL,
    fail_medical       BIGINT NOT NULL,
    fail_housing       BIGINT NOT NULL,
    fail_water         BIGINT NOT NULL
);
