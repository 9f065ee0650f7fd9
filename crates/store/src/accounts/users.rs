//! Accounts: created by an admin (or the command line), disabled and enabled again,
//! given a new password; never deleted (the audit log names them).

use super::{user, user_json, User, UserId, USER_COLUMNS};
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Pool;

/// What [`create`] writes: the account's row, its password already hashed.
pub(super) struct Insert<'a> {
    pub username: &'a str,
    pub phc: &'a str,
    pub role: &'a str,
    pub names: (Option<&'a str>, Option<&'a str>, Option<&'a str>),
    pub at: DateTime<Utc>,
    pub by: Option<UserId>,
}

/// Insert an account and audit it (`create_user`, without the password hash); a
/// username already taken is [`StoreError::UsernameTaken`].
pub(super) async fn create<DB: Backend>(pool: &Pool<DB>, new: Insert<'_>) -> Result<User> {
    let (township, village, unit) = new.names;
    let text = format!(
        "INSERT INTO users (username, password_hash, role, township, village, unit, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLUMNS}"
    );
    let mut tx = DB::begin_write(pool).await?;
    let row = sql(text)
        .bind(new.username)
        .bind(new.phc)
        .bind(new.role)
        .bind(township)
        .bind(village)
        .bind(unit)
        .bind(new.at)
        .fetch_one(&mut *tx)
        .await;
    let row = match row {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(StoreError::UsernameTaken(new.username.to_string()))
        }
        r => r?,
    };
    let created = user(&row)?;
    tx.audit(Record {
        at: new.at,
        user: new.by,
        action: "create_user",
        entity: "user",
        entity_id: created.id.to_string(),
        before: None,
        after: Some(user_json(&created)),
    })
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// The account of a username with its password's PHC string.
pub(super) async fn with_hash<DB: Backend>(
    pool: &Pool<DB>,
    username: &str,
) -> Result<Option<(User, String)>> {
    let text = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1");
    let found = sql(text)
        .bind(username)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?;
    match found {
        Some(r) => Ok(Some((user(&r)?, r.text("password_hash")?))),
        None => Ok(None),
    }
}

/// An account by id.
pub(super) async fn by_id<DB: Backend>(pool: &Pool<DB>, id: UserId) -> Result<Option<User>> {
    let text = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    match sql(text)
        .bind(id)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?
    {
        Some(r) => Ok(Some(user(&r)?)),
        None => Ok(None),
    }
}

/// Disable (`disabled`) or enable an account, ending its sessions when disabled; audited
/// (`disable_user`, `enable_user`). Nothing is written when it already was so.
pub(super) async fn set_disabled<DB: Backend>(
    pool: &Pool<DB>,
    id: UserId,
    disabled: bool,
    at: DateTime<Utc>,
    by: Option<UserId>,
) -> Result<Option<User>> {
    let select = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let update =
        format!("UPDATE users SET disabled_at = $1 WHERE id = $2 RETURNING {USER_COLUMNS}");
    let mut tx = DB::begin_write(pool).await?;
    let Some(r) = sql(select).bind(id).fetch_optional(&mut *tx).await? else {
        return Ok(None);
    };
    let before = user(&r)?;
    if before.disabled_at.is_some() == disabled {
        return Ok(Some(before));
    }
    let r = sql(update)
        .bind(disabled.then_some(at))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let after = user(&r)?;
    if disabled {
        sql("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.audit(Record {
        at,
        user: by,
        action: if disabled {
            "disable_user"
        } else {
            "enable_user"
        },
        entity: "user",
        entity_id: id.to_string(),
        before: Some(user_json(&before)),
        after: Some(user_json(&after)),
    })
    .await?;
    tx.commit().await?;
    Ok(Some(after))
}

/// Store a new password's PHC string for `account` and end its sessions; audited
/// (`reset_password`, no hash). False if there is no such account.
pub(super) async fn set_password<DB: Backend>(
    pool: &Pool<DB>,
    account: &User,
    phc: &str,
    at: DateTime<Utc>,
    by: Option<UserId>,
) -> Result<bool> {
    let id = account.id;
    let mut tx = DB::begin_write(pool).await?;
    let changed = sql("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(phc)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed != 1 {
        return Ok(false);
    }
    let ended = sql("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.audit(Record {
        at,
        user: by,
        action: "reset_password",
        entity: "user",
        entity_id: id.to_string(),
        before: None,
        after: Some(json!({ "username": account.username, "sessions_ended": ended })),
    })
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Every account, by username.
pub(super) async fn all<DB: Backend>(pool: &Pool<DB>) -> Result<Vec<User>> {
    let text = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
    let rows = sql(text).fetch_all(&mut *pool.acquire().await?).await?;
    rows.iter().map(user).collect()
}
