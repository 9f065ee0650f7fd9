//! The refresh of a version's gaps (see the module documentation of [`crate::work`]): on
//! a transaction's connection, so that a register import runs it inside its own
//! transaction (a version is stored with its gaps or not at all), a plan import inside
//! its own, and [`crate::Store::refresh_gaps`] inside a transaction of its own.

use super::derive::Only;
use super::events::{event, move_item};
use super::items::item_record;
use super::{
    cst_date, derive, placeholders, settings, value_rows, GapRefresh, NewAttachment, WorkItem,
    WorkItemId,
};
use crate::accounts::UserId;
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend, Run};
use crate::plan::StoredPlan;
use crate::register::VersionId;
use crate::rows::Get;
use crate::{now, Result, Store, StoreError};
use fupin_domain::gap::{route, Route};
use serde_json::json;
use sqlx::Pool;
use std::collections::{HashMap, HashSet};

/// A stored gap as a refresh compares it with what a version has.
struct KnownGap {
    id: i64,
    open: bool,
    task_no: Option<i64>,
    lead_unit: Option<String>,
    detail: String,
    /// Its work item: id, state and unit.
    item: Option<(WorkItemId, String, String)>,
}

/// The advisory lock key of gap refreshes on PostgreSQL.
pub(crate) const REFRESH_LOCK: i64 = 0x6675_7069_6e07;

/// Rows per statement when a refresh writes many (at most 12 values a row: well under
/// SQLite's 32,766 and PostgreSQL's 65,535 parameters).
const BATCH: usize = 500;

/// The refresh on either backend's connection, for callers written once for both (a
/// register import, a plan import that routes the register's gaps by the new plan in its
/// own transaction).
pub(crate) trait RefreshOn: Run + sqlx::Connection<Database: Backend> {
    async fn refresh_on(
        &mut self,
        store: &Store,
        version: VersionId,
        by: Option<UserId>,
        given: Option<&StoredPlan>,
    ) -> Result<GapRefresh> {
        refresh_in::<Self::Database>(self, store, version, None, by, given, None).await
    }
}

impl<C: Run + sqlx::Connection<Database: Backend>> RefreshOn for C {}

/// [`crate::Store::refresh_gaps`]: the refresh in a write transaction of its own.
pub(super) async fn refresh<DB: Backend>(
    pool: &Pool<DB>,
    store: &Store,
    version: VersionId,
    threshold_bp: Option<u64>,
    by: Option<UserId>,
) -> Result<GapRefresh> {
    let mut tx = DB::begin_write(pool).await?;
    let out = refresh_in::<DB>(&mut tx, store, version, threshold_bp, by, None, None).await?;
    tx.commit().await?;
    Ok(out)
}

/// A refresh of one household's gaps and its village's, after an approved change: the
/// change's words are the closed gaps' evidence and the done items' note, and its files
/// go with the items' event.
pub(crate) struct Household<'a> {
    pub only: &'a Only,
    /// 变更申请第 12 号（走访 2026-12-01）.
    pub change: String,
    pub files: &'a [NewAttachment],
}

/// Which gaps a refresh looks at: all, or one household's and its village's (a SQL
/// condition on `gaps g`, its values from $1).
fn known_condition(one: Option<&Household<'_>>) -> (&'static str, Vec<String>) {
    match one {
        None => ("", Vec::new()),
        Some(h) => (
            // A village's own gaps; a DATA gap without a 户编号 is a row's, not the village's.
            " WHERE g.household_no = $1 OR (g.household_no IS NULL AND g.township = $2 \
             AND g.village = $3 AND g.kind <> 'DATA')",
            vec![
                h.only.household_no.clone(),
                h.only.township.clone(),
                h.only.village.clone(),
            ],
        ),
    }
}

