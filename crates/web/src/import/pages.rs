//! The import pages: the upload form, the register's versions, a job's page with its
//! problems as XLSX and CSV.

use super::upload::start_upload;
use super::{job_percent, JOB_PROBLEMS_KEPT, PROBLEMS_FILE};
use crate::auth::{PageUser, Viewer};
use crate::csrf::CsrfMultipart;
use crate::error::{Error, PageError};
use crate::registry::dashboard::VersionLine;
use crate::view::{FileProblem, Layout};
use crate::xlsx::{self, ProblemCells};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_store::{JobId, JobState, VersionId};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    layout: Layout,
    year: i32,
    versions: Vec<VersionLine>,
}

/// GET /import
pub async fn page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Html<String>, PageError> {
    v.require_admin()?;
    let versions = state.store.register().versions().await?;
    let p = ImportPage {
        layout: Layout::of(&v, "导入登记表", "import"),
        year: versions.first().map_or(2018, |x| x.year),
        versions: versions.iter().take(10).map(VersionLine::of).collect(),
    };
    Ok(Html(p.render()?))
}

/// POST /import
pub async fn upload(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    form: CsrfMultipart,
) -> Result<Response, PageError> {
    let id = start_upload(&state, &v, form).await?;
    Ok(Redirect::to(&format!("/import/jobs/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "versions.html")]
struct VersionsPage {
    layout: Layout,
    versions: Vec<VersionRow>,
}

pub struct VersionRow {
    pub line: VersionLine,
    pub current: bool,
    pub households: u64,
    pub members: u64,
    pub villages: u64,
    pub errors: u64,
    pub warnings: u64,
    pub format: String,
    pub sha256: String,
}

/// GET /versions
pub async fn versions_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Html<String>, PageError> {
    let versions = state.store.register().versions().await?;
    let p = VersionsPage {
        layout: Layout::of(&v, "登记表版本", "versions"),
        versions: versions
            .iter()
            .map(|x| VersionRow {
                line: VersionLine::of(x),
                current: x.current,
                households: x.households,
                members: x.members,
                villages: x.villages,
                errors: x.errors,
                warnings: x.warnings,
                format: x.format.clone(),
                sha256: x.sha256[..12.min(x.sha256.len())].to_string(),
            })
            .collect(),
    };
    Ok(Html(p.render()?))
}

/// The problems a job kept, as its result stores them.
fn job_problems(result: &Value) -> Vec<FileProblem> {
    result["problems"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let s = |k: &str| p[k].as_str().unwrap_or("").to_string();
                    let code = s("code");
                    FileProblem {
                        is_error: code.starts_with('E'),
                        cells: ProblemCells {
                            file: s("file"),
                            line: p["line"].as_u64().unwrap_or(0),
                            column: s("column"),
                            code,
                            value: s("value"),
                            message: s("message"),
                            household_no: String::new(),
                        },
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    layout: Layout,
    id: JobId,
    file_name: String,
    running: bool,
    stage: String,
    /// 0 to 100.
    percent: u8,
    elapsed: String,
    failed: Option<String>,
    outcome: String,
    summary: String,
    version: VersionId,
    households: u64,
    members: u64,
    warnings: u64,
    errors: u64,
    problems: Vec<FileProblem>,
    /// Every problem found, and how many of them the job kept to show.
    total_problems: u64,
    kept_problems: usize,
    /// 「共 N 条，显示前 M 条」 when only some are kept.
    shown: Option<String>,
    /// The job keeps the full list as [`PROBLEMS_FILE`].
    has_file: bool,
    shown_from: usize,
    next_url: Option<String>,
}

/// How many problems a refused import found in all: the count its result carries (a job of
/// a version before the cap kept them all, and no count).
pub(super) fn total_problems(result: &Value) -> u64 {
    result["total_problems"]
        .as_u64()
        .unwrap_or_else(|| result["problems"].as_array().map_or(0, |a| a.len() as u64))
}

/// 「共 N 条，显示前 M 条」 when a job shows only some of its problems.
pub(crate) fn shown_note(total: u64, kept: usize) -> Option<String> {
    (total > kept as u64).then(|| {
        format!(
            "共 {} 条，显示前 {} 条",
            crate::view::count(total),
            crate::view::count(kept as u64)
        )
    })
}

#[derive(Deserialize)]
pub struct FromQuery {
    pub from: Option<usize>,
}

/// Problems shown on one page of a rejected import.
const JOB_PAGE: usize = 500;

/// An import job in scope of this viewer (the admin), or not found.
pub async fn import_job(
    state: &AppState,
    v: &Viewer,
    id: JobId,
) -> Result<fupin_store::Job, Error> {
    v.require_admin()?;
    state
        .store
        .jobs()
        .job(id)
        .await?
        .filter(|j| j.kind == "import")
        .ok_or(Error::NotFound)
}

/// What the job page says of a failed job: its error, which names the failure when it
/// begins 导入… (导入中断：…), else after 导入失败：.
fn failure_text(error: Option<&str>) -> String {
    match error.unwrap_or("") {
        "" => "导入失败：原因未记录，文件未写入任何数据，请重新上传".to_string(),
        e if e.starts_with("导入") => e.to_string(),
        e => format!("导入失败：{e}"),
    }
}

/// GET /import/jobs/{id}
pub async fn job_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<JobId>,
    Query(q): Query<FromQuery>,
) -> Result<Html<String>, PageError> {
    let job = import_job(&state, &v, id).await?;
    let p = &job.payload;
    let result = &p["result"];
    let running = matches!(job.state, JobState::Queued | JobState::Running);
    let stage = match p["stage"].as_str().unwrap_or("") {
        "checking" => "正在读取并检查文件（与 fupin assess 相同的检查）",
        "storing" => "检查通过，正在写入数据库并生成汇总",
        "done" => "已完成",
        _ => "排队中",
    };
    let end = job.finished_at.unwrap_or_else(chrono::Utc::now);
    let elapsed = (end - job.created_at).num_milliseconds().max(0) as f64 / 1000.0;
    let all = job_problems(result);
    let kept = all.len();
    let from = q.from.unwrap_or(0).min(kept);
    let problems: Vec<FileProblem> = all.into_iter().skip(from).take(JOB_PAGE).collect();
    let next = from + problems.len();
    let page = JobPage {
        layout: Layout::of(&v, "导入进度", "import"),
        id,
        file_name: p["file_name"].as_str().unwrap_or("").into(),
        running,
        stage: stage.into(),
        percent: job_percent(&state, &job),
        elapsed: format!("{elapsed:.1}"),
        failed: (job.state == JobState::Failed).then(|| failure_text(job.error.as_deref())),
        outcome: result["outcome"].as_str().unwrap_or("").into(),
        summary: result["summary"].as_str().unwrap_or("").into(),
        version: VersionId::new(result["version"].as_i64().unwrap_or(0)),
        households: result["households"].as_u64().unwrap_or(0),
        members: result["members"].as_u64().unwrap_or(0),
        warnings: result["warnings"].as_u64().unwrap_or(0),
        errors: result["errors"].as_u64().unwrap_or(0),
        problems,
        total_problems: total_problems(result),
        kept_problems: kept,
        shown: shown_note(total_problems(result), kept),
        has_file: result["problems_file"] == json!(true),
        shown_from: from + 1,
        next_url: (next < kept).then(|| format!("/import/jobs/{id}?from={next}")),
    };
    Ok(Html(page.render()?))
}

/// GET /import/jobs/{id}/problems.xlsx
pub async fn job_problems_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<JobId>,
) -> Result<Response, PageError> {
    let job = import_job(&state, &v, id).await?;
    let result = &job.payload["result"];
    let problems = job_problems(result);
    let note = shown_note(total_problems(result), problems.len()).map(|n| {
        format!(
            "{n}；全部问题见导入进度页的「下载全部问题（CSV）」：/import/jobs/{id}/{PROBLEMS_FILE}"
        )
    });
    let rows: Vec<ProblemCells> = problems.into_iter().map(|p| p.cells).collect();
    let bytes =
        tokio::task::spawn_blocking(move || xlsx::problems_workbook(&rows, note.as_deref()))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(xlsx::download(bytes, &format!("导入问题清单-{id}.xlsx")))
}

/// Every problem of a refused import job in scope of this viewer, as CSV (the job's
/// [`PROBLEMS_FILE`]), or not found.
pub async fn problems_file(state: &AppState, v: &Viewer, id: JobId) -> Result<Response, Error> {
    import_job(state, v, id).await?;
    let f = state
        .store
        .jobs()
        .job_file(id, PROBLEMS_FILE)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(xlsx::attachment(
        f.data,
        &f.content_type,
        &format!("导入问题清单-{id}.csv"),
    ))
}

/// GET /import/jobs/{id}/problems.csv
pub async fn job_problems_csv(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<JobId>,
) -> Result<Response, PageError> {
    Ok(problems_file(&state, &v, id).await?)
}

/// A job's answer in the API: its result with at most [`JOB_PROBLEMS_KEPT`] problems
/// (a job of a version before the cap kept them all), the count of all and of each code,
/// and where the full list is (`problems_url`, null when the job kept none).
pub fn api_result(id: JobId, result: &Value) -> Value {
    let Some(o) = result.as_object() else {
        return Value::Null;
    };
    let mut out = serde_json::Map::new();
    for (k, v) in o {
        if k != "problems" && k != "problems_file" {
            out.insert(k.clone(), v.clone());
        }
    }
    if result["outcome"] == "rejected" {
        let all = result["problems"].as_array().map_or(&[][..], Vec::as_slice);
        let kept: Vec<Value> = all.iter().take(JOB_PROBLEMS_KEPT).cloned().collect();
        if !out.contains_key("by_code") {
            let mut by_code = std::collections::BTreeMap::<String, u64>::new();
            for p in all {
                *by_code
                    .entry(p["code"].as_str().unwrap_or("").to_string())
                    .or_default() += 1;
            }
            out.insert("by_code".into(), json!(by_code));
        }
        out.insert("total_problems".into(), json!(total_problems(result)));
        out.insert("problems_shown".into(), json!(kept.len()));
        out.insert("problems".into(), Value::Array(kept));
        let url = (result["problems_file"] == json!(true))
            .then(|| format!("/api/v1/jobs/{id}/{PROBLEMS_FILE}"));
        out.insert("problems_url".into(), json!(url));
    }
    Value::Object(out)
}
