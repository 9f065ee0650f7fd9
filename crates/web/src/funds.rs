//! 项目库与资金拨付 (issue 7, docs `projects-and-funds.md`): the project library (filtered,
//! key-paged), a project's page (budget by source, net disbursed and its rate, stage with
//! planned and actual dates, its ledger with reversals, the households that benefit), the
//! forms that create and edit a project (headquarters), move its stage, record a
//! disbursement or a reversal (headquarters or the implementing unit; an override of the
//! budget is headquarters' with a reason), the uploads of the library, disbursement and
//! beneficiaries files (all or nothing, every problem listed), the figures with the
//! county's behind-schedule rule, and the ledgers (台账) as XLSX.
//!
//! Every read passes the viewer's [`ItemScope`] to the store, which filters in SQL: a
//! project outside it is 404, like one that does not exist. Every write is the store's,
//! checked and audited there; a refusal is shown in Chinese on the form it came from.

use crate::auth::{PageUser, Viewer};
use crate::csrf::{CsrfForm, CsrfMultipart, Part};
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::xlsx::{download, ledger_workbook, Cell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use fupin_domain::access::{may, Action};
use fupin_domain::funds::{
    unreversed, BenefitKind, Budget, EntryKind, FundSource, Override, Project, ProjectType,
    ScheduleRule, Stage,
};
use fupin_domain::plan::Deadline;
use fupin_domain::Fen;
use fupin_store::{
    today, FundEntry, FundRefusal, FundsBy, ItemScope, LedgerLine, NewFundEntry, ProjectFilter,
    ProjectKey, Role, StoredProject,
};
use serde::Deserialize;

/// Projects per page of the list.
pub const PAGE: i64 = 100;

fn scope(v: &Viewer) -> ItemScope {
    ItemScope::of(&v.user().role)
}

/// Whether the viewer may record entries (and move the stage) of a unit's project.
fn may_record(v: &Viewer, unit: &str) -> bool {
    let record = Action::RecordEntry {
        unit,
        overriding: false,
    };
    may(v.user().role.actor(None), record).is_ok()
}

/// Whether the viewer records for some project: headquarters and unit staff.
fn records_any(v: &Viewer) -> bool {
    may(v.user().role.actor(None), Action::RecordAnyEntry).is_ok()
}

fn parse_date(what: &str, text: &str) -> Result<Option<NaiveDate>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match Deadline::parse(t).ok().and_then(Deadline::date) {
        Some(d) => Ok(Some(d)),
        None => Err(format!(
            "{what}「{t}」应为 2018-04-01、2018/4/1 或 2018年4月1日 这样的日期"
        )),
    }
}

fn parse_yuan(what: &str, text: &str) -> Result<Fen, String> {
    let t = text.trim().replace(',', "");
    if t.is_empty() {
        return Ok(Fen(0));
    }
    match Fen::parse_yuan(&t) {
        Ok(f) if f.0 >= 0 => Ok(f),
        Ok(_) => Err(format!("{what}「{text}」不能为负数")),
        Err(e) => Err(format!(
            "{what}「{text}」有误：{e}（应为以元为单位的金额，最多两位小数）"
        )),
    }
}

fn rate_text(r: Option<fupin_domain::figures::Rate>) -> String {
    view::percent(r)
}

fn place(township: &str, village: &Option<String>) -> String {
    match village {
        Some(v) => format!("{township} {v}"),
        None => township.to_string(),
    }
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The list.

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub township: String,
    /// The key of the last project of the previous page: `2018-15`.
    #[serde(default)]
    pub after: String,
}

impl ListQuery {
    pub fn filter(&self) -> Result<ProjectFilter, Error> {
        let year = match self.year.trim() {
            "" => None,
            t => Some(
                t.parse::<i32>()
                    .map_err(|_| Error::BadRequest(format!("年度「{t}」应为四位数的年份")))?,
            ),
        };
        let kind = match self.kind.trim() {
            "" => None,
            t => Some(ProjectType::parse(t).ok_or_else(|| {
                Error::BadRequest(format!(
                    "项目类型「{t}」无法识别；可选：{}",
                    ProjectType::allowed()
                ))
            })?),
        };
        let stage = match self.stage.trim() {
            "" => None,
            t => Some(Stage::parse(t).ok_or_else(|| {
                Error::BadRequest(format!(
                    "项目阶段「{t}」无法识别；可选：{}",
                    Stage::allowed()
                ))
            })?),
        };
        let township = Some(self.township.trim().to_string()).filter(|t| !t.is_empty());
        Ok(ProjectFilter {
            year,
            kind,
            stage,
            township,
        })
    }

    fn after(&self) -> Result<Option<ProjectKey>, Error> {
        let t = self.after.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let bad = || Error::BadRequest(format!("分页参数「{t}」有误"));
        let (y, id) = t.split_once('-').ok_or_else(bad)?;
        Ok(Some((
            y.parse().map_err(|_| bad())?,
            id.parse().map_err(|_| bad())?,
        )))
    }

