//! Findings: proposals from the results, the findings page and form, and their ledger.

use super::workbook::{ledger_rows, ledger_workbook, list_cells, LEDGER_HEADER};
use super::{inspection_of, parse_date, refusal};
use crate::auth::{PageUser, Viewer};
use crate::csrf::CsrfForm;
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::xlsx::download;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_domain::estimates::Approval;
use fupin_store::{
    may_record, FindingRow, Inspection, InspectionId, NewFinding, SampleRow, Severity, WorkItemId,
    FINDING_CATEGORIES,
};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "inspection_findings.html")]
struct FindingsPage {
    layout: Layout,
    id: InspectionId,
    name: String,
    header: [&'static str; 8],
    rows: Vec<[String; 8]>,
    items: Vec<WorkItemId>,
    can_record: bool,
    categories: [&'static str; 8],
    severities: Vec<(&'static str, &'static str)>,
    tasks: Vec<(u32, String)>,
    /// What the verification results show that no finding records yet.
    proposals: Vec<Proposal>,
    /// The form's starting values (from a proposal's link).
    prefill: FindingForm,
}

/// A finding the results suggest: a wrong exit, a missed household or a household that
/// does not approve, with the link that fills the form with it.
pub struct Proposal {
    pub text: String,
    pub category: &'static str,
    pub url: String,
}

/// Policy (专项评估检查实施办法 2017): each wrong exit (an exited household with a check
/// not met), missed household (是否漏评 = 是) and household not approving (否) found in the
/// field is a problem to rectify. Proposed in 样本编号 order; one already recorded with the
/// same description is not proposed again.
pub fn proposals(id: InspectionId, rows: &[SampleRow], recorded: &[FindingRow]) -> Vec<Proposal> {
    const CHECKS: [&str; 7] = [
        "收入",
        "不愁吃",
        "不愁穿",
        "义务教育",
        "基本医疗",
        "住房安全",
        "饮水安全",
    ];
    let mut out = Vec::new();
    for r in rows {
        let Some(v) = &r.result else { continue };
        let h = &r.household;
        let who = match &h.household_id {
            Some(no) => format!("样本 {} 户编号 {no}", h.no),
            None => format!("样本 {}（{}{}）", h.no, r.village, list_cells(r)[5]),
        };
        let mut found: Vec<(&'static str, String)> = Vec::new();
        if h.group.is_registered() && h.exited && !v.all_verified() {
            let failed: Vec<&str> = v
                .checks
                .iter()
                .zip(CHECKS)
                .filter(|(c, _)| !**c)
                .map(|(_, n)| n)
                .collect();
            found.push((
                "错退",
                format!("{who}已脱贫，实地核验{}未达标（错退）", failed.join("、")),
            ));
        }
        if v.missed == Some(true) {
            found.push((
                "漏评",
                format!(
                    "{who}为非建档立卡户，实地核验应识别为贫困户（漏评，{} 人）",
                    v.people.unwrap_or(0)
                ),
            ));
        }
        if v.approval == Approval::No {
            found.push(("群众认可度", format!("{who}对脱贫攻坚工作不认可")));
        }
        for (category, text) in found {
            if recorded.iter().any(|f| f.description == text) {
                continue;
            }
            let mut url = format!(
                "/inspections/{id}/findings?description={}&category={}",
                view::enc(&text),
                view::enc(category)
            );
            match &h.household_id {
                Some(no) if h.group.is_registered() => {
                    url.push_str(&format!("&household_no={}", view::enc(no)));
                }
                _ => url.push_str(&format!(
                    "&township={}&village={}",
                    view::enc(&r.township),
                    view::enc(&r.village)
                )),
            }
            url.push_str("#new-finding");
            out.push(Proposal {
                text,
                category,
                url,
            });
        }
    }
    out
}

/// An inspection and the findings of it the reader may see.
async fn inspection_findings(
    state: &AppState,
    v: &Viewer,
    id: InspectionId,
) -> Result<(Inspection, Vec<FindingRow>), Error> {
    let insp = inspection_of(state, id).await?;
    let findings = state
        .store
        .inspections()
        .findings(&v.item_scope(), Some(id))
        .await?;
    Ok((insp, findings))
}

/// GET /inspections/{id}/findings — the findings the reader may see, as the ledger
/// prints them, and the form for a new one.
pub async fn findings_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<InspectionId>,
    Query(prefill): Query<FindingForm>,
) -> Result<Html<String>, PageError> {
    let (insp, findings) = inspection_findings(&state, &v, id).await?;
    let plan = crate::tasks::plan_in_force(&state).await?;
    let page = FindingsPage {
        layout: Layout::of(&v, format!("{} · 问题与整改", insp.name), "inspections"),
        id,
        name: insp.name,
        header: LEDGER_HEADER,
        rows: ledger_rows(&findings),
        items: findings.iter().map(|f| f.work_item).collect(),
        proposals: if may_record(&v.user().role) {
            let rows = state.store.inspections().sample_rows(&v.scope, id).await?;
            proposals(id, &rows, &findings)
        } else {
            Vec::new()
        },
        prefill,
        can_record: may_record(&v.user().role),
        categories: FINDING_CATEGORIES,
        severities: Severity::ALL
            .iter()
            .map(|s| (s.word(), s.chinese()))
            .collect(),
        tasks: plan
            .map(|p| {
                p.plan
                    .tasks
                    .iter()
                    .map(|t| (t.no, format!("{}. {}（{}）", t.no, t.name, t.lead_unit)))
                    .collect()
            })
            .unwrap_or_default(),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

#[derive(Deserialize, Default)]
pub struct FindingForm {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub household_no: String,
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub village: String,
    #[serde(default)]
    pub task_no: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub measure: String,
    #[serde(default)]
    pub deadline: String,
}

impl FindingForm {
    pub fn finding(&self) -> Result<NewFinding, Error> {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|t| !t.is_empty());
        let task_no = match opt(&self.task_no) {
            Some(t) => Some(
                t.parse()
                    .map_err(|_| Error::BadRequest(format!("重点工作序号「{t}」应为正整数")))?,
            ),
            None => None,
        };
        Ok(NewFinding {
            description: self.description.clone(),
            category: self.category.clone(),
            severity: Severity::parse(&self.severity),
            household_no: opt(&self.household_no),
            township: opt(&self.township),
            village: opt(&self.village),
            task_no,
            unit: opt(&self.unit),
            owner: opt(&self.owner),
            measure: self.measure.clone(),
            deadline: parse_date(&self.deadline, "完成时限")?,
        })
    }
}

pub async fn create_finding(
    state: &AppState,
    v: &Viewer,
    id: InspectionId,
    f: &FindingForm,
) -> Result<FindingRow, Error> {
    inspection_of(state, id).await?;
    let new = f.finding()?;
    state
        .store
        .inspections()
        .create_finding(v.user(), id, &new)
        .await?
        .map_err(refusal)
}

/// POST /inspections/{id}/findings — record a finding; its work item is assigned at once.
pub async fn finding_post(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<InspectionId>,
    CsrfForm(f): CsrfForm<FindingForm>,
) -> Result<Response, PageError> {
    create_finding(&state, &v, id, &f).await?;
    Ok(Redirect::to(&format!("/inspections/{id}/findings")).into_response())
}

/// GET /inspections/{id}/ledger.xlsx — the 整改台账 of the findings the reader may see.
pub async fn ledger_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<InspectionId>,
) -> Result<Response, PageError> {
    let (insp, findings) = inspection_findings(&state, &v, id).await?;
    let bytes = ledger_workbook(
        &format!("{}问题整改台账", insp.name),
        &ledger_rows(&findings),
    )
    .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(download(bytes, &format!("整改台账-{id}.xlsx")))
}
