//! Login throttling: failed logins per username, counted within a window.

use crate::backend::{sql, Backend};
use crate::{now, Result};
use chrono::{DateTime, Utc};
use sqlx::Pool;

/// Note a failed login for `username`.
pub(super) async fn record_failure<DB: Backend>(pool: &Pool<DB>, username: &str) -> Result<()> {
    sql("INSERT INTO login_failures (username, at) VALUES ($1, $2)")
        .bind(username)
        .bind(now())
        .execute(&mut *pool.acquire().await?)
        .await?;
    Ok(())
}

/// Failed logins for `username` since a time.
pub(super) async fn failures_since<DB: Backend>(
    pool: &Pool<DB>,
    username: &str,
    since: DateTime<Utc>,
) -> Result<u64> {
    let r = sql("SELECT COUNT(*) AS n FROM login_failures WHERE username = $1 AND at >= $2")
        .bind(username)
        .bind(since)
        .fetch_one(&mut *pool.acquire().await?)
        .await?;
    Ok(crate::rows::count(&r, "n")?)
}

/// Delete failed logins before a time, of one username or all; how many.
pub(super) async fn clear<DB: Backend>(
    pool: &Pool<DB>,
    username: Option<&str>,
    before: DateTime<Utc>,
) -> Result<u64> {
    Ok(
        sql("DELETE FROM login_failures WHERE ($1 IS NULL OR username = $1) AND at < $2")
            .bind(username)
            .bind(before)
            .execute(&mut *pool.acquire().await?)
            .await?
            .rows_affected(),
    )
}
