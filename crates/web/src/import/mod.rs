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

pub mod api;
mod folder;
mod pages;
mod upload;

use crate::{AppState, Pages};
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
pub use folder::{
    fail_stopped_jobs, heartbeat_every, prepare_upload_folder, sweep_uploads, UploadFolder,
    INTERRUPTED,
};
pub(crate) use folder::{private_dir_builder, private_file, UPLOAD_PREFIX};
use fupin_domain::standards::{PovertyLine, Standards};
use fupin_domain::{Fen, Problem};
use fupin_io::villages::{match_villages, Villages};
use fupin_io::{read_members, FileError, ReadOptions, Register};
use fupin_store::{Imported, JobId, JobLease, JobState, RegisterMeta, Store, StoreError};
pub(crate) use pages::shown_note;
pub use pages::{api_result, import_job, problems_file};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
pub use upload::start_upload;

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
                .filter(|a| a.fen() > 0)
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

/// The pages of this area.
pub(crate) fn routes(pages: Pages, upload_limit: usize) -> Pages {
    pages
        .route("/versions", get(pages::versions_page))
        .route(
            "/import",
            get(pages::page)
                .post(pages::upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/import/jobs/{id}", get(pages::job_page))
        .route(
            "/import/jobs/{id}/problems.xlsx",
            get(pages::job_problems_xlsx),
        )
        .route(
            "/import/jobs/{id}/problems.csv",
            get(pages::job_problems_csv),
        )
}