/// The refresh on the caller's transaction: of the whole version, or of `one` household
/// and its village (an approved change).
#[allow(clippy::too_many_lines)]
pub(crate) async fn refresh_in<DB: Backend>(
    conn: &mut DB::Connection,
    store: &Store,
    version: VersionId,
    threshold_bp: Option<u64>,
    by: Option<UserId>,
    given: Option<&StoredPlan>,
    one: Option<&Household<'_>>,
) -> Result<GapRefresh> {
    // One refresh at a time across server processes (SQLite's write lock does this
    // there): two would both insert the same new gaps.
    DB::lock_in_transaction(&mut *conn, REFRESH_LOCK).await?;
    let threshold_bp = match threshold_bp {
        Some(t) => t,
        None => settings::incidence_threshold(&mut *conn).await?,
    };
    let r = sql("SELECT year, imported_at FROM register_versions WHERE id = $1")
        .bind(version)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::refused(format!("登记表版本 {version} 不存在")))?;
    let (year, imported_at) = (r.int("year")?, r.time("imported_at")?);
    let plan_id = sql("SELECT id FROM plans WHERE year = $1 ORDER BY revision DESC LIMIT 1")
        .bind(year)
        .fetch_optional(&mut *conn)
        .await?;
    let plan = match (given, plan_id) {
        // A plan being imported in this transaction: the pool cannot see it yet.
        (Some(p), _) => Some(p.clone()),
        (None, Some(r)) => Some(store.plan().plan_with_id(r.id("id")?).await?),
        (None, None) => None,
    };
    let found = derive::found_gaps(&mut *conn, version, threshold_bp, one.map(|h| h.only)).await?;
    let (condition, values) = known_condition(one);
    let counts_before = match one {
        Some(_) => Some(counts_of(&mut *conn, condition, &values).await?),
        None => None,
    };
    let on = cst_date(imported_at);
    let at = now();
    let mut out = GapRefresh {
        version,
        plan: plan.as_ref().map(|p| p.revision.id),
        found: found.len() as u64,
        opened: 0,
        reopened: 0,
        closed: 0,
        unrouted: 0,
        items_created: 0,
    };
    let (evidence, reopened_note) = match one {
        None => (
            format!("复核于 {on}（第 {version} 版登记表）：已达标"),
            format!("复核于 {on}（第 {version} 版登记表）：仍未达标，重新打开"),
        ),
        Some(h) => (
            format!("{}批准后复核：已达标", h.change),
            format!("{}批准后复核：仍未达标，重新打开", h.change),
        ),
    };
    let mut known: HashMap<String, KnownGap> = HashMap::new();
    let text = format!(
        "SELECT g.id, g.gap_key, g.open, g.task_no, g.lead_unit, g.detail, \
         w.id AS item_id, w.state, w.unit FROM gaps g LEFT JOIN work_items w ON w.gap_id = g.id\
         {condition}"
    );
    let mut q = sql(&text);
    for v in &values {
        q.push(v.as_str());
    }
    for r in q.fetch_all(&mut *conn).await? {
        let item = match r.opt_id::<WorkItem>("item_id")? {
            Some(i) => Some((i, r.text("state")?, r.text("unit")?)),
            None => None,
        };
        known.insert(
            r.text("gap_key")?,
            KnownGap {
                id: r.int("id")?,
                open: r.bool("open")?,
                task_no: r.opt_int("task_no")?,
                lead_unit: r.opt_text("lead_unit")?,
                detail: r.text("detail")?,
                item,
            },
        );
    }
    let mut seen: HashSet<String> = HashSet::with_capacity(found.len());
    // Open gaps found again unchanged: only their last version moves on.
    let mut unchanged: Vec<i64> = Vec::new();
    let mut new_gaps = Vec::new();
    // Gaps (by id) that get a work item now, with the task they go to.
    let mut to_assign = Vec::new();
    for f in &found {
        let key = f.gap.key();
        if !seen.insert(key.clone()) {
            continue;
        }
        let task = plan
            .as_ref()
            .and_then(|p| match route(&p.plan, &f.gap, f.has_labor) {
                Route::Task(no) => p.plan.task(no),
                Route::Headquarters => None,
            });
        if task.is_none() {
            out.unrouted += 1;
        }
        let task_no = task.map(|t| i64::from(t.no));
        let lead_unit = task.map(|t| t.lead_unit.as_str());
        let Some(k) = known.get(&key) else {
            new_gaps.push((f, key, task));
            continue;
        };
        if k.open
            && k.task_no == task_no
            && k.lead_unit.as_deref() == lead_unit
            && k.detail == f.detail
        {
            unchanged.push(k.id);
        } else {
            sql(
                "UPDATE gaps SET open = TRUE, closed_at = NULL, evidence = NULL, \
                 detail = $2, last_version = $3, plan_id = $4, task_no = $5, lead_unit = $6 \
                 WHERE id = $1",
            )
            .bind(k.id)
            .bind(&f.detail)
            .bind(version)
            .bind(task.and(out.plan))
            .bind(task_no)
            .bind(lead_unit)
            .execute(&mut *conn)
            .await?;
            let rerouted = k.task_no != task_no || k.lead_unit.as_deref() != lead_unit;
            match (&k.item, task) {
                (Some((item_id, s, _)), _)
                    if !k.open && matches!(s.as_str(), "done" | "closed") =>
                {
                    move_item::<DB>(
                        &mut *conn,
                        *item_id,
                        s,
                        "in_progress",
                        "reopen",
                        &reopened_note,
                        None,
                        at,
                    )
                    .await?;
                }
                // Not yet taken up, and where the plan had put it: it follows the
                // plan's new routing, with an event saying so. One headquarters
                // reassigned by hand (改派) stays with the unit it was given.
                (Some((item_id, s, unit)), Some(t))
                    if k.open
                        && s == "todo"
                        && rerouted
                        && k.lead_unit.as_deref() == Some(unit.as_str()) =>
                {
                    sql(
                        "UPDATE work_items SET plan_id = $2, task_no = $3, unit = $4, \
                         updated_at = $5 WHERE id = $1",
                    )
                    .bind(*item_id)
                    .bind(out.plan)
                    .bind(i64::from(t.no))
                    .bind(&t.lead_unit)
                    .bind(at)
                    .execute(&mut *conn)
                    .await?;
                    let note = format!(
                        "责任方案调整：改由第 {} 项「{}」牵头单位{}承办（原{}）",
                        t.no, t.name, t.lead_unit, unit
                    );
                    event(
                        &mut *conn, *item_id, at, by, "reroute", "todo", "todo", &note, None,
                    )
                    .await?;
                    let (before, after) = (
                        json!({ "unit": unit, "task_no": k.task_no }),
                        json!({ "unit": t.lead_unit, "task_no": t.no, "note": note }),
                    );
                    conn.audit(item_record(
                        at,
                        by,
                        "work_item_reroute",
                        *item_id,
                        Some(before),
                        after,
                    ))
                    .await?;
                }
                _ => {}
            }
        }
        if !k.open {
            out.reopened += 1;
        }
        if let (None, Some(t)) = (&k.item, task) {
            to_assign.push((k.id, f, t));
        }
    }
    for chunk in unchanged.chunks(BATCH) {
        let text = format!(
            "UPDATE gaps SET last_version = {} WHERE id IN ({})",
            DB::bulk_mark(1),
            placeholders(DB::bulk_mark, 2, chunk.len())
        );
        let mut q = sql(&text).bind(version);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    // New gaps, many rows per statement.
    for chunk in new_gaps.chunks(BATCH) {
        let text = format!(
            "INSERT INTO gaps (gap_key, kind, township, village, household_no, detail, open, \
             plan_id, task_no, lead_unit, first_version, last_version, opened_at) VALUES {} \
             RETURNING id, gap_key",
            value_rows(DB::bulk_mark, chunk.len(), 12, |p| format!(
                "({}, {}, {}, {}, {}, {}, TRUE, {}, {}, {}, {}, {}, {})",
                p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]
            ))
        );
        let mut q = sql(&text);
        for (f, key, task) in chunk {
            q = q
                .bind(key.as_str())
                .bind(f.gap.kind.code())
                .bind(f.township.as_str())
                .bind(f.village.as_str())
                .bind(f.gap.household())
                .bind(f.detail.as_str())
                .bind(task.and(out.plan))
                .bind(task.map(|t| i64::from(t.no)))
                .bind(task.map(|t| t.lead_unit.as_str()))
                .bind(version)
                .bind(version)
                .bind(at);
        }
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(chunk.len());
        for r in q.fetch_all(&mut *conn).await? {
            ids.insert(r.text("gap_key")?, r.int("id")?);
        }
        for (f, key, task) in chunk {
            let id = *ids
                .get(key)
                .ok_or_else(|| StoreError::corrupt("新短板未返回编号"))?;
            if let Some(t) = task {
                to_assign.push((id, *f, *t));
            }
        }
        out.opened += chunk.len() as u64;
    }
    // Their work items (交办 to the task's lead unit), and the items' first events.
    for chunk in to_assign.chunks(BATCH) {
        let text = format!(
            "INSERT INTO work_items (gap_id, plan_id, task_no, title, detail, unit, township, \
             village, deadline, state, progress, reminders, created_at, updated_at) VALUES {} \
             RETURNING id, gap_id",
            value_rows(DB::bulk_mark, chunk.len(), 11, |p| format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, {}, 'todo', 0, 0, {}, {})",
                p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10]
            ))
        );
        let mut q = sql(&text);
        for (gap_id, f, t) in chunk {
            q = q
                .bind(*gap_id)
                .bind(out.plan)
                .bind(i64::from(t.no))
                .bind(f.gap.title())
                .bind(f.detail.as_str())
                .bind(t.lead_unit.as_str())
                .bind(f.township.as_str())
                .bind(f.village.as_str())
                .bind(t.deadline.date())
                .bind(at)
                .bind(at);
        }
        let mut items: Vec<(i64, i64)> = Vec::with_capacity(chunk.len());
        for r in q.fetch_all(&mut *conn).await? {
            items.push((r.int("id")?, r.int("gap_id")?));
        }
        let text = format!(
            "INSERT INTO work_events (item_id, at, user_id, action, from_state, to_state, note, \
             percent) VALUES {}",
            value_rows(DB::bulk_mark, items.len(), 3, |p| format!(
                "({}, {}, NULL, 'assign', 'todo', 'todo', {}, NULL)",
                p[0], p[1], p[2]
            ))
        );
        let mut q = sql(&text);
        for (item_id, gap_id) in &items {
            let t = chunk
                .iter()
                .find(|c| c.0 == *gap_id)
                .map(|c| c.2)
                .ok_or_else(|| StoreError::corrupt("事项的短板不在本批中"))?;
            q = q.bind(*item_id).bind(at).bind(format!(
                "第 {version} 版登记表评估发现，按责任分解方案第 {} 项交办{}",
                t.no, t.lead_unit
            ));
        }
        q.execute(&mut *conn).await?;
        out.items_created += items.len() as u64;
    }
    // Open gaps the version no longer has: closed, with the evidence; their pending
    // items are done by the evidence (closing, 销号, stays the checker's).
    let mut closing: Vec<i64> = Vec::new();
    let mut done_by_evidence = Vec::new();
    for (key, k) in &known {
        if !k.open || seen.contains(key) {
            continue;
        }
        closing.push(k.id);
        if let Some((item_id, s, _)) = &k.item {
            if matches!(s.as_str(), "todo" | "in_progress") {
                done_by_evidence.push((*item_id, s.as_str()));
            }
        }
    }
    for chunk in closing.chunks(BATCH) {
        let text = format!(
            "UPDATE gaps SET open = FALSE, closed_at = {}, evidence = {} WHERE id IN ({})",
            DB::bulk_mark(1),
            DB::bulk_mark(2),
            placeholders(DB::bulk_mark, 3, chunk.len())
        );
        let mut q = sql(&text).bind(at).bind(&evidence);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    out.closed = closing.len() as u64;
    for (item_id, s) in done_by_evidence {
        let event_id = move_item::<DB>(
            &mut *conn,
            item_id,
            s,
            "done",
            "reassessed",
            &evidence,
            by.filter(|_| one.is_some()),
            at,
        )
        .await?;
        for f in one.map_or(&[][..], |h| h.files) {
            super::attachments::insert(&mut *conn, event_id, item_id, f).await?;
        }
    }
    // The dashboard's counts (0011): rebuilt from the gaps as they now stand, or for one
    // household moved by its gaps' difference.
    match counts_before {
        None => {
            sql("DELETE FROM gap_counts").execute(&mut *conn).await?;
            sql(
                "INSERT INTO gap_counts (kind, lead_unit, unrouted, open, n) \
                 SELECT kind, lead_unit, task_no IS NULL, open, COUNT(*) FROM gaps \
                 GROUP BY kind, lead_unit, task_no IS NULL, open",
            )
            .execute(&mut *conn)
            .await?;
        }
        Some(before) => {
            let after = counts_of(&mut *conn, condition, &values).await?;
            move_counts(&mut *conn, &before, &after).await?;
        }
    }
    let (entity, entity_id) = match one {
        None => ("register_version", version.to_string()),
        Some(h) => ("household", h.only.household_no.clone()),
    };
    conn.audit(Record {
        at,
        user: by,
        action: "refresh_gaps",
        entity,
        entity_id,
        before: None,
        after: Some(serde_json::to_value(&out).unwrap_or_default()),
    })
    .await?;
    Ok(out)
}

