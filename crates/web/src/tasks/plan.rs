//! The plan's import: the upload read and checked, stored whole or refused with its
//! problems.

use crate::auth::{PageUser, Viewer};
use crate::csrf::{CsrfMultipart, Part};
use crate::error::{Error, PageError};
use crate::view::{FileProblem, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_store::PlanSource;
use sha2::{Digest, Sha256};

#[derive(Template)]
#[template(path = "tasks_plan.html")]
struct PlanResultPage {
    layout: Layout,
    file_name: String,
    /// The first [`crate::import::JOB_PROBLEMS_KEPT`] problems.
    problems: Vec<FileProblem>,
    /// 「共 N 条，显示前 M 条」 when there are more.
    shown: Option<String>,
    accepted: bool,
}

impl PlanResultPage {
    /// The page for `problems`, listing the first [`crate::import::JOB_PROBLEMS_KEPT`]:
    /// a plan file of many bad rows makes no page of megabytes.
    fn new(layout: Layout, file_name: String, problems: Vec<FileProblem>, accepted: bool) -> Self {
        let kept = crate::import::JOB_PROBLEMS_KEPT;
        let shown = crate::import::shown_note(problems.len() as u64, kept);
        let mut problems = problems;
        problems.truncate(kept);
        PlanResultPage {
            layout,
            file_name,
            problems,
            shown,
            accepted,
        }
    }
}

/// What a plan upload carries.
#[derive(Default)]
pub struct PlanUpload {
    pub file_name: String,
    /// The plan file, saved to disk as it arrived (never held whole in memory).
    pub file: Option<crate::upload::Saved>,
    pub facts: fupin_io::plan_file::PlanFacts,
}

pub async fn read_plan_upload(
    state: &AppState,
    mut mp: CsrfMultipart,
) -> Result<PlanUpload, Error> {
    let mut up = PlanUpload::default();
    while let Some(part) = mp.next_field().await? {
        let Part::Field(field) = part else {
            continue;
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "plan" {
            let max = crate::upload::file_limit(state, fupin_io::limits::FileKind::Plan);
            let saved = crate::upload::save(state, field, "plan.csv", max, "方案文件").await?;
            up.file_name = saved.name.clone();
            up.file = Some(saved);
            continue;
        }
        let text = crate::upload::field_text(field).await?;
        let text = text.trim().to_string();
        let opt = || Some(text.clone()).filter(|t| !t.is_empty());
        match name.as_str() {
            "year" => {
                up.facts.year =
                    match opt() {
                        Some(t) => Some(t.parse().map_err(|_| {
                            Error::BadRequest(format!("年度「{t}」不是四位数的年份"))
                        })?),
                        None => None,
                    }
            }
            "name" => up.facts.name = opt(),
            "overall_post" => up.facts.overall_post = opt(),
            "commander_post" => up.facts.commander_post = opt(),
            "declared_tasks" => {
                up.facts.declared_tasks = match opt() {
                    Some(t) => Some(t.parse().map_err(|_| {
                        Error::BadRequest(format!("重点工作数量「{t}」不是正整数"))
                    })?),
                    None => None,
                }
            }
            _ => {}
        }
    }
    if up.file.as_ref().is_none_or(|f| f.size == 0) {
        return Err(Error::BadRequest(
            "请选择责任分解方案文件（CSV 或 XLSX）".into(),
        ));
    }
    Ok(up)
}

/// SHA-256 of bytes as 64 lower-case hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The outcome of a plan import: the revision, or every problem (nothing stored).
pub enum PlanImport {
    Stored {
        revision: fupin_store::PlanRevision,
        warnings: Vec<fupin_domain::Problem>,
    },
    Rejected(Vec<fupin_domain::Problem>, String),
}

/// Check a plan file and store it as the next revision of its year's plan, all or
/// nothing; then re-route the current register's open gaps by it.
pub async fn import_plan(
    state: &AppState,
    v: &Viewer,
    up: PlanUpload,
) -> Result<PlanImport, Error> {
    v.require_admin()?;
    let saved = up
        .file
        .as_ref()
        .ok_or_else(|| Error::BadRequest("请选择责任分解方案文件（CSV 或 XLSX）".into()))?;
    // The name the user gave, without folders (its extension says CSV or XLSX).
    let base = saved.name.clone();
    let path = saved.path.clone();
    let facts = up.facts.clone();
    let limits = state.config.limits.plan;
    let read = tokio::task::spawn_blocking(move || {
        let sha = crate::import::sha256_file(&path);
        let read = fupin_io::plan_file::read_plan_within(&path, None, &facts, &limits);
        (read, sha)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?;
    let (read, sha) = read;
    let sha = sha.map_err(|e| Error::Internal(format!("无法读取上传文件：{e}")))?;
    let file = match read {
        Ok(f) => f,
        Err(e) => {
            let problems = e.problems().to_vec();
            return Ok(PlanImport::Rejected(problems, e.to_string()));
        }
    };
    // Stored with the current register's gaps routed by it (when of its year), at once.
    let (revision, _) = state
        .store
        .plan()
        .import_plan_and_route(
            &file.plan,
            &PlanSource {
                file_name: base,
                sha256: sha,
                imported_by: Some(v.user().id),
            },
        )
        .await?;
    Ok(PlanImport::Stored {
        revision,
        warnings: file.warnings,
    })
}

/// POST /tasks/plan — import a plan file (headquarters).
pub async fn plan_upload(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let up = read_plan_upload(&state, mp).await?;
    let file_name = up.file_name.clone();
    match import_plan(&state, &v, up).await? {
        PlanImport::Stored { warnings, .. } if warnings.is_empty() => {
            Ok(Redirect::to("/tasks").into_response())
        }
        PlanImport::Stored { warnings, .. } => {
            let p = PlanResultPage::new(
                Layout::of(&v, "方案已导入", "tasks"),
                file_name,
                warnings.iter().map(FileProblem::of).collect(),
                true,
            );
            Ok(Html(p.render()?).into_response())
        }
        PlanImport::Rejected(problems, reason) => {
            let mut list: Vec<FileProblem> = problems.iter().map(FileProblem::of).collect();
            if list.is_empty() {
                list.push(FileProblem::whole_file(reason));
            }
            let p = PlanResultPage::new(
                Layout::of(&v, "方案未导入", "tasks"),
                file_name,
                list,
                false,
            );
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                Html(p.render()?),
            )
                .into_response())
        }
    }
}
