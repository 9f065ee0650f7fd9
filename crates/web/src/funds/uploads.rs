//! Uploads: the library, disbursements and beneficiaries files, checked whole.

use super::records_any;
use crate::auth::PageUser;
use crate::csrf::{CsrfMultipart, Part};
use crate::error::{Error, PageError};
use crate::view::{FileProblem, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use fupin_io::refused_rows;

#[derive(Template)]
#[template(path = "funds_upload.html")]
struct UploadPage {
    layout: Layout,
    file_name: String,
    accepted: bool,
    summary: String,
    /// The first [`crate::import::JOB_PROBLEMS_KEPT`] problems.
    problems: Vec<FileProblem>,
    /// 「共 N 条，显示前 M 条」 when there are more.
    shown: Option<String>,
}

#[derive(Default)]
struct Upload {
    what: String,
    /// The file, saved to disk as it arrived (never held whole in memory).
    file: Option<crate::upload::Saved>,
}

async fn read_upload(state: &AppState, mut mp: CsrfMultipart) -> Result<Upload, Error> {
    use fupin_io::limits::FileKind;
    let mut up = Upload::default();
    while let Some(part) = mp.next_field().await? {
        let Part::Field(field) = part else {
            continue;
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            // `what` may come after the file: the largest of the kinds this form takes.
            let kinds = [
                FileKind::Projects,
                FileKind::Disbursements,
                FileKind::Beneficiaries,
            ];
            let max = crate::upload::file_limit_of(state, &kinds);
            up.file =
                Some(crate::upload::save(state, field, "upload.csv", max, "上传的文件").await?);
            continue;
        }
        let text = crate::upload::field_text(field).await?;
        if name == "what" {
            up.what = text.trim().to_string();
        }
    }
    Ok(up)
}

/// What a file upload read and stored: a summary, or every problem.
enum Outcome {
    Stored(String, Vec<fupin_domain::Problem>),
    Rejected(Vec<fupin_domain::Problem>),
}

/// POST /projects/upload — `what` = projects (headquarters), disbursements or
/// beneficiaries (headquarters or a unit's staff, for their unit's projects): all or
/// nothing, every problem listed with its line, column, code and value.
pub async fn upload(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let up = read_upload(&state, mp).await?;
    let what: &'static str = match up.what.as_str() {
        "projects" => {
            v.require_admin()?;
            "项目库"
        }
        "disbursements" | "beneficiaries" => {
            if !records_any(&v) {
                return Err(Error::Forbidden(
                    "只有指挥部和项目实施单位可以导入资金拨付明细和带贫户名单".into(),
                )
                .into());
            }
            if up.what == "disbursements" {
                "资金拨付明细"
            } else {
                "带贫户名单"
            }
        }
        other => {
            return Err(Error::BadRequest(format!("未知的导入类型「{other}」")).into());
        }
    };
    let Some(saved) = up.file.filter(|f| f.size > 0) else {
        return Err(Error::BadRequest(format!("请选择{what}文件（CSV 或 XLSX）")).into());
    };
    // The name the user gave, without folders (its extension says CSV or XLSX).
    let base = saved.name.clone();
    let path = saved.path.clone();
    let kind = up.what.clone();
    let limits = state.config.limits.clone();
    let read =
        tokio::task::spawn_blocking(move || -> Result<ReadFile, fupin_io::error::FileError> {
            use fupin_io::funds_file::{read_beneficiaries_within, read_disbursements_within};
            Ok(match kind.as_str() {
                "projects" => ReadFile::Projects(fupin_io::projects_file::read_projects_within(
                    &path,
                    None,
                    &limits.projects,
                )?),
                "disbursements" => ReadFile::Disbursements(read_disbursements_within(
                    &path,
                    None,
                    &limits.disbursements,
                )?),
                _ => ReadFile::Beneficiaries(read_beneficiaries_within(
                    &path,
                    None,
                    &limits.beneficiaries,
                )?),
            })
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    let outcome = match read {
        Err(e) => {
            let mut problems = e.problems().to_vec();
            if problems.is_empty() {
                problems.push(fupin_domain::Problem::new(
                    &base.as_str().into(),
                    0,
                    "",
                    fupin_domain::problem::ProblemCode::F501,
                    e.to_string(),
                    "",
                ));
            }
            Outcome::Rejected(problems)
        }
        Ok(ReadFile::Projects(f)) => {
            match state
                .store
                .funds()
                .import_projects(&base, &f.projects, Some(v.user().id))
                .await?
            {
                Ok(r) => {
                    let mut warnings = f.warnings;
                    warnings.extend(refused_rows::problems(&base, &r.warnings));
                    Outcome::Stored(
                        format!(
                            "新增项目 {} 个，修改 {} 个，未变 {} 个",
                            r.created, r.updated, r.unchanged
                        ),
                        warnings,
                    )
                }
                Err(p) => Outcome::Rejected(refused_rows::problems(&base, &p)),
            }
        }
        Ok(ReadFile::Disbursements((rows, warnings))) => {
            match state
                .store
                .funds()
                .import_disbursements(v.user(), &base, &rows)
                .await?
            {
                Ok(n) => Outcome::Stored(format!("登记拨付记录 {n} 条"), warnings),
                Err(p) => Outcome::Rejected(refused_rows::problems(&base, &p)),
            }
        }
        Ok(ReadFile::Beneficiaries((rows, warnings))) => {
            match state
                .store
                .funds()
                .import_beneficiaries(v.user(), &base, &rows)
                .await?
            {
                Ok(n) => Outcome::Stored(format!("登记带贫户记录 {n} 条"), warnings),
                Err(p) => Outcome::Rejected(refused_rows::problems(&base, &p)),
            }
        }
    };
    let (accepted, summary, problems, status) = match outcome {
        Outcome::Stored(s, w) => (true, s, w, StatusCode::OK),
        Outcome::Rejected(p) => (
            false,
            format!(
                "有 {} 个问题，整个文件未导入",
                p.iter().filter(|p| p.code.is_error()).count()
            ),
            p,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let page = UploadPage {
        layout: Layout::of(
            &v,
            if accepted {
                format!("{what}已导入")
            } else {
                format!("{what}未导入")
            },
            "projects",
        ),
        file_name: base,
        accepted,
        summary,
        problems: problems
            .iter()
            .take(crate::import::JOB_PROBLEMS_KEPT)
            .map(FileProblem::of)
            .collect(),
        shown: crate::import::shown_note(problems.len() as u64, crate::import::JOB_PROBLEMS_KEPT),
    };
    Ok((status, Html(page.render()?)).into_response())
}

enum ReadFile {
    Projects(fupin_io::projects_file::ProjectsFile),
    Disbursements(
        (
            Vec<fupin_io::funds_file::DisbursementRow>,
            Vec<fupin_domain::Problem>,
        ),
    ),
    Beneficiaries(
        (
            Vec<fupin_io::funds_file::BeneficiaryRow>,
            Vec<fupin_domain::Problem>,
        ),
    ),
}
