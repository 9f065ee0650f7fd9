//! Background jobs shared by every server process. A job is taken by exactly one taker:
//! on PostgreSQL with `FOR UPDATE SKIP LOCKED` (takers do not wait for each other), on
//! SQLite by one `UPDATE … RETURNING` under the database's single write lock.

use crate::rows::Get;
use crate::{now, on_pool, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

pub type JobId = i64;

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
    /// Who took it last (a process name of the caller's choosing).
    pub taken_by: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

const JOB_COLUMNS: &str =
    "id, kind, payload, state, attempts, created_at, taken_by, taken_at, finished_at, error";

fn job(r: &impl Get) -> Result<Job> {
    let state = r.text("state")?;
    Ok(Job {
        id: r.int("id")?,
        kind: r.text("kind")?,
        payload: r.opt_json("payload")?.unwrap_or(Value::Null),
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::corrupt(format!("jobs.state = {state}")))?,
        attempts: crate::rows::count(r, "attempts")?,
        created_at: r.time("created_at")?,
        taken_by: r.opt_text("taken_by")?,
        taken_at: r.opt_time("taken_at")?,
        finished_at: r.opt_time("finished_at")?,
        error: r.opt_text("error")?,
    })
}

impl Store {
    /// Queue a job.
    pub async fn enqueue_job(&self, kind: &str, payload: &Value) -> Result<JobId> {
        let sql = "INSERT INTO jobs (kind, payload, created_at) VALUES ($1, $2, $3) RETURNING id";
        Ok(on_pool!(self, pool => {
            let r = sqlx::query(sql)
                .bind(kind)
                .bind(Json(payload))
                .bind(now())
                .fetch_one(pool)
                .await?;
            r.int("id")?
        }))
    }

    /// Take the oldest queued job, if any, for `taker`: it becomes `running`. Two takers,
    /// in one process or several, never get the same job.
    pub async fn take_job(&self, taker: &str) -> Result<Option<Job>> {
        let returning = format!("RETURNING {JOB_COLUMNS}");
        let found = match self {
            Store::Postgres(pool) => {
                let sql = format!(
                    "UPDATE jobs SET state = 'running', taken_by = $1, taken_at = $2, \
                     attempts = attempts + 1 \
                     WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id \
                                 LIMIT 1 FOR UPDATE SKIP LOCKED) {returning}"
                );
                let row = sqlx::query(&sql)
                    .bind(taker)
                    .bind(now())
                    .fetch_optional(pool)
                    .await?;
                row.map(|r| job(&r)).transpose()?
            }
            Store::Sqlite(pool) => {
                // One statement: SQLite runs it under its write lock, start to end.
                let sql = format!(
                    "UPDATE jobs SET state = 'running', taken_by = $1, taken_at = $2, \
                     attempts = attempts + 1 \
                     WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id \
                                 LIMIT 1) {returning}"
                );
                let row = sqlx::query(&sql)
                    .bind(taker)
                    .bind(now())
                    .fetch_optional(pool)
                    .await?;
                row.map(|r| job(&r)).transpose()?
            }
        };
        Ok(found)
    }

    /// Mark a running job done (`error` None) or failed. False if it was not running.
    pub async fn finish_job(&self, id: JobId, error: Option<&str>) -> Result<bool> {
        let state = if error.is_some() {
            JobState::Failed
        } else {
            JobState::Done
        };
        let sql = "UPDATE jobs SET state = $1, finished_at = $2, error = $3 \
                   WHERE id = $4 AND state = 'running'";
        Ok(on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(state.word())
                .bind(now())
                .bind(error)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
                == 1
        }))
    }

    /// A job by id.
    pub async fn job(&self, id: JobId) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        Ok(on_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.map(|r| job(&r)).transpose()?
        }))
    }
}
