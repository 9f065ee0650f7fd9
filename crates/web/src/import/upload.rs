//! An upload and its job: the files received into the private folder, checked, and
//! imported whole by a job that holds its lease.

use super::folder::{keep_lease, private_dir_builder, CRASHED, LEASE_LOST, UPLOAD_PREFIX};
use super::{
    check_files, problems_csv, rejected_result, resolve_line, sha256_file, store_checked, tick,
    Checked, ImportProgress, JobRow, Upload, PROBLEMS_FILE,
};
use crate::auth::Viewer;
use crate::csrf::{CsrfMultipart, Part};
use crate::error::Error;
use crate::AppState;
use fupin_domain::standards::PovertyLine;
use fupin_domain::Problem;
use fupin_io::limits::FileKind;
use fupin_store::{JobId, JobLease, RegisterMeta, StoreError, UserId};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// What an upload form sent.
struct Received {
    /// This upload's own folder in the [`UploadFolder`], removed when dropped.
    dir: tempfile::TempDir,
    members: Option<(PathBuf, String)>,
    villages: Option<(PathBuf, String)>,
    year: Option<String>,
    line: Option<String>,
}

/// A file name without folders or odd characters; its extension decides nothing (the
/// reader looks at the bytes) but keeps the name recognisable.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let base: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if base.is_empty() {
        "登记表.csv".into()
    } else {
        base
    }
}

async fn receive(state: &AppState, mut form: CsrfMultipart) -> Result<Received, Error> {
    let folder = state
        .uploads
        .path()
        .map_err(|e| Error::Internal(format!("无法创建上传目录：{e}")))?;
    let dir = private_dir_builder()
        .prefix(UPLOAD_PREFIX)
        .tempdir_in(&folder)
        .map_err(|e| Error::Internal(format!("无法创建上传临时目录：{e}")))?;
    let mut r = Received {
        members: None,
        villages: None,
        year: None,
        line: None,
        dir,
    };
    while let Some(part) = form.next_field().await? {
        let Part::Field(mut field) = part else {
            continue;
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "members" | "villages" => {
                let original = clean_name(field.file_name().unwrap_or(""));
                let ext = if original.to_lowercase().ends_with(".xlsx") {
                    "xlsx"
                } else {
                    "csv"
                };
                let path = r.dir.path().join(format!("{name}.{ext}"));
                let (kind, what) = if name == "members" {
                    (FileKind::Members, "成员表")
                } else {
                    (FileKind::Villages, "村级名册")
                };
                let max = crate::upload::file_limit(state, kind);
                let size = crate::upload::write_field(&mut field, &path, max, what).await?;
                if size == 0 {
                    continue;
                }
                let slot = if name == "members" {
                    &mut r.members
                } else {
                    &mut r.villages
                };
                *slot = Some((path, original));
            }
            "year" | "line" => {
                let text = crate::upload::field_text(field).await?;
                let slot = if name == "year" {
                    &mut r.year
                } else {
                    &mut r.line
                };
                *slot = Some(text);
            }
            _ => {}
        }
    }
    Ok(r)
}

/// Receive an upload (its token checked by the form's reader, or the API's header before)
/// and start its import job.
pub async fn start_upload(
    state: &AppState,
    v: &Viewer,
    form: CsrfMultipart,
) -> Result<JobId, Error> {
    v.require_admin()?;
    let r = receive(state, form).await?;
    let (members_path, members_name) = r
        .members
        .clone()
        .ok_or_else(|| Error::BadRequest("请选择成员表文件（CSV 或 XLSX）".into()))?;
    let year: i32 = r
        .year
        .as_deref()
        .map_or("", str::trim)
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| Error::BadRequest("请填写评估年度，如 2018".into()))?;
    let line = resolve_line(year, r.line.as_deref()).map_err(Error::BadRequest)?;
    let user = v.user();
    let payload = json!({
        "file_name": members_name,
        "villages_file": r.villages.as_ref().map(|v| v.1.clone()),
        "year": year,
        "line": line.amount.plain(),
        "line_source": line.source,
        "user_id": user.id,
        "username": user.username,
        "stage": "checking",
        "progress": 0,
        "result": null,
    });
    let id = state
        .store
        .jobs()
        .start_job("import", &payload, &state.config.instance, Some(user.id))
        .await?;
    let size = tokio::fs::metadata(&members_path)
        .await
        .map_or(0, |m| m.len());
    let progress = Arc::new(ImportProgress::new(size));
    state.imports.lock().insert(id, Arc::clone(&progress));
    let row = Arc::new(JobRow {
        store: state.store.clone(),
        id,
        payload: tokio::sync::Mutex::new(payload),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let ticker = tokio::spawn(tick(Arc::clone(&row), Arc::clone(&progress), stopped));
    let state = state.clone();
    let user_id = user.id;
    // This task owns the upload's folder: it is removed when the task ends, whatever the
    // job's outcome. The job runs in a task of its own, so that a panic in it still
    // ends the job (failed) and removes the folder.
    tokio::spawn(async move {
        let work = {
            let state = state.clone();
            let villages = r.villages.clone();
            let folder = r.dir.path().to_path_buf();
            tokio::spawn(async move {
                let job = Import {
                    row: &row,
                    progress: &progress,
                    year,
                    line,
                    user: user_id,
                };
                tokio::select! {
                    outcome = job.run(&state, (members_path, members_name), villages, stop, ticker) => outcome,
                    () = keep_lease(&state, id, &folder, &progress) => Err(LEASE_LOST.to_string()),
                }
            })
        };
        let error = match work.await {
            Ok(outcome) => outcome.err(),
            Err(e) => {
                tracing::error!("import job {id}: {e}");
                Some(CRASHED.to_string())
            }
        };
        if let Some(e) = &error {
            tracing::error!("import job {id}: {e}");
        }
        match state.store.jobs().finish_job(id, error.as_deref()).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("import job {id}: failed by another process"),
            Err(e) => tracing::error!("import job {id}: could not finish: {e}"),
        }
        state.imports.lock().remove(&id);
        drop(r);
    });
    Ok(id)
}

