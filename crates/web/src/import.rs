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
//!
//! A job's process renews the job's lease every sixth of [`crate::Config::job_lease`]
//! ([`keep_lease`]); a server killed mid-import stops renewing, and when the lease has
//! passed any server — this one restarted, or another on the same PostgreSQL — marks
//! the job failed ([`fail_stopped_jobs`], [`INTERRUPTED`]). The import is one
//! transaction, and renews the lease as it commits: a failed job left no version.
//!
//! Uploads wait in a private folder ([`UploadFolder`], mode 0700; files 0600), one
//! folder per upload, removed when the job ends however it ends (done, refused, failed,
//! panicked: the folder is owned by the job's task), and — after a crash — by
//! [`sweep_uploads`] at the next start, once no process has touched it for two leases.

use crate::auth::{PageUser, Viewer};
use crate::csrf::{CsrfMultipart, Part};
use crate::dashboard::VersionLine;
use crate::error::{Error, PageError};
use crate::view::Layout;
use crate::xlsx::{self, ProblemCells};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_domain::standards::{PovertyLine, Standards};
use fupin_domain::{Fen, Problem};
use fupin_io::limits::FileKind;
use fupin_io::villages::{match_villages, Villages};
use fupin_io::{read_members, FileError, ReadOptions, Register};
use fupin_store::{Imported, JobId, JobLease, JobState, RegisterMeta, Store, StoreError, UserId};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
/// (of [`fupin_store::IMPORT_STEPS`]). For a job, the import commits only while the
/// job's lease is held ([`Store::import_register_for_job`]).
pub async fn store_checked(
    store: &Store,
    register: &Register,
    villages: Option<&Villages>,
    meta: &RegisterMeta,
    steps: Option<&AtomicU32>,
    job: Option<JobLease<'_>>,
) -> Result<Imported, StoreError> {
    let note = |n: u32| {
        if let Some(s) = steps {
            s.store(n, Ordering::Relaxed);
        }
    };
    match job {
        Some(job) => {
            store
                .import()
                .import_register_for_job(register, meta, villages, &note, job)
                .await
        }
        None => {
            store
                .import()
                .import_register_with_progress(register, meta, villages, &note)
                .await
        }
    }
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
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live percentage of a job this process runs.
    pub fn percent(&self, id: JobId) -> Option<u8> {
        self.lock().get(&id).map(|p| p.percent())
    }

    /// The jobs this process runs.
    pub fn ids(&self) -> Vec<JobId> {
        self.lock().keys().copied().collect()
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
            .jobs()
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
    let write_locked = row.store.import().import_holds_write_lock();
    let mut written = 0;
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let percent = progress.percent();
        // SQLite's write lock is the import's until it commits: waiting for it would only
        // hold a connection (the page shows the live figure of this process meanwhile).
        if percent == written || (write_locked && progress.storing()) {
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

/// Policy: a rejected import's job keeps its first 1,000 problems (in file order) in its
/// payload, with the count of all and the count of each code; the page, the API and
/// problems.xlsx show these, and every problem is in the job's [`PROBLEMS_FILE`].
pub const JOB_PROBLEMS_KEPT: usize = 1_000;

/// The job file that holds every problem of a rejected import, as CSV.
pub const PROBLEMS_FILE: &str = "problems.csv";

/// The result of a refused import: `errors` and `warnings` as counted, every problem
/// counted by code, the first [`JOB_PROBLEMS_KEPT`] listed; `file` says whether the
/// full list was kept as the job's [`PROBLEMS_FILE`].
pub fn rejected_result(
    summary: String,
    problems: &[Problem],
    errors: usize,
    warnings: usize,
    file: bool,
) -> Value {
    let mut by_code = std::collections::BTreeMap::<&str, u64>::new();
    for p in problems {
        *by_code.entry(p.code.as_str()).or_default() += 1;
    }
    let kept: Vec<Value> = problems
        .iter()
        .take(JOB_PROBLEMS_KEPT)
        .map(problem_json)
        .collect();
    json!({
        "outcome": "rejected",
        "summary": summary,
        "errors": errors,
        "warnings": warnings,
        "total_problems": problems.len(),
        "problems_shown": kept.len(),
        "by_code": by_code,
        "problems": kept,
        "problems_file": file,
    })
}

/// A CSV field: quoted, its quotes doubled; policy (OWASP, CSV injection): a text starting
/// with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`, so a spreadsheet shows it as
/// text instead of running it as a formula.
fn csv_field(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for b in fupin_io::csv_cell::text_cell(text).bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Every problem as CSV (UTF-8 with a BOM, so that Excel reads the Chinese): 文件, 行号,
/// 列, 代码, 值, 说明. Policy: the file stops before it would pass
/// [`fupin_store::MAX_JOB_FILE_BYTES`], its last line saying how many problems were left
/// out.
pub fn problems_csv(problems: &[Problem]) -> Vec<u8> {
    // Room for the last line.
    let limit = fupin_store::MAX_JOB_FILE_BYTES - 200;
    let mut out = "\u{feff}文件,行号,列,代码,值,说明\r\n".as_bytes().to_vec();
    let mut line = Vec::new();
    for (i, p) in problems.iter().enumerate() {
        line.clear();
        csv_field(&mut line, &p.file);
        line.extend_from_slice(format!(",{},", p.line).as_bytes());
        csv_field(&mut line, p.column);
        line.push(b',');
        csv_field(&mut line, p.code.as_str());
        line.push(b',');
        csv_field(&mut line, &p.value);
        line.push(b',');
        csv_field(&mut line, &p.message);
        line.extend_from_slice(b"\r\n");
        if out.len() + line.len() > limit {
            let left = problems.len() - i;
            let note = format!("\"\",0,\"\",\"\",\"\",\"清单过长：其余 {left} 条未列出\"\r\n");
            out.extend_from_slice(note.as_bytes());
            break;
        }
        out.extend_from_slice(&line);
    }
    out
}

// ---------------------------------------------------------------------------------------
// The upload and its job.

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

// ---------------------------------------------------------------------------------------
// Leases and the upload folder.

/// A job's error when its server stopped while it ran (what the job page and the API
/// show once another process, or this one restarted, has failed it).
pub const INTERRUPTED: &str = "导入中断：处理它的服务器已停止，文件未写入任何数据，请重新上传";

/// A job's error when the job itself failed unexpectedly (a panic).
const CRASHED: &str =
    "导入中断：服务器处理时出现内部错误，文件未写入任何数据，请重新上传；如再次出现请联系系统管理员";

/// A job's error when its process lost the lease (it could not reach the database for a
/// whole lease, and another process failed the job meanwhile).
const LEASE_LOST: &str =
    "导入中断：服务器长时间无法连接数据库，任务已被标记为失败，文件未写入任何数据，请重新上传";

/// The error of a job of `kind` whose process stopped.
pub fn stopped_job_error(kind: &str) -> String {
    match kind {
        "import" => INTERRUPTED.to_string(),
        _ => "任务中断：处理它的服务器已停止，请重新提交".to_string(),
    }
}

/// How often a job's lease is renewed: a sixth of the lease (5 s of 30 s).
pub fn heartbeat_every(lease: Duration) -> Duration {
    (lease / 6).max(Duration::from_millis(100))
}

/// Renew job `id`'s lease and touch its upload folder every heartbeat, until the lease
/// is lost (returns; the job must stop). While SQLite's write lock is the import's, the
/// row cannot be written: the import renews the lease as it commits instead.
async fn keep_lease(state: &AppState, id: JobId, folder: &FsPath, progress: &ImportProgress) {
    let lease = state.config.job_lease;
    let write_locked = state.store.import().import_holds_write_lock();
    let mut tick = tokio::time::interval(heartbeat_every(lease));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        touch(folder);
        if write_locked && progress.storing() {
            continue;
        }
        match state
            .store
            .jobs()
            .renew_job_lease(id, &state.config.instance, lease)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!("import job {id}: lease lost, stopping");
                return;
            }
            // The database is out of reach: the next beat tries again (the lease lasts
            // six of them).
            Err(e) => tracing::warn!("import job {id}: lease not renewed: {e}"),
        }
    }
}

/// Mark failed every job whose lease has passed — its server stopped — but those this
/// process runs (alive, whatever their row says while SQLite's lock is an import's).
/// Any server does it, at start and every heartbeat; the store's conditional UPDATE
/// fails each job once.
pub async fn fail_stopped_jobs(state: &AppState) -> Result<Vec<JobId>, StoreError> {
    let own = state.imports.ids();
    let failed = state
        .store
        .jobs()
        .fail_expired_jobs(&own, &stopped_job_error)
        .await?;
    for id in &failed {
        tracing::warn!("job {id}: its server stopped while it ran; marked failed");
    }
    Ok(failed)
}

/// The prefix of each upload's folder in the upload folder (the sweep removes nothing
/// else).
pub(crate) const UPLOAD_PREFIX: &str = "fupin-upload-";

/// Where uploads wait: a private folder (0700) that only this server's user can read.
/// The configured one ([`crate::Config::upload_dir`]), prepared by the caller with
/// [`prepare_upload_folder`]; else one made for this process in the system's temp
/// folder, removed with it.
#[derive(Debug)]
pub struct UploadFolder {
    configured: Option<PathBuf>,
    own: Mutex<Option<tempfile::TempDir>>,
}

impl UploadFolder {
    pub fn new(configured: Option<PathBuf>) -> UploadFolder {
        UploadFolder {
            configured,
            own: Mutex::new(None),
        }
    }

    /// The folder, made on first use when none is configured.
    pub fn path(&self) -> std::io::Result<PathBuf> {
        if let Some(p) = &self.configured {
            return Ok(p.clone());
        }
        let mut own = self
            .own
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if own.is_none() {
            *own = Some(private_dir_builder().prefix("fupin-uploads-").tempdir()?);
        }
        Ok(own
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    }
}

/// A temp folder builder whose folders are private (0700).
pub(crate) fn private_dir_builder<'a>() -> tempfile::Builder<'a, 'a> {
    let mut b = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o700));
    }
    b
}

