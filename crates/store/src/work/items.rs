//! Work items: lists, one, counts, assignment by hand (交办), steps and edits.

use super::events::event;
use super::ItemScopeSql;
use super::{
    ActingUser, ItemCounts, ItemEdit, ItemFilter, ItemScope, NewWorkItem, Step, WorkItem,
    WorkItemId, MAX_ATTACHMENT_BYTES,
};
use crate::accounts::UserId;
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend};
use crate::plan::StoredPlan;
use crate::register::{clamp_limit, Page};
use crate::rows::Get;
use crate::{now, Result, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use fupin_domain::access::{may, Action};
use fupin_domain::work_item::{
    can, can_edit, close_on_evidence, percent, reopen_reason, Refusal, WorkAction, WorkState,
};
use serde_json::json;
use sqlx::{Pool, Transaction};

pub(super) const ITEM_COLUMNS: &str =
    "w.id, w.gap_id, w.plan_id, w.task_no, t.title AS task_title, \
     t.leader, w.title, w.detail, w.unit, w.township, w.village, g.household_no, w.deadline, \
     w.state, w.progress, w.reminders, w.escalated_at, w.created_at, w.updated_at, \
     w.close_override";

pub(super) const ITEM_FROM: &str = "FROM work_items w \
     LEFT JOIN plan_tasks t ON t.plan_id = w.plan_id AND t.task_no = w.task_no \
     LEFT JOIN gaps g ON g.id = w.gap_id";

pub(super) fn item(r: &impl Get) -> Result<WorkItem> {
    let s = r.text("state")?;
    Ok(WorkItem {
        id: r.id("id")?,
        gap_id: r.opt_id("gap_id")?,
        plan_id: r.opt_id("plan_id")?,
        task_no: r.opt_int("task_no")?.map(|n| n as u32),
        task: r.opt_text("task_title")?,
        leader: r.opt_text("leader")?,
        title: r.text("title")?,
        detail: r.text("detail")?,
        unit: r.text("unit")?,
        township: r.opt_text("township")?,
        village: r.opt_text("village")?,
        household_no: r.opt_text("household_no")?,
        deadline: r.opt_date("deadline")?,
        state: WorkState::parse(&s)
            .ok_or_else(|| StoreError::corrupt(format!("事项状态「{s}」")))?,
        progress: r.int("progress")?.clamp(0, 100) as u8,
        reminders: crate::rows::count(r, "reminders")?,
        escalated_at: r.opt_time("escalated_at")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        close_override: match r.opt_text("close_override")? {
            Some(w) => Some(
                w.parse()
                    .map_err(|_| StoreError::corrupt(format!("强制销号理由「{w}」")))?,
            ),
            None => None,
        },
    })
}

pub(super) fn item_json(i: &WorkItem) -> serde_json::Value {
    json!({
        "state": i.state.word(), "unit": i.unit, "deadline": i.deadline,
        "progress": i.progress, "task_no": i.task_no, "reminders": i.reminders,
        "escalated_at": i.escalated_at,
    })
}

/// An item's row as it is now, read under the write lock (PostgreSQL locks the row;
/// SQLite's transaction holds the database's write lock): `columns` of item `$1`.
fn locked_item<DB: Backend>(columns: &str) -> String {
    format!(
        "SELECT {columns} FROM work_items WHERE id = $1{}",
        DB::FOR_UPDATE
    )
}

/// A step or change checked against an item that another user has changed since.
fn changed_meanwhile() -> Refusal {
    Refusal::Conflict("事项刚被他人处理过，请刷新后再试".into())
}

/// The audit row of a change to work item `id`: `action` by `user` (None: the system).
pub(super) fn item_record(
    at: DateTime<Utc>,
    user: Option<UserId>,
    action: &str,
    id: WorkItemId,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
) -> Record<'_> {
    Record {
        at,
        user,
        action,
        entity: "work_item",
        entity_id: id.to_string(),
        before,
        after: Some(after),
    }
}

