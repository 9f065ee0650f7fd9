//! Importing a register as a new version, in one transaction.
//!
//! The households are judged by the engine (`fupin_io::engine::assess_register`, the
//! code path `fupin assess` uses); the store only writes down what it says. Every table's
//! rows are written once (rows), and loaded by the backend's bulk load
//! ([`Backend::load_table`]): PostgreSQL's `COPY` text (copy), SQLite's multi-row
//! `INSERT`s (batched).

pub(crate) mod batched;
pub(crate) mod copy;
mod lease;
pub(crate) mod prepared;
pub(crate) mod rows;
mod version;

pub(crate) use rows::id_key;

use crate::accounts::UserId;
use crate::backend::Backend;
use crate::jobs::JobLease;
use crate::register::VersionId;
use crate::work::RefreshOn;
use crate::{now, on_pool, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use fupin_domain::standards::PovertyLine;
use fupin_domain::{Assessment, Problem};
use fupin_io::engine::{assess_register, Tallies};
use fupin_io::villages::{match_villages, VillageRecord, Villages};
use fupin_io::{FileError, Register};
use prepared::Prepared;
use rows::Part;
use sqlx::pool::PoolConnection;
use sqlx::Pool;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where a register comes from and how it was judged.
#[derive(Clone, Debug)]
pub struct RegisterMeta {
    /// The file's name as the user gave it (no directories needed).
    pub file_name: String,
    /// SHA-256 of the file's bytes, 64 hex digits.
    pub sha256: String,
    /// Assessment year Y.
    pub year: i32,
    /// The poverty line the households are judged against, with its source.
    pub line: PovertyLine,
    /// Who imports it; None from the command line without an account.
    pub imported_by: Option<UserId>,
}

/// A register stored as a version.
#[derive(Clone, Debug)]
pub struct Imported {
    pub version: VersionId,
    /// The engine's tallies: per area of the register, and the county.
    pub tallies: Tallies,
    pub households: u64,
    pub members: u64,
}

/// The store's imports of the register: `store.import()`.
#[derive(Clone, Copy, Debug)]
pub struct Imports<'s>(pub(crate) &'s Store);

