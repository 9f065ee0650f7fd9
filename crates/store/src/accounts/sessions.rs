//! Sessions: a row per logged-in browser, found by the SHA-256 of its token.

use super::{user, Session, UserId};
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::{now, Result};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Pool;

/// What [`create`] writes: a session's row.
pub(super) struct Insert<'a> {
    pub hash: &'a str,
    pub user: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub csrf_token: &'a str,
}

/// Insert a session and audit it (`create_session`).
pub(super) async fn create<DB: Backend>(pool: &Pool<DB>, s: Insert<'_>) -> Result<()> {
    let mut tx = DB::begin_write(pool).await?;
    sql(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, csrf_token) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(s.hash)
    .bind(s.user)
    .bind(s.created_at)
    .bind(s.expires_at)
    .bind(s.csrf_token)
    .execute(&mut *tx)
    .await?;
    tx.audit(Record {
        at: s.created_at,
        user: Some(s.user),
        action: "create_session",
        entity: "session",
        entity_id: session_id(s.hash),
        before: None,
        after: Some(json!({ "user_id": s.user, "expires_at": s.expires_at })),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The session of a token's hash, unless it expired or its account is disabled.
pub(super) async fn by_hash<DB: Backend>(pool: &Pool<DB>, hash: &str) -> Result<Option<Session>> {
    let text = "SELECT u.id, u.username, u.role, u.township, u.village, u.unit, u.created_at, \
                u.disabled_at, s.csrf_token, s.created_at AS session_created, s.expires_at \
                FROM sessions s JOIN users u ON u.id = s.user_id \
                WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL";
    match sql(text)
        .bind(hash)
        .bind(now())
        .fetch_optional(&mut *pool.acquire().await?)
        .await?
    {
        Some(r) => Ok(Some(Session {
            user: user(&r)?,
            csrf_token: r.text("csrf_token")?,
            created_at: r.time("session_created")?,
            expires_at: r.time("expires_at")?,
        })),
        None => Ok(None),
    }
}

/// Delete the session of a token's hash and audit it (`delete_session`). True if it
/// existed.
pub(super) async fn delete<DB: Backend>(pool: &Pool<DB>, hash: &str) -> Result<bool> {
    let mut tx = DB::begin_write(pool).await?;
    let Some(r) = sql("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id, expires_at")
        .bind(hash)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(false);
    };
    let user = r.id("user_id")?;
    tx.audit(Record {
        at: now(),
        user: Some(user),
        action: "delete_session",
        entity: "session",
        entity_id: session_id(hash),
        before: Some(json!({ "user_id": user, "expires_at": r.time("expires_at")? })),
        after: None,
    })
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Delete the sessions that expired; how many.
pub(super) async fn delete_expired<DB: Backend>(pool: &Pool<DB>) -> Result<u64> {
    Ok(sql("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now())
        .execute(&mut *pool.acquire().await?)
        .await?
        .rows_affected())
}

/// How a session is named in the audit log: a prefix of its token's hash (the hash itself
/// finds the session, so it is not written out whole).
fn session_id(hash: &str) -> String {
    hash[..16].to_string()
}