/// Work items the scope may read, newest first, paged by key.
pub(super) async fn list<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    filter: &ItemFilter,
    before: Option<WorkItemId>,
    limit: u32,
) -> Result<Page<WorkItem, WorkItemId>> {
    let limit = clamp_limit(limit);
    let (cond, values) = scope.sql("w", "unit", 3);
    let mut text = format!("SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE w.id < $1{cond}");
    let mut texts: Vec<String> = Vec::new();
    let mut n = 3 + values.len();
    let mut push = |text: &mut String, clause: &str, v: String| {
        text.push_str(&clause.replace("$?", &format!("${n}")));
        texts.push(v);
        n += 1;
    };
    if let Some(s) = filter.state {
        push(&mut text, " AND w.state = $?", s.word().into());
    }
    if let Some(u) = &filter.unit {
        push(&mut text, " AND w.unit = $?", u.clone());
    }
    if let Some(p) = &filter.leader {
        push(&mut text, " AND t.leader = $?", p.clone());
    }
    let task_no = filter.task_no.map(i64::from);
    let overdue = filter.overdue_on;
    if filter.pending || overdue.is_some() {
        text.push_str(" AND w.state IN ('todo', 'in_progress')");
    }
    if filter.escalated {
        text.push_str(" AND w.escalated_at IS NOT NULL");
    }
    if filter.overridden {
        text.push_str(" AND w.close_override IS NOT NULL");
    }
    let task_at = n;
    if task_no.is_some() {
        text.push_str(&format!(" AND w.task_no = ${task_at}"));
    }
    let day_at = task_at + usize::from(task_no.is_some());
    if overdue.is_some() {
        text.push_str(&format!(" AND w.deadline < ${day_at}"));
    }
    text.push_str(" ORDER BY w.id DESC LIMIT $2");
    let mut q = sql(&text)
        .bind(before.map_or(i64::MAX, fupin_domain::id::Id::get))
        .bind(limit + 1);
    for v in values.iter().chain(&texts) {
        q.push(v);
    }
    if let Some(t) = task_no {
        q.push(t);
    }
    if let Some(d) = overdue {
        q.push(d);
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    let items = rows.iter().map(item).collect::<Result<Vec<_>>>()?;
    Ok(Page::of(items, limit, |i| i.id))
}

/// A work item the scope may read.
pub(super) async fn one<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    id: WorkItemId,
) -> Result<Option<WorkItem>> {
    let (cond, values) = scope.sql("w", "unit", 2);
    let text = format!("SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE w.id = $1{cond}");
    let mut q = sql(&text).bind(id);
    for v in &values {
        q.push(v);
    }
    match q.fetch_optional(&mut *pool.acquire().await?).await? {
        Some(r) => Ok(Some(item(&r)?)),
        None => Ok(None),
    }
}

/// Work items the scope may read, counted by state on `today`.
pub(super) async fn counts<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    today: NaiveDate,
) -> Result<ItemCounts> {
    let (cond, values) = scope.sql("w", "unit", 2);
    let text = format!(
        "SELECT \
         COALESCE(SUM(CASE WHEN w.state IN ('todo', 'in_progress') THEN 1 ELSE 0 END), 0) AS pending, \
         COALESCE(SUM(CASE WHEN w.state IN ('todo', 'in_progress') AND w.deadline < $1 THEN 1 ELSE 0 END), 0) AS overdue, \
         COALESCE(SUM(CASE WHEN w.state = 'done' THEN 1 ELSE 0 END), 0) AS done, \
         COALESCE(SUM(CASE WHEN w.state = 'closed' THEN 1 ELSE 0 END), 0) AS closed \
         FROM work_items w WHERE 1 = 1{cond}"
    );
    let mut q = sql(&text).bind(today);
    for v in &values {
        q.push(v);
    }
    let r = q.fetch_one(&mut *pool.acquire().await?).await?;
    Ok(ItemCounts {
        pending: crate::rows::count(&r, "pending")?,
        overdue: crate::rows::count(&r, "overdue")?,
        done: crate::rows::count(&r, "done")?,
        closed: crate::rows::count(&r, "closed")?,
    })
}

