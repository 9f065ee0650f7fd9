//! An inspection's page, drawing its sample (with the rural file), the sample list as
//! XLSX, and the results upload.

use super::list::InspectionLine;
use super::workbook::{list_cells, plan_text, sample_workbook};
use super::{drawn_sample, inspection_of, refusal, results_of, rural_of, PlanFields};
use crate::auth::PageUser;
use crate::csrf::{CsrfMultipart, Part};
use crate::error::{Error, PageError};
use crate::upload::Saved;
use crate::view::{self, Layout};
use crate::xlsx::download;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_domain::access::{may, Action};
use fupin_domain::estimates::Verification;
use fupin_domain::sampling::SamplingPlan;
use fupin_store::{may_record, InspectionId, VersionId};

pub struct SampleLine {
    pub no: u32,
    pub cells: [String; 9],
    pub weight: String,
    pub result: String,
    pub has_result: bool,
}

fn result_text(r: &Option<Verification>) -> String {
    let Some(v) = r else {
        return "未录入".into();
    };
    let mut parts = Vec::new();
    if !v.checks.is_empty() {
        parts.push(if v.all_verified() {
            "核验全部通过".to_string()
        } else {
            let names = ["收入", "吃", "穿", "教育", "医疗", "住房", "饮水"];
            format!(
                "未通过：{}",
                v.checks
                    .iter()
                    .zip(names)
                    .filter(|(c, _)| !**c)
                    .map(|(_, n)| n)
                    .collect::<Vec<_>>()
                    .join("、")
            )
        });
    }
    if let Some(m) = v.missed {
        parts.push(format!(
            "{}，{} 人",
            if m { "漏评" } else { "非漏评" },
            v.people.unwrap_or(0)
        ));
    }
    parts.push(format!("认可：{}", v.approval.chinese()));
    parts.join("；")
}

#[derive(Template)]
#[template(path = "inspection.html")]
struct DetailPage {
    layout: Layout,
    i: InspectionLine,
    can_record: bool,
    county: bool,
    drawn: Option<DrawnHead>,
    rows: Vec<SampleLine>,
    guangdong: String,
}

pub struct DrawnHead {
    pub seed: String,
    pub plan: String,
    pub version: VersionId,
    pub villages: usize,
    pub households: usize,
    pub drawn: String,
    pub rural: usize,
}

/// GET /inspections/{id} — the inspection, its draw (or the form to draw), the sampled
/// households in the reader's area with their results.
pub async fn detail_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<InspectionId>,
) -> Result<Html<String>, PageError> {
    let insp = inspection_of(&state, id).await?;
    let sample = state.store.inspections().sample(id).await?;
    let rows = state.store.inspections().sample_rows(&v.scope, id).await?;
    let page = DetailPage {
        layout: Layout::of(&v, insp.name.clone(), "inspections"),
        i: InspectionLine::of(&insp),
        can_record: may_record(&v.user().role),
        county: v.scope.is_county(),
        drawn: sample.as_ref().map(|s| DrawnHead {
            seed: s.plan.seed.to_string(),
            plan: plan_text(&s.plan),
            version: s.version_id,
            villages: s.sample.villages.len(),
            households: s.sample.households.len(),
            drawn: format!(
                "{}{}",
                s.drawn_by.clone().map(|u| u + " 于 ").unwrap_or_default(),
                view::time(s.drawn_at)
            ),
            rural: s.rural.len(),
        }),
        rows: rows
            .iter()
            .map(|r| SampleLine {
                no: r.household.no,
                cells: list_cells(r),
                weight: format!("{:.4}", r.household.weight),
                result: result_text(&r.result),
                has_result: r.result.is_some(),
            })
            .collect(),
        guangdong: plan_text(&SamplingPlan::guangdong_2018(0)),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

/// A multipart form: text fields and at most one file, saved to disk as it arrived.
#[derive(Default)]
pub struct Upload {
    pub fields: std::collections::HashMap<String, String>,
    pub file: Option<Saved>,
}

/// Policy: a form of this area has at most 64 text fields (its forms have about a dozen).
const MAX_FIELDS: usize = 64;

impl Upload {
    pub fn get(&self, k: &str) -> String {
        self.fields.get(k).cloned().unwrap_or_default()
    }
}

pub async fn read_upload(
    state: &AppState,
    mut mp: CsrfMultipart,
    file_field: &str,
) -> Result<Upload, Error> {
    let mut up = Upload::default();
    while let Some(part) = mp.next_field().await? {
        let Part::Field(field) = part else {
            continue;
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == file_field {
            let max = crate::upload::file_limit(state, fupin_io::limits::FileKind::Inspection);
            up.file =
                Some(crate::upload::save(state, field, "upload.xlsx", max, "上传的文件").await?);
        } else {
            if up.fields.len() >= MAX_FIELDS {
                return Err(Error::BadRequest(format!(
                    "表单项过多（超过 {MAX_FIELDS} 项）"
                )));
            }
            let text = crate::upload::field_text(field).await?;
            up.fields.insert(name, text.trim().to_string());
        }
    }
    Ok(up)
}

/// POST /inspections/{id}/sample — draw and record (multipart: the plan's fields and the
/// rural households file).
pub async fn draw_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<InspectionId>,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let up = read_upload(&state, mp, "rural").await?;
    may(v.user().role.actor(None), Action::RecordInspection)?;
    let fields = PlanFields {
        seed: up.get("seed"),
        townships: up.get("townships"),
        poor_villages: up.get("poor_villages"),
        other_villages: up.get("other_villages"),
        allocation: up.get("allocation"),
        per_village: up.get("per_village"),
        registered: up.get("registered"),
        non_registered: up.get("non_registered"),
        min_share: up.get("min_share"),
        take_all: up.fields.get("take_all").cloned(),
    };
    let plan = fields.plan()?;
    let rural = rural_of(up.file.as_ref(), &state.config.limits.inspection)?;
    state
        .store
        .inspections()
        .draw_sample(v.user(), id, &plan, &rural)
        .await?
        .map_err(refusal)?;
    Ok(Redirect::to(&format!("/inspections/{id}")).into_response())
}

/// GET /inspections/{id}/sample.xlsx — the sample list of the reader's area.
pub async fn sample_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<InspectionId>,
) -> Result<Response, PageError> {
    let insp = inspection_of(&state, id).await?;
    let s = drawn_sample(&state, id).await?;
    let rows = state.store.inspections().sample_rows(&v.scope, id).await?;
    let bytes = sample_workbook(&insp, &s, &rows).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(download(bytes, &format!("样本清单-{id}.xlsx")))
}

/// POST /inspections/{id}/results — the filled sample list, all or nothing.
pub async fn results_upload(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<InspectionId>,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let up = read_upload(&state, mp, "results").await?;
    may(v.user().role.actor(None), Action::RecordInspection)?;
    let s = drawn_sample(&state, id).await?;
    let results = results_of(up.file.as_ref(), &s, &state.config.limits.inspection)?;
    state
        .store
        .inspections()
        .record_results(v.user(), id, &results)
        .await?
        .map_err(refusal)?;
    Ok(Redirect::to(&format!("/inspections/{id}/estimates")).into_response())
}
