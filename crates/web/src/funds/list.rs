//! The project library's list page: filters, the lines and their choices.

use super::{place, rate_text, records_any, PAGE};
use crate::auth::PageUser;
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use fupin_domain::funds::{ProjectType, Stage};
use fupin_store::{ProjectFilter, ProjectId, ProjectKey, StoredProject};
use serde::Deserialize;

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
            t => Some(t.parse::<ProjectType>()?),
        };
        let stage = match self.stage.trim() {
            "" => None,
            t => Some(t.parse::<Stage>()?),
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
    pub id: ProjectId,
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
pub(super) type Choice = (String, String, bool);

pub(super) fn choices<T: Copy>(
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
    let s = v.item_scope();
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