/// Create an upload file only its owner can read (0600), whatever the umask.
pub(crate) async fn private_file(path: &FsPath) -> std::io::Result<tokio::fs::File> {
    let mut o = tokio::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    o.mode(0o600);
    o.open(path).await
}

/// Make `folder` the private upload folder: created 0700 if missing (with its parents);
/// an existing one must already be private — a folder others can read (such as the
/// system's temp folder) is refused, never changed, as it is not fupin's.
pub fn prepare_upload_folder(folder: &FsPath) -> Result<(), String> {
    match std::fs::symlink_metadata(folder) {
        Ok(m) => {
            if !m.is_dir() {
                return Err(format!("上传目录 {} 不是目录", folder.display()));
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = m.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "上传目录 {} 的权限为 {mode:o}，其他用户可以读取上传的登记表：\
                         请指定 fupin 专用的目录，或执行 chmod 700 {}",
                        folder.display(),
                        folder.display()
                    ));
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = folder.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("无法创建目录 {}：{e}", parent.display()))?;
            }
            let mut b = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(folder)
                .map_err(|e| format!("无法创建上传目录 {}：{e}", folder.display()))
        }
        Err(e) => Err(format!("无法读取上传目录 {}：{e}", folder.display())),
    }
}

/// Mark an upload's folder as in use now (its job is alive), for [`sweep_uploads`].
fn touch(folder: &FsPath) {
    let touched =
        std::fs::File::open(folder).and_then(|f| f.set_modified(std::time::SystemTime::now()));
    if let Err(e) = touched {
        tracing::warn!("upload folder {}: not touched: {e}", folder.display());
    }
}

