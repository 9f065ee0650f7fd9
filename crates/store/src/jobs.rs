//! Background jobs shared by every server process. A job is taken by exactly one taker:
//! on PostgreSQL with `FOR UPDATE SKIP LOCKED` (takers do not wait for each other), on
//! SQLite by one `UPDATE … RETURNING` under the database's single write lock.
//!
//! A job's state changes (queued, started, taken, finished) are audited in their own
//! transaction, in the name of the user who asked for the job. Its payload — its input,
//! its progress while it runs, its result — is the job's own record: updating it is not a
//! state change and writes no audit row (a progress bar would flood the log).
//!
//! A running job has a lease (`lease_until`): the process running it renews it every
//! [`JOB_HEARTBEAT`] for [`JOB_LEASE`] ([`Store::renew_job_lease`]). A process that stops
//! (killed, crashed, its machine gone) stops renewing, and once the lease has passed any
//! process marks the job failed ([`Store::fail_expired_jobs`]): the database is the judge,
//! by a conditional UPDATE (on PostgreSQL of rows locked `FOR UPDATE SKIP LOCKED`), so two
//! processes never both fail one job and a job whose lease was renewed is never failed.
//!
//! A job's files ([`Store::put_job_file`]) are not audited either: a part of its result
//! too large for the payload (the full problem list of a rejected import), written while
//! it runs, at most [`MAX_JOB_FILE_BYTES`] each.

use crate::accounts::UserId;
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend, Sql};
use crate::rows::Get;
use crate::{now, on_pool, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::Pool;
use std::time::Duration;

pub type JobId = fupin_domain::id::Id<Job>;

/// How long a running job's lease lasts from its last renewal: a job not renewed for this
/// long belongs to a process that stopped. Six heartbeats, so that a slow database or a
/// busy machine missing a few does not fail a live job.
pub const JOB_LEASE: Duration = Duration::from_secs(30);

/// How often the process running a job renews its lease.
pub const JOB_HEARTBEAT: Duration = Duration::from_secs(5);

/// Which running jobs' leases have passed at `$1`, in SQL (a job running before leases
/// existed has none, and its server is gone).
const EXPIRED: &str = "state = 'running' AND (lease_until IS NULL OR lease_until < $1)";

/// The end of a lease of `lease` from now.
pub(crate) fn lease_end(lease: Duration) -> DateTime<Utc> {
    now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
}

/// Renew a job's lease ($1 its end) if it is running ($2) for its taker ($3).
pub(crate) const RENEW_LEASE: &str =
    "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND state = 'running' AND taken_by = $3";

/// The lease an import holds in its transaction ([`Store::import_register_for_job`]): it
/// renews it before committing, and commits nothing if the job is no longer running for
/// `taker` (another process failed it when its lease passed).
#[derive(Clone, Copy, Debug)]
pub struct JobLease<'a> {
    pub id: JobId,
    pub taker: &'a str,
    pub lease: Duration,
}

/// The largest file a job may keep (bytes): the full problem list of a rejected import of
/// a county's register fits (10^6 problems of about 60 bytes), and a job row never drags
/// more than this behind it.
pub const MAX_JOB_FILE_BYTES: usize = 64 << 20;

/// A file of a job's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFile {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn word(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(word: &str) -> Option<JobState> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
        ]
        .into_iter()
        .find(|s| s.word() == word)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: Value,
    pub state: JobState,
    /// How many times it was taken.
    pub attempts: u64,
    pub created_at: DateTime<Utc>,
    /// The account that asked for it (None from the command line).
    pub requested_by: Option<UserId>,
    /// Who took it last (a process name of the caller's choosing).
    pub taken_by: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

const JOB_COLUMNS: &str = "id, kind, payload, state, attempts, created_at, requested_by, \
     taken_by, taken_at, finished_at, error";

fn job(r: &impl Get) -> Result<Job> {
    let state = r.text("state")?;
    Ok(Job {
        id: r.id("id")?,
        kind: r.text("kind")?,
        payload: r.opt_json("payload")?.unwrap_or(Value::Null),
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::corrupt(format!("jobs.state = {state}")))?,
        attempts: crate::rows::count(r, "attempts")?,
        created_at: r.time("created_at")?,
        requested_by: r.opt_id("requested_by")?,
        taken_by: r.opt_text("taken_by")?,
        taken_at: r.opt_time("taken_at")?,
        finished_at: r.opt_time("finished_at")?,
        error: r.opt_text("error")?,
    })
}

