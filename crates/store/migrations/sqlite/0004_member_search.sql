-- Members by ID number and by name, for search, as tables of their own instead of
-- indexes on members: an import writes them sorted by key, so their B-trees grow at one
-- end, where an index on members takes 3.4 million inserts at random places for 10^6
-- households (COPY of members: 9 s with its primary key alone, 40 s with the ID number
-- index). And the relation to the head (与户主关系) as written, now that the reader
-- keeps it.

DROP INDEX members_by_id_number;
DROP INDEX members_by_name;

ALTER TABLE members ADD COLUMN relation TEXT;

CREATE TABLE member_ids (
    version_id    BIGINT NOT NULL,
    id_number     TEXT NOT NULL,
    line          BIGINT NOT NULL,
    household_seq BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (version_id, id_number, line)
) WITHOUT ROWID;

CREATE TABLE member_names (
    version_id    BIGINT NOT NULL,
    name          TEXT NOT NULL,
    line          BIGINT NOT NULL,
    household_seq BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (version_id, name, line)
) WITHOUT ROWID;

-- Versions imported before this migration.
INSERT INTO member_ids (version_id, id_number, line, household_seq, seq)
    SELECT version_id, id_number, line, household_seq, seq FROM members
    WHERE id_number IS NOT NULL ORDER BY version_id, id_number, line;
INSERT INTO member_names (version_id, name, line, household_seq, seq)
    SELECT version_id, name, line, household_seq, seq FROM members
    WHERE name IS NOT NULL AND name <> '' ORDER BY version_id, name, line;
