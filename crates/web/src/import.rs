//! Importing a register: a members file (and optionally a villages file) is read and
//! checked with the code `fupin assess` uses (`fupin_io::read_members`, `read_villages`,
//! `match_villages`). Any error-level problem rejects the whole file — every problem is
//! listed and can be downloaded as XLSX, and nothing changes. A file without errors
//! becomes a new version of the county register (`Store::import_register`, one
//! transaction with its audit row); earlier versions are kept.
//!
//! On the web the work runs as a job: the upload is saved, a job row is started, and the
//! browser is sent to a page that follows the row until it is done. `fupin import` runs
//! the same [`check_files`] and [`store_checked`] in the foreground.
//!
//! Progress: the reader counts the bytes it has read and the store the steps it has
//! done ([`ImportProgress`]); a ticker writes the percentage into the job row twice a
//! second, so that any process can show it. While SQLite holds its single write lock for
//! the import's transaction the row cannot be written: the process doing the import
//! (the only one an SQLite file has) shows the live figure instead.

use crate::auth::{PageUser, Viewer};
use crate::dashboard::VersionLine;
use crate::error::{Error, PageError};
use crate::view::Layout;
use crate::xlsx::{self, ProblemCells};
use crate::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_domain::standards::{PovertyLine, Standards};
use fupin_domain::{Fen, Problem};
use fupin_io::villages::{match_villages, Villages};
use fupin_io::{read_members, FileError, ReadOptions, Register};
use fupin_store::{Imported, JobId, JobState, RegisterMeta, Store, StoreError, UserId};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The outcome of reading and checking the files of an import.
pub enum Checked {
    /// No error-level problem: it may become a version. `warnings` are kept with it.
    Good {
        register: Register,
        villages: Option<Villages>,
        warnings: usize,
    },
    /// Refused: why, and every problem found.
    Rejected {
        summary: String,
        problems: Vec<Problem>,
    },
}

/// A file to check: where it lies, and the name the user knows it by.
pub struct Upload<'a> {
    pub path: &'a FsPath,
    pub name: &'a str,
}

/// Problems name the file as the user knows it, not where it waited on disk.
fn renamed(problems: &[Problem], file: &Upload<'_>) -> Vec<Problem> {
    let name: Arc<str> = file.name.into();
    let path = file.path.display().to_string();
    problems
        .iter()
        .map(|p| {
            let mut p = p.clone();
            if *p.file == *path {
                p.file = Arc::clone(&name);
            }
            p
        })
        .collect()
}

fn rejected_by(e: FileError, file: &Upload<'_>) -> Checked {
    let summary = e
        .to_string()
        .replace(&file.path.display().to_string(), file.name);
    Checked::Rejected {
        problems: renamed(e.problems(), file),
        summary,
    }
}

/// Read and check the files of an import with the assessment's own reader; `read`
/// counts the bytes of the members file read so far.
pub fn check_files(
    members: &Upload<'_>,
    villages: Option<&Upload<'_>>,
    year: i32,
    read: Option<Arc<AtomicU64>>,
    limits: &fupin_io::Limits,
) -> Checked {
    let mut opts = ReadOptions::new(year);
    opts.member_texts = true;
    opts.progress = read;
    opts.limits = limits.members;
    let mut register = match read_members(members.path, &opts) {
        Ok(r) => r,
        Err(e) => return rejected_by(e, members),
    };
    register.problems = renamed(&register.problems, members);
    register.file = members.name.into();
    let villages = match villages {
        None => None,
        Some(vf) => {
            let mut v = match fupin_io::villages::read_villages_within(
                vf.path,
                None,
                None,
                &limits.villages,
            ) {
                Ok(v) => v,
                Err(e) => return rejected_by(e, vf),
            };
            v.problems = renamed(&v.problems, vf);
            v.file = vf.name.into();
            if let Err(e) = match_villages(&register, &v) {
                return rejected_by(e, members);
            }
            Some(v)
        }
    };
    let mut problems = register.problems.clone();
    if let Some(v) = &villages {
        problems.extend(v.problems.iter().cloned());
    }
    let errors = problems.iter().filter(|p| p.code.is_error()).count();
    if errors > 0 {
        return Checked::Rejected {
            summary: format!(
                "{} 有 {} 个错误、{} 个警告：有错误的登记表不能导入，请改正全部错误后重新上传（登记表未作任何改动）",
                members.name,
                errors,
                problems.len() - errors
            ),
            problems,
        };
    }
    Checked::Good {
        register,
        villages,
        warnings: problems.len(),
    }
}

