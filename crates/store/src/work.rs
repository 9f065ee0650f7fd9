//! Gaps (短板) and work items (交办事项) in the database.
//!
//! After every register import, [`Store::refresh_gaps`] derives the version's gaps with
//! `fupin_domain::gap` (failed criteria of households, open data problems, failed village
//! conditions and incidence), routes each by the plan in force for the register's year
//! (`fupin_domain::gap::route`), and reconciles them with the stored gaps by their stable
//! key: a gap found again is the same row; a new gap is opened and, when the plan routes
//! it to a task, a work item is assigned (交办) to the task's lead unit; a gap that no
//! longer fails is closed with the evidence. Running it twice changes nothing the second
//! time.
//!
//! Work items move through the domain's state machine (`fupin_domain::work_item::can`);
//! every move is a `work_events` row (what item pages show) and an audit row.
//!
//! What a user may read is decided in SQL by an [`ItemScope`]: unit staff their unit's
//! items and gaps, township and village staff their area's, the others everything.

use crate::accounts::{Role, User, UserId};
use crate::audit::{Audit, Record};
use crate::plan::{PlanId, StoredPlan};
use crate::register::{clamp_limit, failed, verdict, Page, VersionId};
use crate::rows::{BeginWrite, Get};
use crate::scope::Scope;
use crate::{now, on_pool, Result, Store, StoreError};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fupin_domain::figures::{Rate, VillageConditions};
use fupin_domain::gap::{household_gaps, problem_gap, route, village_gaps, Gap, Route};
use fupin_domain::plan::GapKind;
use fupin_domain::values::Labor;
use fupin_domain::work_item::{
    can, can_edit, is_overdue, percent, reopen_reason, Actor, ItemFacts, Refusal, WorkAction,
    WorkState,
};
use fupin_domain::{Assessment, ProblemCode, Verdict};
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};

pub type GapId = i64;
pub type WorkItemId = i64;

/// What part of gaps and work items a user may read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemScope {
    /// Headquarters, county leaders, inspectors.
    All,
    /// Unit staff: items assigned to their unit, gaps routed to it.
    Unit(String),
    /// Township and village staff: items and gaps in their area.
    Area(Scope),
}

impl ItemScope {
    pub fn of(role: &Role) -> ItemScope {
        match role {
            Role::HqAdmin | Role::CountyLeader | Role::Inspector => ItemScope::All,
            Role::UnitStaff { unit } => ItemScope::Unit(unit.clone()),
            r => ItemScope::Area(Scope::of(r)),
        }
    }

    /// SQL conditions (each starting with ` AND`) on a table aliased `alias` with columns
    /// `township`, `village` and `unit_column`, placeholders numbered from `first`.
    fn sql(&self, alias: &str, unit_column: &str, first: usize) -> (String, Vec<String>) {
        match self {
            ItemScope::All => (String::new(), Vec::new()),
            ItemScope::Unit(u) => (
                format!(" AND {alias}.{unit_column} = ${first}"),
                vec![u.clone()],
            ),
            ItemScope::Area(Scope::County) => (String::new(), Vec::new()),
            ItemScope::Area(Scope::Township { township }) => (
                format!(" AND {alias}.township = ${first}"),
                vec![township.clone()],
            ),
            ItemScope::Area(Scope::Village { township, village }) => (
                format!(
                    " AND {alias}.township = ${first} AND {alias}.village = ${}",
                    first + 1
                ),
                vec![township.clone(), village.clone()],
            ),
        }
    }
}

/// Today in the county (UTC+8): deadlines are days there.
pub fn today() -> NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    Utc::now().with_timezone(&cst).date_naive()
}

fn cst_date(t: DateTime<Utc>) -> NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&cst).date_naive()
}

// ---------------------------------------------------------------------------------------
// Gaps.

/// A stored gap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GapRow {
    pub id: GapId,
    pub key: String,
    pub kind: String,
    pub township: String,
    pub village: String,
    pub household_no: Option<String>,
    pub detail: String,
    pub open: bool,
    /// None: in the headquarters' queue.
    pub task_no: Option<u32>,
    pub lead_unit: Option<String>,
    pub first_version: VersionId,
    pub last_version: VersionId,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub evidence: Option<String>,
    pub work_item: Option<WorkItemId>,
}

const GAP_COLUMNS: &str = "g.id, g.gap_key, g.kind, g.township, g.village, g.household_no, \
     g.detail, g.open, g.task_no, g.lead_unit, g.first_version, g.last_version, g.opened_at, \
     g.closed_at, g.evidence, (SELECT w.id FROM work_items w WHERE w.gap_id = g.id) AS item_id";

fn gap_row(r: &impl Get) -> Result<GapRow> {
    Ok(GapRow {
        id: r.int("id")?,
        key: r.text("gap_key")?,
        kind: r.text("kind")?,
        township: r.text("township")?,
        village: r.text("village")?,
        household_no: r.opt_text("household_no")?,
        detail: r.text("detail")?,
        open: r.bool("open")?,
        task_no: r.opt_int("task_no")?.map(|n| n as u32),
        lead_unit: r.opt_text("lead_unit")?,
        first_version: r.int("first_version")?,
        last_version: r.int("last_version")?,
        opened_at: r.time("opened_at")?,
        closed_at: r.opt_time("closed_at")?,
        evidence: r.opt_text("evidence")?,
        work_item: r.opt_int("item_id")?,
    })
}

/// Which gaps to list.
#[derive(Clone, Debug, Default)]
pub struct GapFilter {
    /// Open gaps only.
    pub open: bool,
    /// Only the headquarters' queue (gaps no task answers for).
    pub unrouted: bool,
    pub kind: Option<String>,
    pub task_no: Option<u32>,
}

/// What a refresh did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GapRefresh {
    pub version: VersionId,
    pub plan: Option<PlanId>,
    /// Gaps the version has (open after the refresh).
    pub found: u64,
    pub opened: u64,
    pub reopened: u64,
    pub closed: u64,
    /// Gaps the plan routes nowhere (the headquarters' queue).
    pub unrouted: u64,
    pub items_created: u64,
}

/// A stored gap as a refresh compares it with what a version has.
struct KnownGap {
    id: i64,
    open: bool,
    task_no: Option<i64>,
    lead_unit: Option<String>,
    detail: String,
    /// Its work item: id, state and unit.
    item: Option<(i64, String, String)>,
}

/// The advisory lock key of gap refreshes on PostgreSQL.
pub(crate) const REFRESH_LOCK: i64 = 0x6675_7069_6e07;

/// The advisory lock key of scheduled escalations on PostgreSQL.
const ESCALATE_LOCK: i64 = 0x6675_7069_6e08;

/// What an escalation says: the deadline missed and the leader it goes to.
fn escalation_note(deadline: Option<NaiveDate>, leader: &str) -> String {
    format!(
        "逾期未办结（时限 {}），升级至责任领导{leader}督办",
        deadline.map(|d| d.to_string()).unwrap_or_default()
    )
}

/// Rows per statement when a refresh writes many (at most 12 values a row: well under
/// SQLite's 32,766 and PostgreSQL's 65,535 parameters).
const BATCH: usize = 500;

/// Placeholder number `i`: `$i` on PostgreSQL; on SQLite the anonymous `?`, bound in
/// order (every statement built with it uses each value once, in bind order). SQLite
/// keeps `$N` (and `?N`) parameters in a list that it searches linearly for each bind, so
/// a statement of 6,000 numbered parameters costs 18 million steps to bind: 64% of a gap
/// refresh's time at 10^6 households (perf), the register import uses `?` for this.
fn mark(postgres: bool, i: usize) -> String {
    if postgres {
        format!("${i}")
    } else {
        "?".to_string()
    }
}