    /// The filters as a query string (without the page key).
    pub fn query_string(&self) -> String {
        [
            ("year", &self.year),
            ("kind", &self.kind),
            ("stage", &self.stage),
            ("township", &self.township),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", view::enc(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

pub struct ProjectLine {
    pub id: i64,
    pub url: String,
    pub year: i32,
    pub name: String,
    pub kind: &'static str,
    pub place: String,
    pub unit: String,
    pub stage: &'static str,
    pub budget: String,
    pub disbursed: String,
    pub rate: String,
}

impl ProjectLine {
    fn of(p: &StoredProject) -> ProjectLine {
        let x = &p.project;
        ProjectLine {
            id: p.id,
            url: format!("/projects/{}", p.id),
            year: x.year,
            name: x.name.clone(),
            kind: x.kind.chinese(),
            place: place(&x.township, &x.village),
            unit: x.unit.clone(),
            stage: x.stage.chinese(),
            budget: x.budget.total().grouped(),
            disbursed: p.disbursed.total().grouped(),
            rate: rate_text(p.rate()),
        }
    }
}

/// An option of a select: (value, label, selected).
type Choice = (String, String, bool);

fn choices<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    zh: fn(T) -> &'static str,
    on: &str,
) -> Vec<Choice> {
    all.iter()
        .map(|t| (code(*t).to_string(), zh(*t).to_string(), code(*t) == on))
        .collect()
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ListPage {
    layout: Layout,
    projects: Vec<ProjectLine>,
    next_url: Option<String>,
    years: Vec<Choice>,
    kinds: Vec<Choice>,
    stages: Vec<Choice>,
    townships: Vec<Choice>,
    query: String,
    is_admin: bool,
    can_upload_entries: bool,
}

/// GET /projects — the project library in the viewer's scope, filtered and key-paged.
pub async fn list_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, PageError> {
    let filter = q.filter()?;
    let s = scope(&v);
    let page = state
        .store
        .funds()
        .project_page(&s, &filter, q.after()?, PAGE)
        .await?;
    let facets = state.store.funds().project_facets(&s).await?;
    let qs = q.query_string();
    let kind_on = filter.kind.map_or("", ProjectType::code);
    let stage_on = filter.stage.map_or("", Stage::code);
    let p = ListPage {
        layout: Layout::of(&v, "项目库", "projects"),
        projects: page.items.iter().map(ProjectLine::of).collect(),
        next_url: page.next.map(|(y, id)| {
            if qs.is_empty() {
                format!("/projects?after={y}-{id}")
            } else {
                format!("/projects?{qs}&after={y}-{id}")
            }
        }),
        years: facets
            .years
            .iter()
            .map(|y| (y.to_string(), format!("{y}年"), Some(*y) == filter.year))
            .collect(),
        kinds: choices(
            ProjectType::ALL,
            ProjectType::code,
            ProjectType::chinese,
            kind_on,
        ),
        stages: choices(Stage::ALL, Stage::code, Stage::chinese, stage_on),
        townships: facets
            .townships
            .iter()
            .map(|t| (t.clone(), t.clone(), filter.township.as_deref() == Some(t)))
            .collect(),
        query: qs,
        is_admin: v.is_admin(),
        can_upload_entries: records_any(&v),
    };
    Ok(Html(p.render()?))
}

// ---------------------------------------------------------------------------------------
// A project.

pub struct ProjectView {
    pub id: i64,
    pub year: i32,
    pub name: String,
    pub kind: &'static str,
    pub place: String,
    pub task: String,
    pub unit: String,
    pub stage: &'static str,
    pub revision: i64,
    pub planned_start: String,
    pub planned_end: String,
    pub actual_start: String,
    pub actual_end: String,
    pub budget: String,
    pub disbursed: String,
    pub rate: String,
}

pub struct SourceLine {
    pub source: &'static str,
    pub budget: String,
    pub disbursed: String,
    pub rate: String,
}

pub struct EntryLine {
    pub id: i64,
    pub date: String,
    pub kind: &'static str,
    pub reversal: bool,
    pub reverses: String,
    pub source: &'static str,
    /// Signed: a reversal is negative.
    pub amount: String,
    pub voucher: String,
    pub payee: String,
    pub note: String,
    pub override_reason: String,
    pub recorded: String,
    /// For a disbursement: what is left of it after its reversals.
    pub left: String,
}

pub struct BenefitLine {
    pub household_no: String,
    pub url: String,
    pub kind: &'static str,
    pub yearly: String,
}

/// What the entry forms held, shown again with a refusal.
#[derive(Deserialize, Default, Clone)]
pub struct EntryForm {
    /// `disbursement` or `reversal`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub reverses: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub voucher: String,
    #[serde(default)]
    pub payee: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub override_reason: String,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    layout: Layout,
    p: ProjectView,
    sources: Vec<SourceLine>,
    entries: Vec<EntryLine>,
    benefits: Vec<BenefitLine>,
    can_record: bool,
    is_admin: bool,
    /// (code, Chinese) of the next stage.
    next_stage: Option<(&'static str, &'static str)>,
    /// The step records an actual date (实施: start, 完工: end).
    stage_date_label: String,
    today: String,
    source_choices: Vec<Choice>,
    /// Disbursements with something left to reverse: (id, label, selected).
    reversible: Vec<Choice>,
    entry: EntryForm,
    reversal: EntryForm,
    entry_error: String,
    reversal_error: String,
    stage_error: String,
    notice: String,
    benefit: BenefitForm,
    benefit_kinds: Vec<Choice>,
    benefit_error: String,
}

/// What a project page shows besides the project: errors and the forms' values.
#[derive(Default)]
struct PageState {
    entry: EntryForm,
    reversal: EntryForm,
    benefit: BenefitForm,
    benefit_error: String,
    entry_error: String,
    reversal_error: String,
    stage_error: String,
    notice: String,
}

async fn project_page(
    state: &AppState,
    v: &Viewer,
    id: i64,
    st: PageState,
) -> Result<String, Error> {
    let s = scope(v);
    let p = state
        .store
        .funds()
        .project(&s, id)
        .await?
        .ok_or(Error::NotFound)?;
    let entries = state.store.funds().fund_entries(&s, id).await?;
    let benefits = state.store.funds().project_beneficiaries(&s, id).await?;
    let x = &p.project;
    let ledger: Vec<_> = entries
        .iter()
        .map(|e| fupin_domain::funds::LedgerEntry {
            id: e.id,
            date: e.date,
            source: e.source,
            amount: e.amount,
            kind: e.kind,
        })
        .collect();
    let lines: Vec<EntryLine> = entries.iter().map(|e| entry_line(e, &ledger)).collect();
    let reversible = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Disbursement)
        .filter_map(|e| {
            let left = unreversed(&ledger, e.id)?;
            (left.0 > 0).then(|| {
                (
                    e.id.to_string(),
                    format!(
                        "记录 {}：{} {} {} 元（可冲销 {} 元）",
                        e.id,
                        e.date,
                        e.source.chinese(),
                        e.amount.grouped(),
                        left.grouped()
                    ),
                    st.reversal.reverses == e.id.to_string(),
                )
            })
        })
        .collect();
    let next = x.stage.next();
    let page = ProjectPage {
        layout: Layout::of(v, format!("{}年 {}", x.year, x.name), "projects"),
        p: ProjectView {
            id: p.id,
            year: x.year,
            name: x.name.clone(),
            kind: x.kind.chinese(),
            place: place(&x.township, &x.village),
            task: x
                .task_no
                .map_or_else(|| "—".into(), |n| format!("{}年 序号{n}", x.year)),
            unit: x.unit.clone(),
            stage: x.stage.chinese(),
            revision: p.revision,
            planned_start: opt_date(x.planned_start),
            planned_end: opt_date(x.planned_end),
            actual_start: opt_date(x.actual_start),
            actual_end: opt_date(x.actual_end),
            budget: x.budget.total().grouped(),
            disbursed: p.disbursed.total().grouped(),
            rate: rate_text(p.rate()),
        },
        sources: FundSource::ALL
            .iter()
            .filter(|s| x.budget.get(**s).0 != 0 || p.disbursed.get(**s).0 != 0)
            .map(|s| SourceLine {
                source: s.chinese(),
                budget: x.budget.get(*s).grouped(),
                disbursed: p.disbursed.get(*s).grouped(),
                rate: rate_text(fupin_domain::funds::rate(
                    x.budget.get(*s),
                    p.disbursed.get(*s),
                )),
            })
            .collect(),
        entries: lines,
        benefits: benefits
            .iter()
            .map(|b| BenefitLine {
                household_no: b.household_no.clone(),
                url: view::household_url(&b.household_no),
                kind: b.kind.chinese(),
                yearly: b.yearly.grouped(),
            })
            .collect(),
        can_record: may_record(v, &x.unit),
        is_admin: v.is_admin(),
        next_stage: next.map(|s| (s.code(), s.chinese())),
        stage_date_label: match next {
            Some(Stage::Implementing) => "实际开工日期".into(),
            Some(Stage::Completed) => "实际完工日期".into(),
            _ => String::new(),
        },
        today: today().to_string(),
        source_choices: choices(
            FundSource::ALL,
            FundSource::code,
            FundSource::chinese,
            &st.entry.source,
        ),
        reversible,
        entry: st.entry,
        reversal: st.reversal,
        entry_error: st.entry_error,
        reversal_error: st.reversal_error,
        stage_error: st.stage_error,
        notice: st.notice,
        benefit_kinds: choices(
            BenefitKind::ALL,
            BenefitKind::code,
            BenefitKind::chinese,
            &st.benefit.kind,
        ),
        benefit: st.benefit,
        benefit_error: st.benefit_error,
    };
    Ok(page.render()?)
}

fn entry_line(e: &FundEntry, ledger: &[fupin_domain::funds::LedgerEntry]) -> EntryLine {
    let (kind, reversal, reverses, sign) = match e.kind {
        EntryKind::Disbursement => ("拨付", false, String::new(), ""),
        EntryKind::Reversal { of } => ("冲销", true, format!("冲销记录 {of}"), "-"),
    };
    EntryLine {
        id: e.id,
        date: e.date.to_string(),
        kind,
        reversal,
        reverses,
        source: e.source.chinese(),
        amount: format!("{sign}{}", e.amount.grouped()),
        voucher: e.voucher.clone(),
        payee: e.payee.clone(),
        note: e.note.clone(),
        override_reason: e.override_reason.clone().unwrap_or_default(),
        recorded: format!(
            "{} {}",
            e.recorded_by.clone().unwrap_or_default(),
            view::time(e.recorded_at)
        ),
        left: match e.kind {
            EntryKind::Disbursement => unreversed(ledger, e.id)
                .map(Fen::grouped)
                .unwrap_or_default(),
            EntryKind::Reversal { .. } => String::new(),
        },
    }
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    pub msg: String,
}

/// GET /projects/{id}
pub async fn detail_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, PageError> {
    let st = PageState {
        notice: q.msg,
        ..PageState::default()
    };
    Ok(Html(project_page(&state, &v, id, st).await?))
}

/// A refusal shown again on the project page (400), or an error page when it is not the
/// form's to show (404 outside the scope, 403 for a role that may not record).
async fn refused(
    state: &AppState,
    v: &Viewer,
    id: i64,
    st: PageState,
) -> Result<Response, PageError> {
    Ok((
        StatusCode::BAD_REQUEST,
        Html(project_page(state, v, id, st).await?),
    )
        .into_response())
}

fn refusal_error(r: FundRefusal) -> Result<String, Error> {
    match r {
        FundRefusal::NoProject(_) => Err(Error::NotFound),
        FundRefusal::NotAllowed(m) => Err(Error::Forbidden(m)),
        other => Ok(other.to_string()),
    }
}

/// POST /projects/{id}/entries — a disbursement (`kind=disbursement`) or a reversal
/// (`kind=reversal`, with `reverses`) recorded by headquarters or the implementing unit.
pub async fn add_entry(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    let reversal = f.kind == "reversal";
    let s = scope(&v);
    // The project must be in the scope before anything is said about it.
    let entries = match state.store.funds().project(&s, id).await? {
        Some(_) => state.store.funds().fund_entries(&s, id).await?,
        None => return Err(Error::NotFound.into()),
    };
    let parsed: Result<(EntryKind, NewFundEntry), String> = (|| {
        let date = parse_date("拨付日期", &f.date)?.ok_or("请填写日期")?;
        let (kind, source) = if reversal {
            let of: i64 = f
                .reverses
                .trim()
                .parse()
                .map_err(|_| "请选择要冲销的拨付记录".to_string())?;
            let e = entries
                .iter()
                .find(|e| e.id == of)
                .ok_or_else(|| format!("本项目没有编号为 {of} 的拨付记录"))?;
            (EntryKind::Reversal { of }, e.source)
        } else {
            let src = FundSource::parse(&f.source)
                .ok_or_else(|| format!("请选择资金来源（{}）", FundSource::allowed()))?;
            (EntryKind::Disbursement, src)
        };
        let amount = match (kind, f.amount.trim()) {
            // A reversal without an amount takes back all that is left of the entry.
            (EntryKind::Reversal { of }, "") => {
                let ledger: Vec<_> = entries
                    .iter()
                    .map(|e| fupin_domain::funds::LedgerEntry {
                        id: e.id,
                        date: e.date,
                        source: e.source,
                        amount: e.amount,
                        kind: e.kind,
                    })
                    .collect();
                unreversed(&ledger, of).unwrap_or(Fen(0))
            }
            (_, "") => return Err("请填写金额（元）".into()),
            (_, t) => parse_yuan("金额", t)?,
        };
        if reversal && f.note.trim().is_empty() {
            return Err("冲销须在备注中写明原因".into());
        }
        fupin_domain::funds::check_entry_fields(
            date,
            &f.voucher,
            &f.payee,
            kind,
            fupin_store::today(),
        )
        .map_err(|r| r.message)?;
        Ok((
            kind,
            NewFundEntry {
                date,
                source,
                amount,
                voucher: f.voucher.clone(),
                payee: if reversal && f.payee.trim().is_empty() {
                    entries
                        .iter()
                        .find(|e| EntryKind::Reversal { of: e.id } == kind)
                        .map(|e| e.payee.clone())
                        .unwrap_or_default()
                } else {
                    f.payee.clone()
                },
                note: f.note.clone(),
            },
        ))
    })();
    let fail = |m: String, f: EntryForm| {
        if reversal {
            PageState {
                reversal: f,
                reversal_error: m,
                ..PageState::default()
            }
        } else {
            PageState {
                entry: f,
                entry_error: m,
                ..PageState::default()
            }
        }
    };
    let (kind, entry) = match parsed {
        Ok(x) => x,
        Err(m) => return refused(&state, &v, id, fail(m, f)).await,
    };
    let reason = f.override_reason.trim();
    let over = (!reversal && !reason.is_empty()).then(|| Override {
        reason: reason.to_string(),
    });
    match state
        .store
        .funds()
        .add_fund_entry(v.user(), id, kind, &entry, over.as_ref())
        .await?
    {
        Ok(e) => Ok(Redirect::to(&format!(
            "/projects/{id}?msg={}",
            view::enc(&format!(
                "已登记{}记录 {}：{} 元",
                if reversal { "冲销" } else { "拨付" },
                e.id,
                e.amount.grouped()
            ))
        ))
        .into_response()),
        Err(r) => {
            let m = refusal_error(r)?;
            refused(&state, &v, id, fail(m, f)).await
        }
    }
}

/// The beneficiary form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct BenefitForm {
    #[serde(default)]
    pub household_no: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub yearly: String,
}

/// POST /projects/{id}/beneficiaries — record (or change) a household's yearly benefit
/// from the project: headquarters or the implementing unit, audited by the store.
pub async fn set_benefit(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BenefitForm>,
) -> Result<Response, PageError> {
    if state.store.funds().project(&scope(&v), id).await?.is_none() {
        return Err(Error::NotFound.into());
    }
    let parsed: Result<(BenefitKind, Fen), String> = (|| {
        if f.household_no.trim().is_empty() {
            return Err("请填写户编号".to_string());
        }
        let kind = BenefitKind::parse(&f.kind)
            .ok_or_else(|| format!("请选择带贫方式（{}）", BenefitKind::allowed()))?;
        if f.yearly.trim().is_empty() {
            return Err("请填写年收益（元）".into());
        }
        Ok((kind, parse_yuan("年收益", &f.yearly)?))
    })();
    let outcome = match parsed {
        Ok((kind, yearly)) => match state
            .store
            .funds()
            .set_beneficiary(v.user(), id, &f.household_no, kind, yearly)
            .await?
        {
            Ok(()) => Ok(()),
            Err(r) => Err(refusal_error(r)?),
        },
        Err(m) => Err(m),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!(
            "/projects/{id}?msg={}",
            view::enc(&format!("已登记带贫户 {}", f.household_no.trim()))
        ))
        .into_response()),
        Err(m) => {
            refused(
                &state,
                &v,
                id,
                PageState {
                    benefit: f,
                    benefit_error: m,
                    ..PageState::default()
                },
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct StageForm {
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub date: String,
}

/// POST /projects/{id}/stage — one stage forward; 实施 and 完工 with their actual date.
pub async fn set_stage(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<StageForm>,
) -> Result<Response, PageError> {
    if state.store.funds().project(&scope(&v), id).await?.is_none() {
        return Err(Error::NotFound.into());
    }
    let fail = |m: String| PageState {
        stage_error: m,
        ..PageState::default()
    };
    let Some(to) = Stage::parse(&f.stage) else {
        return refused(
            &state,
            &v,
            id,
            fail(format!("项目阶段「{}」无法识别", f.stage)),
        )
        .await;
    };
    let date = match parse_date("日期", &f.date) {
        Ok(d) => d,
        Err(m) => return refused(&state, &v, id, fail(m)).await,
    };
    if date.is_none() && matches!(to, Stage::Implementing | Stage::Completed) {
        let what = if to == Stage::Implementing {
            "实际开工日期"
        } else {
            "实际完工日期"
        };
        return refused(
            &state,
            &v,
            id,
            fail(format!("进入「{}」须填写{what}", to.chinese())),
        )
        .await;
    }
    match state
        .store
        .funds()
        .advance_project_stage(v.user(), id, to, date)
        .await?
    {
        Ok(()) => Ok(Redirect::to(&format!(
            "/projects/{id}?msg={}",
            view::enc(&format!("项目阶段已推进到「{}」", to.chinese()))
        ))
        .into_response()),
        Err(r) => {
            let m = refusal_error(r)?;
            refused(&state, &v, id, fail(m)).await
        }
    }
}

// ---------------------------------------------------------------------------------------
// New and edit (headquarters).

/// The fields of the project form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct ProjectForm {
    #[serde(default)]
    pub revision: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub village: String,
    #[serde(default)]
    pub task_no: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub planned_start: String,
    #[serde(default)]
    pub planned_end: String,
    #[serde(default)]
    pub actual_start: String,
    #[serde(default)]
    pub actual_end: String,
    #[serde(default)]
    pub budget_central: String,
    #[serde(default)]
    pub budget_provincial: String,
    #[serde(default)]
    pub budget_city: String,
    #[serde(default)]
    pub budget_county: String,
    #[serde(default)]
    pub budget_integrated: String,
    #[serde(default)]
    pub budget_social: String,
    #[serde(default)]
    pub budget_credit: String,
}

impl ProjectForm {
    fn budget_text(&self, s: FundSource) -> &str {
        match s {
            FundSource::Central => &self.budget_central,
            FundSource::Provincial => &self.budget_provincial,
            FundSource::City => &self.budget_city,
            FundSource::County => &self.budget_county,
            FundSource::Integrated => &self.budget_integrated,
            FundSource::Social => &self.budget_social,
            FundSource::Credit => &self.budget_credit,
        }
    }

    fn budget_slot(&mut self, s: FundSource) -> &mut String {
        match s {
            FundSource::Central => &mut self.budget_central,
            FundSource::Provincial => &mut self.budget_provincial,
            FundSource::City => &mut self.budget_city,
            FundSource::County => &mut self.budget_county,
            FundSource::Integrated => &mut self.budget_integrated,
            FundSource::Social => &mut self.budget_social,
            FundSource::Credit => &mut self.budget_credit,
        }
    }

    fn of(p: &StoredProject) -> ProjectForm {
        let x = &p.project;
        let mut f = ProjectForm {
            revision: p.revision.to_string(),
            name: x.name.clone(),
            year: x.year.to_string(),
            kind: x.kind.code().into(),
            township: x.township.clone(),
            village: x.village.clone().unwrap_or_default(),
            task_no: x.task_no.map(|n| n.to_string()).unwrap_or_default(),
            unit: x.unit.clone(),
            stage: x.stage.code().into(),
            planned_start: opt_date(x.planned_start),
            planned_end: opt_date(x.planned_end),
            actual_start: opt_date(x.actual_start),
            actual_end: opt_date(x.actual_end),
            ..ProjectForm::default()
        };
        for s in FundSource::ALL {
            let b = x.budget.get(*s);
            if b.0 != 0 {
                *f.budget_slot(*s) = b.plain();
            }
        }
        f
    }

    /// The project, or every problem of the form in Chinese.
    fn project(&self) -> Result<Project, String> {
        let mut problems = Vec::new();
        let mut keep = |r: Result<Option<NaiveDate>, String>| match r {
            Ok(d) => d,
            Err(m) => {
                problems.push(m);
                None
            }
        };
        let planned_start = keep(parse_date("计划开工日期", &self.planned_start));
        let planned_end = keep(parse_date("计划完工日期", &self.planned_end));
        let actual_start = keep(parse_date("实际开工日期", &self.actual_start));
        let actual_end = keep(parse_date("实际完工日期", &self.actual_end));
        let year = self
            .year
            .trim()
            .trim_end_matches('年')
            .parse::<i32>()
            .unwrap_or_else(|_| {
                problems.push(format!("年度「{}」应为四位数的年份", self.year));
                0
            });
        let kind = ProjectType::parse(&self.kind).unwrap_or_else(|| {
            problems.push(format!("请选择项目类型（{}）", ProjectType::allowed()));
            ProjectType::Other
        });
        let stage = Stage::parse(&self.stage).unwrap_or_else(|| {
            problems.push(format!("请选择项目阶段（{}）", Stage::allowed()));
            Stage::Registered
        });
        let task_no = match self.task_no.trim() {
            "" => None,
            t => match t.parse::<u32>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    problems.push(format!("服务重点工作(序号)「{t}」应为正整数"));
                    None
                }
            },
        };
        let mut budget = Budget::default();
        for s in FundSource::ALL {
            match parse_yuan(
                fupin_io::projects_file::budget_header(*s),
                self.budget_text(*s),
            ) {
                Ok(f) => budget.set(*s, f),
                Err(m) => problems.push(m),
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("；"));
        }
        Ok(Project {
            name: self.name.clone(),
            year,
            kind,
            township: self.township.clone(),
            village: Some(self.village.clone()),
            task_no,
            unit: self.unit.clone(),
            budget,
            stage,
            planned_start,
            planned_end,
            actual_start,
            actual_end,
        })
    }
}