/// The poverty line of an import: the one given (yuan), else the built-in one for the
/// year.
pub fn resolve_line(year: i32, given: Option<&str>) -> Result<PovertyLine, String> {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => {
            let amount = Fen::parse_yuan(text)
                .ok()
                .filter(|a| a.0 > 0)
                .ok_or_else(|| format!("贫困标准「{text}」应为大于0的元数，如 3535"))?;
            Ok(PovertyLine {
                year,
                place: None,
                amount,
                source: "导入时指定".into(),
                verified: true,
            })
        }
        None => Standards::builtin()
            .lookup(year, None)
            .cloned()
            .ok_or_else(|| format!("没有 {year} 年的贫困标准：请填写贫困标准（元/人·年）")),
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &FsPath) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Store a checked register as the new version; `steps` counts the store's steps done
/// (of [`fupin_store::IMPORT_STEPS`]).
pub async fn store_checked(
    store: &Store,
    register: &Register,
    villages: Option<&Villages>,
    meta: &RegisterMeta,
    steps: Option<&AtomicU32>,
) -> Result<Imported, StoreError> {
    let note = |n: u32| {
        if let Some(s) = steps {
            s.store(n, Ordering::Relaxed);
        }
    };
    store
        .import_register_with_progress(register, meta, villages, &note)
        .await
}

/// How far an import has got: bytes of the members file read, then steps of the store.
#[derive(Debug, Default)]
pub struct ImportProgress {
    pub read: Arc<AtomicU64>,
    /// The members file's size.
    pub total: u64,
    pub stored: AtomicU32,
}

/// The share of the work reading and checking takes (the rest is storing), in percent:
/// at 10^6 households reading takes seconds, writing the database tens of seconds.
const READING_SHARE: u64 = 25;

impl ImportProgress {
    pub fn new(total: u64) -> ImportProgress {
        ImportProgress {
            total,
            ..ImportProgress::default()
        }
    }

    /// 0 to 100.
    pub fn percent(&self) -> u8 {
        let read = self.read.load(Ordering::Relaxed).min(self.total);
        let reading = (read * READING_SHARE).checked_div(self.total).unwrap_or(0);
        let steps = u64::from(
            self.stored
                .load(Ordering::Relaxed)
                .min(fupin_store::IMPORT_STEPS),
        );
        let storing = steps * (100 - READING_SHARE) / u64::from(fupin_store::IMPORT_STEPS);
        (reading + storing).min(100) as u8
    }

    fn storing(&self) -> bool {
        self.stored.load(Ordering::Relaxed) > 0
    }
}

/// The imports this process is running, by job, for their live progress.
#[derive(Clone, Debug, Default)]
pub struct RunningImports(Arc<Mutex<HashMap<JobId, Arc<ImportProgress>>>>);

impl RunningImports {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Arc<ImportProgress>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live percentage of a job this process runs.
    pub fn percent(&self, id: JobId) -> Option<u8> {
        self.lock().get(&id).map(|p| p.percent())
    }
}

/// The percentage of an import job: the live one if this process runs it, else the
/// row's.
pub fn job_percent(state: &AppState, job: &fupin_store::Job) -> u8 {
    let row = job.payload["progress"].as_u64().unwrap_or(0).min(100) as u8;
    match job.state {
        JobState::Done | JobState::Failed => 100,
        _ => state
            .imports
            .percent(job.id)
            .map_or(row, |live| live.max(row)),
    }
}

/// A job's payload, written by the import and by its progress ticker in turn.
struct JobRow {
    store: Store,
    id: JobId,
    payload: tokio::sync::Mutex<Value>,
}

