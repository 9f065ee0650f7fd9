//! Projects and funds in the database (issue 7, docs `projects-and-funds.md`): the project
//! library (keyed by year and name; an import that changes a project raises its revision,
//! audited with before and after), budgets by fund source, the append-only ledger of
//! disbursements and reversals, the households that benefit, and the figures.
//!
//! The ledger has no edit or delete path: the store has no method for it and triggers on
//! both backends refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL). An entry is checked
//! by [`fupin_domain::funds::check_entry`] inside the transaction that writes it, after the
//! project's row is locked ([`crate::backend::Backend::FOR_UPDATE`]; SQLite's write
//! transaction takes the single write lock), so two entries recorded at once cannot both
//! pass the budget.
//!
//! What a user may read is decided in SQL by an [`ItemScope`]: unit staff the projects
//! their unit implements, township and village staff the projects of their area, the
//! others all.
//!
//! The modules:
//! - `projects`: the library written (file import, create, update, stage);
//! - `entries`: the ledger written (by hand, from a file) and a project's ledger read;
//! - `beneficiaries`: the households that benefit, and the income that does not
//!   account for them;
//! - `figures`: the rollup of a scope, the figures, behind schedule, six in place, and
//!   the county's behind-schedule rule;
//! - `ledger`: the library and its ledger listed (filters, pages by key, facets);
//! - `rows`: the columns and rows of the tables, a scope in SQL, the audit log's JSON;
//! - `write`: what the writes share: a project read in the write's transaction, a file
//!   row's project found by year and name.
//!
//! Each `Store` method below is one dispatch to the function that does it, generic over
//! the backend.

mod beneficiaries;
mod entries;
mod figures;
mod ledger;
mod projects;
mod rows;
mod write;

pub use beneficiaries::{Benefit, BenefitFlag};
pub use figures::{Behind, FundFigure, FundsBy, FundsInPlace};
pub use fupin_domain::funds::NewFundEntry;
pub use ledger::{LedgerLine, ProjectFacets, ProjectFilter, ProjectKey};

use crate::accounts::{User, UserId};
use crate::scope::Scope;
use crate::work::ItemScope;
use crate::{on_pool, Page, Result, Store};
use beneficiaries::NewBenefit;
use chrono::{DateTime, NaiveDate, Utc};
use fupin_domain::figures::Rate;
use fupin_domain::funds::{
    rate, BenefitKind, Budget, EntryId, EntryKind, FundSource, Override, Project, Refusal,
    ScheduleRule, Stage,
};
use fupin_domain::funds_rows::RowRefusal;
use fupin_domain::Fen;
use serde::Serialize;
use write::ProjectWrite;

pub type ProjectId = fupin_domain::id::Id<StoredProject>;

/// A project as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredProject {
    pub id: ProjectId,
    /// 1 when created; one more for each import that changed it.
    pub revision: i64,
    pub project: Project,
    /// Net disbursed by source (disbursements less reversals).
    pub disbursed: Budget,
}

impl StoredProject {
    pub fn rate(&self) -> Option<Rate> {
        rate(self.project.budget.total(), self.disbursed.total())
    }
}

/// What an import of the project library did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectImport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// F552: projects serving a 序号 that is not a task of their year's plan in force
    /// (io writes them as the file's warnings).
    pub warnings: Vec<RowRefusal>,
}

/// An entry of the ledger as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FundEntry {
    pub id: EntryId,
    pub project_id: ProjectId,
    pub date: NaiveDate,
    pub source: FundSource,
    pub amount: Fen,
    pub kind: EntryKind,
    pub voucher: String,
    pub payee: String,
    pub note: String,
    pub override_reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: Option<String>,
}

/// Why a write about a project was not made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FundRefusal {
    /// No such project in the user's scope.
    NoProject(ProjectId),
    /// The user may not do this.
    NotAllowed(String),
    /// The ledger's rule refuses the entry.
    Rule(Refusal),
    /// A stage change that is not one step forward.
    Stage { from: Stage, to: Stage },
    /// A project (or setting) that does not pass the library's checks, in Chinese.
    Invalid(String),
    /// An entry's own field (凭证号, 收款单位, 拨付日期) is refused.
    Field(fupin_domain::funds::FieldRefusal),
}

