-- A job's files, kept in the database so that any server process serves what another
-- wrote: the full problem list of a rejected import (problems.csv), whose payload keeps
-- only the first problems with their counts. At most one file of a name per job.
CREATE TABLE job_files (
    job_id       BIGINT NOT NULL REFERENCES jobs (id),
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    data         BLOB NOT NULL,
    PRIMARY KEY (job_id, name)
);

-- A refused import's job stored before: its problems cut to the first 1,000 (in file
-- order), with the count of all and of each code, as a job now keeps them (a refused
-- 200 MB upload's payload was 419 MB). Their full list is not kept: the file can be
-- uploaded again.
UPDATE jobs SET payload = json_set(payload,
    '$.result.total_problems', json_array_length(payload, '$.result.problems'),
    '$.result.by_code', json((SELECT json_group_object(code, n) FROM (
        SELECT json_extract(value, '$.code') AS code, count(*) AS n
        FROM json_each(jobs.payload, '$.result.problems') GROUP BY 1))),
    '$.result.problems', json((SELECT json_group_array(json(value)) FROM (
        SELECT value FROM json_each(jobs.payload, '$.result.problems')
        ORDER BY key LIMIT 1000))))
WHERE kind = 'import'
  AND json_extract(payload, '$.result.outcome') = 'rejected'
  AND json_type(payload, '$.result.problems') = 'array'
  AND json_array_length(payload, '$.result.problems') > 1000;