/// What the audit log keeps of a job's state (not its payload, which may be large).
fn state_json(j: &Job) -> Value {
    json!({
        "kind": j.kind,
        "state": j.state.word(),
        "attempts": j.attempts,
        "taken_by": j.taken_by,
        "error": j.error,
    })
}

/// The audit row of a job's state change.
fn record<'a>(action: &'a str, before: Option<&Job>, after: &Job) -> Record<'a> {
    Record {
        at: after
            .finished_at
            .or(after.taken_at)
            .unwrap_or(after.created_at),
        user: after.requested_by,
        action,
        entity: "job",
        entity_id: after.id.to_string(),
        before: before.map(state_json),
        after: Some(state_json(after)),
    }
}

/// The job as it was before an UPDATE of its state, from the row it returned.
fn before_update(after: &Job, state: JobState) -> Job {
    Job {
        state,
        ..after.clone()
    }
}

/// The store's the jobs table (imports run in the background, with leases): `store.jobs()`.
#[derive(Clone, Copy, Debug)]
pub struct Jobs<'s>(pub(crate) &'s Store);

impl Jobs<'_> {
    /// Queue a job for any process to take ([`Store::take_job`]), asked for by `by`.
    /// Audited (`enqueue_job`).
    pub async fn enqueue_job(
        self,
        kind: &str,
        payload: &Value,
        by: Option<UserId>,
    ) -> Result<JobId> {
        on_pool!(self.0, pool => insert(pool, kind, payload, None, by).await)
    }

    /// A job that `taker` runs itself, at once: it is created `running`, never queued
    /// (the process that holds an upload is the one that can import it), with a lease of
    /// [`JOB_LEASE`]. Audited (`start_job`).
    pub async fn start_job(
        self,
        kind: &str,
        payload: &Value,
        taker: &str,
        by: Option<UserId>,
    ) -> Result<JobId> {
        on_pool!(self.0, pool => insert(pool, kind, payload, Some(taker), by).await)
    }

    /// Take the oldest queued job, if any, for `taker`: it becomes `running`, with a lease
    /// of [`JOB_LEASE`]. Two takers, in one process or several, never get the same job.
    /// Audited (`take_job`).
    pub async fn take_job(self, taker: &str) -> Result<Option<Job>> {
        on_pool!(self.0, pool => take(pool, taker).await)
    }

    /// Replace the payload of a running job: its progress, then its result. False if the
    /// job is not running. Not audited: the state does not change.
    pub async fn update_job_payload(self, id: JobId, payload: &Value) -> Result<bool> {
        on_pool!(self.0, pool => update_payload(pool, id, payload).await)
    }

    /// Mark a running job done (`error` None) or failed. False if it was not running.
    /// Audited (`finish_job`).
    pub async fn finish_job(self, id: JobId, error: Option<&str>) -> Result<bool> {
        on_pool!(self.0, pool => finish(pool, id, error).await)
    }

    /// Renew the lease of a job `taker` runs, to `lease` from now. False if the job is
    /// no longer running, or not for `taker` (another process failed it when its lease
    /// had passed): the taker should then stop, as nothing it does will count. Not
    /// audited: the state does not change.
    pub async fn renew_job_lease(self, id: JobId, taker: &str, lease: Duration) -> Result<bool> {
        on_pool!(self.0, pool => renew_lease(pool, id, taker, lease).await)
    }

    /// When the lease of a job ends (None: a job not running, or from before leases).
    pub async fn job_lease(self, id: JobId) -> Result<Option<DateTime<Utc>>> {
        on_pool!(self.0, pool => lease_of(pool, id).await)
    }

    /// The running jobs whose lease has passed, oldest first: (id, kind). A read: it
    /// takes no lock (on SQLite it does not wait for an import's write lock).
    pub async fn expired_jobs(self) -> Result<Vec<(JobId, String)>> {
        on_pool!(self.0, pool => expired(pool).await)
    }

    /// Mark job `id` failed with `error` if it is running and its lease has passed: its
    /// process stopped. The database decides, in one conditional UPDATE (on PostgreSQL of
    /// the row locked `FOR UPDATE SKIP LOCKED`, skipped while its process renews it or
    /// another process fails it), so a live job is never failed and a dead one is failed
    /// once. False if it was not. Audited (`expire_job`, in the name of who asked).
    pub async fn fail_expired_job(self, id: JobId, error: &str) -> Result<bool> {
        on_pool!(self.0, pool => fail_expired(pool, id, error).await)
    }

    /// Fail every running job whose lease has passed ([`Store::fail_expired_job`]), but
    /// those in `skip` (the caller's own, which it knows to be alive), each with the
    /// message `error` gives for its kind. Returns the jobs failed. Any process may call
    /// it at any time, several at once.
    pub async fn fail_expired_jobs(
        self,
        skip: &[JobId],
        error: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<Vec<JobId>> {
        let mut failed = Vec::new();
        for (id, kind) in self.expired_jobs().await? {
            if !skip.contains(&id) && self.fail_expired_job(id, &error(&kind)).await? {
                failed.push(id);
            }
        }
        Ok(failed)
    }

    /// A job by id.
    pub async fn job(self, id: JobId) -> Result<Option<Job>> {
        on_pool!(self.0, pool => by_id(pool, id).await)
    }

    /// Keep a file with a running job's result (its name unique within the job; a second
    /// put replaces the first). False if the job is not running. Refused above
    /// [`MAX_JOB_FILE_BYTES`]. Not audited, as its payload is not.
    pub async fn put_job_file(
        self,
        id: JobId,
        name: &str,
        content_type: &str,
        data: &[u8],
    ) -> Result<bool> {
        if data.len() > MAX_JOB_FILE_BYTES {
            return Err(StoreError::corrupt(format!(
                "任务 {id} 的文件 {name} 有 {} 字节，超过上限 {MAX_JOB_FILE_BYTES} 字节",
                data.len()
            )));
        }
        on_pool!(self.0, pool => put_file(pool, id, name, content_type, data).await)
    }

    /// A file of a job, by name.
    pub async fn job_file(self, id: JobId, name: &str) -> Result<Option<JobFile>> {
        on_pool!(self.0, pool => file(pool, id, name).await)
    }
}

