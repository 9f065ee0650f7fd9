//! One sampled household's result: the page and its form.

use super::workbook::list_cells;
use super::{inspection_of, refusal};
use crate::auth::{PageUser, Viewer};
use crate::csrf::CsrfForm;
use crate::error::{Error, PageError};
use crate::view::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_domain::estimates::{Approval, Verification};
use fupin_store::{may_record, InspectionId, SampleRow};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "inspection_result.html")]
struct ResultPage {
    layout: Layout,
    id: InspectionId,
    name: String,
    cells: [String; 9],
    registered: bool,
    /// (field, label, current: "是"/"否"/"")
    checks: Vec<(&'static str, &'static str, &'static str)>,
    missed: &'static str,
    people: String,
    approval: &'static str,
    can_record: bool,
}

const CHECK_FIELDS: [(&str, &str); 7] = [
    ("income", "收入稳定超过标准"),
    ("food", "不愁吃"),
    ("clothing", "不愁穿"),
    ("education", "义务教育有保障"),
    ("medical", "基本医疗有保障"),
    ("housing", "住房安全有保障"),
    ("water", "饮水安全有保障"),
];

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "是",
        Some(false) => "否",
        None => "",
    }
}

async fn sample_row(
    state: &AppState,
    v: &Viewer,
    id: InspectionId,
    no: u32,
) -> Result<SampleRow, Error> {
    state
        .store
        .inspections()
        .sample_rows(&v.scope, id)
        .await?
        .into_iter()
        .find(|r| r.household.no == no)
        .ok_or(Error::NotFound)
}

/// GET /inspections/{id}/results/{no} — one household's result form.
pub async fn result_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path((id, no)): Path<(InspectionId, u32)>,
) -> Result<Html<String>, PageError> {
    let insp = inspection_of(&state, id).await?;
    let r = sample_row(&state, &v, id, no).await?;
    let res = r.result.clone();
    let page = ResultPage {
        layout: Layout::of(&v, format!("样本 {no} 核验结果"), "inspections"),
        id,
        name: insp.name,
        cells: list_cells(&r),
        registered: r.household.group.is_registered(),
        checks: CHECK_FIELDS
            .iter()
            .enumerate()
            .map(|(i, (f, l))| {
                (
                    *f,
                    *l,
                    yes_no(res.as_ref().and_then(|v| v.checks.get(i).copied())),
                )
            })
            .collect(),
        missed: yes_no(res.as_ref().and_then(|v| v.missed)),
        people: res
            .as_ref()
            .and_then(|v| v.people)
            .map(|p| p.to_string())
            .unwrap_or_default(),
        approval: res.as_ref().map_or("", |v| v.approval.chinese()),
        can_record: may_record(&v.user().role),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

#[derive(Deserialize, Default)]
pub struct ResultForm {
    #[serde(flatten)]
    pub values: std::collections::HashMap<String, String>,
}

/// A result from the form's 是/否 fields.
pub fn result_from_form(
    no: u32,
    registered: bool,
    values: &std::collections::HashMap<String, String>,
) -> Result<Verification, Error> {
    let get = |k: &str| values.get(k).map(|s| s.trim()).unwrap_or_default();
    let yn = |k: &str, label: &str, required: bool| -> Result<Option<bool>, Error> {
        match get(k) {
            "是" => Ok(Some(true)),
            "否" => Ok(Some(false)),
            "" if !required => Ok(None),
            other => Err(Error::BadRequest(format!(
                "{label}「{other}」：请选择 是 或 否"
            ))),
        }
    };
    let approval = Approval::parse(get("approval"))
        .ok_or_else(|| Error::BadRequest(format!("是否认可：请选择 {}", Approval::ACCEPTED)))?;
    let mut checks = Vec::new();
    let (mut missed, mut people) = (None, None);
    if registered {
        for (i, (f, l)) in CHECK_FIELDS.iter().enumerate() {
            if let Some(b) = yn(f, l, i < 6)? {
                checks.push(b);
            }
        }
    } else {
        missed = yn("missed", "是否漏评", true)?;
        let p = get("people");
        people = Some(
            p.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::BadRequest(format!("家庭人口「{p}」应为大于0的整数")))?,
        );
    }
    Ok(Verification {
        no,
        people,
        checks,
        missed,
        approval,
    })
}

/// POST /inspections/{id}/results/{no} — record one household's result.
pub async fn result_post(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path((id, no)): Path<(InspectionId, u32)>,
    CsrfForm(f): CsrfForm<ResultForm>,
) -> Result<Response, PageError> {
    let r = sample_row(&state, &v, id, no).await?;
    let result = result_from_form(no, r.household.group.is_registered(), &f.values)?;
    state
        .store
        .inspections()
        .record_results(v.user(), id, &[result])
        .await?
        .map_err(refusal)?;
    Ok(Redirect::to(&format!("/inspections/{id}#s{no}")).into_response())
}