impl Imports<'_> {
    /// Store a register as a new version of the county register and make it current, in
    /// one transaction: the version row, areas (with the villages file's data when given),
    /// households, members, problems, the engine's assessment of each household, summaries
    /// per village, township and county, and an audit row. Earlier versions stay. The
    /// version's gaps are derived, routed by the plan in force and reconciled with the
    /// stored ones ([`Store::refresh_gaps`]) in the same transaction: if that fails,
    /// nothing of the import is stored.
    ///
    /// The caller refuses a register with any error-level problem before it gets here,
    /// showing every problem (that is the import rule). The store itself refuses, with
    /// [`StoreError::Refused`], a register that cannot be stored faithfully: file-level
    /// problems (E101, E110: nothing was assessed), a household without 户编号, villages
    /// missing from the villages file, or a malformed hash. Row-level errors are stored
    /// (their households are `data_error`), so the store can hold what `fupin assess`
    /// reports.
    ///
    /// Memory: besides the register, the assessments (about 150 bytes per household) and
    /// the members' search keys (about 40 bytes per member) are held until written.
    pub async fn import_register(
        self,
        register: &Register,
        meta: &RegisterMeta,
        villages: Option<&Villages>,
    ) -> Result<Imported> {
        let imported = self
            .import_register_with_progress(register, meta, villages, &|_| {})
            .await?;
        let store = self.0.clone();
        tokio::spawn(async move { store.import().analyze_register().await });
        Ok(imported)
    }

    /// Gather the planner's statistics of the register tables after an import, which
    /// [`Store::import_register_with_progress`] leaves to its caller (it takes seconds at
    /// 10^6 households, after the import is committed); [`Store::import_register`] runs it
    /// in the background. On PostgreSQL joins are estimated from a partitioned table's own
    /// statistics, which autovacuum never gathers: without them a search joined members
    /// by a full scan. PostgreSQL 15 cannot analyze a partitioned table without its
    /// partitions, so this grows with the number of versions kept (about 1.5 s per
    /// version of 10^6 households). SQLite's import gathers its sampled statistics itself.
    pub async fn analyze_register(self) -> Result<()> {
        on_pool!(self.0, pool => Backend::analyze_register(pool).await)
    }

    /// Drop the staging tables on PostgreSQL that no import attached: what imports killed
    /// between loading and committing left (about 400 MB each at 10^6 households).
    /// Under the import lock, so the tables of an import running now, in any process,
    /// are never touched. With `wait` false it does not wait for a running import (at a
    /// server's start) and returns None if one runs; else the number of tables dropped
    /// (0 on SQLite, which stages nothing). Every import runs it first too.
    pub async fn drop_orphan_staging(self, wait: bool) -> Result<Option<usize>> {
        on_pool!(self.0, pool => Backend::drop_orphan_staging(pool, wait).await)
    }

    /// Whether an import's transaction holds the database's only write lock until it
    /// commits (SQLite), so that nothing else (a job's row) can be written meanwhile.
    pub fn import_holds_write_lock(self) -> bool {
        on_pool!(self.0, pool => holds_write_lock(pool))
    }

    /// [`Store::import_register`], calling `progress` with the number of steps done (of
    /// [`IMPORT_STEPS`]) as each phase ends: assessing, preparing, each table written,
    /// the gaps refreshed, committing. It runs on the importing task, between writes: it
    /// should only note the number (an atomic), not wait. The caller then gathers the
    /// planner's statistics with [`Store::analyze_register`].
    pub async fn import_register_with_progress(
        self,
        register: &Register,
        meta: &RegisterMeta,
        villages: Option<&Villages>,
        progress: &(dyn Fn(u32) + Sync),
    ) -> Result<Imported> {
        self.import_register_for(register, meta, villages, progress, None)
            .await
    }

    /// [`Store::import_register_with_progress`] for a job: the import's transaction
    /// renews the job's lease just before it commits, and commits nothing
    /// ([`StoreError::JobLeaseLost`]) if the job is no longer running for its taker —
    /// another process failed it when its lease passed, and told the user that nothing
    /// was written. On PostgreSQL the renewal locks the job's row until the commit, so
    /// a process failing expired jobs skips it; on SQLite the transaction holds the write
    /// lock. Either way a job is failed with no version, or done with one.
    pub async fn import_register_for_job(
        self,
        register: &Register,
        meta: &RegisterMeta,
        villages: Option<&Villages>,
        progress: &(dyn Fn(u32) + Sync),
        job: JobLease<'_>,
    ) -> Result<Imported> {
        self.import_register_for(register, meta, villages, progress, Some(job))
            .await
    }

    async fn import_register_for(
        self,
        register: &Register,
        meta: &RegisterMeta,
        villages: Option<&Villages>,
        progress: &(dyn Fn(u32) + Sync),
        job: Option<JobLease<'_>>,
    ) -> Result<Imported> {
        let sha256 = refuse_unfit(register, meta)?;
        let village_records: Vec<Option<&VillageRecord>> = match villages {
            Some(v) => match_villages(register, v)
                .map_err(refused_by_file_error)?
                .into_iter()
                .map(|i| i.map(|i| &v.list[i]))
                .collect(),
            None => vec![None; register.areas.len()],
        };
        let (assessments, tallies) = on_cores(|| assess(register, meta));
        progress(1);
        let prepared =
            on_cores(|| Prepared::new(register, &village_records, &assessments, &tallies));
        progress(2);
        let run = ImportRun {
            store: self.0,
            meta,
            sha256: &sha256,
            at: now(),
            p: &prepared,
            progress,
            job,
        };
        let version = on_pool!(self.0, pool => import(pool, run).await)?;
        Ok(Imported {
            version,
            households: prepared.households(),
            members: prepared.members(),
            tallies,
        })
    }
}

/// The steps of an import that [`Store::import_register_with_progress`] counts:
/// assessing, preparing, the ten tables written, the gaps refreshed, committing.
pub const IMPORT_STEPS: u32 = 14;

/// The hash, lower-case, if the register can be stored.
fn refuse_unfit(register: &Register, meta: &RegisterMeta) -> Result<String> {
    let file_level: Vec<Problem> = register
        .problems
        .iter()
        .filter(|p| p.code.is_file_level())
        .cloned()
        .collect();
    if !file_level.is_empty() {
        return Err(StoreError::Refused {
            reason: format!(
                "{} 有 {} 个文件级问题（缺少必填列或行政村不在村级名册中），未做评估",
                meta.file_name,
                file_level.len()
            ),
            problems: file_level,
        });
    }
    if register.households.is_empty() {
        return Err(StoreError::refused(format!(
            "{} 中没有任何户",
            meta.file_name
        )));
    }
    if let Some(h) = register.households.iter().find(|h| h.id.trim().is_empty()) {
        return Err(StoreError::refused(format!(
            "{} 第{}行的户编号为空：每户都要有户编号，才能在各版本间对应",
            meta.file_name, h.first_line
        )));
    }
    let sha = meta.sha256.to_ascii_lowercase();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::refused(format!(
            "文件哈希「{}」不是64位十六进制的 SHA-256",
            meta.sha256
        )));
    }
    Ok(sha)
}

fn refused_by_file_error(e: FileError) -> StoreError {
    StoreError::Refused {
        reason: e.to_string(),
        problems: e.problems().to_vec(),
    }
}