impl std::fmt::Display for FundRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FundRefusal::NoProject(id) => write!(f, "没有编号为 {id} 的项目（或不在您的范围内）"),
            FundRefusal::NotAllowed(m) | FundRefusal::Invalid(m) => f.write_str(m),
            FundRefusal::Rule(r) => write!(f, "{r}"),
            FundRefusal::Field(r) => write!(f, "{r}"),
            FundRefusal::Stage { from, to } => write!(
                f,
                "项目阶段只能逐级推进（入库 → 批复 → 实施 → 完工 → 验收 → 绩效评价）：不能从「{}」改为「{}」",
                from.chinese(),
                to.chinese()
            ),
        }
    }
}

/// The store's the project library, the funds ledger, beneficiaries and fund figures: `store.funds()`.
#[derive(Clone, Copy, Debug)]
pub struct Funds<'s>(pub(crate) &'s Store);

impl Funds<'_> {
    // The library written.

    /// Store a checked project library in one transaction: new projects are created, those
    /// already stored (same year and name) updated when they differ — revision + 1, the
    /// before and after in the audit log — and left alone when they do not. Refused with
    /// every problem (the file's line and the column) when a budget would fall below what
    /// is already disbursed from that source; then nothing is stored. Headquarters only:
    /// the caller checks the role.
    pub async fn import_projects(
        self,
        file_name: &str,
        projects: &[(u64, Project)],
        by: Option<UserId>,
    ) -> Result<std::result::Result<ProjectImport, Vec<RowRefusal>>> {
        projects::import_projects(self.0, file_name, projects, by).await
    }

    /// Create a project by hand (headquarters): checked as the library file is, refused when
    /// its year already has a project of that name. Audited (`create_project`).
    pub async fn create_project(
        self,
        user: &User,
        project: &Project,
    ) -> Result<std::result::Result<ProjectId, FundRefusal>> {
        on_pool!(self.0, pool => projects::create_project(pool, user, project).await)
    }

    /// Change a project by hand (headquarters), from the revision the editor read: refused
    /// when someone changed it since, when it fails the library's checks, when its new
    /// year and name are another project's, or when a budget would fall below what is
    /// disbursed from its source. An unchanged project is left alone; a changed one gets
    /// revision + 1 and an audit row `update_project` with the whole project before and
    /// after.
    pub async fn update_project(
        self,
        user: &User,
        id: ProjectId,
        read_revision: i64,
        project: &Project,
    ) -> Result<std::result::Result<(), FundRefusal>> {
        on_pool!(self.0, pool => projects::update_project(pool, user, id, read_revision, project).await)
    }

    /// Move a project one stage forward (入库 → 批复 → …): headquarters or the project's
    /// unit. Audited (`set_project_stage`), the revision raised. Without an actual date:
    /// see [`Store::advance_project_stage`] for the step that records one.
    pub async fn set_project_stage(
        self,
        user: &User,
        project: ProjectId,
        to: Stage,
    ) -> Result<std::result::Result<(), FundRefusal>> {
        self.advance_project_stage(user, project, to, None).await
    }

    /// Move a project one stage forward (headquarters or its unit) and record the actual
    /// date of the step when given: 实施 sets the actual start, 完工 the actual end (not
    /// before the start). Audited (`set_project_stage`, with the date), revision + 1.
    pub async fn advance_project_stage(
        self,
        user: &User,
        project: ProjectId,
        to: Stage,
        on: Option<NaiveDate>,
    ) -> Result<std::result::Result<(), FundRefusal>> {
        let write = ProjectWrite { user, project };
        on_pool!(self.0, pool => projects::advance_project_stage(pool, write, to, on).await)
    }

    // The ledger.

    /// A project's ledger, oldest first; empty when the project is outside the scope.
    pub async fn fund_entries(
        self,
        scope: &ItemScope,
        project: ProjectId,
    ) -> Result<Vec<FundEntry>> {
        on_pool!(self.0, pool => entries::fund_entries(pool, scope, project).await)
    }

    /// Record a disbursement (`kind` Disbursement) or a reversal of an earlier one, checked
    /// by the ledger's rule inside the write transaction with the project's row locked.
    /// Headquarters and the project's implementing unit record; an override of the budget
    /// is headquarters' and needs a reason. Audited (`disburse` or `reverse`, and
    /// `override_budget` with the reason when the entry passes the budget).
    pub async fn add_fund_entry(
        self,
        user: &User,
        project: ProjectId,
        kind: EntryKind,
        entry: &NewFundEntry,
        over: Option<&Override>,
    ) -> Result<std::result::Result<FundEntry, FundRefusal>> {
        let write = ProjectWrite { user, project };
        on_pool!(self.0, pool => entries::add_fund_entry(pool, write, kind, entry, over).await)
    }

    /// Record a disbursement file (`fupin_io::funds_file`) in one transaction, all or
    /// nothing: each row's project (年度 + 项目名称) must be in the user's scope and theirs
    /// to record (F510), and each disbursement must pass the ledger's rule counting the
    /// rows before it (F511: over budget is refused — an override is given one entry at a
    /// time). Every entry is audited (`disburse`). Returns the number recorded, or every
    /// problem with its line.
    pub async fn import_disbursements(
        self,
        user: &User,
        file_name: &str,
        rows: &[fupin_io::funds_file::DisbursementRow],
    ) -> Result<std::result::Result<u64, Vec<RowRefusal>>> {
        on_pool!(self.0, pool => entries::import_disbursements(pool, user, file_name, rows).await)
    }

    // The households that benefit.

    /// Record (or change) a household's yearly benefit of a kind from a project:
    /// headquarters or the project's unit. Audited (`set_beneficiary`, before and after).
    pub async fn set_beneficiary(
        self,
        user: &User,
        project: ProjectId,
        household_no: &str,
        kind: BenefitKind,
        yearly: Fen,
    ) -> Result<std::result::Result<(), FundRefusal>> {
        let write = ProjectWrite { user, project };
        let benefit = NewBenefit {
            household_no,
            kind,
            yearly,
        };
        on_pool!(self.0, pool => beneficiaries::set_beneficiary(pool, write, benefit).await)
    }

    /// Record a beneficiaries file in one transaction, all or nothing: each row's project
    /// must be in the user's scope and theirs to write (F510). Each row is audited
    /// (`set_beneficiary`, before and after). Returns the number of rows.
    pub async fn import_beneficiaries(
        self,
        user: &User,
        file_name: &str,
        rows: &[fupin_io::funds_file::BeneficiaryRow],
    ) -> Result<std::result::Result<u64, Vec<RowRefusal>>> {
        on_pool!(self.0, pool => beneficiaries::import_beneficiaries(pool, user, file_name, rows).await)
    }

    /// A household's benefits from the projects in the scope.
    pub async fn household_benefits(
        self,
        scope: &ItemScope,
        household_no: &str,
    ) -> Result<Vec<Benefit>> {
        on_pool!(self.0, pool => beneficiaries::household_benefits(pool, scope, household_no).await)
    }

    /// The households that benefit from a project in the scope, by 户编号 and kind.
    pub async fn project_beneficiaries(
        self,
        scope: &ItemScope,
        project: ProjectId,
    ) -> Result<Vec<Benefit>> {
        on_pool!(self.0, pool => beneficiaries::project_beneficiaries(pool, scope, project).await)
    }

    /// Households of the current register version in `scope` whose declared wage or
    /// property income does not account for their recorded project benefits
    /// ([`fupin_domain::funds::unaccounted_benefits`]), by 户编号.
    pub async fn benefit_flags(self, scope: &Scope) -> Result<Vec<BenefitFlag>> {
        beneficiaries::benefit_flags(self.0, scope).await
    }

    // The figures.

    /// Disbursement figures in a scope, grouped by project, source, key task, unit,
    /// township or month (see [`FundsBy`]), in key order.
    pub async fn fund_figures(self, scope: &ItemScope, by: FundsBy) -> Result<Vec<FundFigure>> {
        figures::fund_figures(self.0, scope, by).await
    }

    /// Projects behind schedule by `rule` as of `today` (see
    /// [`fupin_domain::funds::is_behind`]), lowest share first.
    pub async fn behind_schedule(
        self,
        scope: &ItemScope,
        rule: ScheduleRule,
        today: NaiveDate,
    ) -> Result<Vec<Behind>> {
        on_pool!(self.0, pool => figures::behind_schedule(pool, scope, rule, today).await)
    }

    /// The funds part of the "six in place" panel (资金到位) for a scope: projects, budget,
    /// net disbursed and its rate, projects behind schedule by `rule` (when given), and
    /// entries recorded over budget by an override.
    pub async fn funds_in_place(
        self,
        scope: &ItemScope,
        rule: Option<ScheduleRule>,
        today: NaiveDate,
    ) -> Result<FundsInPlace> {
        on_pool!(self.0, pool => figures::funds_in_place(pool, scope, rule, today).await)
    }

    /// The county's behind-schedule rule, if headquarters has set one.
    pub async fn schedule_rule(self) -> Result<Option<ScheduleRule>> {
        on_pool!(self.0, pool => figures::schedule_rule(pool).await)
    }

    /// Set (or clear, with None) the county's behind-schedule rule: headquarters only, a
    /// share of at most 100%. Audited (`set_schedule_rule`) when it changes.
    pub async fn set_schedule_rule(
        self,
        user: &User,
        rule: Option<ScheduleRule>,
    ) -> Result<std::result::Result<(), FundRefusal>> {
        on_pool!(self.0, pool => figures::set_schedule_rule(pool, user, rule).await)
    }

    // The library and its ledger listed.

    /// The projects in a scope, by year (newest first) and name, with their budgets and
    /// net disbursed sums.
    pub async fn projects(self, scope: &ItemScope) -> Result<Vec<StoredProject>> {
        on_pool!(self.0, pool => ledger::projects(pool, scope).await)
    }

    /// One project, if it is in the scope.
    pub async fn project(self, scope: &ItemScope, id: ProjectId) -> Result<Option<StoredProject>> {
        Ok(self.projects(scope).await?.into_iter().find(|p| p.id == id))
    }

    /// A page of the projects in `scope` narrowed by `filter`: by year (newest first), then
    /// id (newest first), after the key of the previous page; each with its budget and net
    /// disbursed sums.
    pub async fn project_page(
        self,
        scope: &ItemScope,
        filter: &ProjectFilter,
        after: Option<ProjectKey>,
        limit: i64,
    ) -> Result<Page<StoredProject, ProjectKey>> {
        on_pool!(self.0, pool => ledger::project_page(pool, scope, filter, after, limit).await)
    }

    /// Every project in `scope` narrowed by `filter`, in the list's order (for the ledger).
    pub async fn projects_filtered(
        self,
        scope: &ItemScope,
        filter: &ProjectFilter,
    ) -> Result<Vec<StoredProject>> {
        on_pool!(self.0, pool => ledger::projects_filtered(pool, scope, filter).await)
    }

    /// The years (newest first) and townships of the projects in a scope.
    pub async fn project_facets(self, scope: &ItemScope) -> Result<ProjectFacets> {
        on_pool!(self.0, pool => ledger::project_facets(pool, scope).await)
    }

    /// The ledger entries of the projects in `scope` narrowed by `filter`, by project in the
    /// list's order, then as recorded (for the 资金拨付台账).
    pub async fn ledger_lines(
        self,
        scope: &ItemScope,
        filter: &ProjectFilter,
    ) -> Result<Vec<LedgerLine>> {
        on_pool!(self.0, pool => ledger::ledger_lines(pool, scope, filter).await)
    }
}