/// [`Store::enqueue_job`] (`taker` None) and [`Store::start_job`]: insert the job and
/// audit it, in one write transaction.
async fn insert<DB: Backend>(
    pool: &Pool<DB>,
    kind: &str,
    payload: &Value,
    taker: Option<&str>,
    by: Option<UserId>,
) -> Result<JobId> {
    let at = now();
    let text = format!(
        "INSERT INTO jobs (kind, payload, state, attempts, created_at, requested_by, \
         taken_by, taken_at, lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING {JOB_COLUMNS}"
    );
    let lease = taker.map(|_| lease_end(JOB_LEASE));
    let (state, attempts, action) = match taker {
        Some(_) => (JobState::Running, 1i64, "start_job"),
        None => (JobState::Queued, 0, "enqueue_job"),
    };
    let mut tx = DB::begin_write(pool).await?;
    let r = sql(&text)
        .bind(kind)
        .bind(payload)
        .bind(state.word())
        .bind(attempts)
        .bind(at)
        .bind(by)
        .bind(taker)
        .bind(taker.map(|_| at))
        .bind(lease)
        .fetch_one(&mut *tx)
        .await?;
    let created = job(&r)?;
    tx.audit(record(action, None, &created)).await?;
    tx.commit().await?;
    Ok(created.id)
}

