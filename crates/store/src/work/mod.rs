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

mod attachments;
pub(crate) mod derive;
mod escalation;
mod events;
mod gaps;
mod income;
mod items;
mod matrix;
pub(crate) mod refresh;
mod settings;

#[allow(unused_imports)]
pub(crate) use refresh::{RefreshOn, REFRESH_LOCK};

use crate::accounts::User;
use crate::plan::{PlanId, StoredPlan};
use crate::register::{Page, VersionId};
use crate::scope::Scope;
use crate::{on_pool, Result, Store};
use chrono::{DateTime, NaiveDate, Utc};
use fupin_domain::plan::GapKind;
use fupin_domain::work_item::{is_overdue, Actor, ItemFacts, Refusal, WorkAction, WorkState};
use serde::Serialize;

pub type GapId = fupin_domain::id::Id<GapRow>;
pub type WorkItemId = fupin_domain::id::Id<WorkItem>;
pub type AttachmentId = fupin_domain::id::Id<AttachmentInfo>;

pub use fupin_domain::access::ItemScope;

/// An item scope as SQL.
pub(crate) trait ItemScopeSql {
    /// SQL conditions (each starting with ` AND`) on a table aliased `alias` with columns
    /// `township`, `village` and `unit_column`, placeholders numbered from `first`.
    fn sql(&self, alias: &str, unit_column: &str, first: usize) -> (String, Vec<String>);
}

impl ItemScopeSql for ItemScope {
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
    fupin_domain::time::county_date(Utc::now())
}

pub(crate) use fupin_domain::time::county_date as cst_date;

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    /// Closed by headquarters although its gap still failed (强制销号), and why.
    pub close_override: Option<fupin_domain::work_item::CloseOverride>,
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
    pub id: AttachmentId,
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
    /// 销号 of an item whose gap still fails: headquarters' reason (the note says more).
    pub close_override: Option<fupin_domain::work_item::CloseOverride>,
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
    /// Items closed by headquarters although their gap still failed (强制销号).
    pub overridden: bool,
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
        self.user.role.actor(self.post.as_deref())
    }
}

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

/// The kinds gaps are found as, with their Chinese names (for filters and ledgers).
pub fn gap_kind_name(code: &str) -> &'static str {
    GapKind::parse(code).map_or("", GapKind::chinese)
}

/// `$first, $first+1, …` (or `?, ?, …`, as `mark` writes them) for `n` values.
fn placeholders(mark: impl Fn(usize) -> String, first: usize, n: usize) -> String {
    (first..first + n).map(mark).collect::<Vec<_>>().join(", ")
}

