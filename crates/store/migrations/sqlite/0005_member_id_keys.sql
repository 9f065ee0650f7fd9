-- member_ids keyed by the ID number as an integer: its 17 digits × 11 + the check
-- character's value (X = 10). It orders as the text does, makes a narrower B-tree, and
-- an import sorts 3.4 million integers instead of strings.
DROP TABLE member_ids;

CREATE TABLE member_ids (
    version_id    BIGINT NOT NULL,
    id_key        BIGINT NOT NULL,
    line          BIGINT NOT NULL,
    household_seq BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (version_id, id_key, line)
) WITHOUT ROWID;

-- Versions imported before this migration.
INSERT INTO member_ids (version_id, id_key, line, household_seq, seq)
    SELECT version_id,
           CAST(substr(id_number, 1, 17) AS BIGINT) * 11
               + CASE substr(id_number, 18, 1) WHEN 'X' THEN 10
                 ELSE CAST(substr(id_number, 18, 1) AS BIGINT) END,
           line, household_seq, seq
    FROM members WHERE id_number IS NOT NULL ORDER BY 1, 2, 3;
