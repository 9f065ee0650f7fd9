//! How the funds tables are read and written: the columns of a project and of a ledger
//! entry, their rows decoded, the scope of a reader in SQL, and the JSON the audit log
//! keeps of them.

use super::{Benefit, FundEntry, ProjectId};
use crate::backend::{Arg, Sql};
use crate::rows::Get;
use crate::scope::Scope;
use crate::work::ItemScope;
use crate::{Result, StoreError};
use fupin_domain::funds::{
    BenefitKind, Budget, EntryKind, FundSource, LedgerEntry, Project, ProjectType, Stage,
};
use fupin_domain::Fen;
use serde_json::{json, Value};

/// SQL conditions on a `projects` row aliased `p` for a scope, placeholders from `first`.
pub(super) fn project_scope(scope: &ItemScope, first: usize) -> (String, Vec<String>) {
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

/// `q` with each of `values` bound after what it holds (the values of a scope's or a
/// filter's conditions).
pub(super) fn bind_all<'q, T: Into<Arg<'q>>>(
    mut q: Sql<'q>,
    values: impl IntoIterator<Item = T>,
) -> Sql<'q> {
    for v in values {
        q.push(v);
    }
    q
}

pub(super) const PROJECT_COLUMNS: &str =
    "p.id, p.year, p.name, p.kind, p.township, p.village, p.task_no, \
     p.unit, p.stage, p.planned_start, p.planned_end, p.actual_start, p.actual_end, p.revision";

pub(super) fn parse_code<T>(text: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    parse(text).ok_or_else(|| StoreError::corrupt(format!("{what}「{text}」")))
}

/// A fund source read from the column `column`.
pub(super) fn source(r: &impl Get, column: &str) -> Result<FundSource> {
    parse_code(&r.text(column)?, FundSource::parse, "资金来源")
}

pub(super) fn project_row(r: &impl Get) -> Result<(ProjectId, i64, Project)> {
    Ok((
        r.id("id")?,
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

pub(super) const ENTRY_SELECT: &str =
    "SELECT e.id, e.project_id, e.source, e.entry_date, e.amount, e.kind, \
     e.reverses, e.voucher, e.payee, e.note, e.override_reason, e.recorded_at, \
     u.username AS recorded_by_name \
     FROM fund_entries e LEFT JOIN users u ON u.id = e.recorded_by";

/// Net sum of entries, as BIGINT on both backends (PostgreSQL's SUM of BIGINT is NUMERIC).
pub(super) const NET: &str =
    "CAST(SUM(CASE WHEN e.kind = 'disbursement' THEN e.amount ELSE -e.amount END) AS BIGINT)";

pub(super) fn entry_row(r: &impl Get) -> Result<FundEntry> {
    let kind = match (r.text("kind")?.as_str(), r.opt_id("reverses")?) {
        ("disbursement", None) => EntryKind::Disbursement,
        ("reversal", Some(of)) => EntryKind::Reversal { of },
        (k, _) => return Err(StoreError::corrupt(format!("拨付记录类型「{k}」"))),
    };
    Ok(FundEntry {
        id: r.id("id")?,
        project_id: r.id("project_id")?,
        date: r
            .opt_date("entry_date")?
            .ok_or_else(|| StoreError::corrupt("拨付日期为空"))?,
        source: source(r, "source")?,
        amount: Fen::new(r.int("amount")?),
        kind,
        voucher: r.text("voucher")?,
        payee: r.text("payee")?,
        note: r.text("note")?,
        override_reason: r.opt_text("override_reason")?,
        recorded_at: r.time("recorded_at")?,
        recorded_by: r.opt_text("recorded_by_name")?,
    })
}

impl FundEntry {
    /// The entry as the ledger's rule reads it (`fupin_domain::funds::unreversed` and
    /// the like), for the store, the pages and the command line alike.
    pub fn ledger(&self) -> LedgerEntry {
        LedgerEntry {
            id: self.id,
            date: self.date,
            source: self.source,
            amount: self.amount,
            kind: self.kind,
        }
    }
}

/// The columns of a benefit read by [`benefit_row`], from `project_beneficiaries b` joined
/// to `projects p`.
pub(super) const BENEFIT_SELECT: &str =
    "SELECT b.project_id, p.name, p.year, b.household_no, b.kind, b.yearly \
     FROM project_beneficiaries b JOIN projects p ON p.id = b.project_id";

pub(super) fn benefit_row(r: &impl Get) -> Result<Benefit> {
    Ok(Benefit {
        project_id: r.id("project_id")?,
        project: r.text("name")?,
        year: r.int("year")? as i32,
        household_no: r.text("household_no")?,
        kind: parse_code(&r.text("kind")?, BenefitKind::parse, "带贫方式")?,
        yearly: Fen::new(r.int("yearly")?),
    })
}

/// A project as JSON for the audit log.
pub(super) fn project_json(p: &Project) -> Value {
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

/// A ledger entry as JSON for the audit log.
pub(super) fn entry_json(e: &FundEntry) -> Value {
    json!({
        "project_id": e.project_id, "date": e.date, "source": e.source.code(),
        "amount": e.amount.plain(), "kind": e.kind, "voucher": e.voucher, "payee": e.payee,
        "note": e.note, "override_reason": e.override_reason,
    })
}