#[derive(Template)]
#[template(path = "project_form.html")]
struct FormPage {
    layout: Layout,
    /// None for a new project.
    id: Option<i64>,
    action: String,
    f: ProjectForm,
    kinds: Vec<Choice>,
    stages: Vec<Choice>,
    /// (field name, header, value).
    budgets: Vec<(String, String, String)>,
    error: String,
}

fn form_page(v: &Viewer, id: Option<i64>, f: ProjectForm, error: String) -> Result<String, Error> {
    let budgets = FundSource::ALL
        .iter()
        .map(|s| {
            (
                format!("budget_{}", s.code()),
                fupin_io::projects_file::budget_header(*s).to_string(),
                f.budget_text(*s).to_string(),
            )
        })
        .collect();
    let page = FormPage {
        layout: Layout::of(
            v,
            if id.is_some() {
                "修改项目"
            } else {
                "新建项目"
            },
            "projects",
        ),
        action: match id {
            Some(id) => format!("/projects/{id}/edit"),
            None => "/projects".into(),
        },
        id,
        kinds: choices(
            ProjectType::ALL,
            ProjectType::code,
            ProjectType::chinese,
            &f.kind,
        ),
        stages: choices(Stage::ALL, Stage::code, Stage::chinese, &f.stage),
        budgets,
        f,
        error,
    };
    Ok(page.render()?)
}

