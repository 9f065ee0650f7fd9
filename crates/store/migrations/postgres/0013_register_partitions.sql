-- The per-household tables of register versions, partitioned by version (LIST on
-- version_id), PostgreSQL only. An import loads each table's rows for its version into a
-- table of its own without indexes, builds the indexes by sorting, and attaches it as the
-- version's partition inside its transaction (crates/store/src/import.rs, `stage`). At
-- 10^6 households this takes about half the time of COPY into the indexed tables, where
-- every row updated two or three B-trees in place; and the two halves of the load run on
-- two connections at once. Queries are unchanged: they name the parent tables and a
-- version, and the planner reads that version's partition only.
--
-- A version's partition is named after its table and version (households_v7). The rows
-- of versions imported before this migration stay where they are: each old table becomes
-- the partition of the versions it holds (households_legacy), attached without copying.
-- There is no default partition: a row of a version without a partition is refused.

-- The old tables and their indexes make way for the partitioned ones.
ALTER TABLE households RENAME TO households_legacy;
ALTER INDEX households_pkey RENAME TO households_legacy_pkey;
ALTER INDEX households_by_no RENAME TO households_legacy_by_no;
ALTER INDEX households_by_area RENAME TO households_legacy_by_area;
ALTER TABLE members RENAME TO members_legacy;
ALTER INDEX members_pkey RENAME TO members_legacy_pkey;
ALTER TABLE member_ids RENAME TO member_ids_legacy;
ALTER INDEX member_ids_pkey RENAME TO member_ids_legacy_pkey;
ALTER TABLE member_names RENAME TO member_names_legacy;
ALTER INDEX member_names_pkey RENAME TO member_names_legacy_pkey;
ALTER TABLE assessments RENAME TO assessments_legacy;
ALTER INDEX assessments_pkey RENAME TO assessments_legacy_pkey;
ALTER TABLE problems RENAME TO problems_legacy;
ALTER INDEX problems_pkey RENAME TO problems_legacy_pkey;
ALTER INDEX problems_by_household RENAME TO problems_legacy_by_household;
ALTER INDEX problems_by_township RENAME TO problems_legacy_by_township;

-- The same columns, constraints and indexes (0002, 0004, 0005), partitioned.
CREATE TABLE households (LIKE households_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY LIST (version_id);
ALTER TABLE households ADD PRIMARY KEY (version_id, seq);
CREATE UNIQUE INDEX households_by_no ON households (version_id, household_no);
CREATE INDEX households_by_area ON households (version_id, area_seq, household_no);

CREATE TABLE members (LIKE members_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY LIST (version_id);
ALTER TABLE members ADD PRIMARY KEY (version_id, household_seq, seq);

CREATE TABLE member_ids (LIKE member_ids_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY LIST (version_id);
ALTER TABLE member_ids ADD PRIMARY KEY (version_id, id_key, line);

CREATE TABLE member_names (LIKE member_names_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY LIST (version_id);
ALTER TABLE member_names ADD PRIMARY KEY (version_id, name, line);

CREATE TABLE assessments (LIKE assessments_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY LIST (version_id);
ALTER TABLE assessments ADD PRIMARY KEY (version_id, household_seq);

CREATE TABLE problems (LIKE problems_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY LIST (version_id);
ALTER TABLE problems ADD PRIMARY KEY (version_id, seq);
CREATE INDEX problems_by_household ON problems (version_id, household_seq);
CREATE INDEX problems_by_township ON problems (version_id, township, seq);

-- Each old table with rows becomes the partition of the versions in it; its indexes are
-- taken as the partition's (same definitions). An empty one is dropped.
DO $$
DECLARE
    t text;
    versions text;
BEGIN
    FOREACH t IN ARRAY ARRAY['households', 'members', 'member_ids', 'member_names',
                             'assessments', 'problems'] LOOP
        EXECUTE format('SELECT string_agg(v::text, '','') FROM '
                       '(SELECT DISTINCT version_id AS v FROM %I) d', t || '_legacy')
            INTO versions;
        IF versions IS NULL THEN
            EXECUTE format('DROP TABLE %I', t || '_legacy');
        ELSE
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%s)',
                           t, t || '_legacy', versions);
        END IF;
    END LOOP;
END $$;

-- Statistics of the partitioned tables as a whole: the planner estimates joins from them,
-- and autovacuum never gathers them (imports do, after each version).
ANALYZE households, members, member_ids, member_names, assessments, problems;
