//! 问题清单: the problems of the current register version in the user's area (line,
//! column, code, value, message), paged by key, and as an XLSX download.

use crate::auth::{PageUser, Viewer};
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::xlsx::{self, ProblemCells};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, Response};
use fupin_store::ProblemRow;

/// The store's largest page, for exports.
const MAX_PAGE: u32 = 500;
use serde::Deserialize;

pub const PAGE: u32 = 100;

pub struct ProblemLine {
    pub line: u64,
    pub column: String,
    pub code: &'static str,
    pub is_error: bool,
    pub value: String,
    pub message: String,
    pub household_no: String,
    pub household_url: String,
}

impl ProblemLine {
    pub fn of(p: &ProblemRow) -> ProblemLine {
        ProblemLine {
            line: p.line,
            column: p.column.clone(),
            code: p.code.as_str(),
            is_error: p.code.is_error(),
            value: p.value.clone(),
            message: p.message.clone(),
            household_no: p.household_no.clone().unwrap_or_default(),
            household_url: p
                .household_no
                .as_deref()
                .map(view::household_url)
                .unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "problems.html")]
struct ProblemsPage {
    layout: Layout,
    file_name: String,
    problems: Vec<ProblemLine>,
    next_url: Option<String>,
    paged: bool,
}

#[derive(Deserialize)]
pub struct After {
    pub after: Option<u64>,
}

/// GET /problems?after=seq
pub async fn page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<After>,
) -> Result<Html<String>, PageError> {
    let page = state
        .store
        .register()
        .problems(&v.scope, q.after, PAGE)
        .await?;
    let file_name = register_file_name(&state).await?;
    let p = ProblemsPage {
        layout: Layout::of(&v, "问题清单", "problems"),
        file_name,
        problems: page.items.iter().map(ProblemLine::of).collect(),
        next_url: page.next.map(|n| format!("/problems?after={n}")),
        paged: q.after.is_some(),
    };
    Ok(Html(p.render()?))
}

/// The file the current register was imported from; empty before the first import.
async fn register_file_name(state: &AppState) -> Result<String, Error> {
    let version = state.store.register().current_version().await?;
    Ok(version.map(|v| v.file_name).unwrap_or_default())
}

/// Every problem in the viewer's area, page by page.
pub async fn all_in_scope(state: &AppState, v: &Viewer) -> Result<Vec<ProblemRow>, Error> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .register()
            .problems(&v.scope, after, MAX_PAGE)
            .await?;
        all.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(all),
        }
    }
}

/// GET /problems.xlsx
pub async fn xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Response, PageError> {
    let file = register_file_name(&state).await?;
    let rows: Vec<ProblemCells> = all_in_scope(&state, &v)
        .await?
        .into_iter()
        .map(|p| ProblemCells {
            file: file.clone(),
            line: p.line,
            column: p.column,
            code: p.code.as_str().into(),
            value: p.value,
            message: p.message,
            household_no: p.household_no.unwrap_or_default(),
        })
        .collect();
    let bytes = tokio::task::spawn_blocking(move || xlsx::problems_workbook(&rows, None))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(xlsx::download(bytes, "问题清单.xlsx"))
}