/// GET /projects/new — the form of a new project (headquarters).
pub async fn new_page(
    State(_state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Html<String>, PageError> {
    v.require_admin()?;
    let f = ProjectForm {
        year: today().format("%Y").to_string(),
        kind: ProjectType::Industry.code().into(),
        stage: Stage::Registered.code().into(),
        ..ProjectForm::default()
    };
    Ok(Html(form_page(&v, None, f, String::new())?))
}

/// POST /projects — create a project (headquarters).
pub async fn create(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(f): CsrfForm<ProjectForm>,
) -> Result<Response, PageError> {
    v.require_admin()?;
    let outcome = match f.project() {
        Ok(p) => match state.store.funds().create_project(v.user(), &p).await? {
            Ok(id) => Ok(id),
            Err(r) => Err(refusal_error(r)?),
        },
        Err(m) => Err(m),
    };
    match outcome {
        Ok(id) => Ok(
            Redirect::to(&format!("/projects/{id}?msg={}", view::enc("项目已建立")))
                .into_response(),
        ),
        Err(m) => Ok((StatusCode::BAD_REQUEST, Html(form_page(&v, None, f, m)?)).into_response()),
    }
}

/// GET /projects/{id}/edit — the form of a project (headquarters).
pub async fn edit_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, PageError> {
    v.require_admin()?;
    let p = state
        .store
        .funds()
        .project(&scope(&v), id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Html(form_page(
        &v,
        Some(id),
        ProjectForm::of(&p),
        String::new(),
    )?))
}

/// POST /projects/{id}/edit — change a project (headquarters), from the revision read.
pub async fn edit(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ProjectForm>,
) -> Result<Response, PageError> {
    v.require_admin()?;
    let revision: i64 = f.revision.trim().parse().unwrap_or(0);
    let outcome = match f.project() {
        Ok(p) => match state
            .store
            .funds()
            .update_project(v.user(), id, revision, &p)
            .await?
        {
            Ok(()) => Ok(()),
            Err(r) => Err(refusal_error(r)?),
        },
        Err(m) => Err(m),
    };
    match outcome {
        Ok(()) => Ok(
            Redirect::to(&format!("/projects/{id}?msg={}", view::enc("项目已保存")))
                .into_response(),
        ),
        Err(m) => Ok((
            StatusCode::BAD_REQUEST,
            Html(form_page(&v, Some(id), f, m)?),
        )
            .into_response()),
    }
}

// ---------------------------------------------------------------------------------------
// Uploads: the library, disbursements, beneficiaries.

pub struct UploadProblem {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub code: String,
    pub value: String,
    pub message: String,
    pub is_error: bool,
}

impl UploadProblem {
    fn of(p: &fupin_domain::Problem) -> UploadProblem {
        UploadProblem {
            file: std::path::Path::new(&*p.file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            line: p.line,
            column: p.column.to_string(),
            code: p.code.to_string(),
            value: p.value.clone(),
            message: p.message.clone(),
            is_error: p.code.is_error(),
        }
    }
}

#[derive(Template)]
#[template(path = "funds_upload.html")]
struct UploadPage {
    layout: Layout,
    file_name: String,
    accepted: bool,
    summary: String,
    /// The first [`crate::import::JOB_PROBLEMS_KEPT`] problems.
    problems: Vec<UploadProblem>,
    /// 「共 N 条，显示前 M 条」 when there are more.
    shown: Option<String>,
}

#[derive(Default)]
struct Upload {
    what: String,
    /// The file, saved to disk as it arrived (never held whole in memory).
    file: Option<crate::upload::Saved>,
}

async fn read_upload(state: &AppState, mut mp: CsrfMultipart) -> Result<Upload, Error> {
    use fupin_io::limits::FileKind;
    let mut up = Upload::default();
    while let Some(part) = mp.next_field().await? {
        let Part::Field(field) = part else {
            continue;
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            // `what` may come after the file: the largest of the kinds this form takes.
            let kinds = [
                FileKind::Projects,
                FileKind::Disbursements,
                FileKind::Beneficiaries,
            ];
            let max = crate::upload::file_limit_of(state, &kinds);
            up.file =
                Some(crate::upload::save(state, field, "upload.csv", max, "上传的文件").await?);
            continue;
        }
        let text = crate::upload::field_text(field).await?;
        if name == "what" {
            up.what = text.trim().to_string();
        }
    }
    Ok(up)
}

/// What a file upload read and stored: a summary, or every problem.
enum Outcome {
    Stored(String, Vec<fupin_domain::Problem>),
    Rejected(Vec<fupin_domain::Problem>),
}

/// POST /projects/upload — `what` = projects (headquarters), disbursements or
/// beneficiaries (headquarters or a unit's staff, for their unit's projects): all or
/// nothing, every problem listed with its line, column, code and value.
pub async fn upload(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let up = read_upload(&state, mp).await?;
    let what: &'static str = match up.what.as_str() {
        "projects" => {
            v.require_admin()?;
            "项目库"
        }
        "disbursements" | "beneficiaries" => {
            if !records_any(&v) {
                return Err(Error::Forbidden(
                    "只有指挥部和项目实施单位可以导入资金拨付明细和带贫户名单".into(),
                )
                .into());
            }
            if up.what == "disbursements" {
                "资金拨付明细"
            } else {
                "带贫户名单"
            }
        }
        other => {
            return Err(Error::BadRequest(format!("未知的导入类型「{other}」")).into());
        }
    };
    let Some(saved) = up.file.filter(|f| f.size > 0) else {
        return Err(Error::BadRequest(format!("请选择{what}文件（CSV 或 XLSX）")).into());
    };
    // The name the user gave, without folders (its extension says CSV or XLSX).
    let base = saved.name.clone();
    let path = saved.path.clone();
    let kind = up.what.clone();
    let limits = state.config.limits.clone();
    let read =
        tokio::task::spawn_blocking(move || -> Result<ReadFile, fupin_io::error::FileError> {
            use fupin_io::funds_file::{read_beneficiaries_within, read_disbursements_within};
            Ok(match kind.as_str() {
                "projects" => ReadFile::Projects(fupin_io::projects_file::read_projects_within(
                    &path,
                    None,
                    &limits.projects,
                )?),
                "disbursements" => ReadFile::Disbursements(read_disbursements_within(
                    &path,
                    None,
                    &limits.disbursements,
                )?),
                _ => ReadFile::Beneficiaries(read_beneficiaries_within(
                    &path,
                    None,
                    &limits.beneficiaries,
                )?),
            })
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    let outcome = match read {
        Err(e) => {
            let mut problems = e.problems().to_vec();
            if problems.is_empty() {
                problems.push(fupin_domain::Problem::new(
                    &base.as_str().into(),
                    0,
                    "",
                    fupin_domain::problem::ProblemCode::F501,
                    e.to_string(),
                    "",
                ));
            }
            Outcome::Rejected(problems)
        }
        Ok(ReadFile::Projects(f)) => {
            match state
                .store
                .funds()
                .import_projects(&base, &f.projects, Some(v.user().id))
                .await?
            {
                Ok(r) => {
                    let mut warnings = f.warnings;
                    warnings.extend(r.warnings);
                    Outcome::Stored(
                        format!(
                            "新增项目 {} 个，修改 {} 个，未变 {} 个",
                            r.created, r.updated, r.unchanged
                        ),
                        warnings,
                    )
                }
                Err(p) => Outcome::Rejected(p),
            }
        }
        Ok(ReadFile::Disbursements((rows, warnings))) => {
            match state
                .store
                .funds()
                .import_disbursements(v.user(), &base, &rows)
                .await?
            {
                Ok(n) => Outcome::Stored(format!("登记拨付记录 {n} 条"), warnings),
                Err(p) => Outcome::Rejected(p),
            }
        }
        Ok(ReadFile::Beneficiaries((rows, warnings))) => {
            match state
                .store
                .funds()
                .import_beneficiaries(v.user(), &base, &rows)
                .await?
            {
                Ok(n) => Outcome::Stored(format!("登记带贫户记录 {n} 条"), warnings),
                Err(p) => Outcome::Rejected(p),
            }
        }
    };
    let (accepted, summary, problems, status) = match outcome {
        Outcome::Stored(s, w) => (true, s, w, StatusCode::OK),
        Outcome::Rejected(p) => (
            false,
            format!(
                "有 {} 个问题，整个文件未导入",
                p.iter().filter(|p| p.code.is_error()).count()
            ),
            p,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let page = UploadPage {
        layout: Layout::of(
            &v,
            if accepted {
                format!("{what}已导入")
            } else {
                format!("{what}未导入")
            },
            "projects",
        ),
        file_name: base,
        accepted,
        summary,
        problems: problems
            .iter()
            .take(crate::import::JOB_PROBLEMS_KEPT)
            .map(UploadProblem::of)
            .collect(),
        shown: crate::import::shown_note(problems.len() as u64, crate::import::JOB_PROBLEMS_KEPT),
    };
    Ok((status, Html(page.render()?)).into_response())
}

enum ReadFile {
    Projects(fupin_io::projects_file::ProjectsFile),
    Disbursements(
        (
            Vec<fupin_io::funds_file::DisbursementRow>,
            Vec<fupin_domain::Problem>,
        ),
    ),
    Beneficiaries(
        (
            Vec<fupin_io::funds_file::BeneficiaryRow>,
            Vec<fupin_domain::Problem>,
        ),
    ),
}

// ---------------------------------------------------------------------------------------
// Figures and the behind-schedule rule.

pub struct FigureLine {
    pub label: String,
    pub url: String,
    pub projects: u64,
    pub budget: String,
    pub disbursed: String,
    pub in_period: String,
    pub rate: String,
}

pub struct BehindLine {
    pub url: String,
    pub name: String,
    pub unit: String,
    pub place: String,
    pub stage: &'static str,
    pub budget: String,
    pub paid: String,
    pub rate: String,
}

#[derive(Template)]
#[template(path = "funds_figures.html")]
struct FiguresPage {
    layout: Layout,
    tabs: Vec<(String, String, bool)>,
    by_label: &'static str,
    month: bool,
    rows: Vec<FigureLine>,
    rule: String,
    rule_by: String,
    rule_percent: String,
    behind: Vec<BehindLine>,
    is_admin: bool,
    rule_error: String,
}

const GROUPINGS: [(&str, &str, FundsBy); 6] = [
    ("project", "按项目", FundsBy::Project),
    ("source", "按资金来源", FundsBy::Source),
    ("task", "按重点工作", FundsBy::Task),
    ("unit", "按实施单位", FundsBy::Unit),
    ("township", "按乡镇", FundsBy::Township),
    ("month", "按月份", FundsBy::Month),
];

#[derive(Deserialize, Default)]
pub struct FiguresQuery {
    #[serde(default)]
    pub by: String,
}

/// The rule as people read it: `2018-06-30 前拨付不低于预算的 50.00%`.
pub fn rule_text(r: &ScheduleRule) -> String {
    format!(
        "{} 前拨付不低于预算的 {}%",
        r.by,
        fupin_domain::figures::Rate {
            num: r.min_bp,
            den: 10_000
        }
        .percent()
    )
}

async fn figures_page(
    state: &AppState,
    v: &Viewer,
    by: &str,
    rule_form: Option<(String, String, String)>,
) -> Result<String, Error> {
    let (code, label, group) = GROUPINGS
        .iter()
        .find(|g| g.0 == by)
        .copied()
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "统计口径「{by}」无法识别；可选 project、source、task、unit、township、month"
            ))
        })?;
    let s = scope(v);
    let rows = state.store.funds().fund_figures(&s, group).await?;
    let rule = state.store.funds().schedule_rule().await?;
    let behind = match rule {
        Some(r) => state.store.funds().behind_schedule(&s, r, today()).await?,
        None => Vec::new(),
    };
    let (rule_by, rule_percent, rule_error) = match rule_form {
        Some(f) => f,
        None => (
            rule.map(|r| r.by.to_string()).unwrap_or_default(),
            rule.map(|r| {
                fupin_domain::figures::Rate {
                    num: r.min_bp,
                    den: 10_000,
                }
                .percent()
            })
            .unwrap_or_default(),
            String::new(),
        ),
    };
    let page = FiguresPage {
        layout: Layout::of(v, "资金拨付统计", "funds"),
        tabs: GROUPINGS
            .iter()
            .map(|g| (format!("/funds?by={}", g.0), g.1.to_string(), g.0 == code))
            .collect(),
        by_label: label,
        month: group == FundsBy::Month,
        rows: rows
            .iter()
            .map(|f| FigureLine {
                label: f.label.clone(),
                url: if group == FundsBy::Project {
                    format!("/projects/{}", f.key)
                } else {
                    String::new()
                },
                projects: f.projects,
                budget: f.budget.grouped(),
                disbursed: f.disbursed.grouped(),
                in_period: f.in_period.grouped(),
                rate: rate_text(f.rate),
            })
            .collect(),
        rule: rule.as_ref().map(rule_text).unwrap_or_default(),
        rule_by,
        rule_percent,
        behind: behind
            .iter()
            .map(|b| BehindLine {
                url: format!("/projects/{}", b.id),
                name: format!("{}年 {}", b.year, b.name),
                unit: b.unit.clone(),
                place: place(&b.township, &b.village),
                stage: b.stage.chinese(),
                budget: b.budget.grouped(),
                paid: b.disbursed_by_date.grouped(),
                rate: rate_text(b.rate),
            })
            .collect(),
        is_admin: v.is_admin(),
        rule_error,
    };
    Ok(page.render()?)
}

/// GET /funds?by=project|source|task|unit|township|month — budget, net disbursed and rate
/// by a grouping in the viewer's scope, and the projects behind the county's schedule.
pub async fn figures(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<FiguresQuery>,
) -> Result<Html<String>, PageError> {
    let by = if q.by.is_empty() { "project" } else { &q.by };
    Ok(Html(figures_page(&state, &v, by, None).await?))
}

#[derive(Deserialize, Default)]
pub struct RuleForm {
    #[serde(default)]
    pub by: String,
    #[serde(default)]
    pub min_percent: String,
    /// Present: clear the rule.
    #[serde(default)]
    pub clear: Option<String>,
}

/// POST /funds/rule — headquarters sets (or clears) the county's behind-schedule rule.
pub async fn set_rule(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(f): CsrfForm<RuleForm>,
) -> Result<Response, PageError> {
    v.require_admin()?;
    let parsed: Result<Option<ScheduleRule>, String> = if f.clear.is_some() {
        Ok(None)
    } else {
        (|| {
            let by = parse_date("日期", &f.by)?.ok_or("请填写日期")?;
            let t = f.min_percent.trim().trim_end_matches('%');
            let bp = Fen::parse_yuan(t)
                .ok()
                .filter(|b| (0..=10_000).contains(&b.0))
                .ok_or_else(|| {
                    format!(
                        "拨付比例「{}」应为 0 到 100 之间的百分数，最多两位小数",
                        f.min_percent
                    )
                })?;
            Ok(Some(ScheduleRule {
                by,
                min_bp: bp.0 as u64,
            }))
        })()
    };
    let outcome = match parsed {
        Ok(rule) => match state
            .store
            .funds()
            .set_schedule_rule(v.user(), rule)
            .await?
        {
            Ok(()) => Ok(()),
            Err(r) => Err(refusal_error(r)?),
        },
        Err(m) => Err(m),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/funds").into_response()),
        Err(m) => Ok((
            StatusCode::BAD_REQUEST,
            Html(figures_page(&state, &v, "project", Some((f.by, f.min_percent, m))).await?),
        )
            .into_response()),
    }
}

// ---------------------------------------------------------------------------------------
// Ledgers (台账).

pub const PROJECT_LEDGER_HEADER: [&str; 25] = [
    "序号",
    "项目编号",
    "年度",
    "项目名称",
    "项目类型",
    "乡镇",
    "行政村",
    "服务重点工作(序号)",
    "实施单位",
    "项目阶段",
    "计划开工日期",
    "计划完工日期",
    "实际开工日期",
    "实际完工日期",
    "中央资金(元)",
    "省级资金(元)",
    "市级资金(元)",
    "县级资金(元)",
    "统筹整合涉农资金(元)",
    "社会帮扶资金(元)",
    "信贷资金(元)",
    "预算合计(元)",
    "已拨付(元)",
    "未拨付(元)",
    "拨付率",
];

pub const ENTRY_LEDGER_HEADER: [&str; 18] = [
    "序号",
    "记录编号",
    "年度",
    "项目名称",
    "实施单位",
    "乡镇",
    "行政村",
    "拨付日期",
    "类型",
    "冲销记录编号",
    "资金来源",
    "金额(元)",
    "凭证号",
    "收款单位",
    "备注",
    "超预算理由",
    "登记人",
    "登记时间",
];

fn project_rows(list: &[StoredProject]) -> Vec<Vec<Cell>> {
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let x = &p.project;
            let mut row = vec![
                Cell::Int(i as i64 + 1),
                Cell::Int(p.id),
                Cell::Int(i64::from(x.year)),
                Cell::Text(x.name.clone()),
                Cell::Text(x.kind.chinese().into()),
                Cell::Text(x.township.clone()),
                Cell::Text(x.village.clone().unwrap_or_default()),
                Cell::Text(x.task_no.map(|n| n.to_string()).unwrap_or_default()),
                Cell::Text(x.unit.clone()),
                Cell::Text(x.stage.chinese().into()),
                Cell::Text(opt_date(x.planned_start)),
                Cell::Text(opt_date(x.planned_end)),
                Cell::Text(opt_date(x.actual_start)),
                Cell::Text(opt_date(x.actual_end)),
            ];
            row.extend(FundSource::ALL.iter().map(|s| Cell::Yuan(x.budget.get(*s))));
            row.push(Cell::Yuan(x.budget.total()));
            row.push(Cell::Yuan(p.disbursed.total()));
            row.push(Cell::Yuan(Fen(x.budget.total().0 - p.disbursed.total().0)));
            row.push(Cell::Text(rate_text(p.rate())));
            row
        })
        .collect()
}

