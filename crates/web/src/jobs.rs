//! Import jobs as rows of the store's `jobs` table, so that any process can show an
//! import's progress. The process that received the upload holds the file and does the
//! work; the row says where it is (`payload.stage`) and, at the end, what came of it
//! (`payload.result`).
//!
//! The store offers `enqueue_job`, `take_job` (oldest queued, for any taker) and
//! `finish_job`; claiming one given job and updating its payload are written here in SQL
//! until the store has them (`Store::start_job`, `Store::update_job_payload`).

use chrono::SubsecRound;
use fupin_store::sqlx::{self, types::Json};
use fupin_store::{JobId, Store, StoreError};
use serde_json::Value;

/// Queue a job and mark it running by this process at once.
pub async fn start(
    store: &Store,
    kind: &str,
    payload: &Value,
    taker: &str,
) -> Result<JobId, StoreError> {
    let id = store.enqueue_job(kind, payload).await?;
    let sql = "UPDATE jobs SET state = 'running', taken_by = $1, taken_at = $2, \
               attempts = attempts + 1 WHERE id = $3 AND state = 'queued'";
    let at = chrono::Utc::now().trunc_subsecs(6);
    match store {
        Store::Sqlite(p) => sqlx::query(sql)
            .bind(taker)
            .bind(at)
            .bind(id)
            .execute(p)
            .await?
            .rows_affected(),
        Store::Postgres(p) => sqlx::query(sql)
            .bind(taker)
            .bind(at)
            .bind(id)
            .execute(p)
            .await?
            .rows_affected(),
    };
    Ok(id)
}

/// Replace a job's payload (its progress and result).
pub async fn update(store: &Store, id: JobId, payload: &Value) -> Result<(), StoreError> {
    let sql = "UPDATE jobs SET payload = $1 WHERE id = $2";
    match store {
        Store::Sqlite(p) => sqlx::query(sql)
            .bind(Json(payload))
            .bind(id)
            .execute(p)
            .await?
            .rows_affected(),
        Store::Postgres(p) => sqlx::query(sql)
            .bind(Json(payload))
            .bind(id)
            .execute(p)
            .await?
            .rows_affected(),
    };
    Ok(())
}