/// Run CPU-bound work: on a multi-threaded runtime, tell it this thread is busy.
fn on_cores<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The engine's assessment of every household, in register order, and its tallies.
fn assess(register: &Register, meta: &RegisterMeta) -> (Vec<Assessment>, Tallies) {
    let mut all = Vec::with_capacity(register.households.len());
    let tallies = assess_register(register, meta.line.amount, meta.year, |_, batch| {
        all.extend_from_slice(batch);
        Ok::<(), Infallible>(())
    });
    match tallies {
        Ok(t) => (all, t),
        Err(never) => match never {},
    }
}

/// [`Store::import_holds_write_lock`] on `pool`'s backend.
fn holds_write_lock<DB: Backend>(_: &Pool<DB>) -> bool {
    DB::IMPORT_HOLDS_WRITE_LOCK
}

/// One import's inputs, as its transaction's steps take them: the prepared register
/// (`p`), what it is and when it is stored, whom to tell of progress and the job (if any)
/// whose lease the transaction holds.
#[derive(Clone, Copy)]
struct ImportRun<'a> {
    store: &'a Store,
    meta: &'a RegisterMeta,
    sha256: &'a str,
    at: DateTime<Utc>,
    p: &'a Prepared<'a>,
    progress: &'a (dyn Fn(u32) + Sync),
    job: Option<JobLease<'a>>,
}

/// Store the prepared register as a new version on `pool`, in one transaction on a
/// connection of its own (its session set for loading), and make it current.
async fn import<DB: Backend>(pool: &Pool<DB>, run: ImportRun<'_>) -> Result<VersionId>
where
    DB::Connection: RefreshOn,
{
    // What killed imports left, dropped and committed before this one starts (were it
    // only in this import's transaction, each import killed in turn would keep them all).
    DB::drop_orphan_staging(pool, true).await?;
    let mut conn: PoolConnection<DB> = pool.acquire().await?;
    DB::import_session(&mut conn, true).await?;
    let loaded = load(pool, &mut conn, run).await;
    match &loaded {
        Ok(_) => {
            // The import is done whatever happens here.
            let _ = DB::analyze_imported(&mut conn).await;
            (run.progress)(IMPORT_STEPS);
        }
        Err(_) => {
            // The transaction is rolled back; the staging tables it had attached, or
            // never reached, are dropped (or by the next import).
            let _ = DB::drop_orphan_staging(pool, true).await;
        }
    }
    DB::import_session(&mut conn, false).await?;
    loaded
}

/// The import's transaction on `conn`: committed with the new version, or rolled back.
async fn load<DB: Backend>(
    pool: &Pool<DB>,
    conn: &mut DB::Connection,
    run: ImportRun<'_>,
) -> Result<VersionId>
where
    DB::Connection: RefreshOn,
{
    let mut tx = DB::begin_write_on(conn).await?;
    match write(pool, &mut tx, run).await {
        Ok(version) => {
            tx.commit().await?;
            Ok(version)
        }
        Err(e) => {
            // Rolled back before the staging tables are dropped: PostgreSQL's import
            // lock is held until then.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Everything the import's transaction `tx` writes, up to its commit.
async fn write<DB: Backend>(
    pool: &Pool<DB>,
    tx: &mut DB::Connection,
    run: ImportRun<'_>,
) -> Result<VersionId>
where
    DB::Connection: RefreshOn,
{
    DB::lock_imports(tx).await?;
    let (version, previous) =
        version::insert_version::<DB>(tx, run.meta, run.sha256, run.at, run.p).await?;
    load_rows::<DB>(pool, tx, version, run.p, run.progress).await?;
    version::finish::<DB>(tx, &run, version, previous).await?;
    lease::hold_lease(tx, run.job).await?;
    (run.progress)(IMPORT_STEPS - 1);
    Ok(version)
}

/// Write version `version`'s rows: the tables the backend stages on connections of its
/// own ([`Backend::stage_partitions`]), then the rest in the import's transaction `tx`,
/// in [`Part::ALL`] order, by the backend's bulk load ([`Backend::load_table`]).
async fn load_rows<DB: Backend>(
    pool: &Pool<DB>,
    tx: &mut DB::Connection,
    version: VersionId,
    p: &Prepared<'_>,
    progress: &(dyn Fn(u32) + Sync),
) -> Result<()> {
    // Steps 1 and 2 (assessing, preparing) are done; each table is one more.
    let step = AtomicU32::new(2);
    let done = || progress(step.fetch_add(1, Ordering::Relaxed) + 1);
    let staged = DB::stage_partitions(pool, tx, version, p, &done).await?;
    for part in Part::ALL {
        if !staged.contains(&part) {
            DB::load_table(tx, part.table().name, part, version, p).await?;
            done();
        }
    }
    Ok(())
}