/// Assign a work item by hand ([`Store::create_work_item`]).
pub(super) async fn create<DB: Backend>(
    pool: &Pool<DB>,
    store: &Store,
    by: &ActingUser<'_>,
    new: &NewWorkItem,
) -> Result<Result<WorkItem, Refusal>> {
    if let Err(r) = may(by.actor(), Action::AssignWork) {
        return Ok(Err(r));
    }
    let (title, unit) = (new.title.trim(), new.unit.trim());
    if title.is_empty() || unit.is_empty() {
        return Ok(Err(Refusal::Invalid("交办事项要写明事项和承办单位".into())));
    }
    let plan = store.plan().current_plan(None).await?;
    let plan_id = plan.as_ref().map(|p: &StoredPlan| p.revision.id);
    if let Some(no) = new.task_no {
        if plan.as_ref().and_then(|p| p.plan.task(no)).is_none() {
            return Ok(Err(Refusal::Invalid(format!(
                "现行方案中没有第 {no} 项重点工作"
            ))));
        }
    }
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    let (township, village) = match new.gap_id {
        Some(g) => {
            let r = sql("SELECT g.township, g.village, g.open, \
                 (SELECT COUNT(*) FROM work_items w WHERE w.gap_id = g.id) AS items \
                 FROM gaps g WHERE g.id = $1")
            .bind(g)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(r) = r else {
                return Ok(Err(Refusal::Invalid(format!("短板 {g} 不存在"))));
            };
            if r.int("items")? > 0 {
                return Ok(Err(Refusal::Conflict("该短板已交办".into())));
            }
            if !r.bool("open")? {
                return Ok(Err(Refusal::Conflict("该短板已销号，无需交办".into())));
            }
            (Some(r.text("township")?), Some(r.text("village")?))
        }
        None => (None, None),
    };
    let r = sql(
        "INSERT INTO work_items (gap_id, plan_id, task_no, title, detail, unit, township, \
         village, deadline, state, progress, reminders, created_at, created_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'todo', 0, 0, $10, $11, $10) RETURNING id",
    )
    .bind(new.gap_id)
    .bind(new.task_no.and(plan_id))
    .bind(new.task_no.map(i64::from))
    .bind(title)
    .bind(new.detail.trim())
    .bind(unit)
    .bind(township)
    .bind(village)
    .bind(new.deadline)
    .bind(at)
    .bind(by.user.id)
    .fetch_one(&mut *tx)
    .await?;
    let id = r.id("id")?;
    let note = format!("交办{unit}");
    event(
        &mut *tx,
        id,
        at,
        Some(by.user.id),
        "assign",
        "todo",
        "todo",
        &note,
        None,
    )
    .await?;
    let after = json!({
        "gap_id": new.gap_id, "task_no": new.task_no, "title": title,
        "unit": unit, "deadline": new.deadline, "state": "todo",
    });
    tx.audit(item_record(
        at,
        Some(by.user.id),
        "create_work_item",
        id,
        None,
        after,
    ))
    .await?;
    tx.commit().await?;
    Ok(Ok(one(pool, &ItemScope::All, id).await?.ok_or_else(
        || StoreError::corrupt("刚交办的事项找不到了"),
    )?))
}