/// The last time anything of an upload's folder changed: the folder (touched by its
/// job's heartbeat) or a file in it (written while the upload is received).
fn last_touched(entry: &FsPath) -> Option<std::time::SystemTime> {
    let mut last = std::fs::symlink_metadata(entry).ok()?.modified().ok()?;
    if let Ok(files) = std::fs::read_dir(entry) {
        for f in files.flatten() {
            if let Some(t) = f.metadata().ok().and_then(|m| m.modified().ok()) {
                last = last.max(t);
            }
        }
    }
    Some(last)
}

/// Remove the uploads in `folder` that no live process has touched for `stale`: what
/// a crashed or killed server left. A live job touches its upload every heartbeat and
/// an upload being received is written all along, so with `stale` two leases nothing in
/// use is removed, even another server's sharing the folder. Returns how many.
pub fn sweep_uploads(folder: &FsPath, stale: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(UPLOAD_PREFIX)
        {
            continue;
        }
        let idle = last_touched(&path)
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default();
        if idle < stale {
            continue;
        }
        let gone = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match gone {
            Ok(()) => removed += 1,
            Err(e) => tracing::warn!("upload {}: not removed: {e}", path.display()),
        }
    }
    removed
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
fn total_problems(result: &Value) -> u64 {
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
        failed: (job.state == JobState::Failed).then(|| failure_text(job.error.as_deref())),
        outcome: result["outcome"].as_str().unwrap_or("").into(),
        summary: result["summary"].as_str().unwrap_or("").into(),
        version: result["version"].as_i64().unwrap_or(0),
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
    let rows: Vec<ProblemCells> = problems
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The sweep removes only uploads no process touched for the given time: not a live
    /// one (its folder touched, or a file in it written), nor what is not an upload.
    #[test]
    fn sweep_removes_only_uploads_untouched_for_long() {
        let root = tempfile::tempdir().unwrap();
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        let age = |p: &FsPath| {
            std::fs::File::open(p)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        };
        let mut made = Vec::new();
        for name in [
            "fupin-upload-dead",
            "fupin-upload-touched",
            "fupin-upload-writing",
            "other",
        ] {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            let file = dir.join("members.csv");
            std::fs::write(&file, "x").unwrap();
            if name != "fupin-upload-writing" {
                age(&file);
            }
            age(&dir);
            made.push(dir);
        }
        touch(&made[1]);
        assert_eq!(sweep_uploads(root.path(), Duration::from_secs(60)), 1);
        let left: Vec<bool> = made.iter().map(|d| d.exists()).collect();
        assert_eq!(left, [false, true, true, true]);
        assert_eq!(sweep_uploads(root.path(), Duration::from_secs(60)), 0);
    }

    /// A configured upload folder is made private, and one others can read is refused
    /// and left as it was.
    #[cfg(unix)]
    #[test]
    fn an_upload_folder_is_private_or_refused() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let mode = |p: &FsPath| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let new = root.path().join("a").join("uploads");
        prepare_upload_folder(&new).unwrap();
        assert_eq!(mode(&new), 0o700);
        prepare_upload_folder(&new).unwrap();
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = prepare_upload_folder(&open).unwrap_err();
        assert!(e.contains("其他用户可以读取"), "{e}");
        assert_eq!(mode(&open), 0o755);
    }

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
