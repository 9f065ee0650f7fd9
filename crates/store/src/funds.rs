//! Projects and funds in the database (issue 7, docs `projects-and-funds.md`): the project
//! library (keyed by year and name; an import that changes a project raises its revision,
//! audited with before and after), budgets by fund source, the append-only ledger of
//! disbursements and reversals, the households that benefit, and the figures.
//!
//! The ledger has no edit or delete path: the store has no method for it and triggers on
//! both backends refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL). An entry is checked
//! by [`fupin_domain::funds::check_entry`] inside the transaction that writes it, after the
//! project's row is locked (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` takes
//! the single write lock), so two entries recorded at once cannot both pass the budget.
//!
//! What a user may read is decided in SQL by an [`ItemScope`]: unit staff the projects
//! their unit implements, township and village staff the projects of their area, the
//! others all.

use crate::accounts::{User, UserId};
use crate::audit::{Audit, Record};
use crate::chain::{Append, Chain, FundLink};
use crate::rows::{BeginWrite, Get};
use crate::scope::Scope;
use crate::work::{ActingUser, ItemScope};
use crate::{now, on_pool, Result, Store, StoreError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use fupin_domain::figures::Rate;
use fupin_domain::funds::{
    can_link_beneficiary, can_record, check_entry, check_entry_fields, is_behind, rate,
    unaccounted_benefits, BenefitKind, Budget, EntryId, EntryKind, FundSource, LedgerEntry,
    NewEntry, Override, Project, ProjectType, Refusal, ScheduleRule, Stage, Unaccounted,
};
use fupin_domain::household::{Entry, HouseholdValues};
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_domain::Fen;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub type ProjectId = i64;

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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProjectImport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// F552: projects serving a 序号 that is not a task of their year's plan in force.
    pub warnings: Vec<Problem>,
}

/// An entry to record in a project's ledger.
#[derive(Clone, Debug)]
pub struct NewFundEntry {
    pub date: NaiveDate,
    pub source: FundSource,
    pub amount: Fen,
    /// 凭证号.
    pub voucher: String,
    /// 收款单位/人.
    pub payee: String,
    /// 备注.
    pub note: String,
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

impl FundEntry {
    fn ledger(&self) -> LedgerEntry {
        LedgerEntry {
            id: self.id,
            date: self.date,
            source: self.source,
            amount: self.amount,
            kind: self.kind,
        }
    }
}

/// A household's township in the current register version, by 户编号.
const HOUSEHOLD_TOWNSHIP: &str = "SELECT a.township FROM current_register c \
     JOIN households h ON h.version_id = c.version_id \
     JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
     WHERE c.id = 1 AND h.household_no = $1";

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

/// What the figures are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FundsBy {
    Project,
    Source,
    /// The plan's key task (year and 序号).
    Task,
    Unit,
    Township,
    /// The month of the entries' dates: the month's net sum, and the cumulative rate.
    Month,
}

/// One line of the figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FundFigure {
    /// A machine key: the project id, source code, `2018-3` (year-序号), unit, township,
    /// `2018-03`.
    pub key: String,
    /// What people read.
    pub label: String,
    pub projects: u64,
    pub budget: Fen,
    /// Net disbursed (by month: cumulative up to the month's end).
    pub disbursed: Fen,
    /// For months: the month's own net sum; otherwise equal to `disbursed`.
    pub in_period: Fen,
    /// Disbursed ÷ budget, exactly; None without a budget.
    #[serde(serialize_with = "ser_rate")]
    pub rate: Option<Rate>,
}

fn ser_rate<S: serde::Serializer>(r: &Option<Rate>, s: S) -> Result<S::Ok, S::Error> {
    r.map(|r| r.percent()).serialize(s)
}

/// A project behind schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Behind {
    pub id: ProjectId,
    pub year: i32,
    pub name: String,
    pub unit: String,
    pub township: String,
    pub village: Option<String>,
    pub stage: Stage,
    pub budget: Fen,
    /// Net disbursed up to the rule's date.
    pub disbursed_by_date: Fen,
    #[serde(serialize_with = "ser_rate")]
    pub rate: Option<Rate>,
}

/// The funds part of the "six in place" (资金到位) panel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FundsInPlace {
    pub projects: u64,
    /// Projects with a budget.
    pub funded: u64,
    pub budget: Fen,
    pub disbursed: Fen,
    #[serde(serialize_with = "ser_rate")]
    pub rate: Option<Rate>,
    /// Projects behind schedule by the rule given, if any.
    pub behind: u64,
    /// Entries recorded over budget by an override.
    pub overrides: u64,
}

/// A household's benefit from a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Benefit {
    pub project_id: ProjectId,
    pub project: String,
    pub year: i32,
    pub household_no: String,
    pub kind: BenefitKind,
    pub yearly: Fen,
}

/// A household of the current register whose declared income does not account for its
/// recorded benefits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BenefitFlag {
    pub household_no: String,
    pub township: String,
    pub village: String,
    pub unaccounted: Vec<Unaccounted>,
}

/// SQL conditions on a `projects` row aliased `p` for a scope, placeholders from `first`.
pub(crate) fn project_scope(scope: &ItemScope, first: usize) -> (String, Vec<String>) {
    match scope {
        ItemScope::All | ItemScope::Area(Scope::County) => (String::new(), Vec::new()),
        ItemScope::Unit(u) => (format!(" AND p.unit = ${first}"), vec![u.clone()]),
        ItemScope::Area(Scope::Township { township }) => (
            format!(" AND p.township = ${first}"),
            vec![township.clone()],
        ),
        ItemScope::Area(Scope::Village { township, village }) => (
            format!(" AND p.township = ${first} AND p.village = ${}", first + 1),
            vec![township.clone(), village.clone()],
        ),
    }
}

pub(crate) const PROJECT_COLUMNS: &str =
    "p.id, p.year, p.name, p.kind, p.township, p.village, p.task_no, \
     p.unit, p.stage, p.planned_start, p.planned_end, p.actual_start, p.actual_end, p.revision";

pub(crate) fn parse_code<T>(text: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    parse(text).ok_or_else(|| StoreError::corrupt(format!("{what}「{text}」")))
}

