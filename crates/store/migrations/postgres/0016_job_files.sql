-- A job's files, kept in the database so that any server process serves what another
-- wrote: the full problem list of a rejected import (problems.csv), whose payload keeps
-- only the first problems with their counts. At most one file of a name per job.
CREATE TABLE job_files (
    job_id       BIGINT NOT NULL REFERENCES jobs (id),
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    data         BYTEA NOT NULL,
    PRIMARY KEY (job_id, name)
);

-- A refused import's job stored before: its problems cut to the first 1,000 (in file
-- order), with the count of all and of each code, as a job now keeps them (a refused
-- 200 MB upload's payload was 419 MB). Their full list is not kept: the file can be
-- uploaded again.
UPDATE jobs SET payload = jsonb_set(payload, '{result}', (payload -> 'result') || jsonb_build_object(
    'total_problems', jsonb_array_length(payload -> 'result' -> 'problems'),
    'by_code', (SELECT jsonb_object_agg(code, n) FROM (
        SELECT p ->> 'code' AS code, count(*) AS n
        FROM jsonb_array_elements(payload -> 'result' -> 'problems') AS e(p) GROUP BY 1) AS c),
    'problems', (SELECT jsonb_agg(p ORDER BY i) FROM
        jsonb_array_elements(payload -> 'result' -> 'problems') WITH ORDINALITY AS e(p, i)
        WHERE i <= 1000)))
WHERE kind = 'import'
  AND payload -> 'result' ->> 'outcome' = 'rejected'
  AND jsonb_typeof(payload -> 'result' -> 'problems') = 'array'
  AND jsonb_array_length(payload -> 'result' -> 'problems') > 1000;