fn entry_rows(lines: &[LedgerLine]) -> Vec<Vec<Cell>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let e = &l.entry;
            let (kind, of, signed) = match e.kind {
                EntryKind::Disbursement => ("拨付", String::new(), e.amount),
                EntryKind::Reversal { of } => ("冲销", of.to_string(), Fen(-e.amount.0)),
            };
            vec![
                Cell::Int(i as i64 + 1),
                Cell::Int(e.id),
                Cell::Int(i64::from(l.year)),
                Cell::Text(l.project.clone()),
                Cell::Text(l.unit.clone()),
                Cell::Text(l.township.clone()),
                Cell::Text(l.village.clone().unwrap_or_default()),
                Cell::Text(e.date.to_string()),
                Cell::Text(kind.into()),
                Cell::Text(of),
                Cell::Text(e.source.chinese().into()),
                Cell::Yuan(signed),
                Cell::Text(e.voucher.clone()),
                Cell::Text(e.payee.clone()),
                Cell::Text(e.note.clone()),
                Cell::Text(e.override_reason.clone().unwrap_or_default()),
                Cell::Text(e.recorded_by.clone().unwrap_or_default()),
                Cell::Text(view::time(e.recorded_at)),
            ]
        })
        .collect()
}

async fn xlsx_response(
    sheet: &'static str,
    title: String,
    header: &'static [&'static str],
    widths: &'static [f64],
    rows: Vec<Vec<Cell>>,
    file_name: &str,
) -> Result<Response, PageError> {
    let bytes =
        tokio::task::spawn_blocking(move || ledger_workbook(sheet, &title, header, widths, &rows))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(download(bytes, file_name))
}