/// [`Store::update_job_payload`].
async fn update_payload<DB: Backend>(pool: &Pool<DB>, id: JobId, payload: &Value) -> Result<bool> {
    let done = sql("UPDATE jobs SET payload = $1 WHERE id = $2 AND state = 'running'")
        .bind(payload)
        .bind(id)
        .execute(&mut *pool.acquire().await?)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// [`Store::finish_job`].
async fn finish<DB: Backend>(pool: &Pool<DB>, id: JobId, error: Option<&str>) -> Result<bool> {
    let state = if error.is_some() {
        JobState::Failed
    } else {
        JobState::Done
    };
    let text = format!(
        "UPDATE jobs SET state = $1, finished_at = $2, error = $3 \
         WHERE id = $4 AND state = 'running' RETURNING {JOB_COLUMNS}"
    );
    let update = sql(&text)
        .bind(state.word())
        .bind(now())
        .bind(error)
        .bind(id);
    end_running(pool, update, "finish_job").await
}

/// [`Store::renew_job_lease`].
async fn renew_lease<DB: Backend>(
    pool: &Pool<DB>,
    id: JobId,
    taker: &str,
    lease: Duration,
) -> Result<bool> {
    let done = sql(RENEW_LEASE)
        .bind(lease_end(lease))
        .bind(id)
        .bind(taker)
        .execute(&mut *pool.acquire().await?)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// [`Store::job_lease`].
async fn lease_of<DB: Backend>(pool: &Pool<DB>, id: JobId) -> Result<Option<DateTime<Utc>>> {
    let row = sql("SELECT lease_until FROM jobs WHERE id = $1 AND state = 'running'")
        .bind(id)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?;
    match row {
        Some(r) => Ok(r.opt_time("lease_until")?),
        None => Ok(None),
    }
}

/// [`Store::expired_jobs`].
async fn expired<DB: Backend>(pool: &Pool<DB>) -> Result<Vec<(JobId, String)>> {
    let text = format!("SELECT id, kind FROM jobs WHERE {EXPIRED} ORDER BY id");
    let rows = sql(text)
        .bind(now())
        .fetch_all(&mut *pool.acquire().await?)
        .await?;
    rows.iter()
        .map(|r| Ok((r.id("id")?, r.text("kind")?)))
        .collect()
}

/// [`Store::job`].
async fn by_id<DB: Backend>(pool: &Pool<DB>, id: JobId) -> Result<Option<Job>> {
    let text = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
    let row = sql(text)
        .bind(id)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?;
    row.map(|r| job(&r)).transpose()
}

/// [`Store::put_job_file`], its size checked: replace the file in one write transaction
/// if the job is running.
async fn put_file<DB: Backend>(
    pool: &Pool<DB>,
    id: JobId,
    name: &str,
    content_type: &str,
    data: &[u8],
) -> Result<bool> {
    let mut tx = DB::begin_write(pool).await?;
    let state = sql("SELECT state FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.text("state"))
        .transpose()?;
    if state.as_deref() != Some(JobState::Running.word()) {
        return Ok(false);
    }
    sql("DELETE FROM job_files WHERE job_id = $1 AND name = $2")
        .bind(id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sql(
        "INSERT INTO job_files (job_id, name, content_type, size, data) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(content_type)
    .bind(data.len() as i64)
    .bind(data)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// [`Store::job_file`].
async fn file<DB: Backend>(pool: &Pool<DB>, id: JobId, name: &str) -> Result<Option<JobFile>> {
    let row = sql("SELECT name, content_type, data FROM job_files WHERE job_id = $1 AND name = $2")
        .bind(id)
        .bind(name)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?;
    match row {
        Some(r) => Ok(Some(JobFile {
            name: r.text("name")?,
            content_type: r.text("content_type")?,
            data: r.bytes("data")?,
        })),
        None => Ok(None),
    }
}

/// [`Store::take_job`]. PostgreSQL: takers skip the rows others have locked instead of
/// waiting. SQLite: the transaction holds the single write lock from its start.
async fn take<DB: Backend>(pool: &Pool<DB>, taker: &str) -> Result<Option<Job>> {
    let text = format!(
        "UPDATE jobs SET state = 'running', taken_by = $1, taken_at = $2, \
         attempts = attempts + 1, lease_until = $3 \
         WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id \
                     LIMIT 1{}) RETURNING {JOB_COLUMNS}",
        DB::FOR_UPDATE_SKIP_LOCKED
    );
    let mut tx = DB::begin_write(pool).await?;
    let row = sql(&text)
        .bind(taker)
        .bind(now())
        .bind(lease_end(JOB_LEASE))
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let taken = job(&row)?;
    let before = Job {
        attempts: taken.attempts - 1,
        taken_by: None,
        taken_at: None,
        ..before_update(&taken, JobState::Queued)
    };
    tx.audit(record("take_job", Some(&before), &taken)).await?;
    tx.commit().await?;
    Ok(Some(taken))
}

/// [`Store::fail_expired_job`]: one conditional UPDATE, of the row locked
/// `FOR UPDATE SKIP LOCKED` on PostgreSQL.
async fn fail_expired<DB: Backend>(pool: &Pool<DB>, id: JobId, error: &str) -> Result<bool> {
    let text = format!(
        "UPDATE jobs SET state = 'failed', finished_at = $1, error = $2 \
         WHERE id = (SELECT id FROM jobs WHERE id = $3 AND {EXPIRED}{}) \
         RETURNING {JOB_COLUMNS}",
        DB::FOR_UPDATE_SKIP_LOCKED
    );
    let update = sql(&text).bind(now()).bind(error).bind(id);
    end_running(pool, update, "expire_job").await
}

/// Run `update` (an UPDATE of one running job that ends it, RETURNING its columns) in a
/// write transaction, audited as `action`; false if it changed no row.
async fn end_running<DB: Backend>(pool: &Pool<DB>, update: Sql<'_>, action: &str) -> Result<bool> {
    let mut tx = DB::begin_write(pool).await?;
    let Some(row) = update.fetch_optional(&mut *tx).await? else {
        return Ok(false);
    };
    let ended = job(&row)?;
    let before = Job {
        error: None,
        finished_at: None,
        ..before_update(&ended, JobState::Running)
    };
    tx.audit(record(action, Some(&before), &ended)).await?;
    tx.commit().await?;
    Ok(true)
}