/// Take a step on an item the user may read ([`Store::act_on_work_item`]).
pub(super) async fn act<DB: Backend>(
    pool: &Pool<DB>,
    by: &ActingUser<'_>,
    id: WorkItemId,
    step: &Step,
    today: NaiveDate,
) -> Result<Result<Option<WorkItem>, Refusal>> {
    let scope = ItemScope::of(&by.user.role);
    let Some(before) = one(pool, &scope, id).await? else {
        return Ok(Ok(None));
    };
    if let Err(r) = can(by.actor(), &before.facts(), step.action, today) {
        return Ok(Err(r));
    }
    let note = match step.action {
        WorkAction::Reopen => match reopen_reason(&step.note) {
            Ok(r) => r.to_string(),
            Err(e) => return Ok(Err(e)),
        },
        _ => step.note.trim().to_string(),
    };
    if step.action == WorkAction::Report
        && note.is_empty()
        && step.attachments.is_empty()
        && step.percent.is_none()
    {
        return Ok(Err(Refusal::Invalid(
            "进展报告要写明内容、进度或附上材料".into(),
        )));
    }
    let pct = match step.percent.map(percent).transpose() {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(a) = step
        .attachments
        .iter()
        .find(|a| a.data.len() > MAX_ATTACHMENT_BYTES)
    {
        return Ok(Err(Refusal::Invalid(format!(
            "附件「{}」超过 {} MB",
            a.file_name,
            MAX_ATTACHMENT_BYTES >> 20
        ))));
    }
    let to = step.action.next(before.state);
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    // The state and escalation as they are now, under the write lock: a step checked
    // against a stale read is checked again.
    let r = sql(locked_item::<DB>("state, escalated_at"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let current = r.text("state")?;
    let escalated = r.opt_time("escalated_at")?.is_some();
    if current != before.state.word() || escalated != before.escalated_at.is_some() {
        return Ok(Err(changed_meanwhile()));
    }
    // 销号 only on evidence: the gap's state as it is now, under the write lock.
    let mut overridden = None;
    if let (WorkAction::Close, Some(gap)) = (step.action, before.gap_id) {
        let g = sql("SELECT open, detail FROM gaps WHERE id = $1")
            .bind(gap)
            .fetch_one(&mut *tx)
            .await?;
        let failing = if g.bool("open")? {
            Some(g.text("detail")?)
        } else {
            None
        };
        if let Err(r) =
            close_on_evidence(by.actor(), failing.as_deref(), step.close_override, &note)
        {
            return Ok(Err(r));
        }
        if failing.is_some() {
            overridden = step.close_override;
        }
    }
    let progress = match (step.action, pct) {
        (_, Some(p)) => i64::from(p),
        (WorkAction::Complete | WorkAction::Close, _) => 100,
        _ => i64::from(before.progress),
    };
    sql(
        "UPDATE work_items SET state = $2, progress = $3, updated_at = $4, \
         reminders = reminders + $5, \
         escalated_at = CASE WHEN $6 THEN $4 ELSE escalated_at END WHERE id = $1",
    )
    .bind(id)
    .bind(to.word())
    .bind(progress)
    .bind(at)
    .bind(i64::from(step.action == WorkAction::Remind))
    .bind(step.action == WorkAction::Escalate)
    .execute(&mut *tx)
    .await?;
    let note = match overridden {
        Some(o) => {
            sql("UPDATE work_items SET close_override = $2 WHERE id = $1")
                .bind(id)
                .bind(o.word())
                .execute(&mut *tx)
                .await?;
            format!("强制销号（{}）：{note}", o.chinese())
        }
        None if note.is_empty() => step.action.chinese().to_string(),
        None => note,
    };
    let event_id = event(
        &mut *tx,
        id,
        at,
        Some(by.user.id),
        step.action.word(),
        before.state.word(),
        to.word(),
        &note,
        pct.map(i64::from),
    )
    .await?;
    for a in &step.attachments {
        super::attachments::insert(&mut *tx, event_id, id, a).await?;
    }
    let mut after = item_json(&before);
    after["state"] = json!(to.word());
    after["progress"] = json!(progress);
    after["note"] = json!(note);
    after["attachments"] = json!(step
        .attachments
        .iter()
        .map(|a| json!({"file_name": a.file_name, "size": a.data.len()}))
        .collect::<Vec<_>>());
    let action = match overridden {
        Some(_) => "work_item_close_override".to_string(),
        None => format!("work_item_{}", step.action.word()),
    };
    Ok(Ok(
        commit_change(pool, tx, by, at, &action, &before, after).await?
    ))
}

/// Change an item's deadline and/or unit ([`Store::edit_work_item`]).
pub(super) async fn edit<DB: Backend>(
    pool: &Pool<DB>,
    by: &ActingUser<'_>,
    id: WorkItemId,
    edit: &ItemEdit,
) -> Result<Result<Option<WorkItem>, Refusal>> {
    let scope = ItemScope::of(&by.user.role);
    let Some(before) = one(pool, &scope, id).await? else {
        return Ok(Ok(None));
    };
    let reason = match can_edit(by.actor(), before.state, &edit.reason) {
        Ok(r) => r.to_string(),
        Err(e) => return Ok(Err(e)),
    };
    let unit = edit.unit.trim();
    if unit.is_empty() {
        return Ok(Err(Refusal::Invalid("承办单位不能为空".into())));
    }
    let moved = unit != before.unit;
    let redated = edit.deadline != before.deadline;
    if !moved && !redated {
        return Ok(Err(Refusal::Invalid("时限和承办单位都没有改动".into())));
    }
    let mut changes = Vec::new();
    if redated {
        let d = |d: Option<NaiveDate>| d.map_or("无时限".to_string(), |d| d.to_string());
        changes.push(format!(
            "时限 {} → {}",
            d(before.deadline),
            d(edit.deadline)
        ));
    }
    if moved {
        changes.push(format!("承办单位 {} → {}", before.unit, unit));
    }
    let note = format!("{}。理由：{reason}", changes.join("，"));
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    let r = sql(locked_item::<DB>("state, unit, deadline, escalated_at"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if r.text("state")? != before.state.word()
        || r.text("unit")? != before.unit
        || r.opt_date("deadline")? != before.deadline
        || r.opt_time("escalated_at")?.is_some() != before.escalated_at.is_some()
    {
        return Ok(Err(changed_meanwhile()));
    }
    sql(
        "UPDATE work_items SET unit = $2, deadline = $3, updated_at = $4, \
         escalated_at = CASE WHEN $5 THEN NULL ELSE escalated_at END WHERE id = $1",
    )
    .bind(id)
    .bind(unit)
    .bind(edit.deadline)
    .bind(at)
    .bind(redated)
    .execute(&mut *tx)
    .await?;
    let s = before.state.word();
    event(
        &mut *tx,
        id,
        at,
        Some(by.user.id),
        "edit",
        s,
        s,
        &note,
        None,
    )
    .await?;
    let mut after = item_json(&before);
    after["unit"] = json!(unit);
    after["deadline"] = json!(edit.deadline);
    if redated {
        after["escalated_at"] = serde_json::Value::Null;
    }
    after["reason"] = json!(reason);
    Ok(Ok(commit_change(
        pool,
        tx,
        by,
        at,
        "work_item_edit",
        &before,
        after,
    )
    .await?))
}

/// End `by`'s change `action` of item `before` (as read before the change; `after` as it
/// is now): audit it, commit `tx`, and read the item back in `by`'s scope.
async fn commit_change<DB: Backend>(
    pool: &Pool<DB>,
    mut tx: Transaction<'static, DB>,
    by: &ActingUser<'_>,
    at: DateTime<Utc>,
    action: &str,
    before: &WorkItem,
    after: serde_json::Value,
) -> Result<Option<WorkItem>> {
    let before_json = Some(item_json(before));
    tx.audit(item_record(
        at,
        Some(by.user.id),
        action,
        before.id,
        before_json,
        after,
    ))
    .await?;
    tx.commit().await?;
    one(pool, &ItemScope::of(&by.user.role), before.id).await
}