const PROJECT_WIDTHS: [f64; 25] = [
    6.0, 8.0, 6.0, 30.0, 10.0, 12.0, 14.0, 10.0, 16.0, 10.0, 12.0, 12.0, 12.0, 12.0, 14.0, 14.0,
    14.0, 14.0, 14.0, 14.0, 14.0, 16.0, 16.0, 16.0, 10.0,
];
const ENTRY_WIDTHS: [f64; 18] = [
    6.0, 8.0, 6.0, 30.0, 16.0, 12.0, 14.0, 12.0, 6.0, 10.0, 14.0, 16.0, 14.0, 22.0, 30.0, 30.0,
    10.0, 20.0,
];

fn title_of(v: &Viewer, what: &str, q: &ListQuery) -> String {
    let mut parts = vec![crate::scope_label(&v.scope)];
    if let Role::UnitStaff { unit } = &v.user().role {
        parts = vec![unit.clone()];
    }
    if !q.year.trim().is_empty() {
        parts.push(format!("{}年", q.year.trim()));
    }
    format!("{}{what}（{} 导出）", parts.join(" "), today())
}

/// GET /projects/ledger.xlsx — 项目库台账: the list's projects (same filter, same scope),
/// every page.
pub async fn projects_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let filter = q.filter()?;
    let list = state
        .store
        .funds()
        .projects_filtered(&scope(&v), &filter)
        .await?;
    xlsx_response(
        "项目库台账",
        title_of(&v, "项目库台账", &q),
        &PROJECT_LEDGER_HEADER,
        &PROJECT_WIDTHS,
        project_rows(&list),
        "项目库台账.xlsx",
    )
    .await
}