pub(crate) fn project_row(r: &impl Get) -> Result<(ProjectId, i64, Project)> {
    Ok((
        r.int("id")?,
        r.int("revision")?,
        Project {
            name: r.text("name")?,
            year: r.int("year")? as i32,
            kind: parse_code(&r.text("kind")?, ProjectType::parse, "项目类型")?,
            township: r.text("township")?,
            village: r.opt_text("village")?,
            task_no: r.opt_int("task_no")?.map(|n| n as u32),
            unit: r.text("unit")?,
            budget: Budget::default(),
            stage: parse_code(&r.text("stage")?, Stage::parse, "项目阶段")?,
            planned_start: r.opt_date("planned_start")?,
            planned_end: r.opt_date("planned_end")?,
            actual_start: r.opt_date("actual_start")?,
            actual_end: r.opt_date("actual_end")?,
        },
    ))
}

pub(crate) fn entry_row(r: &impl Get) -> Result<FundEntry> {
    let kind = match (r.text("kind")?.as_str(), r.opt_int("reverses")?) {
        ("disbursement", None) => EntryKind::Disbursement,
        ("reversal", Some(of)) => EntryKind::Reversal { of },
        (k, _) => return Err(StoreError::corrupt(format!("拨付记录类型「{k}」"))),
    };
    Ok(FundEntry {
        id: r.int("id")?,
        project_id: r.int("project_id")?,
        date: r
            .opt_date("entry_date")?
            .ok_or_else(|| StoreError::corrupt("拨付日期为空"))?,
        source: parse_code(&r.text("source")?, FundSource::parse, "资金来源")?,
        amount: Fen(r.int("amount")?),
        kind,
        voucher: r.text("voucher")?,
        payee: r.text("payee")?,
        note: r.text("note")?,
        override_reason: r.opt_text("override_reason")?,
        recorded_at: r.time("recorded_at")?,
        recorded_by: r.opt_text("recorded_by_name")?,
    })
}

/// A project as JSON for the audit log.
pub(crate) fn project_json(p: &Project) -> Value {
    json!({
        "year": p.year, "name": p.name, "type": p.kind.code(), "township": p.township,
        "village": p.village, "task_no": p.task_no, "unit": p.unit, "stage": p.stage.code(),
        "planned_start": p.planned_start, "planned_end": p.planned_end,
        "actual_start": p.actual_start, "actual_end": p.actual_end,
        "budget": p.budget.sources().iter()
            .map(|(s, f)| (s.code().to_string(), Value::String(f.plain())))
            .collect::<serde_json::Map<_, _>>(),
    })
}

fn entry_json(e: &FundEntry) -> Value {
    json!({
        "project_id": e.project_id, "date": e.date, "source": e.source.code(),
        "amount": e.amount.plain(), "kind": e.kind, "voucher": e.voucher, "payee": e.payee,
        "note": e.note, "override_reason": e.override_reason,
    })
}

pub(crate) const ENTRY_SELECT: &str =
    "SELECT e.id, e.project_id, e.source, e.entry_date, e.amount, e.kind, \
     e.reverses, e.voucher, e.payee, e.note, e.override_reason, e.recorded_at, \
     u.username AS recorded_by_name \
     FROM fund_entries e LEFT JOIN users u ON u.id = e.recorded_by";

/// Net sum of entries, as BIGINT on both backends (PostgreSQL's SUM of BIGINT is NUMERIC).
pub(crate) const NET: &str =
    "CAST(SUM(CASE WHEN e.kind = 'disbursement' THEN e.amount ELSE -e.amount END) AS BIGINT)";

/// A project of a file being recorded, its budget and its ledger as it grows; None when
/// the user may not record it.
type OpenLedger = Option<(ProjectId, Budget, Vec<LedgerEntry>)>;

/// Per project and source: (budget, net disbursed) — and per project, source and date the
/// net sums, for the figures.
struct Rollup {
    projects: Vec<(ProjectId, Project)>,
    /// (project, source, date, net).
    entries: Vec<(ProjectId, FundSource, NaiveDate, i64)>,
}