impl JobRow {
    /// Change the payload and write it to the row.
    async fn write(&self, change: impl FnOnce(&mut Value)) -> Result<(), String> {
        let mut payload = self.payload.lock().await;
        change(&mut payload);
        self.store
            .update_job_payload(self.id, &payload)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Write the percentage into the job row while it changes, until `stop`.
async fn tick(
    row: Arc<JobRow>,
    progress: Arc<ImportProgress>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let sqlite = row.store.backend() == "sqlite";
    let mut written = 0;
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let percent = progress.percent();
        // SQLite's write lock is the import's until it commits: waiting for it would only
        // hold a connection (the page shows the live figure of this process meanwhile).
        if percent == written || (sqlite && progress.storing()) {
            continue;
        }
        match row.write(|p| p["progress"] = json!(percent)).await {
            Ok(()) => written = percent,
            Err(e) => tracing::warn!("import job {}: progress not written: {e}", row.id),
        }
    }
}

/// A problem as JSON, as jobs and the API carry it.
pub fn problem_json(p: &Problem) -> Value {
    json!({
        "file": &*p.file,
        "line": p.line,
        "column": p.column,
        "code": p.code.as_str(),
        "value": p.value,
        "message": p.message,
    })
}

// ---------------------------------------------------------------------------------------
// The upload and its job.

/// What an upload form sent.
struct Received {
    _dir: tempfile::TempDir,
    members: Option<(PathBuf, String)>,
    villages: Option<(PathBuf, String)>,
    year: Option<String>,
    line: Option<String>,
    csrf: Option<String>,
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

async fn receive(state: &AppState, mut form: Multipart) -> Result<Received, Error> {
    let dir = match &state.config.upload_dir {
        Some(d) => tempfile::Builder::new()
            .prefix("fupin-upload-")
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix("fupin-upload-").tempdir(),
    }
    .map_err(|e| Error::Internal(format!("无法创建上传临时目录：{e}")))?;
    let mut r = Received {
        members: None,
        villages: None,
        year: None,
        line: None,
        csrf: None,
        _dir: dir,
    };
    let bad = |e: axum::extract::multipart::MultipartError| {
        Error::BadRequest(format!("上传未完成或格式不对：{e}"))
    };
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "members" | "villages" => {
                let original = clean_name(field.file_name().unwrap_or(""));
                let ext = if original.to_lowercase().ends_with(".xlsx") {
                    "xlsx"
                } else {
                    "csv"
                };
                let path = r._dir.path().join(format!("{name}.{ext}"));
                let mut file = tokio::fs::File::create(&path)
                    .await
                    .map_err(|e| Error::Internal(format!("无法保存上传文件：{e}")))?;
                let mut size = 0usize;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    size += chunk.len();
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| Error::Internal(format!("无法保存上传文件：{e}")))?;
                }
                file.flush()
                    .await
                    .map_err(|e| Error::Internal(format!("无法保存上传文件：{e}")))?;
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
            "year" | "line" | "csrf" => {
                let text = field.text().await.map_err(bad)?;
                let slot = match name.as_str() {
                    "year" => &mut r.year,
                    "line" => &mut r.line,
                    _ => &mut r.csrf,
                };
                *slot = Some(text);
            }
            _ => {}
        }
    }
    Ok(r)
}

