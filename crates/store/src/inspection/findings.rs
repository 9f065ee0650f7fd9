//! Findings (问题): each is recorded with the work item it becomes, in one transaction,
//! and read through the [`ItemScope`] of its work item.

use super::{FindingId, FindingRow, InspectionId, Severity};
use crate::accounts::UserId;
use crate::audit::{Audit, Created, Record};
use crate::backend::{sql, Backend};
use crate::register::VersionId;
use crate::rows::Get;
use crate::scope::Scope;
use crate::work::ItemScope;
use crate::{Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use fupin_domain::work_item::WorkState;
use serde_json::json;
use sqlx::Pool;

/// The conditions of an item scope on the work item aliased `w`, placeholders from
/// `first`.
fn item_scope_sql(scope: &ItemScope, first: usize) -> (String, Vec<String>) {
    match scope {
        ItemScope::All | ItemScope::Area(Scope::County) => (String::new(), Vec::new()),
        ItemScope::Unit(u) => (format!(" AND w.unit = ${first}"), vec![u.clone()]),
        ItemScope::Area(Scope::Township { township }) => (
            format!(" AND w.township = ${first}"),
            vec![township.clone()],
        ),
        ItemScope::Area(Scope::Village { township, village }) => (
            format!(" AND w.township = ${first} AND w.village = ${}", first + 1),
            vec![township.clone(), village.clone()],
        ),
    }
}

const FINDING_SELECT: &str = "SELECT f.id, f.inspection_id, i.name AS inspection, f.description, \
     f.category, f.severity, f.household_no, f.township, f.village, f.task_no, f.measure, \
     f.owner, f.work_item_id, f.created_at, w.unit, w.deadline, w.state, w.progress, \
     (SELECT e.note FROM work_events e WHERE e.item_id = w.id ORDER BY e.id DESC LIMIT 1) \
        AS latest_note, \
     (SELECT MAX(e.at) FROM work_events e WHERE e.item_id = w.id AND e.action = 'close') \
        AS closed_at \
     FROM findings f JOIN inspections i ON i.id = f.inspection_id \
     JOIN work_items w ON w.id = f.work_item_id";

fn finding(r: &impl Get) -> Result<FindingRow> {
    let sev = r.text("severity")?;
    let state = r.text("state")?;
    let closed = WorkState::parse(&state) == Some(WorkState::Closed);
    Ok(FindingRow {
        id: r.id("id")?,
        inspection_id: r.id("inspection_id")?,
        inspection: r.text("inspection")?,
        description: r.text("description")?,
        category: r.text("category")?,
        severity: Severity::parse(&sev)
            .ok_or_else(|| StoreError::corrupt(format!("问题严重程度「{sev}」")))?,
        household_no: r.opt_text("household_no")?,
        township: r.opt_text("township")?,
        village: r.opt_text("village")?,
        task_no: r.opt_int("task_no")?.map(|n| n as u32),
        measure: r.text("measure")?,
        owner: r.text("owner")?,
        work_item: r.id("work_item_id")?,
        unit: r.text("unit")?,
        deadline: r.opt_date("deadline")?,
        state: WorkState::parse(&state)
            .ok_or_else(|| StoreError::corrupt(format!("事项状态「{state}」")))?,
        progress: r.int("progress")?.clamp(0, 100) as u8,
        latest_note: r.opt_text("latest_note")?,
        // A reopened item keeps its old close event: only a closed item shows one.
        closed_at: if closed {
            r.opt_time("closed_at")?
        } else {
            None
        },
        created_at: r.time("created_at")?,
    })
}

/// Whether the register version has the village.
pub(super) async fn area_known<DB: Backend>(
    pool: &Pool<DB>,
    version: VersionId,
    township: &str,
    village: &str,
) -> Result<bool> {
    Ok(
        sql("SELECT 1 AS x FROM areas WHERE version_id = $1 AND township = $2 AND village = $3")
            .bind(version)
            .bind(township)
            .bind(village)
            .fetch_optional(&mut *pool.acquire().await?)
            .await?
            .is_some(),
    )
}

/// A finding to insert with its work item, checked and routed.
pub(super) struct Insert<'a> {
    pub inspection_id: InspectionId,
    pub description: &'a str,
    pub category: &'a str,
    pub severity: Severity,
    pub household_no: Option<&'a str>,
    pub township: Option<&'a str>,
    pub village: Option<&'a str>,
    pub plan_id: Option<crate::PlanId>,
    pub task_no: Option<u32>,
    pub measure: &'a str,
    pub owner: &'a str,
    pub title: &'a str,
    pub detail: &'a str,
    pub unit: &'a str,
    pub deadline: Option<NaiveDate>,
    pub at: DateTime<Utc>,
    pub by: UserId,
}

