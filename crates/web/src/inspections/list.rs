//! The list of inspections and the form that opens one (headquarters).

use super::{parse_date, refusal};
use crate::auth::{PageUser, Viewer};
use crate::csrf::CsrfForm;
use crate::error::{Error, PageError};
use crate::view::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_store::{may_record, Inspection, InspectionId, InspectionLevel, NewInspection};
use serde::Deserialize;

pub struct InspectionLine {
    pub id: InspectionId,
    pub name: String,
    pub level: &'static str,
    pub dates: String,
    pub team: String,
    pub sampled: u64,
    pub verified: u64,
    pub findings: u64,
}

fn dates(i: &Inspection) -> String {
    match i.ends_on {
        Some(e) => format!("{} 至 {e}", i.starts_on),
        None => i.starts_on.to_string(),
    }
}

impl InspectionLine {
    pub(super) fn of(i: &Inspection) -> InspectionLine {
        InspectionLine {
            id: i.id,
            name: i.name.clone(),
            level: i.level.chinese(),
            dates: dates(i),
            team: i.team.clone(),
            sampled: i.sampled,
            verified: i.verified,
            findings: i.findings,
        }
    }
}

#[derive(Template)]
#[template(path = "inspections.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<InspectionLine>,
    can_record: bool,
    levels: Vec<(&'static str, &'static str)>,
    county: bool,
}

/// GET /inspections — every inspection; the form for a new one.
pub async fn list_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Html<String>, PageError> {
    let rows = state
        .store
        .inspections()
        .all()
        .await?
        .iter()
        .map(InspectionLine::of)
        .collect();
    let page = ListPage {
        layout: Layout::of(&v, "考核评估", "inspections"),
        rows,
        can_record: may_record(&v.user().role),
        levels: InspectionLevel::ALL
            .iter()
            .map(|l| (l.word(), l.chinese()))
            .collect(),
        county: v.scope.is_county(),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

#[derive(Deserialize)]
pub struct NewInspectionForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub starts_on: String,
    #[serde(default)]
    pub ends_on: String,
    #[serde(default)]
    pub team: String,
}

pub async fn create(
    state: &AppState,
    v: &Viewer,
    f: &NewInspectionForm,
) -> Result<Inspection, Error> {
    let level = InspectionLevel::parse(&f.level).ok_or_else(|| {
        Error::BadRequest(format!(
            "考核类别「{}」不对：应为 省际交叉考核、第三方评估 或 县级自查",
            f.level
        ))
    })?;
    let starts_on = parse_date(&f.starts_on, "开始日期")?
        .ok_or_else(|| Error::BadRequest("请填写开始日期".into()))?;
    let new = NewInspection {
        name: f.name.clone(),
        level,
        starts_on,
        ends_on: parse_date(&f.ends_on, "结束日期")?,
        team: f.team.clone(),
    };
    state
        .store
        .inspections()
        .create_inspection(v.user(), &new)
        .await?
        .map_err(refusal)
}

/// POST /inspections — record an inspection (headquarters, inspectors).
pub async fn create_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(f): CsrfForm<NewInspectionForm>,
) -> Result<Response, PageError> {
    let i = create(&state, &v, &f).await?;
    Ok(Redirect::to(&format!("/inspections/{}", i.id)).into_response())
}
