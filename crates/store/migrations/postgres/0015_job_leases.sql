-- A running job's lease (issue 20): the process running a job renews `lease_until`
-- every few seconds (crates/store/src/jobs.rs, JOB_HEARTBEAT and JOB_LEASE). A running
-- job whose lease has passed belongs to a process that stopped, and any process marks it
-- failed (Store::fail_expired_jobs, FOR UPDATE SKIP LOCKED). A job running before this
-- migration has no lease: its server was stopped to upgrade, so it is treated as expired.
ALTER TABLE jobs ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