/// Insert the work item (待办, one `assign` event) and the finding; audited twice
/// (`create_finding`, `create_work_item`). The finding's id.
pub(super) async fn create<DB: Backend>(pool: &Pool<DB>, f: Insert<'_>) -> Result<FindingId> {
    let (at, by) = (f.at, f.by);
    let task_no = f.task_no.filter(|_| f.plan_id.is_some()).map(i64::from);
    let mut tx = DB::begin_write(pool).await?;
    let r = sql(
        "INSERT INTO work_items (gap_id, plan_id, task_no, title, detail, unit, township, \
         village, deadline, state, progress, reminders, created_at, created_by, updated_at) \
         VALUES (NULL, $1, $2, $3, $4, $5, $6, $7, $8, 'todo', 0, 0, $9, $10, $9) RETURNING id",
    )
    .bind(f.plan_id)
    .bind(task_no)
    .bind(f.title)
    .bind(f.detail)
    .bind(f.unit)
    .bind(f.township)
    .bind(f.village)
    .bind(f.deadline)
    .bind(at)
    .bind(by)
    .fetch_one(&mut *tx)
    .await?;
    let item = r.int("id")?;
    sql(
        "INSERT INTO work_events (item_id, at, user_id, action, from_state, to_state, note, percent) \
         VALUES ($1, $2, $3, 'assign', 'todo', 'todo', $4, NULL)",
    )
    .bind(item)
    .bind(at)
    .bind(by)
    .bind(format!("考核问题交办{}", f.unit))
    .execute(&mut *tx)
    .await?;
    let insert = sql(
        "INSERT INTO findings (inspection_id, description, category, severity, household_no, \
         township, village, plan_id, task_no, measure, owner, work_item_id, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(f.inspection_id)
    .bind(f.description)
    .bind(f.category)
    .bind(f.severity.word())
    .bind(f.household_no)
    .bind(f.township)
    .bind(f.village)
    .bind(f.plan_id)
    .bind(task_no)
    .bind(f.measure)
    .bind(f.owner)
    .bind(item)
    .bind(at)
    .bind(by);
    let created = Created {
        at,
        by,
        action: "create_finding",
        entity: "finding",
    };
    let after = json!({
        "inspection_id": f.inspection_id, "description": f.description,
        "category": f.category, "severity": f.severity.word(),
        "household_no": f.household_no, "township": f.township, "village": f.village,
        "task_no": f.task_no, "measure": f.measure, "owner": f.owner,
        "work_item_id": item,
    });
    let id: FindingId = tx.insert_audited(insert, created, after).await?;
    tx.audit(Record {
        at,
        user: Some(by),
        action: "create_work_item",
        entity: "work_item",
        entity_id: item.to_string(),
        before: None,
        after: Some(json!({
            "finding_id": id, "task_no": f.task_no, "title": f.title, "unit": f.unit,
            "deadline": f.deadline, "state": "todo",
        })),
    })
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Findings the scope may read, of one inspection or all, in the order recorded.
pub(super) async fn list<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    inspection: Option<InspectionId>,
) -> Result<Vec<FindingRow>> {
    let (cond, values) = item_scope_sql(scope, 2);
    let text =
        format!("{FINDING_SELECT} WHERE ($1 < 0 OR f.inspection_id = $1){cond} ORDER BY f.id");
    let mut q = sql(text).bind(inspection.map_or(-1, fupin_domain::id::Id::get));
    for v in &values {
        q.push(v);
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    rows.iter().map(finding).collect()
}

/// One finding by `column = id`, in the scope.
pub(super) async fn one_where<DB: Backend>(
    pool: &Pool<DB>,
    column: &str,
    scope: &ItemScope,
    id: i64,
) -> Result<Option<FindingRow>> {
    let (cond, values) = item_scope_sql(scope, 2);
    let text = format!("{FINDING_SELECT} WHERE {column} = $1{cond}");
    let mut q = sql(text).bind(id);
    for v in &values {
        q.push(v);
    }
    match q.fetch_optional(&mut *pool.acquire().await?).await? {
        Some(r) => Ok(Some(finding(&r)?)),
        None => Ok(None),
    }
}