/// A `gap_counts` key: kind, lead unit, unrouted, open.
type CountKey = (String, Option<String>, bool, bool);

/// The gap counts of the gaps `condition` selects.
async fn counts_of(
    conn: &mut impl Run,
    condition: &str,
    values: &[String],
) -> Result<HashMap<CountKey, i64>> {
    let text = format!(
        "SELECT g.kind, g.lead_unit, g.task_no IS NULL AS unrouted, g.open, COUNT(*) AS n \
         FROM gaps g{condition} GROUP BY g.kind, g.lead_unit, g.task_no IS NULL, g.open"
    );
    let mut q = sql(&text);
    for v in values {
        q.push(v.as_str());
    }
    let mut out = HashMap::new();
    for r in q.fetch_all(conn).await? {
        out.insert(
            (
                r.text("kind")?,
                r.opt_text("lead_unit")?,
                r.bool("unrouted")?,
                r.bool("open")?,
            ),
            r.int("n")?,
        );
    }
    Ok(out)
}

/// Move `gap_counts` by the difference between two counts of the same gaps.
async fn move_counts(
    conn: &mut impl Run,
    before: &HashMap<CountKey, i64>,
    after: &HashMap<CountKey, i64>,
) -> Result<()> {
    let keys: HashSet<&CountKey> = before.keys().chain(after.keys()).collect();
    for k in keys {
        let d = after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
        if d == 0 {
            continue;
        }
        // The key as $1–$4 and the difference as $5, for either statement.
        let keyed = |text: &'static str| {
            sql(text)
                .bind(k.0.as_str())
                .bind(k.1.as_deref())
                .bind(k.2)
                .bind(k.3)
                .bind(d)
        };
        let done = keyed(
            "UPDATE gap_counts SET n = n + $5 WHERE kind = $1 \
             AND (lead_unit = $2 OR (lead_unit IS NULL AND $2 IS NULL)) \
             AND unrouted = $3 AND open = $4",
        )
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            keyed("INSERT INTO gap_counts (kind, lead_unit, unrouted, open, n) VALUES ($1, $2, $3, $4, $5)")
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}
