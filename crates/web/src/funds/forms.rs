//! The new and edit forms of a project (headquarters).

use super::list::{choices, Choice};
use super::project::refusal_error;
use super::{opt_date, parse_date, parse_yuan};
use crate::auth::{PageUser, Viewer};
use crate::csrf::CsrfForm;
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use fupin_domain::funds::{Budget, FundSource, Project, ProjectType, Stage};
use fupin_store::{today, ProjectId, StoredProject};
use serde::Deserialize;

/// The fields of the project form, as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ProjectForm {
    pub revision: String,
    pub name: String,
    pub year: String,
    pub kind: String,
    pub township: String,
    pub village: String,
    pub task_no: String,
    pub unit: String,
    pub stage: String,
    pub planned_start: String,
    pub planned_end: String,
    pub actual_start: String,
    pub actual_end: String,
    pub budget_central: String,
    pub budget_provincial: String,
    pub budget_city: String,
    pub budget_county: String,
    pub budget_integrated: String,
    pub budget_social: String,
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
            if b.fen() != 0 {
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
    id: Option<ProjectId>,
    action: String,
    f: ProjectForm,
    kinds: Vec<Choice>,
    stages: Vec<Choice>,
    /// (field name, header, value).
    budgets: Vec<(String, String, String)>,
    error: String,
}

fn form_page(
    v: &Viewer,
    id: Option<ProjectId>,
    f: ProjectForm,
    error: String,
) -> Result<String, Error> {
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
    Path(id): Path<ProjectId>,
) -> Result<Html<String>, PageError> {
    v.require_admin()?;
    let p = state
        .store
        .funds()
        .project(&v.item_scope(), id)
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
    Path(id): Path<ProjectId>,
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