/// Receive an upload and start its import job. `header_csrf` is the API's header token.
pub async fn start_upload(
    state: &AppState,
    v: &Viewer,
    form: Multipart,
    header_csrf: Option<&str>,
) -> Result<JobId, Error> {
    v.require_admin()?;
    let r = receive(state, form).await?;
    v.check_csrf(header_csrf.or(r.csrf.as_deref()))?;
    let (members_path, members_name) = r
        .members
        .clone()
        .ok_or_else(|| Error::BadRequest("请选择成员表文件（CSV 或 XLSX）".into()))?;
    let year: i32 = r
        .year
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
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
    tokio::spawn(async move {
        let villages = r.villages.clone();
        let job = Import {
            row: &row,
            progress: &progress,
            year,
            line,
            user: user_id,
        };
        let outcome = job
            .run(&state, (members_path, members_name), villages, stop, ticker)
            .await;
        let error = outcome.err();
        if let Some(e) = &error {
            tracing::error!("import job {id}: {e}");
        }
        if let Err(e) = state.store.finish_job(id, error.as_deref()).await {
            tracing::error!("import job {id}: could not finish: {e}");
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
        let rejected = |summary: String, problems: &[Problem]| {
            let errors = problems.iter().filter(|p| p.code.is_error()).count();
            json!({
                "outcome": "rejected",
                "summary": summary,
                "errors": errors,
                "warnings": problems.len() - errors,
                "problems": problems.iter().map(problem_json).collect::<Vec<_>>(),
            })
        };
        match checked {
            Checked::Rejected { summary, problems } => Ok(("done", rejected(summary, &problems))),
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
                let stored = store_checked(
                    store,
                    &register,
                    villages.as_ref(),
                    &meta,
                    Some(&self.progress.stored),
                )
                .await;
                if stored.is_ok() {
                    // The planner's statistics, after the job is done (seconds at 10^6).
                    let store = store.clone();
                    tokio::spawn(async move { store.analyze_register().await });
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
                        let mut r = rejected(reason, &problems);
                        // The store refuses for reasons, each an error.
                        r["errors"] = json!(problems.len());
                        r["warnings"] = json!(0);
                        Ok(("done", r))
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pages.

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
    let versions = state.store.versions().await?;
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
    form: Multipart,
) -> Result<Response, PageError> {
    let id = start_upload(&state, &v, form, None).await?;
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
    let versions = state.store.versions().await?;
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

pub struct JobProblem {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub code: String,
    pub is_error: bool,
    pub value: String,
    pub message: String,
}

fn job_problems(result: &Value) -> Vec<JobProblem> {
    result["problems"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let s = |k: &str| p[k].as_str().unwrap_or("").to_string();
                    let code = s("code");
                    JobProblem {
                        file: s("file"),
                        line: p["line"].as_u64().unwrap_or(0),
                        column: s("column"),
                        is_error: code.starts_with('E'),
                        code,
                        value: s("value"),
                        message: s("message"),
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
    version: i64,
    households: u64,
    members: u64,
    warnings: u64,
    errors: u64,
    problems: Vec<JobProblem>,
    total_problems: usize,
    shown_from: usize,
    next_url: Option<String>,
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
        .job(id)
        .await?
        .filter(|j| j.kind == "import")
        .ok_or(Error::NotFound)
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
    let total = all.len();
    let from = q.from.unwrap_or(0).min(total);
    let problems: Vec<JobProblem> = all.into_iter().skip(from).take(JOB_PAGE).collect();
    let next = from + problems.len();
    let page = JobPage {
        layout: Layout::of(&v, "导入进度", "import"),
        id,
        file_name: p["file_name"].as_str().unwrap_or("").into(),
        running,
        stage: stage.into(),
        percent: job_percent(&state, &job),
        elapsed: format!("{elapsed:.1}"),
        failed: (job.state == JobState::Failed).then(|| job.error.clone().unwrap_or_default()),
        outcome: result["outcome"].as_str().unwrap_or("").into(),
        summary: result["summary"].as_str().unwrap_or("").into(),
        version: result["version"].as_i64().unwrap_or(0),
        households: result["households"].as_u64().unwrap_or(0),
        members: result["members"].as_u64().unwrap_or(0),
        warnings: result["warnings"].as_u64().unwrap_or(0),
        errors: result["errors"].as_u64().unwrap_or(0),
        problems,
        total_problems: total,
        shown_from: from + 1,
        next_url: (next < total).then(|| format!("/import/jobs/{id}?from={next}")),
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
    let rows: Vec<ProblemCells> = job_problems(&job.payload["result"])
        .into_iter()
        .map(|p| ProblemCells {
            file: p.file,
            line: p.line,
            column: p.column,
            code: p.code,
            value: p.value,
            message: p.message,
            household_no: String::new(),
        })
        .collect();
    let bytes = tokio::task::spawn_blocking(move || xlsx::problems_workbook(&rows))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(xlsx::download(bytes, &format!("导入问题清单-{id}.xlsx")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading is the first quarter of the bar, the store's steps the rest.
    #[test]
    fn percent_weighs_reading_then_storing() {
        let p = ImportProgress::new(1000);
        assert_eq!(p.percent(), 0);
        p.read.store(500, Ordering::Relaxed);
        assert_eq!(p.percent(), 12);
        p.read.store(1000, Ordering::Relaxed);
        assert_eq!(p.percent(), 25);
        p.stored.store(fupin_store::IMPORT_STEPS, Ordering::Relaxed);
        assert_eq!(p.percent(), 100);
        assert_eq!(ImportProgress::new(0).percent(), 0);
    }
}
