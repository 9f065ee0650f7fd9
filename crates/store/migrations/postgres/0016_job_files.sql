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