impl Store {
    /// Store a checked project library in one transaction: new projects are created, those
    /// already stored (same year and name) updated when they differ — revision + 1, the
    /// before and after in the audit log — and left alone when they do not. Refused with
    /// every problem (the file's line and the column) when a budget would fall below what
    /// is already disbursed from that source; then nothing is stored. Headquarters only:
    /// the caller checks the role.
    pub async fn import_projects(
        &self,
        file_name: &str,
        projects: &[(u64, Project)],
        by: Option<UserId>,
    ) -> Result<std::result::Result<ProjectImport, Vec<Problem>>> {
        let at = now();
        let file: Arc<str> = file_name.into();
        let imported = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut done = ProjectImport::default();
            let mut problems = Vec::new();
            for (line, p) in projects {
                let existing = sqlx::query(&format!(
                    "SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.year = $1 AND p.name = $2"
                ))
                .bind(i64::from(p.year))
                .bind(&p.name)
                .fetch_optional(&mut *tx)
                .await?;
                match existing {
                    None => {
                        let id = tx.insert_project(p, at).await?;
                        tx.audit(Record {
                            at,
                            user: by,
                            action: "create_project",
                            entity: "project",
                            entity_id: id.to_string(),
                            before: None,
                            after: Some(json!({"file_name": file_name, "project": project_json(p)})),
                        })
                        .await?;
                        done.created += 1;
                    }
                    Some(r) => {
                        let (id, revision, mut old) = project_row(&r)?;
                        old.budget = tx.budget(id).await?;
                        if old == *p {
                            done.unchanged += 1;
                            continue;
                        }
                        // A budget may not fall below what is disbursed from its source.
                        for d in sqlx::query(&format!(
                            "SELECT e.source, {NET} AS net FROM fund_entries e \
                             WHERE e.project_id = $1 GROUP BY e.source"
                        ))
                        .bind(id)
                        .fetch_all(&mut *tx)
                        .await?
                        {
                            let s = parse_code(&d.text("source")?, FundSource::parse, "资金来源")?;
                            let net = Fen(d.int("net")?);
                            if p.budget.get(s) < net {
                                problems.push(Problem::new(
                                    &file,
                                    *line,
                                    fupin_io::projects_file::budget_header(s),
                                    ProblemCode::F504,
                                    format!(
                                        "{}年度「{}」的{}预算改为 {} 元，低于已拨付的 {} 元：预算不能低于已拨付金额（多拨的资金请先冲销）",
                                        p.year, p.name, s.chinese(), p.budget.get(s).grouped(), net.grouped()
                                    ),
                                    p.budget.get(s).plain(),
                                ));
                            }
                        }
                        tx.rewrite_project(id, p, at).await?;
                        tx.audit(Record {
                            at,
                            user: by,
                            action: "update_project",
                            entity: "project",
                            entity_id: id.to_string(),
                            before: Some(json!({"revision": revision, "project": project_json(&old)})),
                            after: Some(json!({"revision": revision + 1, "file_name": file_name, "project": project_json(p)})),
                        })
                        .await?;
                        done.updated += 1;
                    }
                }
            }
            if !problems.is_empty() {
                tx.rollback().await?;
                Ok(Err(problems))
            } else {
                tx.commit().await?;
                Ok::<_, StoreError>(Ok(done))
            }
        })?;
        // Warnings after the fact: a 序号 that the year's plan in force does not list.
        let Ok(mut done) = imported else {
            return Ok(imported);
        };
        let mut plans: HashMap<i32, Option<Vec<u32>>> = HashMap::new();
        for (line, p) in projects {
            let Some(no) = p.task_no else { continue };
            if let std::collections::hash_map::Entry::Vacant(e) = plans.entry(p.year) {
                let tasks = self.current_plan(Some(p.year)).await?;
                e.insert(tasks.map(|s| s.plan.tasks.iter().map(|t| t.no).collect()));
            }
            let message = match plans.get(&p.year) {
                Some(Some(nos)) if nos.contains(&no) => continue,
                Some(Some(_)) => format!(
                    "{}年度「{}」服务的重点工作序号 {no} 不在{}年责任分解方案中：按任务统计时归入该序号，请核对",
                    p.year, p.name, p.year
                ),
                _ => format!(
                    "尚未导入{}年责任分解方案，无法核对「{}」服务的重点工作序号 {no}",
                    p.year, p.name
                ),
            };
            done.warnings.push(Problem::new(
                &file,
                *line,
                "服务重点工作(序号)",
                ProblemCode::F552,
                message,
                no.to_string(),
            ));
        }
        Ok(Ok(done))
    }

    /// The projects in a scope, by year (newest first) and name, with their budgets and
    /// net disbursed sums.
    pub async fn projects(&self, scope: &ItemScope) -> Result<Vec<StoredProject>> {
        let rollup = self.rollup(scope).await?;
        let mut disbursed: HashMap<ProjectId, Budget> = HashMap::new();
        for (id, s, _, net) in &rollup.entries {
            let b = disbursed.entry(*id).or_default();
            b.set(*s, Fen(b.get(*s).0 + net));
        }
        let revisions = self.revisions(scope).await?;
        Ok(rollup
            .projects
            .into_iter()
            .map(|(id, project)| StoredProject {
                id,
                revision: revisions.get(&id).copied().unwrap_or(1),
                disbursed: disbursed.remove(&id).unwrap_or_default(),
                project,
            })
            .collect())
    }

    async fn revisions(&self, scope: &ItemScope) -> Result<HashMap<ProjectId, i64>> {
        let (cond, binds) = project_scope(scope, 1);
        let sql = format!("SELECT p.id, p.revision FROM projects p WHERE 1 = 1{cond}");
        Ok(on_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.int("id")?, r.int("revision")?)))
                .collect::<Result<HashMap<_, _>>>()?
        }))
    }

    /// One project, if it is in the scope.
    pub async fn project(&self, scope: &ItemScope, id: ProjectId) -> Result<Option<StoredProject>> {
        Ok(self.projects(scope).await?.into_iter().find(|p| p.id == id))
    }

    /// A project's ledger, oldest first; empty when the project is outside the scope.
    pub async fn fund_entries(
        &self,
        scope: &ItemScope,
        project: ProjectId,
    ) -> Result<Vec<FundEntry>> {
        let (cond, binds) = project_scope(scope, 2);
        let sql = format!(
            "{ENTRY_SELECT} JOIN projects p ON p.id = e.project_id \
             WHERE e.project_id = $1{cond} ORDER BY e.id"
        );
        Ok(on_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(project);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(pool).await?.iter().map(entry_row).collect::<Result<Vec<_>>>()?
        }))
    }

    /// Record a disbursement (`kind` Disbursement) or a reversal of an earlier one, checked
    /// by the ledger's rule inside the write transaction with the project's row locked.
    /// Headquarters and the project's implementing unit record; an override of the budget
    /// is headquarters' and needs a reason. Audited (`disburse` or `reverse`, and
    /// `override_budget` with the reason when the entry passes the budget).
    pub async fn add_fund_entry(
        &self,
        user: &User,
        project: ProjectId,
        kind: EntryKind,
        entry: &NewFundEntry,
        over: Option<&Override>,
    ) -> Result<std::result::Result<FundEntry, FundRefusal>> {
        let scope = ItemScope::of(&user.role);
        let (cond, binds) = project_scope(&scope, 2);
        let lock = match self {
            Store::Postgres(_) => " FOR UPDATE",
            Store::Sqlite(_) => "",
        };
        let at = now();
        let unit_sql = format!("SELECT p.unit FROM projects p WHERE p.id = $1{cond}{lock}");
        let id = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut q = sqlx::query_scalar::<_, String>(&unit_sql).bind(project);
            for b in &binds {
                q = q.bind(b);
            }
            let Some(unit) = q.fetch_optional(&mut *tx).await? else {
                return Ok(Err(FundRefusal::NoProject(project)));
            };
            let actor = ActingUser { user, post: None };
            if let Err(m) = can_record(actor.actor(), &unit, over.is_some()) {
                return Ok(Err(FundRefusal::NotAllowed(m)));
            }
            if let Err(r) = check_entry_fields(entry.date, &entry.voucher, &entry.payee, kind, crate::today()) {
                return Ok(Err(FundRefusal::Field(r)));
            }
            let budget = tx.budget(project).await?;
            let ledger = sqlx::query(&format!("{ENTRY_SELECT} WHERE e.project_id = $1 ORDER BY e.id"))
                .bind(project)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| entry_row(r).map(|e| e.ledger()))
                .collect::<Result<Vec<_>>>()?;
            let new = NewEntry {
                date: entry.date,
                source: entry.source,
                amount: entry.amount,
                kind,
            };
            let accepted = match check_entry(&budget, &ledger, &new, over) {
                Ok(a) => a,
                Err(r) => return Ok(Err(FundRefusal::Rule(r))),
            };
            let reason = over.filter(|_| accepted.over_budget).map(|o| o.reason.trim().to_string());
            let (kind_text, reverses) = match kind {
                EntryKind::Disbursement => ("disbursement", None),
                EntryKind::Reversal { of } => ("reversal", Some(of)),
            };
            let id = tx
                .append_fund(FundLink {
                    id: 0,
                    project_id: project,
                    source: entry.source.code(),
                    entry_date: entry.date,
                    amount: entry.amount.0,
                    kind: kind_text,
                    reverses,
                    voucher: entry.voucher.trim(),
                    payee: entry.payee.trim(),
                    note: entry.note.trim(),
                    override_reason: reason.as_deref(),
                    recorded_at: at,
                    recorded_by: Some(user.id),
                })
                .await?;
            let stored = entry_row(
                &sqlx::query(&format!("{ENTRY_SELECT} WHERE e.id = $1"))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?,
            )?;
            tx.audit(Record {
                at,
                user: Some(user.id),
                action: if reverses.is_some() { "reverse" } else { "disburse" },
                entity: "fund_entry",
                entity_id: id.to_string(),
                before: None,
                after: Some(entry_json(&stored)),
            })
            .await?;
            if let Some(reason) = &reason {
                let d = fupin_domain::funds::disbursed(&ledger, entry.source);
                tx.audit(Record {
                    at,
                    user: Some(user.id),
                    action: "override_budget",
                    entity: "fund_entry",
                    entity_id: id.to_string(),
                    before: Some(json!({
                        "project_id": project, "source": entry.source.code(),
                        "budget": budget.get(entry.source).plain(), "disbursed": d.plain(),
                    })),
                    after: Some(json!({
                        "disbursed": Fen(d.0 + entry.amount.0).plain(), "reason": reason,
                    })),
                })
                .await?;
            }
            tx.commit().await?;
            id
        });
        Ok(Ok(self
            .fund_entries(&ItemScope::All, project)
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| {
                StoreError::corrupt("刚登记的拨付记录找不到了")
            })?))
    }

    /// Move a project one stage forward (入库 → 批复 → …): headquarters or the project's
    /// unit. Audited (`set_project_stage`), the revision raised. Without an actual date:
    /// see [`Store::advance_project_stage`] for the step that records one.
    pub async fn set_project_stage(
        &self,
        user: &User,
        project: ProjectId,
        to: Stage,
    ) -> Result<std::result::Result<(), FundRefusal>> {
        self.advance_project_stage(user, project, to, None).await
    }

    async fn rollup(&self, scope: &ItemScope) -> Result<Rollup> {
        let (cond, binds) = project_scope(scope, 1);
        let projects_sql = format!(
            "SELECT {PROJECT_COLUMNS} FROM projects p WHERE 1 = 1{cond} ORDER BY p.year DESC, p.name"
        );
        let budgets_sql = format!(
            "SELECT b.project_id, b.source, b.amount FROM project_budgets b \
             JOIN projects p ON p.id = b.project_id WHERE 1 = 1{cond}"
        );
        let entries_sql = format!(
            "SELECT e.project_id, e.source, e.entry_date, {NET} AS net FROM fund_entries e \
             JOIN projects p ON p.id = e.project_id WHERE 1 = 1{cond} \
             GROUP BY e.project_id, e.source, e.entry_date"
        );
        on_pool!(self, pool => {
            let mut projects = Vec::new();
            for r in {
                let mut q = sqlx::query(&projects_sql);
                for b in &binds {
                    q = q.bind(b);
                }
                q.fetch_all(pool).await?
            } {
                let (id, _, p) = project_row(&r)?;
                projects.push((id, p));
            }
            let index: HashMap<ProjectId, usize> =
                projects.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
            for r in {
                let mut q = sqlx::query(&budgets_sql);
                for b in &binds {
                    q = q.bind(b);
                }
                q.fetch_all(pool).await?
            } {
                let id = r.int("project_id")?;
                let s = parse_code(&r.text("source")?, FundSource::parse, "资金来源")?;
                if let Some(i) = index.get(&id) {
                    projects[*i].1.budget.set(s, Fen(r.int("amount")?));
                }
            }
            let mut entries = Vec::new();
            for r in {
                let mut q = sqlx::query(&entries_sql);
                for b in &binds {
                    q = q.bind(b);
                }
                q.fetch_all(pool).await?
            } {
                entries.push((
                    r.int("project_id")?,
                    parse_code(&r.text("source")?, FundSource::parse, "资金来源")?,
                    r.opt_date("entry_date")?.ok_or_else(|| StoreError::corrupt("拨付日期为空"))?,
                    r.int("net")?,
                ));
            }
            Ok(Rollup { projects, entries })
        })
    }

    /// Disbursement figures in a scope, grouped by project, source, key task, unit,
    /// township or month (see [`FundsBy`]), in key order.
    pub async fn fund_figures(&self, scope: &ItemScope, by: FundsBy) -> Result<Vec<FundFigure>> {
        let rollup = self.rollup(scope).await?;
        let mut task_titles: HashMap<(i32, u32), String> = HashMap::new();
        if by == FundsBy::Task {
            let mut years: Vec<i32> = rollup.projects.iter().map(|(_, p)| p.year).collect();
            years.sort_unstable();
            years.dedup();
            for y in years {
                if let Some(plan) = self.current_plan(Some(y)).await? {
                    for t in plan.plan.tasks {
                        task_titles.insert((y, t.no), t.name);
                    }
                }
            }
        }
        let by_id: HashMap<ProjectId, &Project> =
            rollup.projects.iter().map(|(id, p)| (*id, p)).collect();
        // (key, label) → (projects, budget, net).
        let mut groups: BTreeMap<String, (String, u64, i64, i64)> = BTreeMap::new();
        let key_of = |id: ProjectId, p: &Project| -> (String, String) {
            match by {
                FundsBy::Project => (format!("{id:010}"), format!("{}年 {}", p.year, p.name)),
                FundsBy::Unit => (p.unit.clone(), p.unit.clone()),
                FundsBy::Township => (p.township.clone(), p.township.clone()),
                FundsBy::Task => match p.task_no {
                    Some(no) => (
                        format!("{}-{no:03}", p.year),
                        match task_titles.get(&(p.year, no)) {
                            Some(t) => format!("{}年 序号{no}「{t}」", p.year),
                            None => format!("{}年 序号{no}", p.year),
                        },
                    ),
                    None => (
                        format!("{}-zzz", p.year),
                        format!("{}年 未关联重点工作", p.year),
                    ),
                },
                FundsBy::Source | FundsBy::Month => (String::new(), String::new()),
            }
        };
        match by {
            FundsBy::Source => {
                for s in FundSource::ALL {
                    let budget: i64 = rollup
                        .projects
                        .iter()
                        .map(|(_, p)| p.budget.get(*s).0)
                        .sum();
                    let n = rollup
                        .projects
                        .iter()
                        .filter(|(_, p)| p.budget.get(*s).0 > 0)
                        .count();
                    let net: i64 = rollup
                        .entries
                        .iter()
                        .filter(|e| e.1 == *s)
                        .map(|e| e.3)
                        .sum();
                    if budget > 0 || net != 0 {
                        groups.insert(
                            format!("{}{}", *s as u8, s.code()),
                            (s.chinese().to_string(), n as u64, budget, net),
                        );
                    }
                }
            }
            FundsBy::Month => {
                let total: i64 = rollup
                    .projects
                    .iter()
                    .map(|(_, p)| p.budget.total().0)
                    .sum();
                let mut months: BTreeMap<(i32, u32), (HashMap<ProjectId, ()>, i64)> =
                    BTreeMap::new();
                for (id, _, d, net) in &rollup.entries {
                    let m = months.entry((d.year(), d.month())).or_default();
                    m.0.insert(*id, ());
                    m.1 += net;
                }
                let mut cumulative = 0i64;
                let mut out = Vec::new();
                for ((y, m), (ids, net)) in months {
                    cumulative += net;
                    out.push(FundFigure {
                        key: format!("{y}-{m:02}"),
                        label: format!("{y}年{m}月"),
                        projects: ids.len() as u64,
                        budget: Fen(total),
                        disbursed: Fen(cumulative),
                        in_period: Fen(net),
                        rate: rate(Fen(total), Fen(cumulative)),
                    });
                }
                return Ok(out);
            }
            _ => {
                for (id, p) in &rollup.projects {
                    let (key, label) = key_of(*id, p);
                    let g = groups.entry(key).or_insert((label, 0, 0, 0));
                    g.1 += 1;
                    g.2 += p.budget.total().0;
                }
                for (id, _, _, net) in &rollup.entries {
                    if let Some(p) = by_id.get(id) {
                        let (key, _) = key_of(*id, p);
                        if let Some(g) = groups.get_mut(&key) {
                            g.3 += net;
                        }
                    }
                }
            }
        }
        Ok(groups
            .into_iter()
            .map(|(key, (label, projects, budget, net))| FundFigure {
                key: match by {
                    FundsBy::Project => key.trim_start_matches('0').to_string(),
                    FundsBy::Source => key.trim_start_matches(char::is_numeric).to_string(),
                    _ => key,
                },
                label,
                projects,
                budget: Fen(budget),
                disbursed: Fen(net),
                in_period: Fen(net),
                rate: rate(Fen(budget), Fen(net)),
            })
            .collect())
    }

    /// Projects behind schedule by `rule` as of `today` (see
    /// [`fupin_domain::funds::is_behind`]), lowest share first.
    pub async fn behind_schedule(
        &self,
        scope: &ItemScope,
        rule: ScheduleRule,
        today: NaiveDate,
    ) -> Result<Vec<Behind>> {
        let rollup = self.rollup(scope).await?;
        let mut by_date: HashMap<ProjectId, i64> = HashMap::new();
        for (id, _, d, net) in &rollup.entries {
            if *d <= rule.by {
                *by_date.entry(*id).or_default() += net;
            }
        }
        let mut out: Vec<Behind> = rollup
            .projects
            .into_iter()
            .filter_map(|(id, p)| {
                let paid = Fen(by_date.get(&id).copied().unwrap_or(0));
                let budget = p.budget.total();
                is_behind(rule, today, budget, paid).then(|| Behind {
                    id,
                    year: p.year,
                    name: p.name,
                    unit: p.unit,
                    township: p.township,
                    village: p.village,
                    stage: p.stage,
                    budget,
                    disbursed_by_date: paid,
                    rate: rate(budget, paid),
                })
            })
            .collect();
        // Lowest share first: a.paid / a.budget < b.paid / b.budget, exactly.
        out.sort_by(|a, b| {
            let share =
                |x: &Behind, y: &Behind| i128::from(x.disbursed_by_date.0) * i128::from(y.budget.0);
            share(a, b).cmp(&share(b, a)).then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// The funds part of the "six in place" panel (资金到位) for a scope: projects, budget,
    /// net disbursed and its rate, projects behind schedule by `rule` (when given), and
    /// entries recorded over budget by an override.
    pub async fn funds_in_place(
        &self,
        scope: &ItemScope,
        rule: Option<ScheduleRule>,
        today: NaiveDate,
    ) -> Result<FundsInPlace> {
        let rollup = self.rollup(scope).await?;
        let budget = Fen(rollup
            .projects
            .iter()
            .map(|(_, p)| p.budget.total().0)
            .sum());
        let disbursed = Fen(rollup.entries.iter().map(|e| e.3).sum());
        let behind = match rule {
            Some(r) => self.behind_schedule(scope, r, today).await?.len() as u64,
            None => 0,
        };
        let (cond, binds) = project_scope(scope, 1);
        let sql = format!(
            "SELECT COUNT(*) AS n FROM fund_entries e JOIN projects p ON p.id = e.project_id \
             WHERE e.override_reason IS NOT NULL{cond}"
        );
        let overrides = on_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            crate::rows::count(&q.fetch_one(pool).await?, "n")?
        });
        Ok(FundsInPlace {
            projects: rollup.projects.len() as u64,
            funded: rollup
                .projects
                .iter()
                .filter(|(_, p)| p.budget.total().0 > 0)
                .count() as u64,
            budget,
            disbursed,
            rate: rate(budget, disbursed),
            behind,
            overrides,
        })
    }

    /// Record (or change) a household's yearly benefit of a kind from a project:
    /// headquarters or the project's unit. Audited (`set_beneficiary`, before and after).
    pub async fn set_beneficiary(
        &self,
        user: &User,
        project: ProjectId,
        household_no: &str,
        kind: BenefitKind,
        yearly: Fen,
    ) -> Result<std::result::Result<(), FundRefusal>> {
        let scope = ItemScope::of(&user.role);
        let (cond, binds) = project_scope(&scope, 2);
        let household_no = household_no.trim();
        if household_no.is_empty() || yearly.0 < 0 {
            return Ok(Err(FundRefusal::NotAllowed(
                "户编号不能为空，年收益不能为负数".into(),
            )));
        }
        let at = now();
        let unit_sql = format!("SELECT p.unit, p.township FROM projects p WHERE p.id = $1{cond}");
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut q = sqlx::query(&unit_sql).bind(project);
            for b in &binds {
                q = q.bind(b);
            }
            let Some(r) = q.fetch_optional(&mut *tx).await? else {
                return Ok(Err(FundRefusal::NoProject(project)));
            };
            let (unit, township) = (r.text("unit")?, r.text("township")?);
            let actor = ActingUser { user, post: None };
            if let Err(m) = can_record(actor.actor(), &unit, false) {
                return Ok(Err(FundRefusal::NotAllowed(m.replace("登记资金拨付", "登记带贫户"))));
            }
            let home: Option<String> = sqlx::query_scalar(HOUSEHOLD_TOWNSHIP)
                .bind(household_no)
                .fetch_optional(&mut *tx)
                .await?;
            if let Err(m) = can_link_beneficiary(actor.actor(), &township, household_no, home.as_deref()) {
                return Ok(Err(FundRefusal::Invalid(m)));
            }
            let before: Option<i64> = sqlx::query_scalar(
                "SELECT yearly FROM project_beneficiaries \
                 WHERE project_id = $1 AND household_no = $2 AND kind = $3",
            )
            .bind(project)
            .bind(household_no)
            .bind(kind.code())
            .fetch_optional(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO project_beneficiaries (project_id, household_no, kind, yearly) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, household_no, kind) \
                 DO UPDATE SET yearly = excluded.yearly",
            )
            .bind(project)
            .bind(household_no)
            .bind(kind.code())
            .bind(yearly.0)
            .execute(&mut *tx)
            .await?;
            tx.audit(Record {
                at,
                user: Some(user.id),
                action: "set_beneficiary",
                entity: "project",
                entity_id: project.to_string(),
                before: before.map(|b| json!({"household_no": household_no, "kind": kind.code(), "yearly": Fen(b).plain()})),
                after: Some(json!({"household_no": household_no, "kind": kind.code(), "yearly": yearly.plain()})),
            })
            .await?;
            tx.commit().await?;
            Ok(Ok(()))
        })
    }

    /// A household's benefits from the projects in the scope.
    pub async fn household_benefits(
        &self,
        scope: &ItemScope,
        household_no: &str,
    ) -> Result<Vec<Benefit>> {
        let (cond, binds) = project_scope(scope, 2);
        let sql = format!(
            "SELECT b.project_id, p.name, p.year, b.household_no, b.kind, b.yearly \
             FROM project_beneficiaries b JOIN projects p ON p.id = b.project_id \
             WHERE b.household_no = $1{cond} ORDER BY p.year, p.name, b.kind"
        );
        on_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(household_no);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(pool).await?.iter().map(benefit_row).collect()
        })
    }

    /// Households of the current register version in `scope` whose declared wage or
    /// property income does not account for their recorded project benefits
    /// ([`fupin_domain::funds::unaccounted_benefits`]), by 户编号.
    pub async fn benefit_flags(&self, scope: &Scope) -> Result<Vec<BenefitFlag>> {
        let Some(version) = self.current_version().await? else {
            return Ok(Vec::new());
        };
        let (cond, binds) = scope.sql("a", 2);
        let households_sql = format!(
            "SELECT h.household_no, a.township, a.village, h.wage_income, h.property_income \
             FROM households h JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
             WHERE h.version_id = $1{cond} \
             AND h.household_no IN (SELECT household_no FROM project_beneficiaries) \
             ORDER BY h.household_no"
        );
        let benefits_sql = format!(
            "SELECT b.project_id, p.name, p.year, b.household_no, b.kind, b.yearly \
             FROM project_beneficiaries b JOIN projects p ON p.id = b.project_id \
             WHERE b.household_no IN (SELECT h.household_no FROM households h \
             JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
             WHERE h.version_id = $1{cond})"
        );
        let (households, benefits) = on_pool!(self, pool => {
            let mut q = sqlx::query(&households_sql).bind(version.id);
            for b in &binds {
                q = q.bind(*b);
            }
            let mut households = Vec::new();
            for r in q.fetch_all(pool).await? {
                let amount = |c: &str| -> Result<Entry<Fen>> {
                    Ok(r.opt_int(c)?.map_or(Entry::Empty, |v| Entry::Value(Fen(v))))
                };
                households.push((
                    r.text("household_no")?,
                    r.text("township")?,
                    r.text("village")?,
                    HouseholdValues {
                        wage_income: amount("wage_income")?,
                        property_income: amount("property_income")?,
                        ..HouseholdValues::default()
                    },
                ));
            }
            let mut q = sqlx::query(&benefits_sql).bind(version.id);
            for b in &binds {
                q = q.bind(*b);
            }
            let benefits = q.fetch_all(pool).await?.iter().map(benefit_row).collect::<Result<Vec<_>>>()?;
            (households, benefits)
        });
        let mut by_household: HashMap<&str, Vec<(BenefitKind, Fen)>> = HashMap::new();
        for b in &benefits {
            by_household
                .entry(b.household_no.as_str())
                .or_default()
                .push((b.kind, b.yearly));
        }
        Ok(households
            .into_iter()
            .filter_map(|(no, township, village, values)| {
                let recorded = by_household.get(no.as_str())?;
                let unaccounted = unaccounted_benefits(&values, recorded);
                (!unaccounted.is_empty()).then_some(BenefitFlag {
                    household_no: no,
                    township,
                    village,
                    unaccounted,
                })
            })
            .collect())
    }

    /// Record a disbursement file (`fupin_io::funds_file`) in one transaction, all or
    /// nothing: each row's project (年度 + 项目名称) must be in the user's scope and theirs
    /// to record (F510), and each disbursement must pass the ledger's rule counting the
    /// rows before it (F511: over budget is refused — an override is given one entry at a
    /// time). Every entry is audited (`disburse`). Returns the number recorded, or every
    /// problem with its line.
    pub async fn import_disbursements(
        &self,
        user: &User,
        file_name: &str,
        rows: &[fupin_io::funds_file::DisbursementRow],
    ) -> Result<std::result::Result<u64, Vec<Problem>>> {
        let scope = ItemScope::of(&user.role);
        let (cond, binds) = project_scope(&scope, 3);
        let lock = match self {
            Store::Postgres(_) => " FOR UPDATE",
            Store::Sqlite(_) => "",
        };
        let project_sql = format!(
            "SELECT p.id, p.unit FROM projects p WHERE p.year = $1 AND p.name = $2{cond}{lock}"
        );
        let file: Arc<str> = file_name.into();
        let at = now();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut problems = Vec::new();
            // Per project: its budget and its ledger as it grows.
            let mut ledgers: HashMap<(i32, String), OpenLedger> = HashMap::new();
            let mut written = 0u64;
            // Each chain's end, read once at the first row written, then moved by each row.
            let mut ends: Option<((i64, String), (i64, String))> = None;
            for row in rows {
                let key = (row.year, row.project.clone());
                if !ledgers.contains_key(&key) {
                    let mut q = sqlx::query(&project_sql).bind(i64::from(row.year)).bind(&row.project);
                    for b in &binds {
                        q = q.bind(b);
                    }
                    let found = match q.fetch_optional(&mut *tx).await? {
                        None => None,
                        Some(r) => {
                            let (id, unit) = (r.int("id")?, r.text("unit")?);
                            match can_record(ActingUser { user, post: None }.actor(), &unit, false) {
                                Err(_) => None,
                                Ok(()) => {
                                    let budget = tx.budget(id).await?;
                                    let ledger = sqlx::query(&format!("{ENTRY_SELECT} WHERE e.project_id = $1 ORDER BY e.id"))
                                        .bind(id)
                                        .fetch_all(&mut *tx)
                                        .await?
                                        .iter()
                                        .map(|r| entry_row(r).map(|e| e.ledger()))
                                        .collect::<Result<Vec<_>>>()?;
                                    Some((id, budget, ledger))
                                }
                            }
                        }
                    };
                    ledgers.insert(key.clone(), found);
                }
                let Some(Some((id, budget, ledger))) = ledgers.get_mut(&key) else {
                    problems.push(Problem::new(
                        &file,
                        row.line,
                        "项目名称",
                        ProblemCode::F510,
                        format!(
                            "项目库中没有{}年度「{}」，或您无权登记它的资金拨付（指挥部可登记所有项目，实施单位只能登记本单位的项目）",
                            row.year, row.project
                        ),
                        row.project.as_str(),
                    ));
                    continue;
                };
                let new = NewEntry {
                    date: row.date,
                    source: row.source,
                    amount: row.amount,
                    kind: EntryKind::Disbursement,
                };
                if let Err(r) = check_entry_fields(row.date, &row.voucher, &row.payee, new.kind, crate::today()) {
                    let value = match r.field {
                        fupin_domain::funds::EntryField::Date => row.date.to_string(),
                        fupin_domain::funds::EntryField::Voucher => row.voucher.clone(),
                        fupin_domain::funds::EntryField::Payee => row.payee.clone(),
                    };
                    let code = match r.field {
                        fupin_domain::funds::EntryField::Date => ProblemCode::F505,
                        _ => ProblemCode::F502,
                    };
                    problems.push(Problem::new(&file, row.line, r.field.chinese(), code, r.message, value));
                    continue;
                }
                if let Err(r) = check_entry(budget, ledger, &new, None) {
                    problems.push(Problem::new(
                        &file,
                        row.line,
                        "金额",
                        ProblemCode::F511,
                        format!("{}年度「{}」：{r}", row.year, row.project),
                        row.amount.plain(),
                    ));
                    continue;
                }
                if !problems.is_empty() {
                    // Keep checking the rest, but write nothing more.
                    ledger.push(LedgerEntry { id: -(row.line as i64), date: row.date, source: row.source, amount: row.amount, kind: EntryKind::Disbursement });
                    continue;
                }
                if ends.is_none() {
                    ends = Some((
                        tx.next_link(Chain::Funds).await?,
                        tx.next_link(Chain::Audit).await?,
                    ));
                }
                let (fund_end, audit_end) = ends.as_mut().expect("set above");
                let entry_id = tx
                    .append_fund_at(fund_end, FundLink {
                        id: 0,
                        project_id: *id,
                        source: row.source.code(),
                        entry_date: row.date,
                        amount: row.amount.0,
                        kind: "disbursement",
                        reverses: None,
                        voucher: row.voucher.trim(),
                        payee: row.payee.trim(),
                        note: row.note.trim(),
                        override_reason: None,
                        recorded_at: at,
                        recorded_by: Some(user.id),
                    })
                    .await?;
                ledger.push(LedgerEntry { id: entry_id, date: row.date, source: row.source, amount: row.amount, kind: EntryKind::Disbursement });
                tx.audit_at(audit_end, Record {
                    at,
                    user: Some(user.id),
                    action: "disburse",
                    entity: "fund_entry",
                    entity_id: entry_id.to_string(),
                    before: None,
                    after: Some(json!({
                        "project_id": *id, "date": row.date, "source": row.source.code(),
                        "amount": row.amount.plain(), "kind": {"kind": "disbursement"},
                        "voucher": row.voucher.trim(), "payee": row.payee.trim(),
                        "note": row.note.trim(), "file_name": file_name, "line": row.line,
                    })),
                })
                .await?;
                written += 1;
            }
            if !problems.is_empty() {
                tx.rollback().await?;
                return Ok(Err(problems));
            }
            tx.commit().await?;
            Ok(Ok(written))
        })
    }

    /// Record a beneficiaries file in one transaction, all or nothing: each row's project
    /// must be in the user's scope and theirs to write (F510). Each row is audited
    /// (`set_beneficiary`, before and after). Returns the number of rows.
    pub async fn import_beneficiaries(
        &self,
        user: &User,
        file_name: &str,
        rows: &[fupin_io::funds_file::BeneficiaryRow],
    ) -> Result<std::result::Result<u64, Vec<Problem>>> {
        let scope = ItemScope::of(&user.role);
        let (cond, binds) = project_scope(&scope, 3);
        let project_sql = format!(
            "SELECT p.id, p.unit, p.township FROM projects p WHERE p.year = $1 AND p.name = $2{cond}"
        );
        let file: Arc<str> = file_name.into();
        let at = now();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut problems = Vec::new();
            for row in rows {
                let mut q = sqlx::query(&project_sql).bind(i64::from(row.year)).bind(&row.project);
                for b in &binds {
                    q = q.bind(b);
                }
                let (id, township) = match q.fetch_optional(&mut *tx).await? {
                    Some(r) if can_record(ActingUser { user, post: None }.actor(), &r.text("unit")?, false).is_ok() => (r.int("id")?, r.text("township")?),
                    _ => {
                        problems.push(Problem::new(
                            &file,
                            row.line,
                            "项目名称",
                            ProblemCode::F510,
                            format!(
                                "项目库中没有{}年度「{}」，或您无权登记它的带贫户（指挥部可登记所有项目，实施单位只能登记本单位的项目）",
                                row.year, row.project
                            ),
                            row.project.as_str(),
                        ));
                        continue;
                    }
                };
                let household_no = row.household_no.trim();
                let home: Option<String> = sqlx::query_scalar(HOUSEHOLD_TOWNSHIP)
                    .bind(household_no)
                    .fetch_optional(&mut *tx)
                    .await?;
                let actor = ActingUser { user, post: None };
                if let Err(m) = can_link_beneficiary(actor.actor(), &township, household_no, home.as_deref()) {
                    problems.push(Problem::new(&file, row.line, "户编号", ProblemCode::F510, m, household_no));
                    continue;
                }
                if !problems.is_empty() {
                    continue;
                }
                let before: Option<i64> = sqlx::query_scalar(
                    "SELECT yearly FROM project_beneficiaries \
                     WHERE project_id = $1 AND household_no = $2 AND kind = $3",
                )
                .bind(id)
                .bind(row.household_no.trim())
                .bind(row.kind.code())
                .fetch_optional(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO project_beneficiaries (project_id, household_no, kind, yearly) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, household_no, kind) \
                     DO UPDATE SET yearly = excluded.yearly",
                )
                .bind(id)
                .bind(row.household_no.trim())
                .bind(row.kind.code())
                .bind(row.yearly.0)
                .execute(&mut *tx)
                .await?;
                tx.audit(Record {
                    at,
                    user: Some(user.id),
                    action: "set_beneficiary",
                    entity: "project",
                    entity_id: id.to_string(),
                    before: before.map(|b| json!({"household_no": row.household_no.trim(), "kind": row.kind.code(), "yearly": Fen(b).plain()})),
                    after: Some(json!({"household_no": row.household_no.trim(), "kind": row.kind.code(), "yearly": row.yearly.plain(), "file_name": file_name, "line": row.line})),
                })
                .await?;
            }
            if !problems.is_empty() {
                tx.rollback().await?;
                return Ok(Err(problems));
            }
            tx.commit().await?;
            Ok(Ok(rows.len() as u64))
        })
    }
}