/// `$first, $first+1, …` (or `?, ?, …`) for `n` values.
fn placeholders(postgres: bool, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| mark(postgres, i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n` rows of `width` placeholders numbered from 1 (or `?`), each written by `row`.
fn value_rows(postgres: bool, n: usize, width: usize, row: impl Fn(&[String]) -> String) -> String {
    (0..n)
        .map(|r| {
            let p: Vec<String> = (1..=width).map(|c| mark(postgres, r * width + c)).collect();
            row(&p)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Bind text values in order (a scope's conditions, then a filter's).
fn bind_texts<'q, DB: sqlx::Database>(
    q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    values: impl IntoIterator<Item = &'q String>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    values.into_iter().fold(q, |q, v| q.bind(v))
}

/// An item's row as it is now, read under the write lock (PostgreSQL locks the row;
/// SQLite's transaction holds the database's write lock): `columns` of item `$1`.
fn locked_item(postgres: bool, columns: &str) -> String {
    let lock = if postgres { " FOR UPDATE" } else { "" };
    format!("SELECT {columns} FROM work_items WHERE id = $1{lock}")
}

/// A step or change checked against an item that another user has changed since.
fn changed_meanwhile() -> Refusal {
    Refusal::WrongState("事项刚被他人处理过，请刷新后再试".into())
}

/// The audit row of a change to work item `id`: `action` by `user` (None: the system).
fn item_record(
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

/// A gap of the version with what routing and display need.
struct Found {
    gap: Gap,
    township: String,
    village: String,
    has_labor: bool,
    detail: String,
}

/// Open gaps per kind, and the headquarters' queue: for dashboards.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GapCounts {
    pub open_by_kind: Vec<(String, u64)>,
    pub open: u64,
    pub unrouted: u64,
    pub closed: u64,
}

// ---------------------------------------------------------------------------------------
// Work items.

/// A work item as lists and pages show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkItem {
    pub id: WorkItemId,
    pub gap_id: Option<GapId>,
    pub plan_id: Option<PlanId>,
    pub task_no: Option<u32>,
    pub task: Option<String>,
    /// The post of the task's responsible leader.
    pub leader: Option<String>,
    pub title: String,
    pub detail: String,
    pub unit: String,
    pub township: Option<String>,
    pub village: Option<String>,
    pub household_no: Option<String>,
    pub deadline: Option<NaiveDate>,
    pub state: WorkState,
    pub progress: u8,
    pub reminders: u64,
    pub escalated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WorkItem {
    pub fn overdue(&self, today: NaiveDate) -> bool {
        is_overdue(self.state, self.deadline, today)
    }

    pub fn facts(&self) -> ItemFacts<'_> {
        ItemFacts {
            state: self.state,
            unit: &self.unit,
            leader: self.leader.as_deref(),
            deadline: self.deadline,
            escalated: self.escalated_at.is_some(),
        }
    }
}

const ITEM_COLUMNS: &str = "w.id, w.gap_id, w.plan_id, w.task_no, t.title AS task_title, \
     t.leader, w.title, w.detail, w.unit, w.township, w.village, g.household_no, w.deadline, \
     w.state, w.progress, w.reminders, w.escalated_at, w.created_at, w.updated_at";

const ITEM_FROM: &str = "FROM work_items w \
     LEFT JOIN plan_tasks t ON t.plan_id = w.plan_id AND t.task_no = w.task_no \
     LEFT JOIN gaps g ON g.id = w.gap_id";

fn item(r: &impl Get) -> Result<WorkItem> {
    let s = r.text("state")?;
    Ok(WorkItem {
        id: r.int("id")?,
        gap_id: r.opt_int("gap_id")?,
        plan_id: r.opt_int("plan_id")?,
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
    })
}

fn item_json(i: &WorkItem) -> serde_json::Value {
    json!({
        "state": i.state.word(), "unit": i.unit, "deadline": i.deadline,
        "progress": i.progress, "task_no": i.task_no, "reminders": i.reminders,
        "escalated_at": i.escalated_at,
    })
}

/// One entry of an item's history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// None: the system (a reassessment).
    pub username: Option<String>,
    pub action: String,
    pub from_state: WorkState,
    pub to_state: WorkState,
    pub note: String,
    pub percent: Option<u8>,
    pub attachments: Vec<AttachmentInfo>,
}

/// An attachment without its bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttachmentInfo {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

/// An attachment with its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub info: AttachmentInfo,
    pub item_id: WorkItemId,
    pub data: Vec<u8>,
}

/// A file to attach to a progress report.
#[derive(Clone, Debug)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// The largest attachment kept (the database holds the bytes).
pub const MAX_ATTACHMENT_BYTES: usize = 10 << 20;

/// A work item entered by hand (交办) by the headquarters.
#[derive(Clone, Debug)]
pub struct NewWorkItem {
    /// From a gap (one item per gap), e.g. one in the headquarters' queue.
    pub gap_id: Option<GapId>,
    /// The plan task it belongs to, if any (the plan in force).
    pub task_no: Option<u32>,
    pub title: String,
    pub detail: String,
    pub unit: String,
    pub deadline: Option<NaiveDate>,
}

/// A change of an item's deadline or unit by the headquarters (改期、改派).
#[derive(Clone, Debug)]
pub struct ItemEdit {
    /// The new deadline (None: no deadline).
    pub deadline: Option<NaiveDate>,
    /// The unit it is assigned to (unchanged: the same unit).
    pub unit: String,
    /// Why: required.
    pub reason: String,
}

/// A step to take on an item.
#[derive(Clone, Debug)]
pub struct Step {
    pub action: WorkAction,
    /// A report's text, a reopen's reason, a reminder's words.
    pub note: String,
    /// A report's percentage.
    pub percent: Option<i64>,
    pub attachments: Vec<NewAttachment>,
}

/// Which items to list.
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    /// None: every state.
    pub state: Option<WorkState>,
    /// Pending items only (待办, 办理中).
    pub pending: bool,
    /// Overdue items only (pending and past the deadline on `today`).
    pub overdue_on: Option<NaiveDate>,
    pub unit: Option<String>,
    pub task_no: Option<u32>,
    /// Items of tasks whose responsible leader is this post.
    pub leader: Option<String>,
    /// Escalated items only.
    pub escalated: bool,
}

/// One row of the responsibility matrix: a task of the plan with its people and counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatrixRow {
    pub task_no: u32,
    pub task: String,
    pub leader: String,
    pub lead_unit: String,
    /// (unit, responsible person) pairs.
    pub units: Vec<(String, String)>,
    pub deadline: String,
    pub owns: Vec<String>,
    pub open: u64,
    pub overdue: u64,
    pub done: u64,
    pub closed: u64,
    pub open_gaps: u64,
}

/// Who acts: the account and what the state machine knows of it.
pub struct ActingUser<'a> {
    pub user: &'a User,
    /// A county leader's post.
    pub post: Option<String>,
}

impl ActingUser<'_> {
    pub fn actor(&self) -> Actor<'_> {
        match &self.user.role {
            Role::HqAdmin => Actor::Headquarters,
            Role::Inspector => Actor::Inspector,
            Role::CountyLeader => Actor::CountyLeader {
                post: self.post.as_deref(),
            },
            Role::UnitStaff { unit } => Actor::UnitStaff {
                unit: unit.as_str(),
            },
            Role::TownshipStaff { .. } | Role::VillageStaff { .. } => Actor::AreaStaff,
        }
    }
}

// ---------------------------------------------------------------------------------------

impl Store {
    /// Derive the gaps of a register version, route them by the plan in force for its
    /// year, and reconcile them with the stored gaps (see the module documentation). One
    /// transaction; one audit row (`refresh_gaps`) with the counts. `threshold_bp` is the
    /// incidence threshold (200 central, 300 west); None: the county's setting
    /// ([`Store::set_incidence_threshold`]). Idempotent. A register import runs the same
    /// refresh inside its own transaction (all or nothing).
    pub async fn refresh_gaps(
        &self,
        version: VersionId,
        threshold_bp: Option<u64>,
        by: Option<UserId>,
    ) -> Result<GapRefresh> {
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
                let out =
                    sqlite_refresh::refresh_in(&mut tx, self, version, threshold_bp, by, None)
                        .await?;
                tx.commit().await?;
                Ok(out)
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin_write().await?;
                let out =
                    pg_refresh::refresh_in(&mut tx, self, version, threshold_bp, by, None).await?;
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    /// Gaps the scope may read, by id, paged by key.
    pub async fn gaps(
        &self,
        scope: &ItemScope,
        filter: &GapFilter,
        after: Option<GapId>,
        limit: u32,
    ) -> Result<Page<GapRow, GapId>> {
        let limit = clamp_limit(limit);
        let (cond, values) = scope.sql("g", "lead_unit", 3);
        let mut sql = format!("SELECT {GAP_COLUMNS} FROM gaps g WHERE g.id > $1{cond}");
        if filter.open {
            sql.push_str(" AND g.open");
        }
        if filter.unrouted {
            sql.push_str(" AND g.task_no IS NULL");
        }
        let mut n = 3 + values.len();
        if filter.kind.is_some() {
            sql.push_str(&format!(" AND g.kind = ${n}"));
            n += 1;
        }
        if filter.task_no.is_some() {
            sql.push_str(&format!(" AND g.task_no = ${n}"));
        }
        sql.push_str(" ORDER BY g.id LIMIT $2");
        let items = on_pool!(self, pool => {
            let mut q = bind_texts(sqlx::query(&sql).bind(after.unwrap_or(0)).bind(limit + 1), &values);
            if let Some(k) = &filter.kind {
                q = q.bind(k);
            }
            if let Some(t) = filter.task_no {
                q = q.bind(i64::from(t));
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(gap_row).collect::<Result<Vec<_>>>()?
        });
        Ok(Page::of(items, limit, |g| g.id))
    }

    /// A household's gaps, open first, then by id, each with its work item when the
    /// scope may read it. Scoped like the gaps list (unit staff: the gaps routed to their
    /// unit, or whose item they now hold; area staff: their area's).
    pub async fn household_gaps(
        &self,
        scope: &ItemScope,
        household_no: &str,
    ) -> Result<Vec<(GapRow, Option<WorkItem>)>> {
        let (cond, values) = match scope {
            ItemScope::Unit(u) => (
                " AND (g.lead_unit = $2 OR EXISTS (SELECT 1 FROM work_items x \
                  WHERE x.gap_id = g.id AND x.unit = $2))"
                    .to_string(),
                vec![u.clone()],
            ),
            s => s.sql("g", "lead_unit", 2),
        };
        let sql = format!(
            "SELECT {GAP_COLUMNS} FROM gaps g WHERE g.household_no = $1{cond} \
             ORDER BY g.open DESC, g.id"
        );
        // The items of all its gaps in one statement (not one per gap), in the scope as
        // `work_item` reads one; on the same connection.
        let (item_cond, item_values) = scope.sql("w", "unit", 2);
        let items_sql = format!(
            "SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE w.gap_id IN \
             (SELECT x.id FROM gaps x WHERE x.household_no = $1){item_cond}"
        );
        let (gaps, mut items) = on_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            let q = bind_texts(sqlx::query(&sql).bind(household_no), &values);
            let rows = q.fetch_all(&mut *conn).await?;
            let gaps = rows.iter().map(gap_row).collect::<Result<Vec<_>>>()?;
            let mut items = Vec::new();
            if gaps.iter().any(|g| g.work_item.is_some()) {
                let q = bind_texts(sqlx::query(&items_sql).bind(household_no), &item_values);
                for r in q.fetch_all(&mut *conn).await? {
                    items.push(item(&r)?);
                }
            }
            (gaps, items)
        });
        Ok(gaps
            .into_iter()
            .map(|g| {
                let i = g
                    .work_item
                    .and_then(|id| items.iter().position(|i| i.id == id))
                    .map(|at| items.swap_remove(at));
                (g, i)
            })
            .collect())
    }

    /// A gap the scope may read.
    pub async fn gap(&self, scope: &ItemScope, id: GapId) -> Result<Option<GapRow>> {
        let (cond, values) = scope.sql("g", "lead_unit", 2);
        let sql = format!("SELECT {GAP_COLUMNS} FROM gaps g WHERE g.id = $1{cond}");
        Ok(on_pool!(self, pool => {
            let q = bind_texts(sqlx::query(&sql).bind(id), &values);
            match q.fetch_optional(pool).await? {
                Some(r) => Some(gap_row(&r)?),
                None => None,
            }
        }))
    }

    /// Open gaps by kind, the headquarters' queue and closed gaps, in the scope.
    pub async fn gap_counts(&self, scope: &ItemScope) -> Result<GapCounts> {
        let (cond, values) = scope.sql("g", "lead_unit", 1);
        // The county and a unit read the few rows of `gap_counts` (kept by every refresh);
        // a township or village counts its own gaps through the area index.
        let whole_county = matches!(
            scope,
            ItemScope::All | ItemScope::Unit(_) | ItemScope::Area(Scope::County)
        );
        // One statement: counts by kind, open or closed, and routed or not.
        let sql = if whole_county {
            format!(
                "SELECT g.kind, CAST(CASE WHEN g.open THEN 1 ELSE 0 END AS BIGINT) AS open_gap, \
                 CAST(CASE WHEN g.unrouted THEN 1 ELSE 0 END AS BIGINT) AS unrouted, \
                 CAST(SUM(g.n) AS BIGINT) AS n \
                 FROM gap_counts g WHERE 1 = 1{cond} GROUP BY 1, 2, 3"
            )
        } else {
            format!(
                "SELECT g.kind, CAST(CASE WHEN g.open THEN 1 ELSE 0 END AS BIGINT) AS open_gap, \
                 CAST(CASE WHEN g.task_no IS NULL THEN 1 ELSE 0 END AS BIGINT) AS unrouted, \
                 COUNT(*) AS n FROM gaps g WHERE 1 = 1{cond} GROUP BY 1, 2, 3"
            )
        };
        let rows: Vec<(String, bool, bool, u64)> = on_pool!(self, pool => {
            let q = bind_texts(sqlx::query(&sql), &values);
            let mut rows = Vec::new();
            for r in q.fetch_all(pool).await? {
                rows.push((
                    r.text("kind")?,
                    r.int("open_gap")? == 1,
                    r.int("unrouted")? == 1,
                    crate::rows::count(&r, "n")?,
                ));
            }
            rows
        });
        let mut by_kind: std::collections::BTreeMap<String, u64> = Default::default();
        let mut counts = GapCounts {
            open_by_kind: Vec::new(),
            open: 0,
            unrouted: 0,
            closed: 0,
        };
        for (kind, open, unrouted, n) in rows {
            if !open {
                counts.closed += n;
                continue;
            }
            counts.open += n;
            if unrouted {
                counts.unrouted += n;
            }
            *by_kind.entry(kind).or_default() += n;
        }
        counts.open_by_kind = by_kind.into_iter().filter(|(_, n)| *n > 0).collect();
        Ok(counts)
    }

    /// Work items the scope may read, newest first, paged by key.
    pub async fn work_items(
        &self,
        scope: &ItemScope,
        filter: &ItemFilter,
        before: Option<WorkItemId>,
        limit: u32,
    ) -> Result<Page<WorkItem, WorkItemId>> {
        let limit = clamp_limit(limit);
        let (cond, values) = scope.sql("w", "unit", 3);
        let mut sql = format!("SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE w.id < $1{cond}");
        let mut texts: Vec<String> = Vec::new();
        let mut n = 3 + values.len();
        let mut push = |sql: &mut String, clause: &str, v: String| {
            sql.push_str(&clause.replace("$?", &format!("${n}")));
            texts.push(v);
            n += 1;
        };
        if let Some(s) = filter.state {
            push(&mut sql, " AND w.state = $?", s.word().into());
        }
        if let Some(u) = &filter.unit {
            push(&mut sql, " AND w.unit = $?", u.clone());
        }
        if let Some(p) = &filter.leader {
            push(&mut sql, " AND t.leader = $?", p.clone());
        }
        let task_no = filter.task_no.map(i64::from);
        let overdue = filter.overdue_on;
        if filter.pending || overdue.is_some() {
            sql.push_str(" AND w.state IN ('todo', 'in_progress')");
        }
        if filter.escalated {
            sql.push_str(" AND w.escalated_at IS NOT NULL");
        }
        let task_at = n;
        if task_no.is_some() {
            sql.push_str(&format!(" AND w.task_no = ${task_at}"));
        }
        let day_at = task_at + usize::from(task_no.is_some());
        if overdue.is_some() {
            sql.push_str(&format!(" AND w.deadline < ${day_at}"));
        }
        sql.push_str(" ORDER BY w.id DESC LIMIT $2");
        let items = on_pool!(self, pool => {
            let mut q = bind_texts(
                sqlx::query(&sql).bind(before.unwrap_or(i64::MAX)).bind(limit + 1),
                values.iter().chain(&texts),
            );
            if let Some(t) = task_no {
                q = q.bind(t);
            }
            if let Some(d) = overdue {
                q = q.bind(d);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(item).collect::<Result<Vec<_>>>()?
        });
        Ok(Page::of(items, limit, |i| i.id))
    }

    /// A work item the scope may read.
    pub async fn work_item(&self, scope: &ItemScope, id: WorkItemId) -> Result<Option<WorkItem>> {
        let (cond, values) = scope.sql("w", "unit", 2);
        let sql = format!("SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE w.id = $1{cond}");
        Ok(on_pool!(self, pool => {
            let q = bind_texts(sqlx::query(&sql).bind(id), &values);
            match q.fetch_optional(pool).await? {
                Some(r) => Some(item(&r)?),
                None => None,
            }
        }))
    }

    /// An item's history, oldest first, with its attachments (without their bytes). The
    /// caller has read the item through its scope.
    pub async fn work_events(&self, id: WorkItemId) -> Result<Vec<WorkEvent>> {
        let events = "SELECT e.id, e.at, u.username, e.action, e.from_state, e.to_state, e.note, \
                      e.percent FROM work_events e LEFT JOIN users u ON u.id = e.user_id \
                      WHERE e.item_id = $1 ORDER BY e.id";
        let files = "SELECT id, event_id, file_name, content_type, size FROM work_attachments \
                     WHERE item_id = $1 ORDER BY id";
        Ok(on_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(events).bind(id).fetch_all(pool).await? {
                let state = |c: &str| -> Result<WorkState> {
                    let s = r.text(c)?;
                    WorkState::parse(&s).ok_or_else(|| StoreError::corrupt(format!("事项状态「{s}」")))
                };
                out.push(WorkEvent {
                    id: r.int("id")?,
                    at: r.time("at")?,
                    username: r.opt_text("username")?,
                    action: r.text("action")?,
                    from_state: state("from_state")?,
                    to_state: state("to_state")?,
                    note: r.text("note")?,
                    percent: r.opt_int("percent")?.map(|p| p.clamp(0, 100) as u8),
                    attachments: Vec::new(),
                });
            }
            for r in sqlx::query(files).bind(id).fetch_all(pool).await? {
                let event_id = r.int("event_id")?;
                if let Some(e) = out.iter_mut().find(|e| e.id == event_id) {
                    e.attachments.push(AttachmentInfo {
                        id: r.int("id")?,
                        file_name: r.text("file_name")?,
                        content_type: r.text("content_type")?,
                        size: crate::rows::count(&r, "size")?,
                    });
                }
            }
            out
        }))
    }

    /// An attachment, if its item is in the scope.
    pub async fn attachment(&self, scope: &ItemScope, id: i64) -> Result<Option<Attachment>> {
        let (cond, values) = scope.sql("w", "unit", 2);
        let sql = format!(
            "SELECT a.id, a.item_id, a.file_name, a.content_type, a.size, a.data \
             FROM work_attachments a JOIN work_items w ON w.id = a.item_id WHERE a.id = $1{cond}"
        );
        Ok(on_pool!(self, pool => {
            let q = bind_texts(sqlx::query(&sql).bind(id), &values);
            match q.fetch_optional(pool).await? {
                Some(r) => {
                    use sqlx::Row;
                    Some(Attachment {
                        info: AttachmentInfo {
                            id: r.int("id")?,
                            file_name: r.text("file_name")?,
                            content_type: r.text("content_type")?,
                            size: crate::rows::count(&r, "size")?,
                        },
                        item_id: r.int("item_id")?,
                        data: r.try_get("data")?,
                    })
                }
                None => None,
            }
        }))
    }

    /// Assign a work item by hand (交办): headquarters only. From a gap (one item per gap),
    /// or on its own. Audited (`create_work_item`).
    pub async fn create_work_item(
        &self,
        by: &ActingUser<'_>,
        new: &NewWorkItem,
    ) -> Result<Result<WorkItem, Refusal>> {
        if by.actor() != Actor::Headquarters {
            return Ok(Err(Refusal::NotAllowed("只有指挥部可以交办事项".into())));
        }
        let (title, unit) = (new.title.trim(), new.unit.trim());
        if title.is_empty() || unit.is_empty() {
            return Ok(Err(Refusal::WrongState(
                "交办事项要写明事项和承办单位".into(),
            )));
        }
        let plan = self.current_plan(None).await?;
        let plan_id = plan.as_ref().map(|p: &StoredPlan| p.revision.id);
        if let Some(no) = new.task_no {
            if plan.as_ref().and_then(|p| p.plan.task(no)).is_none() {
                return Ok(Err(Refusal::WrongState(format!(
                    "现行方案中没有第 {no} 项重点工作"
                ))));
            }
        }
        let at = now();
        let id = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (township, village) = match new.gap_id {
                Some(g) => {
                    let r = sqlx::query(
                        "SELECT g.township, g.village, g.open, \
                         (SELECT COUNT(*) FROM work_items w WHERE w.gap_id = g.id) AS items \
                         FROM gaps g WHERE g.id = $1",
                    )
                    .bind(g)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(r) = r else {
                        return Ok(Err(Refusal::WrongState(format!("短板 {g} 不存在"))));
                    };
                    if r.int("items")? > 0 {
                        return Ok(Err(Refusal::WrongState("该短板已交办".into())));
                    }
                    if !r.bool("open")? {
                        return Ok(Err(Refusal::WrongState("该短板已销号，无需交办".into())));
                    }
                    (Some(r.text("township")?), Some(r.text("village")?))
                }
                None => (None, None),
            };
            let r = sqlx::query(
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
            let id = r.int("id")?;
            event(&mut *tx, id, at, Some(by.user.id), "assign", "todo", "todo", &format!("交办{unit}"), None).await?;
            let after = json!({
                "gap_id": new.gap_id, "task_no": new.task_no, "title": title,
                "unit": unit, "deadline": new.deadline, "state": "todo",
            });
            tx.audit(item_record(at, Some(by.user.id), "create_work_item", id, None, after))
                .await?;
            tx.commit().await?;
            id
        });
        Ok(Ok(self.work_item(&ItemScope::All, id).await?.ok_or_else(
            || StoreError::corrupt("刚交办的事项找不到了"),
        )?))
    }

    /// Take a step on an item the user may read: checked by the state machine against
    /// the item as it is in the transaction, written with its event and an audit row
    /// (`work_item_<action>`, state before and after). `Ok(Err(_))` when the state machine
    /// refuses; `Ok(Ok(None))` when the item is not in the user's scope.
    pub async fn act_on_work_item(
        &self,
        by: &ActingUser<'_>,
        id: WorkItemId,
        step: &Step,
        today: NaiveDate,
    ) -> Result<Result<Option<WorkItem>, Refusal>> {
        let scope = ItemScope::of(&by.user.role);
        let Some(before) = self.work_item(&scope, id).await? else {
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
            return Ok(Err(Refusal::WrongState(
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
            return Ok(Err(Refusal::WrongState(format!(
                "附件「{}」超过 {} MB",
                a.file_name,
                MAX_ATTACHMENT_BYTES >> 20
            ))));
        }
        let to = step.action.next(before.state);
        let at = now();
        let postgres = self.backend() == "postgres";
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // The state and escalation as they are now, under the write lock: a step
            // checked against a stale read is checked again.
            let r = sqlx::query(&locked_item(postgres, "state, escalated_at"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let current = r.text("state")?;
            let escalated = r.opt_time("escalated_at")?.is_some();
            if current != before.state.word() || escalated != before.escalated_at.is_some() {
                return Ok(Err(changed_meanwhile()));
            }
            let progress = match (step.action, pct) {
                (_, Some(p)) => i64::from(p),
                (WorkAction::Complete | WorkAction::Close, _) => 100,
                _ => i64::from(before.progress),
            };
            sqlx::query(
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
            let note = if note.is_empty() {
                step.action.chinese().to_string()
            } else {
                note
            };
            let event_id = event(
                &mut *tx, id, at, Some(by.user.id), step.action.word(), before.state.word(), to.word(),
                &note, pct.map(i64::from),
            )
            .await?;
            for a in &step.attachments {
                sqlx::query(
                    "INSERT INTO work_attachments (event_id, item_id, file_name, content_type, size, data) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(event_id)
                .bind(id)
                .bind(&a.file_name)
                .bind(&a.content_type)
                .bind(a.data.len() as i64)
                .bind(&a.data)
                .execute(&mut *tx)
                .await?;
            }
            let mut after = item_json(&before);
            after["state"] = json!(to.word());
            after["progress"] = json!(progress);
            after["note"] = json!(note);
            after["attachments"] = json!(step.attachments.iter().map(|a| json!({"file_name": a.file_name, "size": a.data.len()})).collect::<Vec<_>>());
            let action = format!("work_item_{}", step.action.word());
            tx.audit(item_record(at, Some(by.user.id), &action, id, Some(item_json(&before)), after))
                .await?;
            tx.commit().await?;
        });
        Ok(Ok(self.work_item(&scope, id).await?))
    }

    /// Escalate every overdue item not yet escalated to its task's leader (headquarters;
    /// each one audited like a single escalation). Returns how many.
    pub async fn escalate_overdue(
        &self,
        by: &ActingUser<'_>,
        today: NaiveDate,
    ) -> Result<Result<u64, Refusal>> {
        if by.actor() != Actor::Headquarters {
            return Ok(Err(Refusal::NotAllowed("只有指挥部可以升级督办".into())));
        }
        let filter = ItemFilter {
            overdue_on: Some(today),
            ..ItemFilter::default()
        };
        let mut n = 0;
        let mut before = None;
        loop {
            let page = self
                .work_items(&ItemScope::All, &filter, before, 500)
                .await?;
            for i in &page.items {
                if i.escalated_at.is_some() {
                    continue;
                }
                let step = Step {
                    action: WorkAction::Escalate,
                    note: escalation_note(i.deadline, i.leader.as_deref().unwrap_or_default()),
                    percent: None,
                    attachments: Vec::new(),
                };
                if let Ok(Some(_)) = self.act_on_work_item(by, i.id, &step, today).await? {
                    n += 1;
                }
            }
            match page.next {
                Some(k) => before = Some(k),
                None => return Ok(Ok(n)),
            }
        }
    }

    /// Change an item's deadline and/or reassign it to another unit (改期、改派):
    /// headquarters only, with a reason (`work_item::can_edit`), checked again against
    /// the item as it is in the transaction. The item leaves the old unit's inbox and is
    /// in the new one's at once (inboxes are `work_items.unit`). A new deadline clears the
    /// escalation: an item is escalated once per deadline, so if the new deadline passes
    /// too it is escalated again. One event (`edit`) with the change and the reason, and
    /// an audit row `work_item_edit` with deadline, unit and escalation before and after.
    /// `Ok(Ok(None))` when the item does not exist.
    pub async fn edit_work_item(
        &self,
        by: &ActingUser<'_>,
        id: WorkItemId,
        edit: &ItemEdit,
    ) -> Result<Result<Option<WorkItem>, Refusal>> {
        let scope = ItemScope::of(&by.user.role);
        let Some(before) = self.work_item(&scope, id).await? else {
            return Ok(Ok(None));
        };
        let reason = match can_edit(by.actor(), before.state, &edit.reason) {
            Ok(r) => r.to_string(),
            Err(e) => return Ok(Err(e)),
        };
        let unit = edit.unit.trim();
        if unit.is_empty() {
            return Ok(Err(Refusal::WrongState("承办单位不能为空".into())));
        }
        let moved = unit != before.unit;
        let redated = edit.deadline != before.deadline;
        if !moved && !redated {
            return Ok(Err(Refusal::WrongState("时限和承办单位都没有改动".into())));
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
        let postgres = self.backend() == "postgres";
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let r = sqlx::query(&locked_item(postgres, "state, unit, deadline, escalated_at"))
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
            sqlx::query(
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
            event(&mut *tx, id, at, Some(by.user.id), "edit", s, s, &note, None).await?;
            let mut after = item_json(&before);
            after["unit"] = json!(unit);
            after["deadline"] = json!(edit.deadline);
            if redated {
                after["escalated_at"] = serde_json::Value::Null;
            }
            after["reason"] = json!(reason);
            tx.audit(item_record(at, Some(by.user.id), "work_item_edit", id, Some(item_json(&before)), after))
                .await?;
            tx.commit().await?;
        });
        Ok(Ok(self.work_item(&scope, id).await?))
    }

    /// Scheduled escalation (督办升级 by the system): every item of a plan task still with
    /// its unit after its deadline on `today`, and not yet escalated for that deadline, is
    /// put before the task's responsible leader — the step the headquarters takes by hand,
    /// as the system (events and audit rows without a user). Items outside the plan have
    /// no leader and are left to the headquarters. Idempotent: an item is escalated once
    /// per deadline (a new deadline clears the escalation, [`Store::edit_work_item`]).
    ///
    /// Safe from several server processes on one PostgreSQL: each batch of 500 takes a
    /// transaction-scoped advisory lock with `pg_try_advisory_xact_lock` — a process that
    /// does not get it stops, the one holding it is escalating — and the items with
    /// `FOR UPDATE SKIP LOCKED`, and writes only rows still not escalated. On SQLite the
    /// write lock does the same for one process. Returns how many items this call
    /// escalated.
    pub async fn escalate_overdue_as_system(&self, today: NaiveDate) -> Result<u64> {
        let postgres = self.backend() == "postgres";
        let select = format!(
            "SELECT w.id, w.state, w.deadline, t.leader FROM work_items w \
             JOIN plan_tasks t ON t.plan_id = w.plan_id AND t.task_no = w.task_no \
             WHERE w.state IN ('todo', 'in_progress') AND w.deadline < $1 \
             AND w.escalated_at IS NULL ORDER BY w.id LIMIT {BATCH}{}",
            if postgres {
                " FOR UPDATE OF w SKIP LOCKED"
            } else {
                ""
            }
        );
        let mut n = 0;
        loop {
            let at = now();
            let done = on_pool!(self, pool => {
                let mut tx = pool.begin_write().await?;
                if postgres {
                    let r = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                        .bind(ESCALATE_LOCK)
                        .fetch_one(&mut *tx)
                        .await?;
                    if !r.bool("locked")? {
                        // Another process is escalating; it takes what is left.
                        return Ok(n);
                    }
                }
                let mut due = Vec::new();
                for r in sqlx::query(&select).bind(today).fetch_all(&mut *tx).await? {
                    due.push((
                        r.int("id")?,
                        r.text("state")?,
                        r.opt_date("deadline")?,
                        r.text("leader")?,
                    ));
                }
                if !due.is_empty() {
                    let sql = format!(
                        "UPDATE work_items SET escalated_at = $1, updated_at = $1 \
                         WHERE escalated_at IS NULL AND id IN ({})",
                        placeholders(true, 2, due.len())
                    );
                    let mut q = sqlx::query(&sql).bind(at);
                    for d in &due {
                        q = q.bind(d.0);
                    }
                    q.execute(&mut *tx).await?;
                    let sql = format!(
                        "INSERT INTO work_events (item_id, at, user_id, action, from_state, \
                         to_state, note, percent) VALUES {}",
                        value_rows(true, due.len(), 4, |p| format!(
                            "({}, {}, NULL, 'escalate', {}, {}, {}, NULL)",
                            p[0], p[1], p[2], p[2], p[3]
                        ))
                    );
                    let mut q = sqlx::query(&sql);
                    for (id, state, deadline, leader) in &due {
                        q = q.bind(*id).bind(at).bind(state.as_str()).bind(escalation_note(*deadline, leader));
                    }
                    q.execute(&mut *tx).await?;
                    for (id, state, deadline, leader) in &due {
                        let before = json!({ "state": state, "deadline": deadline, "escalated_at": null });
                        let after = json!({
                            "state": state, "deadline": deadline, "escalated_at": at,
                            "leader": leader, "by": "system",
                        });
                        tx.audit(item_record(at, None, "work_item_escalate", *id, Some(before), after))
                            .await?;
                    }
                }
                tx.commit().await?;
                n += due.len() as u64;
                due.len() < BATCH
            });
            if done {
                return Ok(n);
            }
        }
    }

    /// The responsibility matrix of a plan: every task with its leader, units and
    /// persons, and its items' counts on `today` (open = pending, overdue among them,
    /// done = waiting for the check, closed) and open gaps.
    pub async fn responsibility_matrix(
        &self,
        plan: &StoredPlan,
        today: NaiveDate,
    ) -> Result<Vec<MatrixRow>> {
        let counts = "SELECT w.task_no, \
             COALESCE(SUM(CASE WHEN w.state IN ('todo', 'in_progress') THEN 1 ELSE 0 END), 0) AS open_n, \
             COALESCE(SUM(CASE WHEN w.state IN ('todo', 'in_progress') AND w.deadline < $2 THEN 1 ELSE 0 END), 0) AS overdue, \
             COALESCE(SUM(CASE WHEN w.state = 'done' THEN 1 ELSE 0 END), 0) AS done, \
             COALESCE(SUM(CASE WHEN w.state = 'closed' THEN 1 ELSE 0 END), 0) AS closed \
             FROM work_items w JOIN plans p ON p.id = w.plan_id \
             WHERE p.year = $1 AND w.task_no IS NOT NULL GROUP BY w.task_no";
        let gaps = "SELECT task_no, COUNT(*) AS n FROM gaps WHERE open AND task_no IS NOT NULL \
                    GROUP BY task_no";
        let (counts, gaps) = on_pool!(self, pool => {
            let mut c = HashMap::new();
            for r in sqlx::query(counts)
                .bind(i64::from(plan.plan.year))
                .bind(today)
                .fetch_all(pool)
                .await?
            {
                c.insert(
                    r.int("task_no")? as u32,
                    [
                        crate::rows::count(&r, "open_n")?,
                        crate::rows::count(&r, "overdue")?,
                        crate::rows::count(&r, "done")?,
                        crate::rows::count(&r, "closed")?,
                    ],
                );
            }
            let mut g = HashMap::new();
            for r in sqlx::query(gaps).fetch_all(pool).await? {
                g.insert(r.int("task_no")? as u32, crate::rows::count(&r, "n")?);
            }
            (c, g)
        });
        Ok(plan
            .plan
            .tasks
            .iter()
            .map(|t| {
                let c = counts.get(&t.no).copied().unwrap_or_default();
                MatrixRow {
                    task_no: t.no,
                    task: t.name.clone(),
                    leader: t.leader.clone(),
                    lead_unit: t.lead_unit.clone(),
                    units: t
                        .units
                        .iter()
                        .map(|u| (u.unit.clone(), u.owner.clone()))
                        .collect(),
                    deadline: t.deadline.label(),
                    owns: t.owns.iter().map(|k| k.code().to_string()).collect(),
                    open: c[0],
                    overdue: c[1],
                    done: c[2],
                    closed: c[3],
                    open_gaps: gaps.get(&t.no).copied().unwrap_or(0),
                }
            })
            .collect())
    }
}

impl Store {
    /// The county's incidence threshold for INCIDENCE gaps, in basis points.
    pub async fn incidence_threshold(&self) -> Result<u64> {
        Ok(on_pool!(self, pool => {
            let r = sqlx::query("SELECT incidence_threshold_bp FROM gap_settings WHERE id = 1")
                .fetch_one(pool)
                .await?;
            crate::rows::count(&r, "incidence_threshold_bp")?
        }))
    }

    /// Set the incidence threshold (the server does at start, from its region). Audited
    /// when it changes.
    pub async fn set_incidence_threshold(&self, bp: u64) -> Result<()> {
        let at = now();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let r = sqlx::query("SELECT incidence_threshold_bp FROM gap_settings WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
            let before = crate::rows::count(&r, "incidence_threshold_bp")?;
            if before != bp {
                sqlx::query("UPDATE gap_settings SET incidence_threshold_bp = $1 WHERE id = 1")
                    .bind(bp as i64)
                    .execute(&mut *tx)
                    .await?;
                tx.audit(Record {
                    at,
                    user: None,
                    action: "set_incidence_threshold",
                    entity: "gap_settings",
                    entity_id: "1".into(),
                    before: Some(json!({ "incidence_threshold_bp": before })),
                    after: Some(json!({ "incidence_threshold_bp": bp })),
                })
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The refresh on a transaction's connection: the same code on both backends, so that a
// register import runs it inside its own transaction (a version is stored with its gaps
// or not at all) and `Store::refresh_gaps` inside a transaction of its own.

/// The refresh on either backend's connection, for callers written once for both (a plan
/// import routes the register's gaps by the new plan in its own transaction).
pub(crate) trait RefreshOn {
    async fn refresh_on(
        &mut self,
        store: &Store,
        version: VersionId,
        by: Option<UserId>,
        given: Option<&StoredPlan>,
    ) -> Result<GapRefresh>;
}

macro_rules! refresh_functions {
    ($conn:ty, $postgres:expr) => {
        /// The refresh of [`Store::refresh_gaps`] on `conn`, in the caller's transaction.
        /// Everything it decides on is read after the lock, on `conn`: the version, the
        /// threshold and which plan is in force (plans are never changed once stored, so
        /// the plan's tasks are read through the store's pool).
        pub(crate) async fn refresh_in(
            conn: &mut $conn,
            store: &Store,
            version: VersionId,
            threshold_bp: Option<u64>,
            by: Option<UserId>,
            given: Option<&StoredPlan>,
        ) -> Result<GapRefresh> {
            if $postgres {
                // One refresh at a time across server processes (SQLite's write lock does
                // this there): two would both insert the same new gaps.
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(REFRESH_LOCK)
                    .execute(&mut *conn)
                    .await?;
            }
            let threshold_bp = match threshold_bp {
                Some(t) => t,
                None => {
                    let r = sqlx::query("SELECT incidence_threshold_bp FROM gap_settings WHERE id = 1")
                        .fetch_one(&mut *conn)
                        .await?;
                    crate::rows::count(&r, "incidence_threshold_bp")?
                }
            };
            let r = sqlx::query("SELECT year, imported_at FROM register_versions WHERE id = $1")
                .bind(version)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| StoreError::refused(format!("登记表版本 {version} 不存在")))?;
            let (year, imported_at) = (r.int("year")?, r.time("imported_at")?);
            let plan_id = sqlx::query(
                "SELECT id FROM plans WHERE year = $1 ORDER BY revision DESC LIMIT 1",
            )
            .bind(year)
            .fetch_optional(&mut *conn)
            .await?;
            let plan = match (given, plan_id) {
                // A plan being imported in this transaction: the pool cannot see it yet.
                (Some(p), _) => Some(p.clone()),
                (None, Some(r)) => Some(store.plan_with_id(r.int("id")?).await?),
                (None, None) => None,
            };
            let found = found_gaps(&mut *conn, version, threshold_bp).await?;
            let on = cst_date(imported_at);
            let at = now();
            let mut out = GapRefresh {
                version,
                plan: plan.as_ref().map(|p| p.revision.id),
                found: found.len() as u64,
                ..GapRefresh::default()
            };
            let evidence = format!("复核于 {on}（第 {version} 版登记表）：已达标");
            let reopened_note = format!("复核于 {on}（第 {version} 版登记表）：仍未达标，重新打开");
            let mut known: HashMap<String, KnownGap> = HashMap::new();
            for r in sqlx::query(
                "SELECT g.id, g.gap_key, g.open, g.task_no, g.lead_unit, g.detail, \
                 w.id AS item_id, w.state, w.unit FROM gaps g LEFT JOIN work_items w ON w.gap_id = g.id",
            )
            .fetch_all(&mut *conn)
            .await?
            {
                let item = match r.opt_int("item_id")? {
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
                let task = plan.as_ref().and_then(|p| match route(&p.plan, &f.gap, f.has_labor) {
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
                if k.open && k.task_no == task_no && k.lead_unit.as_deref() == lead_unit && k.detail == f.detail {
                    unchanged.push(k.id);
                } else {
                    sqlx::query(
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
                        (Some((item_id, s, _)), _) if !k.open && matches!(s.as_str(), "done" | "closed") => {
                            move_item(&mut *conn, *item_id, s, "in_progress", "reopen", &reopened_note, None, at).await?;
                        }
                        // Not yet taken up, and where the plan had put it: it follows the
                        // plan's new routing, with an event saying so. One headquarters
                        // reassigned by hand (改派) stays with the unit it was given.
                        (Some((item_id, s, unit)), Some(t))
                            if k.open && s == "todo" && rerouted
                                && k.lead_unit.as_deref() == Some(unit.as_str()) =>
                        {
                            sqlx::query(
                                "UPDATE work_items SET plan_id = $2, task_no = $3, unit = $4, \
                                 updated_at = $5 WHERE id = $1",
                            )
                            .bind(item_id)
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
                            event(&mut *conn, *item_id, at, by, "reroute", "todo", "todo", &note, None).await?;
                            let (before, after) = (
                                json!({ "unit": unit, "task_no": k.task_no }),
                                json!({ "unit": t.lead_unit, "task_no": t.no, "note": note }),
                            );
                            conn.audit(item_record(at, by, "work_item_reroute", *item_id, Some(before), after))
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
                let sql = format!(
                    "UPDATE gaps SET last_version = {} WHERE id IN ({})",
                    mark($postgres, 1),
                    placeholders($postgres, 2, chunk.len())
                );
                let mut q = sqlx::query(&sql).bind(version);
                for id in chunk {
                    q = q.bind(id);
                }
                q.execute(&mut *conn).await?;
            }
            // New gaps, many rows per statement.
            for chunk in new_gaps.chunks(BATCH) {
                let sql = format!(
                    "INSERT INTO gaps (gap_key, kind, township, village, household_no, detail, open, \
                     plan_id, task_no, lead_unit, first_version, last_version, opened_at) VALUES {} \
                     RETURNING id, gap_key",
                    value_rows($postgres, chunk.len(), 12, |p| format!(
                        "({}, {}, {}, {}, {}, {}, TRUE, {}, {}, {}, {}, {}, {})",
                        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]
                    ))
                );
                let mut q = sqlx::query(&sql);
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
                    let id = *ids.get(key).ok_or_else(|| StoreError::corrupt("新短板未返回编号"))?;
                    if let Some(t) = task {
                        to_assign.push((id, *f, *t));
                    }
                }
                out.opened += chunk.len() as u64;
            }
            // Their work items (交办 to the task's lead unit), and the items' first events.
            for chunk in to_assign.chunks(BATCH) {
                let sql = format!(
                    "INSERT INTO work_items (gap_id, plan_id, task_no, title, detail, unit, township, \
                     village, deadline, state, progress, reminders, created_at, updated_at) VALUES {} \
                     RETURNING id, gap_id",
                    value_rows($postgres, chunk.len(), 11, |p| format!(
                        "({}, {}, {}, {}, {}, {}, {}, {}, {}, 'todo', 0, 0, {}, {})",
                        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10]
                    ))
                );
                let mut q = sqlx::query(&sql);
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
                let sql = format!(
                    "INSERT INTO work_events (item_id, at, user_id, action, from_state, to_state, note, \
                     percent) VALUES {}",
                    value_rows($postgres, items.len(), 3, |p| format!(
                        "({}, {}, NULL, 'assign', 'todo', 'todo', {}, NULL)",
                        p[0], p[1], p[2]
                    ))
                );
                let mut q = sqlx::query(&sql);
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
                let sql = format!(
                    "UPDATE gaps SET open = FALSE, closed_at = {}, evidence = {} WHERE id IN ({})",
                    mark($postgres, 1),
                    mark($postgres, 2),
                    placeholders($postgres, 3, chunk.len())
                );
                let mut q = sqlx::query(&sql).bind(at).bind(&evidence);
                for id in chunk {
                    q = q.bind(id);
                }
                q.execute(&mut *conn).await?;
            }
            out.closed = closing.len() as u64;
            for (item_id, s) in done_by_evidence {
                move_item(&mut *conn, item_id, s, "done", "reassessed", &evidence, None, at).await?;
            }
            // The dashboard's counts, rebuilt from the gaps as they now stand (0011).
            sqlx::query("DELETE FROM gap_counts").execute(&mut *conn).await?;
            sqlx::query(
                "INSERT INTO gap_counts (kind, lead_unit, unrouted, open, n) \
                 SELECT kind, lead_unit, task_no IS NULL, open, COUNT(*) FROM gaps \
                 GROUP BY kind, lead_unit, task_no IS NULL, open",
            )
            .execute(&mut *conn)
            .await?;
            conn.audit(Record {
                at,
                user: by,
                action: "refresh_gaps",
                entity: "register_version",
                entity_id: version.to_string(),
                before: None,
                after: Some(serde_json::to_value(&out).unwrap_or_default()),
            })
            .await?;
            Ok(out)
        }

        impl super::RefreshOn for $conn {
            async fn refresh_on(
                &mut self,
                store: &Store,
                version: VersionId,
                by: Option<UserId>,
                given: Option<&StoredPlan>,
            ) -> Result<GapRefresh> {
                refresh_in(self, store, version, None, by, given).await
            }
        }

        /// The gaps a version has, in register order: households' failed criteria, open
        /// data problems, villages' failed conditions and incidence.
        async fn found_gaps(conn: &mut $conn, version: VersionId, threshold_bp: u64) -> Result<Vec<Found>> {
        let able: Vec<&str> = [Labor::Ordinary, Labor::Skilled, Labor::Weak]
            .into_iter()
            .filter(|l| l.can_work())
            .map(|l| l.label())
            .collect();
        let households =
            "SELECT h.household_no, ar.township, ar.village, a.verdict, a.failed, a.explanation, \
             EXISTS (SELECT 1 FROM members m WHERE m.version_id = h.version_id \
                     AND m.household_seq = h.seq AND m.labor IN ($2, $3, $4)) AS has_labor \
             FROM households h \
             JOIN areas ar ON ar.version_id = h.version_id AND ar.seq = h.area_seq \
             JOIN assessments a ON a.version_id = h.version_id AND a.household_seq = h.seq \
             WHERE h.version_id = $1 AND a.failed <> '' AND a.verdict <> 'data_error' \
             ORDER BY h.seq";
        let problems = "SELECT household_no, line, code, message, township, village \
                        FROM problems WHERE version_id = $1 ORDER BY seq";
        let villages =
            "SELECT ar.township, ar.village, ar.road, ar.power, ar.broadband, ar.clinic, \
                        ar.population, s.remaining \
                        FROM areas ar JOIN village_summaries s \
                        ON s.version_id = ar.version_id AND s.area_seq = ar.seq \
                        WHERE ar.version_id = $1 ORDER BY ar.seq";
        let mut out = Vec::new();
            for r in sqlx::query(households)
                .bind(version)
                .bind(able[0])
                .bind(able[1])
                .bind(able[2])
                .fetch_all(&mut *conn)
                .await?
            {
                let a = Assessment {
                    verdict: verdict(&r)?,
                    per_capita: None,
                    failed: failed(&r)?,
                    explanation: r.text("explanation")?,
                };
                debug_assert_ne!(a.verdict, Verdict::DataError);
                let no = r.text("household_no")?;
                let (township, village) = (r.text("township")?, r.text("village")?);
                let has_labor = r.bool("has_labor")?;
                for gap in household_gaps(&no, &a, &[]) {
                    out.push(Found {
                        gap,
                        township: township.clone(),
                        village: village.clone(),
                        has_labor,
                        detail: a.explanation.clone(),
                    });
                }
            }
            let rows = sqlx::query(problems).bind(version).fetch_all(&mut *conn).await?;
            let mut listed = Vec::with_capacity(rows.len());
            for r in &rows {
                let code = r.text("code")?;
                let code = ProblemCode::ALL
                    .into_iter()
                    .find(|c| c.as_str() == code)
                    .ok_or_else(|| StoreError::corrupt(format!("问题代码「{code}」")))?;
                listed.push((
                    r.opt_text("household_no")?,
                    r.int("line")? as u64,
                    code,
                    r.text("message")?,
                    r.opt_text("township")?.unwrap_or_default(),
                    r.opt_text("village")?.unwrap_or_default(),
                ));
            }
            // Problems grouped by the gap they make (several rows of a household with
            // one code are one gap), in first-seen order.
            let mut index: HashMap<String, usize> = HashMap::new();
            let mut grouped: Vec<(Gap, String, String, Vec<String>)> = Vec::new();
            for p in &listed {
                let Some(gap) = problem_gap(p.0.as_deref(), p.1, p.2) else {
                    continue;
                };
                let line = format!("第{}行：{}", p.1, p.3);
                match index.get(&gap.key()) {
                    Some(&i) => grouped[i].3.push(line),
                    None => {
                        index.insert(gap.key(), grouped.len());
                        grouped.push((gap, p.4.clone(), p.5.clone(), vec![line]));
                    }
                }
            }
            for (gap, township, village, lines) in grouped {
                out.push(Found {
                    gap,
                    township,
                    village,
                    has_labor: false,
                    detail: lines.join("；"),
                });
            }
            for r in sqlx::query(villages).bind(version).fetch_all(&mut *conn).await? {
                let (township, village) = (r.text("township")?, r.text("village")?);
                let c = VillageConditions {
                    road: r.opt_bool("road")?,
                    power: r.opt_bool("power")?,
                    broadband: r.opt_bool("broadband")?,
                    clinic: r.opt_bool("clinic")?,
                };
                let after = r
                    .opt_int("population")?
                    .and_then(|p| Rate::new(crate::rows::count(&r, "remaining").unwrap_or(0), p.max(0) as u64));
                for gap in village_gaps(&township, &village, &c, after, threshold_bp) {
                    let detail = gap.title();
                    out.push(Found {
                        gap,
                        township: township.clone(),
                        village: village.clone(),
                        has_labor: false,
                        detail,
                    });
                }
            }
        Ok(out)
        }
    };
}

pub(crate) mod sqlite_refresh {
    use super::*;
    refresh_functions!(sqlx::SqliteConnection, false);
}

pub(crate) mod pg_refresh {
    use super::*;
    refresh_functions!(sqlx::PgConnection, true);
}

/// The kinds gaps are found as, with their Chinese names (for filters and ledgers).
pub fn gap_kind_name(code: &str) -> &'static str {
    GapKind::parse(code).map_or("", GapKind::chinese)
}

/// Write an item's event; returns its id.
#[allow(clippy::too_many_arguments)]
async fn event<C>(
    conn: &mut C,
    item: WorkItemId,
    at: DateTime<Utc>,
    user: Option<UserId>,
    action: &str,
    from: &str,
    to: &str,
    note: &str,
    percent: Option<i64>,
) -> Result<i64>
where
    C: EventConn,
{
    conn.event(item, at, user, action, from, to, note, percent)
        .await
}

/// Moving an item by the system (a reassessment): state, event and audit row.
#[allow(clippy::too_many_arguments)]
async fn move_item<C>(
    conn: &mut C,
    item: WorkItemId,
    from: &str,
    to: &str,
    action: &str,
    note: &str,
    user: Option<UserId>,
    at: DateTime<Utc>,
) -> Result<()>
where
    C: EventConn + Audit,
{
    conn.set_state(item, to, at).await?;
    conn.event(item, at, user, action, from, to, note, None)
        .await?;
    let action = format!("work_item_{action}");
    let (before, after) = (
        json!({ "state": from }),
        json!({ "state": to, "note": note }),
    );
    conn.audit(item_record(at, user, &action, item, Some(before), after))
        .await?;
    Ok(())
}

/// The writes of events and system moves, on either backend's connection.
trait EventConn {
    #[allow(clippy::too_many_arguments)]
    async fn event(
        &mut self,
        item: WorkItemId,
        at: DateTime<Utc>,
        user: Option<UserId>,
        action: &str,
        from: &str,
        to: &str,
        note: &str,
        percent: Option<i64>,
    ) -> Result<i64>;
    async fn set_state(&mut self, item: WorkItemId, to: &str, at: DateTime<Utc>) -> Result<()>;
}

macro_rules! impl_event_conn {
    ($conn:ty) => {
        impl EventConn for $conn {
            async fn event(
                &mut self,
                item: WorkItemId,
                at: DateTime<Utc>,
                user: Option<UserId>,
                action: &str,
                from: &str,
                to: &str,
                note: &str,
                percent: Option<i64>,
            ) -> Result<i64> {
                let r = sqlx::query(
                    "INSERT INTO work_events (item_id, at, user_id, action, from_state, to_state, note, percent) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(item)
                .bind(at)
                .bind(user)
                .bind(action)
                .bind(from)
                .bind(to)
                .bind(note)
                .bind(percent)
                .fetch_one(self)
                .await?;
                Ok(r.int("id")?)
            }

            async fn set_state(&mut self, item: WorkItemId, to: &str, at: DateTime<Utc>) -> Result<()> {
                sqlx::query(
                    "UPDATE work_items SET state = $2, updated_at = $3, \
                     progress = CASE WHEN $2 IN ('done', 'closed') THEN 100 ELSE progress END WHERE id = $1",
                )
                .bind(item)
                .bind(to)
                .bind(at)
                .execute(self)
                .await?;
                Ok(())
            }
        }
    };
}

impl_event_conn!(sqlx::SqliteConnection);
impl_event_conn!(sqlx::PgConnection);

/// Households of the current version in a scope by per-capita income against the line:
/// below, 1–1.5×, 1.5–2×, 2× and above, unknown (数据有误).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IncomeBands {
    pub line_fen: i64,
    pub below: u64,
    pub to_150: u64,
    pub to_200: u64,
    pub above_200: u64,
    pub unknown: u64,
}

impl Store {
    /// The income distribution of the current version's households in the scope (for the
    /// 产业到位 panel); None without a register.
    pub async fn income_bands(&self, scope: &Scope) -> Result<Option<IncomeBands>> {
        let (cond, values) = scope.sql("ar", 1);
        let sql = format!(
            "SELECT v.line_fen, \
             COALESCE(SUM(CASE WHEN a.per_capita IS NULL THEN 1 ELSE 0 END), 0) AS unknown, \
             COALESCE(SUM(CASE WHEN a.per_capita < v.line_fen THEN 1 ELSE 0 END), 0) AS below, \
             COALESCE(SUM(CASE WHEN a.per_capita >= v.line_fen AND 2 * a.per_capita < 3 * v.line_fen THEN 1 ELSE 0 END), 0) AS to_150, \
             COALESCE(SUM(CASE WHEN 2 * a.per_capita >= 3 * v.line_fen AND a.per_capita < 2 * v.line_fen THEN 1 ELSE 0 END), 0) AS to_200, \
             COALESCE(SUM(CASE WHEN a.per_capita >= 2 * v.line_fen THEN 1 ELSE 0 END), 0) AS above_200 \
             FROM current_register c \
             JOIN register_versions v ON v.id = c.version_id \
             JOIN households h ON h.version_id = c.version_id \
             JOIN areas ar ON ar.version_id = h.version_id AND ar.seq = h.area_seq \
             JOIN assessments a ON a.version_id = h.version_id AND a.household_seq = h.seq \
             WHERE c.id = 1{cond} GROUP BY v.line_fen"
        );
        Ok(on_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for v in &values {
                q = q.bind(*v);
            }
            match q.fetch_optional(pool).await? {
                Some(r) => Some(IncomeBands {
                    line_fen: r.int("line_fen")?,
                    below: crate::rows::count(&r, "below")?,
                    to_150: crate::rows::count(&r, "to_150")?,
                    to_200: crate::rows::count(&r, "to_200")?,
                    above_200: crate::rows::count(&r, "above_200")?,
                    unknown: crate::rows::count(&r, "unknown")?,
                }),
                None => None,
            }
        }))
    }
}

/// Work items in a scope by state on a day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ItemCounts {
    /// 待办 and 办理中.
    pub pending: u64,
    /// Pending and past the deadline.
    pub overdue: u64,
    /// 已完成待核.
    pub done: u64,
    /// 已销号.
    pub closed: u64,
}

impl Store {
    /// Work items the scope may read, counted by state on `today`.
    pub async fn work_item_counts(
        &self,
        scope: &ItemScope,
        today: NaiveDate,
    ) -> Result<ItemCounts> {
        let (cond, values) = scope.sql("w", "unit", 2);
        let sql = format!(
            "SELECT \
             COALESCE(SUM(CASE WHEN w.state IN ('todo', 'in_progress') THEN 1 ELSE 0 END), 0) AS pending, \
             COALESCE(SUM(CASE WHEN w.state IN ('todo', 'in_progress') AND w.deadline < $1 THEN 1 ELSE 0 END), 0) AS overdue, \
             COALESCE(SUM(CASE WHEN w.state = 'done' THEN 1 ELSE 0 END), 0) AS done, \
             COALESCE(SUM(CASE WHEN w.state = 'closed' THEN 1 ELSE 0 END), 0) AS closed \
             FROM work_items w WHERE 1 = 1{cond}"
        );
        Ok(on_pool!(self, pool => {
            let q = bind_texts(sqlx::query(&sql).bind(today), &values);
            let r = q.fetch_one(pool).await?;
            ItemCounts {
                pending: crate::rows::count(&r, "pending")?,
                overdue: crate::rows::count(&r, "overdue")?,
                done: crate::rows::count(&r, "done")?,
                closed: crate::rows::count(&r, "closed")?,
            }
        }))
    }
}