/// GET /projects/entries.xlsx — 资金拨付台账: every entry (reversals negative) of the
/// list's projects (same filter, same scope).
pub async fn entries_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let filter = q.filter()?;
    let lines = state
        .store
        .funds()
        .ledger_lines(&scope(&v), &filter)
        .await?;
    xlsx_response(
        "资金拨付台账",
        title_of(&v, "资金拨付台账", &q),
        &ENTRY_LEDGER_HEADER,
        &ENTRY_WIDTHS,
        entry_rows(&lines),
        "资金拨付台账.xlsx",
    )
    .await
}

/// GET /projects/{id}/entries.xlsx — one project's 资金拨付台账, as its page lists it.
pub async fn project_entries_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let s = scope(&v);
    let p = state
        .store
        .funds()
        .project(&s, id)
        .await?
        .ok_or(Error::NotFound)?;
    let x = &p.project;
    let lines: Vec<LedgerLine> = state
        .store
        .funds()
        .fund_entries(&s, id)
        .await?
        .into_iter()
        .map(|entry| LedgerLine {
            year: x.year,
            project: x.name.clone(),
            unit: x.unit.clone(),
            township: x.township.clone(),
            village: x.village.clone(),
            entry,
        })
        .collect();
    xlsx_response(
        "资金拨付台账",
        format!("{}年 {} 资金拨付台账（{} 导出）", x.year, x.name, today()),
        &ENTRY_LEDGER_HEADER,
        &ENTRY_WIDTHS,
        entry_rows(&lines),
        &format!("资金拨付台账-{id}.xlsx"),
    )
    .await
}