pub(crate) fn benefit_row(r: &impl Get) -> Result<Benefit> {
    Ok(Benefit {
        project_id: r.int("project_id")?,
        project: r.text("name")?,
        year: r.int("year")? as i32,
        household_no: r.text("household_no")?,
        kind: parse_code(&r.text("kind")?, BenefitKind::parse, "带贫方式")?,
        yearly: Fen(r.int("yearly")?),
    })
}

/// A project's row and its budget lines, written and read the same way by the library
/// import and by the edit forms, on either backend's connection.
pub(crate) trait ProjectConn {
    /// A new project (revision 1) with its budget by source; its id.
    async fn insert_project(&mut self, p: &Project, at: DateTime<Utc>) -> Result<ProjectId>;
    /// Project `id` rewritten to `p` (revision + 1), its budget lines replaced.
    async fn rewrite_project(
        &mut self,
        id: ProjectId,
        p: &Project,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Project `id`'s budget by source.
    async fn budget(&mut self, id: ProjectId) -> Result<Budget>;
}

/// A project's twelve columns from `year` to `actual_end`, bound in that order after
/// what `$q` has bound.
macro_rules! bind_project {
    ($q:expr, $p:expr) => {
        $q.bind(i64::from($p.year))
            .bind(&$p.name)
            .bind($p.kind.code())
            .bind(&$p.township)
            .bind(&$p.village)
            .bind($p.task_no.map(i64::from))
            .bind(&$p.unit)
            .bind($p.stage.code())
            .bind($p.planned_start)
            .bind($p.planned_end)
            .bind($p.actual_start)
            .bind($p.actual_end)
    };
}

macro_rules! impl_project_conn {
    ($conn:ty) => {
        impl ProjectConn for $conn {
            async fn insert_project(&mut self, p: &Project, at: DateTime<Utc>) -> Result<ProjectId> {
                let q = sqlx::query_scalar(
                    "INSERT INTO projects (year, name, kind, township, village, task_no, \
                     unit, stage, planned_start, planned_end, actual_start, actual_end, \
                     revision, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13) \
                     RETURNING id",
                );
                let id: i64 = bind_project!(q, p)
                    .bind(at)
                    .fetch_one(&mut *self)
                    .await?;
                self.insert_budget(id, &p.budget).await?;
                Ok(id)
            }

            async fn rewrite_project(
                &mut self,
                id: ProjectId,
                p: &Project,
                at: DateTime<Utc>,
            ) -> Result<()> {
                let q = sqlx::query(
                    "UPDATE projects SET year = $2, name = $3, kind = $4, township = $5, \
                     village = $6, task_no = $7, unit = $8, stage = $9, planned_start = $10, \
                     planned_end = $11, actual_start = $12, actual_end = $13, \
                     revision = revision + 1, updated_at = $14 WHERE id = $1",
                )
                .bind(id);
                bind_project!(q, p)
                    .bind(at)
                    .execute(&mut *self)
                    .await?;
                sqlx::query("DELETE FROM project_budgets WHERE project_id = $1")
                    .bind(id)
                    .execute(&mut *self)
                    .await?;
                self.insert_budget(id, &p.budget).await
            }

            async fn budget(&mut self, id: ProjectId) -> Result<Budget> {
                let mut budget = Budget::default();
                for b in sqlx::query("SELECT source, amount FROM project_budgets WHERE project_id = $1")
                    .bind(id)
                    .fetch_all(&mut *self)
                    .await?
                {
                    let s = parse_code(&b.text("source")?, FundSource::parse, "资金来源")?;
                    budget.set(s, Fen(b.int("amount")?));
                }
                Ok(budget)
            }
        }

        impl BudgetLines for $conn {
            async fn insert_budget(&mut self, id: ProjectId, budget: &Budget) -> Result<()> {
                for (s, amount) in budget.sources() {
                    sqlx::query(
                        "INSERT INTO project_budgets (project_id, source, amount) VALUES ($1, $2, $3)",
                    )
                    .bind(id)
                    .bind(s.code())
                    .bind(amount.0)
                    .execute(&mut *self)
                    .await?;
                }
                Ok(())
            }
        }
    };
}

/// A budget's lines written for a project (one row per source with an amount).
trait BudgetLines {
    async fn insert_budget(&mut self, id: ProjectId, budget: &Budget) -> Result<()>;
}

impl_project_conn!(sqlx::SqliteConnection);
impl_project_conn!(sqlx::PgConnection);