/// An import job under way.
struct Import<'a> {
    row: &'a JobRow,
    progress: &'a Arc<ImportProgress>,
    year: i32,
    line: PovertyLine,
    user: UserId,
}

impl Import<'_> {
    /// The result of a refused import: every problem kept as the job's [`PROBLEMS_FILE`],
    /// the first of them in the payload ([`rejected_result`]).
    async fn rejection(
        &self,
        summary: String,
        problems: Vec<Problem>,
        errors: usize,
        warnings: usize,
    ) -> Result<Value, String> {
        let (problems, csv) = tokio::task::spawn_blocking(move || {
            let csv = problems_csv(&problems);
            (problems, csv)
        })
        .await
        .map_err(|e| e.to_string())?;
        // A refusal of the whole file (too large, not a table) lists no problem: no file.
        let kept = !problems.is_empty()
            && self
                .row
                .store
                .jobs()
                .put_job_file(self.row.id, PROBLEMS_FILE, "text/csv; charset=utf-8", &csv)
                .await
                .map_err(|e| e.to_string())?;
        drop(csv);
        Ok(rejected_result(summary, &problems, errors, warnings, kept))
    }

    /// Check, then store; the result goes into the job row once the ticker has stopped.
    async fn run(
        self,
        state: &AppState,
        members: (PathBuf, String),
        villages: Option<(PathBuf, String)>,
        stop: tokio::sync::oneshot::Sender<()>,
        ticker: tokio::task::JoinHandle<()>,
    ) -> Result<(), String> {
        let result = self.check_and_store(state, members, villages).await;
        let _ = stop.send(());
        let _ = ticker.await;
        let (stage, result) = result?;
        self.row
            .write(|p| {
                p["stage"] = json!(stage);
                p["progress"] = json!(100);
                p["result"] = result;
            })
            .await
    }

    /// The final stage and result of the job.
    async fn check_and_store(
        &self,
        state: &AppState,
        members: (PathBuf, String),
        villages: Option<(PathBuf, String)>,
    ) -> Result<(&'static str, Value), String> {
        let store = &state.store;
        let (mp, mn) = members.clone();
        let vf = villages.clone();
        let year = self.year;
        let read = Arc::clone(&self.progress.read);
        let limits = state.config.limits.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let sha = sha256_file(&mp).map_err(|e| format!("无法读取上传文件：{e}"))?;
            let m = Upload {
                path: &mp,
                name: &mn,
            };
            let v = vf.as_ref().map(|(p, n)| Upload { path: p, name: n });
            Ok::<_, String>((sha, check_files(&m, v.as_ref(), year, Some(read), &limits)))
        })
        .await
        .map_err(|e| e.to_string())??;
        let (sha256, checked) = checked;
        match checked {
            Checked::Rejected { summary, problems } => {
                let errors = problems.iter().filter(|p| p.code.is_error()).count();
                let warnings = problems.len() - errors;
                Ok((
                    "done",
                    self.rejection(summary, problems, errors, warnings).await?,
                ))
            }
            Checked::Good {
                register,
                villages,
                warnings,
            } => {
                let households = register.households.len();
                self.row
                    .write(|p| {
                        p["stage"] = json!("storing");
                        p["households"] = json!(households);
                    })
                    .await?;
                let meta = RegisterMeta {
                    file_name: members.1.clone(),
                    sha256,
                    year: self.year,
                    line: self.line.clone(),
                    imported_by: Some(self.user),
                };
                let lease = JobLease {
                    id: self.row.id,
                    taker: &state.config.instance,
                    lease: state.config.job_lease,
                };
                let stored = store_checked(
                    store,
                    &register,
                    villages.as_ref(),
                    &meta,
                    Some(&self.progress.stored),
                    Some(lease),
                )
                .await;
                if stored.is_ok() {
                    // The planner's statistics, after the job is done (seconds at 10^6).
                    let store = store.clone();
                    tokio::spawn(async move { store.import().analyze_register().await });
                }
                match stored {
                    Ok(imported) => Ok((
                        "done",
                        json!({
                            "outcome": "imported",
                            "version": imported.version,
                            "households": imported.households,
                            "members": imported.members,
                            "warnings": warnings,
                        }),
                    )),
                    Err(StoreError::Refused { reason, problems }) => {
                        // The store refuses for reasons, each an error.
                        let errors = problems.len();
                        Ok(("done", self.rejection(reason, problems, errors, 0).await?))
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}