/// `n` rows of `width` placeholders numbered from 1 (as `mark` writes them), each written
/// by `row`.
fn value_rows(
    mark: impl Fn(usize) -> String,
    n: usize,
    width: usize,
    row: impl Fn(&[String]) -> String,
) -> String {
    (0..n)
        .map(|r| {
            let p: Vec<String> = (1..=width).map(|c| mark(r * width + c)).collect();
            row(&p)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Placeholder `$i` (both backends read it).
fn numbered(i: usize) -> String {
    format!("${i}")
}

/// The store's gaps, work items, escalation, attachments, settings and the matrix: `store.work()`.
#[derive(Clone, Copy, Debug)]
pub struct Work<'s>(pub(crate) &'s Store);

impl Work<'_> {
    /// Derive the gaps of a register version, route them by the plan in force for its
    /// year, and reconcile them with the stored gaps (see the module documentation). One
    /// transaction; one audit row (`refresh_gaps`) with the counts. `threshold_bp` is the
    /// incidence threshold (200 central, 300 west); None: the county's setting
    /// ([`Store::set_incidence_threshold`]). Idempotent. A register import runs the same
    /// refresh inside its own transaction (all or nothing).
    pub async fn refresh_gaps(
        self,
        version: VersionId,
        threshold_bp: Option<u64>,
        by: Option<crate::UserId>,
    ) -> Result<GapRefresh> {
        on_pool!(self.0, pool => refresh::refresh(pool, self.0, version, threshold_bp, by).await)
    }

    /// Gaps the scope may read, by id, paged by key.
    pub async fn gaps(
        self,
        scope: &ItemScope,
        filter: &GapFilter,
        after: Option<GapId>,
        limit: u32,
    ) -> Result<Page<GapRow, GapId>> {
        on_pool!(self.0, pool => gaps::list(pool, scope, filter, after, limit).await)
    }

    /// A household's gaps, open first, then by id, each with its work item when the
    /// scope may read it. Scoped like the gaps list (unit staff: the gaps routed to their
    /// unit, or whose item they now hold; area staff: their area's).
    pub async fn household_gaps(
        self,
        scope: &ItemScope,
        household_no: &str,
    ) -> Result<Vec<(GapRow, Option<WorkItem>)>> {
        on_pool!(self.0, pool => gaps::of_household(pool, scope, household_no).await)
    }

    /// A gap the scope may read.
    pub async fn gap(self, scope: &ItemScope, id: GapId) -> Result<Option<GapRow>> {
        on_pool!(self.0, pool => gaps::one(pool, scope, id).await)
    }

    /// Open gaps by kind, the headquarters' queue and closed gaps, in the scope.
    pub async fn gap_counts(self, scope: &ItemScope) -> Result<GapCounts> {
        on_pool!(self.0, pool => gaps::counts(pool, scope).await)
    }

    /// Work items the scope may read, newest first, paged by key.
    pub async fn work_items(
        self,
        scope: &ItemScope,
        filter: &ItemFilter,
        before: Option<WorkItemId>,
        limit: u32,
    ) -> Result<Page<WorkItem, WorkItemId>> {
        on_pool!(self.0, pool => items::list(pool, scope, filter, before, limit).await)
    }

    /// A work item the scope may read.
    pub async fn work_item(self, scope: &ItemScope, id: WorkItemId) -> Result<Option<WorkItem>> {
        on_pool!(self.0, pool => items::one(pool, scope, id).await)
    }

    /// An item's history, oldest first, with its attachments (without their bytes). The
    /// caller has read the item through its scope.
    pub async fn work_events(self, id: WorkItemId) -> Result<Vec<WorkEvent>> {
        on_pool!(self.0, pool => events::history(pool, id).await)
    }

    /// An attachment, if its item is in the scope.
    pub async fn attachment(
        self,
        scope: &ItemScope,
        id: AttachmentId,
    ) -> Result<Option<Attachment>> {
        on_pool!(self.0, pool => attachments::one(pool, scope, id).await)
    }

    /// Assign a work item by hand (交办): headquarters only. From a gap (one item per gap),
    /// or on its own. Audited (`create_work_item`).
    pub async fn create_work_item(
        self,
        by: &ActingUser<'_>,
        new: &NewWorkItem,
    ) -> Result<Result<WorkItem, Refusal>> {
        on_pool!(self.0, pool => items::create(pool, self.0, by, new).await)
    }

    /// Take a step on an item the user may read: checked by the state machine against
    /// the item as it is in the transaction, written with its event and an audit row
    /// (`work_item_<action>`, state before and after). `Ok(Err(_))` when the state machine
    /// refuses; `Ok(Ok(None))` when the item is not in the user's scope.
    pub async fn act_on_work_item(
        self,
        by: &ActingUser<'_>,
        id: WorkItemId,
        step: &Step,
        today: NaiveDate,
    ) -> Result<Result<Option<WorkItem>, Refusal>> {
        on_pool!(self.0, pool => items::act(pool, by, id, step, today).await)
    }

    /// Escalate every overdue item not yet escalated to its task's leader (headquarters;
    /// each one audited like a single escalation). Returns how many.
    pub async fn escalate_overdue(
        self,
        by: &ActingUser<'_>,
        today: NaiveDate,
    ) -> Result<Result<u64, Refusal>> {
        on_pool!(self.0, pool => escalation::overdue(pool, by, today).await)
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
        self,
        by: &ActingUser<'_>,
        id: WorkItemId,
        edit: &ItemEdit,
    ) -> Result<Result<Option<WorkItem>, Refusal>> {
        on_pool!(self.0, pool => items::edit(pool, by, id, edit).await)
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
    pub async fn escalate_overdue_as_system(self, today: NaiveDate) -> Result<u64> {
        on_pool!(self.0, pool => escalation::as_system(pool, today).await)
    }

    /// The responsibility matrix of a plan: every task with its leader, units and
    /// persons, and its items' counts on `today` (open = pending, overdue among them,
    /// done = waiting for the check, closed) and open gaps.
    pub async fn responsibility_matrix(
        self,
        plan: &StoredPlan,
        today: NaiveDate,
    ) -> Result<Vec<MatrixRow>> {
        on_pool!(self.0, pool => matrix::of_plan(pool, plan, today).await)
    }

    /// The county's incidence threshold for INCIDENCE gaps, in basis points.
    pub async fn incidence_threshold(self) -> Result<u64> {
        on_pool!(self.0, pool => settings::incidence_threshold(&mut *pool.acquire().await?).await)
    }

    /// Set the incidence threshold (the server does at start, from its region). Audited
    /// when it changes.
    pub async fn set_incidence_threshold(self, bp: u64) -> Result<()> {
        on_pool!(self.0, pool => settings::set_incidence_threshold(pool, bp).await)
    }

    /// The income distribution of the current version's households in the scope (for the
    /// 产业到位 panel); None without a register.
    pub async fn income_bands(self, scope: &Scope) -> Result<Option<IncomeBands>> {
        on_pool!(self.0, pool => income::bands(pool, scope).await)
    }

    /// The income bands whose SQL condition (the one [`Store::income_bands`] counts by)
    /// holds for one income against one line: for the test that they agree with
    /// `IncomeBand::of`.
    #[doc(hidden)]
    pub async fn income_bands_in_sql(
        self,
        per_capita: Option<i64>,
        line_fen: i64,
    ) -> Result<Vec<fupin_domain::income::IncomeBand>> {
        on_pool!(self.0, pool => income::bands_in_sql(pool, per_capita, line_fen).await)
    }

    /// Work items the scope may read, counted by state on `today`.
    pub async fn work_item_counts(self, scope: &ItemScope, today: NaiveDate) -> Result<ItemCounts> {
        on_pool!(self.0, pool => items::counts(pool, scope, today).await)
    }
}
