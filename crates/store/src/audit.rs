//! The append-only audit log: who did what, when, with the state before and after. Rows
//! are written in the same transaction as the write they record; the store has no method
//! that updates or deletes them, and triggers refuse it in the database too. Each row
//! carries the hash of the row before it (crate::chain), so that a rewrite by someone who
//! got past the triggers is found by `fupin verify`.

use crate::accounts::UserId;
use crate::backend::{sql, Backend, Run, Sql};
use crate::chain::{stored_time, Append, AuditLink, Chain};
use crate::register::{clamp_limit, Page};
use crate::rows::Get;
use crate::{on_pool, Result, Store};
use chrono::{DateTime, Utc};
use fupin_domain::id::Id;
use serde::Serialize;
use serde_json::Value;
use sqlx::Pool;

/// One audit row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// None for writes made without an account (the command line).
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    /// `import_register`, `create_user`, `create_session`, `delete_session`.
    pub action: String,
    /// `register_version`, `user`, `session`.
    pub entity: String,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// An audit row to write.
pub(crate) struct Record<'a> {
    pub at: DateTime<Utc>,
    pub user: Option<UserId>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The INSERT of an audit row with its id and links (`OVERRIDING SYSTEM VALUE` on
/// PostgreSQL, whose id is an identity column).
fn audit_insert<DB: Backend>() -> String {
    format!(
        "INSERT INTO audit_log \
         (id, at, user_id, action, entity, entity_id, before_json, after_json, prev_hash, hash){} \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        DB::OVERRIDING_SYSTEM_VALUE
    )
}

/// What made a new row, for its audit row: user `by`'s `action` on an `entity`, at `at`.
pub(crate) struct Created<'a> {
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub action: &'a str,
    pub entity: &'a str,
}

/// Writing an audit row on the connection of a write's transaction, at the end of the
/// log's hash chain (crate::chain).
pub(crate) trait Audit {
    async fn audit(&mut self, r: Record<'_>) -> Result<(), sqlx::Error>;
    /// [`Audit::audit`] at `end` (as [`crate::chain::Append::append_fund_at`]), moving it.
    async fn audit_at(&mut self, end: &mut (i64, String), r: Record<'_>)
        -> Result<(), sqlx::Error>;
    /// Run `insert` (an `INSERT … RETURNING id`), then audit the new row as `created`
    /// says, with nothing before and `after`. The new row's id.
    async fn insert_audited<T>(
        &mut self,
        insert: Sql<'_>,
        created: Created<'_>,
        after: Value,
    ) -> Result<Id<T>, sqlx::Error>;
}

impl<C> Audit for C
where
    C: Run + sqlx::Connection<Database: Backend>,
{
    async fn audit(&mut self, r: Record<'_>) -> Result<(), sqlx::Error> {
        let mut end = self.next_link(Chain::Audit).await?;
        self.audit_at(&mut end, r).await
    }

    async fn audit_at(
        &mut self,
        end: &mut (i64, String),
        r: Record<'_>,
    ) -> Result<(), sqlx::Error> {
        let (id, prev) = (end.0, std::mem::take(&mut end.1));
        let at = stored_time(r.at);
        let hash = AuditLink {
            id,
            at,
            user_id: r.user,
            action: r.action,
            entity: r.entity,
            entity_id: &r.entity_id,
            before: r.before.as_ref(),
            after: r.after.as_ref(),
        }
        .hash(&prev);
        sql(audit_insert::<C::Database>())
            .bind(id)
            .bind(at)
            .bind(r.user)
            .bind(r.action)
            .bind(r.entity)
            .bind(&r.entity_id)
            .bind(r.before.as_ref())
            .bind(r.after.as_ref())
            .bind(&prev)
            .bind(&hash)
            .execute(self)
            .await?;
        *end = (id + 1, hash);
        Ok(())
    }

    async fn insert_audited<T>(
        &mut self,
        insert: Sql<'_>,
        created: Created<'_>,
        after: Value,
    ) -> Result<Id<T>, sqlx::Error> {
        let id = insert.fetch_one(&mut *self).await?.id("id")?;
        self.audit(Record {
            at: created.at,
            user: Some(created.by),
            action: created.action,
            entity: created.entity,
            entity_id: id.to_string(),
            before: None,
            after: Some(after),
        })
        .await?;
        Ok(id)
    }
}

fn entry(r: &impl Get) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        id: r.int("id")?,
        at: r.time("at")?,
        user_id: r.opt_id("user_id")?,
        username: r.opt_text("username")?,
        action: r.text("action")?,
        entity: r.text("entity")?,
        entity_id: r.text("entity_id")?,
        before: r.opt_json("before_json")?,
        after: r.opt_json("after_json")?,
    })
}

/// The store's the audit log and the hash chains of the log and the ledger: `store.audit_log()`.
#[derive(Clone, Copy, Debug)]
pub struct AuditLog<'s>(pub(crate) &'s Store);

impl AuditLog<'_> {
    /// Audit rows, newest first, paged by key: pass the previous page's `next`. The log
    /// is for the headquarters admin: the caller checks the role.
    pub async fn audit_entries(
        self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Page<AuditEntry, i64>> {
        let limit = clamp_limit(limit);
        let items = on_pool!(self.0, pool => entries(pool, before, limit).await)?;
        Ok(Page::of(items, limit, |e| e.id))
    }
}

/// Up to `limit + 1` audit rows before id `before`, newest first.
async fn entries<DB: Backend>(
    pool: &Pool<DB>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    let rows = sql(
        "SELECT l.id, l.at, l.user_id, u.username, l.action, l.entity, l.entity_id, \
                    l.before_json, l.after_json \
                    FROM audit_log l LEFT JOIN users u ON u.id = l.user_id \
                    WHERE l.id < $1 ORDER BY l.id DESC LIMIT $2",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(&mut *pool.acquire().await?)
    .await?;
    Ok(rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?)
}
