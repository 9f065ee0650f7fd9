//! A project's page and what is done on it: disbursements and reversals, beneficiaries,
//! the stage.

use super::list::{choices, Choice};
use super::{may_record, opt_date, parse_date, parse_yuan, place, rate_text};
use crate::auth::{PageUser, Viewer};
use crate::csrf::CsrfForm;
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_domain::funds::{
    unreversed, BenefitKind, EntryId, EntryKind, FundSource, Override, Stage,
};
use fupin_domain::Fen;
use fupin_store::{today, FundEntry, FundRefusal, NewFundEntry, ProjectId};
use serde::Deserialize;

pub struct ProjectView {
    pub id: ProjectId,
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
    pub id: EntryId,
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
#[serde(default)]
pub struct EntryForm {
    /// `disbursement` or `reversal`.
    pub kind: String,
    pub reverses: String,
    pub date: String,
    pub source: String,
    pub amount: String,
    pub voucher: String,
    pub payee: String,
    pub note: String,
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
pub(super) struct PageState {
    entry: EntryForm,
    reversal: EntryForm,
    benefit: BenefitForm,
    benefit_error: String,
    entry_error: String,
    reversal_error: String,
    stage_error: String,
    notice: String,
}

pub(super) async fn project_page(
    state: &AppState,
    v: &Viewer,
    id: ProjectId,
    st: PageState,
) -> Result<String, Error> {
    let s = v.item_scope();
    let p = super::project_in_scope(state, v, id).await?;
    let entries = state.store.funds().fund_entries(&s, id).await?;
    let benefits = state.store.funds().project_beneficiaries(&s, id).await?;
    let x = &p.project;
    let ledger: Vec<_> = entries.iter().map(FundEntry::ledger).collect();
    let lines: Vec<EntryLine> = entries.iter().map(|e| entry_line(e, &ledger)).collect();
    let reversible = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Disbursement)
        .filter_map(|e| {
            let left = unreversed(&ledger, e.id)?;
            (left.fen() > 0).then(|| {
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
            .filter(|s| x.budget.get(**s).fen() != 0 || p.disbursed.get(**s).fen() != 0)
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
    Path(id): Path<ProjectId>,
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
    id: ProjectId,
    st: PageState,
) -> Result<Response, PageError> {
    Ok((
        StatusCode::BAD_REQUEST,
        Html(project_page(state, v, id, st).await?),
    )
        .into_response())
}

pub(super) fn refusal_error(r: FundRefusal) -> Result<String, Error> {
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
    Path(id): Path<ProjectId>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    let reversal = f.kind == "reversal";
    let s = v.item_scope();
    // The project must be in the scope before anything is said about it.
    super::project_in_scope(&state, &v, id).await?;
    let entries = state.store.funds().fund_entries(&s, id).await?;
    let parsed: Result<(EntryKind, NewFundEntry), String> = (|| {
        let date = parse_date("拨付日期", &f.date)?.ok_or("请填写日期")?;
        let (kind, source) = if reversal {
            let of: EntryId = f
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
                let ledger: Vec<_> = entries.iter().map(FundEntry::ledger).collect();
                unreversed(&ledger, of).unwrap_or(Fen::new(0))
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
#[serde(default)]
pub struct BenefitForm {
    pub household_no: String,
    pub kind: String,
    pub yearly: String,
}

/// POST /projects/{id}/beneficiaries — record (or change) a household's yearly benefit
/// from the project: headquarters or the implementing unit, audited by the store.
pub async fn set_benefit(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<ProjectId>,
    CsrfForm(f): CsrfForm<BenefitForm>,
) -> Result<Response, PageError> {
    super::project_in_scope(&state, &v, id).await?;
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
#[serde(default)]
pub struct StageForm {
    pub stage: String,
    pub date: String,
}

/// POST /projects/{id}/stage — one stage forward; 实施 and 完工 with their actual date.
pub async fn set_stage(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<ProjectId>,
    CsrfForm(f): CsrfForm<StageForm>,
) -> Result<Response, PageError> {
    super::project_in_scope(&state, &v, id).await?;
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
