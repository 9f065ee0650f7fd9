-- A running job's lease (issue 20): the process running a job renews `lease_until`
-- every few seconds (crates/store/src/jobs.rs, JOB_HEARTBEAT and JOB_LEASE). A running
-- job whose lease has passed belongs to a process that stopped, and any process marks it
-- failed (Store::fail_expired_jobs). A job running before this migration has no lease:
-- its server was stopped to upgrade, so it is treated as expired. Times are RFC 3339 text
-- in UTC, which sorts in time order.
ALTER TABLE jobs ADD COLUMN lease_until TEXT;
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
