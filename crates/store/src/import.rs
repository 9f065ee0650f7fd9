//! Importing a register as a new version, in one transaction.
//!
//! The households are judged by the engine (`fupin_io::engine::assess_register`, the
//! code path `fupin assess` uses); the store only writes down what it says. Every table's
//! rows are written once, by functions over a [`Sink`], which PostgreSQL fills as `COPY`
//! text and SQLite as the bound values of multi-row `INSERT`s.

use crate::accounts::UserId;
use crate::audit::{Audit, Record};
use crate::jobs::JobLease;
use crate::register::VersionId;
use crate::rows::{tally_values, BeginWrite, Get, TALLY_COLUMNS};
use crate::{now, Result, Store, StoreError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use fupin_domain::figures::Tally;
use fupin_domain::standards::PovertyLine;
use fupin_domain::{Assessment, Household, IdNumber, Problem};
use fupin_io::engine::{assess_register, Tallies};
use fupin_io::villages::{match_villages, VillageRecord, Villages};
use fupin_io::{Area, FileError, MemberText, Register};
use rayon::slice::ParallelSliceMut;
use serde_json::json;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, Connection, PgConnection, SqliteConnection};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};

/// Renew the import's job lease in its transaction `tx`, or end the import with
/// [`StoreError::JobLeaseLost`] (the transaction is rolled back) when the job is no longer
/// running for its taker. See [`Store::import_register_for_job`].
macro_rules! hold_lease {
    ($tx:expr, $job:expr) => {
        if let Some(j) = $job {
            let renewed = sqlx::query(crate::jobs::RENEW_LEASE)
                .bind(crate::jobs::lease_end(j.lease))
                .bind(j.id)
                .bind(j.taker)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            if renewed != 1 {
                return Err(StoreError::JobLeaseLost(j.id));
            }
        }
    };
}

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

impl Store {
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
        &self,
        register: &Register,
        meta: &RegisterMeta,
        villages: Option<&Villages>,
    ) -> Result<Imported> {
        let imported = self
            .import_register_with_progress(register, meta, villages, &|_| {})
            .await?;
        let store = self.clone();
        tokio::spawn(async move { store.analyze_register().await });
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
    pub async fn analyze_register(&self) -> Result<()> {
        if let Store::Postgres(pool) = self {
            sqlx::query(ANALYZE_PG).execute(pool).await?;
        }
        Ok(())
    }

    /// Drop the staging tables on PostgreSQL that no import attached: what imports killed
    /// between loading and committing left (about 400 MB each at 10^6 households).
    /// Under the import lock, so the tables of an import running now, in any process,
    /// are never touched. With `wait` false it does not wait for a running import (at a
    /// server's start) and returns None if one runs; else the number of tables dropped
    /// (0 on SQLite, which stages nothing). Every import runs it first too.
    pub async fn drop_orphan_staging(&self, wait: bool) -> Result<Option<usize>> {
        match self {
            Store::Sqlite(_) => Ok(Some(0)),
            Store::Postgres(pool) => drop_unattached(pool, wait).await,
        }
    }

    /// [`Store::import_register`], calling `progress` with the number of steps done (of
    /// [`IMPORT_STEPS`]) as each phase ends: assessing, preparing, each table written,
    /// the gaps refreshed, committing. It runs on the importing task, between writes: it
    /// should only note the number (an atomic), not wait. The caller then gathers the
    /// planner's statistics with [`Store::analyze_register`].
    pub async fn import_register_with_progress(
        &self,
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
        &self,
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
        &self,
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
        let at = now();
        let version = match self {
            Store::Postgres(pool) => {
                // What killed imports left, dropped and committed before this one starts
                // (were it only in this import's transaction, each import killed in turn
                // would keep them all).
                drop_unattached(pool, true).await?;
                let loaded = async {
                    let mut tx = pool.begin_write().await?;
                    lock_imports(&mut tx).await?;
                    let (version, previous) =
                        pg_version::insert_version(&mut tx, meta, &sha256, at, &prepared).await?;
                    copy_rows(pool, &mut tx, version, &prepared, progress).await?;
                    pg_version::finish(
                        &mut tx, self, version, previous, meta, &sha256, at, &prepared,
                    )
                    .await?;
                    hold_lease!(tx, job);
                    progress(IMPORT_STEPS - 1);
                    tx.commit().await?;
                    Ok::<VersionId, StoreError>(version)
                }
                .await;
                let version = match loaded {
                    Ok(version) => version,
                    Err(e) => {
                        // The transaction is rolled back; the staging tables it had
                        // attached, or never reached, are dropped (or by the next import).
                        let _ = drop_unattached(pool, true).await;
                        return Err(e);
                    }
                };
                progress(IMPORT_STEPS);
                version
            }
            Store::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                // A bigger page cache while loading, so that the indexes that grow in
                // the middle (a register not sorted by 户编号 or village) stay in memory.
                sqlx::query(IMPORT_CACHE).execute(&mut *conn).await?;
                let loaded = async {
                    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                    let (version, previous) =
                        sqlite_version::insert_version(&mut tx, meta, &sha256, at, &prepared)
                            .await?;
                    insert_rows(&mut tx, version, &prepared, progress).await?;
                    sqlite_version::finish(
                        &mut tx, self, version, previous, meta, &sha256, at, &prepared,
                    )
                    .await?;
                    hold_lease!(tx, job);
                    progress(IMPORT_STEPS - 1);
                    tx.commit().await?;
                    // Statistics for the planner (SQLite has none otherwise, and then
                    // picks poor plans for searches); sampled, so it takes milliseconds.
                    // The import is done whatever happens here.
                    let _ = sqlx::query(ANALYZE_SAMPLED).execute(&mut *conn).await;
                    progress(IMPORT_STEPS);
                    Ok::<VersionId, StoreError>(version)
                }
                .await;
                sqlx::query(crate::SQLITE_CACHE).execute(&mut *conn).await?;
                loaded?
            }
        };
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

/// Statistics of the tables an import writes, on PostgreSQL (of a partitioned table: its
/// own, over every version, and each partition's). See [`Store::analyze_register`].
const ANALYZE_PG: &str =
    "ANALYZE areas, households, members, member_ids, member_names, assessments, problems";

/// SQLite's page cache while an import loads: 512 MiB.
const IMPORT_CACHE: &str = "PRAGMA cache_size = -524288";

/// `ANALYZE` reading at most about 1,000 rows of each index, on SQLite.
const ANALYZE_SAMPLED: &str = "PRAGMA analysis_limit = 1000; ANALYZE";

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

/// A township: its villages' tallies added up, and their population (None unless every
/// village's is known).
struct Township<'a> {
    name: &'a str,
    tally: Tally,
    population: Option<u64>,
}

/// Everything an import writes, computed before the transaction starts.
struct Prepared<'a> {
    register: &'a Register,
    villages: &'a [Option<&'a VillageRecord>],
    assessments: &'a [Assessment],
    tallies: &'a Tallies,
    /// For each problem, the household whose row it is on.
    problem_households: Vec<Option<u32>>,
    townships: Vec<Township<'a>>,
    county_population: Option<u64>,
    /// Members by ID number (its integer key) and by name, sorted by key (text as the
    /// database compares it: byte order), then line.
    ids: Vec<MemberKey<i64>>,
    names: Vec<MemberKey<&'a str>>,
}

/// A search key of a member (ID number or name), its line, household and position.
type MemberKey<K> = (K, u64, u32, u32);

/// Every member's key, sorted.
fn member_keys<K: Ord + Send>(
    register: &Register,
    key: impl Fn(usize, usize) -> Option<K>,
) -> Vec<MemberKey<K>> {
    let mut keys: Vec<MemberKey<K>> = register
        .households
        .iter()
        .enumerate()
        .flat_map(|(h, hh)| {
            let key = &key;
            hh.members
                .iter()
                .enumerate()
                .filter_map(move |(i, m)| key(h, i).map(|k| (k, m.line, h as u32, i as u32)))
        })
        .collect();
    keys.par_sort_unstable();
    keys
}

impl<'a> Prepared<'a> {
    fn new(
        register: &'a Register,
        villages: &'a [Option<&'a VillageRecord>],
        assessments: &'a [Assessment],
        tallies: &'a Tallies,
    ) -> Prepared<'a> {
        let mut townships: Vec<Township<'a>> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, area) in register.areas.iter().enumerate() {
            let population = villages[i].map(|v| v.population);
            let t = *index.entry(&area.township).or_insert_with(|| {
                townships.push(Township {
                    name: &area.township,
                    tally: Tally::default(),
                    population: Some(0),
                });
                townships.len() - 1
            });
            let t = &mut townships[t];
            t.population = t.population.zip(population).map(|(a, b)| a + b);
            t.tally.merge(&tallies.areas[i]);
        }
        let county_population = villages
            .iter()
            .map(|v| v.map(|v| v.population))
            .sum::<Option<u64>>();
        Prepared {
            register,
            villages,
            assessments,
            tallies,
            problem_households: problem_households(register),
            townships,
            county_population,
            ids: member_keys(register, |h, i| {
                register.households[h].members[i].id.map(id_key)
            }),
            names: member_keys(register, |h, i| {
                member_texts(register, h)
                    .get(i)
                    .map(|t| &*t.name)
                    .filter(|n| !n.is_empty())
            }),
        }
    }

    fn households(&self) -> u64 {
        self.register.households.len() as u64
    }

    fn members(&self) -> u64 {
        self.tallies.county.members
    }
}

/// The household each problem's line belongs to (None for the header).
fn problem_households(register: &Register) -> Vec<Option<u32>> {
    let lines = || {
        register
            .households
            .iter()
            .enumerate()
            .flat_map(|(i, h)| h.members.iter().map(move |m| (m.line, i as u32)))
    };
    let max = lines().map(|(l, _)| l).max().unwrap_or(0);
    let mut owner = vec![u32::MAX; max as usize + 1];
    for (line, h) in lines() {
        owner[line as usize] = h;
    }
    register
        .problems
        .iter()
        .map(|p| {
            owner
                .get(p.line as usize)
                .copied()
                .filter(|&h| h != u32::MAX)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The version row, the current pointer and the audit row: the same SQL on both backends.

const INSERT_VERSION: &str = "INSERT INTO register_versions \
    (imported_at, imported_by, file_name, sha256, format, villages_file, year, line_fen, \
     line_year, line_place, line_source, line_verified, row_count, household_count, \
     member_count, village_count, error_count, warning_count) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
    RETURNING id, (SELECT version_id FROM current_register WHERE id = 1) AS previous";

macro_rules! version_functions {
    ($conn:ty, $refresh:path) => {
        /// Insert the version row; its id and the version current before it.
        pub(super) async fn insert_version(
            conn: &mut $conn,
            meta: &RegisterMeta,
            sha256: &str,
            at: DateTime<Utc>,
            p: &Prepared<'_>,
        ) -> Result<(VersionId, Option<VersionId>)> {
            let errors = p.register.problems.iter().filter(|x| x.code.is_error()).count();
            let villages_file = p
                .villages
                .iter()
                .flatten()
                .next()
                .map(|_| "villages".to_string());
            let row = sqlx::query(INSERT_VERSION)
                .bind(at)
                .bind(meta.imported_by)
                .bind(&meta.file_name)
                .bind(sha256)
                .bind(&p.register.format)
                .bind(villages_file)
                .bind(i64::from(meta.year))
                .bind(meta.line.amount.0)
                .bind(i64::from(meta.line.year))
                .bind(meta.line.place.as_deref())
                .bind(&meta.line.source)
                .bind(meta.line.verified)
                .bind(p.register.rows as i64)
                .bind(p.households() as i64)
                .bind(p.members() as i64)
                .bind(p.register.areas.len() as i64)
                .bind(errors as i64)
                .bind((p.register.problems.len() - errors) as i64)
                .fetch_one(&mut *conn)
                .await?;
            Ok((row.int("id")?, row.opt_int("previous")?))
        }

        /// The end of an import's transaction, before the commit: point
        /// `current_register` at the new version, write the audit row, then derive, route
        /// and reconcile the version's gaps.
        #[allow(clippy::too_many_arguments)]
        pub(super) async fn finish(
            conn: &mut $conn,
            store: &Store,
            version: VersionId,
            previous: Option<VersionId>,
            meta: &RegisterMeta,
            sha256: &str,
            at: DateTime<Utc>,
            p: &Prepared<'_>,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO current_register (id, version_id) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET version_id = excluded.version_id",
            )
            .bind(version)
            .execute(&mut *conn)
            .await?;
            let county = &p.tallies.county;
            conn.audit(Record {
                at,
                user: meta.imported_by,
                action: "import_register",
                entity: "register_version",
                entity_id: version.to_string(),
                before: previous.map(|v| json!({ "current_version": v })),
                after: Some(json!({
                    "current_version": version,
                    "file_name": meta.file_name,
                    "sha256": sha256,
                    "year": meta.year,
                    "line": meta.line.describe(),
                    "households": p.households(),
                    "members": p.members(),
                    "villages": p.register.areas.len(),
                    "problems": p.register.problems.len(),
                    "verdicts": fupin_domain::Verdict::ALL
                        .iter()
                        .map(|v| (v.word().to_string(), json!(county.verdict_count(*v))))
                        .collect::<serde_json::Map<String, serde_json::Value>>()
                })),
            })
            .await?;
            use $refresh as refresh;
            refresh::refresh_in(conn, store, version, None, meta.imported_by, None).await?;
            Ok(())
        }
    };
}

mod pg_version {
    use super::*;
    version_functions!(PgConnection, crate::work::pg_refresh);
}
mod sqlite_version {
    use super::*;
    version_functions!(SqliteConnection, crate::work::sqlite_refresh);
}

// ---------------------------------------------------------------------------------------
// Rows of each table, written once for both backends.

/// Where rows go: values in column order, then `end_row`.
trait Sink<'q> {
    fn int(&mut self, v: i64);
    fn opt_int(&mut self, v: Option<i64>);
    fn text(&mut self, v: &'q str);
    fn opt_text(&mut self, v: Option<&'q str>);
    fn string(&mut self, v: String);
    fn bool(&mut self, v: bool);
    fn opt_bool(&mut self, v: Option<bool>);
    fn opt_date(&mut self, v: Option<NaiveDate>);
    fn end_row(&mut self);
}

/// A table's name and columns, in the order the row functions write them.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
}

const AREAS: Table = Table {
    name: "areas",
    columns: &[
        "version_id",
        "seq",
        "township",
        "village",
        "population",
        "poor_village",
        "road",
        "power",
        "broadband",
        "clinic",
        "collective_income",
    ],
};

fn area_row<'q>(
    s: &mut impl Sink<'q>,
    version: i64,
    seq: usize,
    area: &'q Area,
    record: Option<&VillageRecord>,
) {
    s.int(version);
    s.int(seq as i64);
    s.text(&area.township);
    s.text(&area.village);
    s.opt_int(record.map(|r| r.population as i64));
    s.opt_bool(record.and_then(|r| r.poor_village));
    let c = record.map(|r| r.conditions).unwrap_or_default();
    s.opt_bool(c.road);
    s.opt_bool(c.power);
    s.opt_bool(c.broadband);
    s.opt_bool(c.clinic);
    s.opt_int(record.and_then(|r| r.collective_income).map(|f| f.0));
    s.end_row();
}

const HOUSEHOLDS: Table = Table {
    name: "households",
    columns: &[
        "version_id",
        "seq",
        "household_no",
        "area_seq",
        "first_line",
        "members",
        "status",
        "household_type",
        "main_cause",
        "wage_income",
        "operating_income",
        "operating_expense",
        "property_income",
        "transfer_income",
        "per_capita_declared",
        "food_secure",
        "clothing_secure",
        "housing_grade",
        "renovation",
        "relocation",
        "safe_water",
        "has_errors",
    ],
};

fn household_row<'q>(s: &mut impl Sink<'q>, version: i64, seq: usize, h: &'q Household) {
    let v = &h.values;
    s.int(version);
    s.int(seq as i64);
    s.text(&h.id);
    s.int(i64::from(h.area));
    s.int(h.first_line as i64);
    s.int(h.members.len() as i64);
    s.opt_text(v.status.value().map(|x| x.label()));
    s.opt_text(v.household_type.value().map(|x| x.label()));
    s.opt_text(v.main_cause.value().map(|x| x.label()));
    for money in [
        v.wage_income,
        v.operating_income,
        v.operating_expense,
        v.property_income,
        v.transfer_income,
        v.per_capita_declared,
    ] {
        s.opt_int(money.value().map(|f| f.0));
    }
    s.opt_bool(v.food_secure.value());
    s.opt_bool(v.clothing_secure.value());
    s.opt_text(v.housing_grade.value().map(|x| x.label()));
    s.opt_text(v.renovation.value().map(|x| x.label()));
    s.opt_text(v.relocation.value().map(|x| x.label()));
    s.opt_bool(v.safe_water.value());
    s.bool(h.has_errors());
    s.end_row();
}

const MEMBERS: Table = Table {
    name: "members",
    columns: &[
        "version_id",
        "household_seq",
        "seq",
        "line",
        "name",
        "id_number",
        "birth",
        "is_head",
        "relation",
        "sex",
        "schooling",
        "health",
        "labor",
        "medical_insurance",
        "active_military",
    ],
};

/// The names and relations of a household's members, when the reader kept them
/// (`ReadOptions::member_texts`); empty otherwise, and then stored as NULL.
fn member_texts(register: &Register, household: usize) -> &[MemberText] {
    register
        .member_texts
        .get(household)
        .map_or(&[], Vec::as_slice)
}

fn member_rows<'q>(
    s: &mut impl Sink<'q>,
    version: i64,
    seq: usize,
    h: &'q Household,
    texts: &'q [MemberText],
) {
    for (i, m) in h.members.iter().enumerate() {
        let text = |f: fn(&'q MemberText) -> &'q str| texts.get(i).map(f).filter(|t| !t.is_empty());
        s.int(version);
        s.int(seq as i64);
        s.int(i as i64);
        s.int(m.line as i64);
        s.opt_text(text(|t| &t.name));
        match m.id {
            Some(id) => s.string(id.to_string()),
            None => s.opt_text(None),
        }
        s.opt_date(m.birth);
        s.bool(m.is_head);
        s.opt_text(text(|t| &t.relation));
        s.opt_text(m.sex.map(|x| x.label()));
        match m.schooling {
            Some(x) => s.string(x.label()),
            None => s.opt_text(None),
        }
        s.opt_text(m.health.map(|x| x.label()));
        s.opt_text(m.labor.map(|x| x.label()));
        s.opt_bool(m.medical_insurance);
        s.bool(m.active_military);
        s.end_row();
    }
}

const MEMBER_IDS: Table = Table {
    name: "member_ids",
    columns: &["version_id", "id_key", "line", "household_seq", "seq"],
};

/// How `member_ids` keys an ID number: 17 digits × 11 + check value (X = 10), below 2^63,
/// in the order of the text.
pub(crate) fn id_key(id: IdNumber) -> i64 {
    id.key() as i64
}

const MEMBER_NAMES: Table = Table {
    name: "member_names",
    columns: &["version_id", "name", "line", "household_seq", "seq"],
};

fn member_id_row<'q>(s: &mut impl Sink<'q>, version: i64, key: MemberKey<i64>) {
    let (id, line, household, seq) = key;
    s.int(version);
    s.int(id);
    s.int(line as i64);
    s.int(i64::from(household));
    s.int(i64::from(seq));
    s.end_row();
}

fn member_name_row<'q>(s: &mut impl Sink<'q>, version: i64, key: MemberKey<&'q str>) {
    let (text, line, household, seq) = key;
    s.int(version);
    s.text(text);
    s.int(line as i64);
    s.int(i64::from(household));
    s.int(i64::from(seq));
    s.end_row();
}

const ASSESSMENTS: Table = Table {
    name: "assessments",
    columns: &[
        "version_id",
        "household_seq",
        "verdict",
        "failed",
        "per_capita",
        "explanation",
    ],
};

fn assessment_row<'q>(s: &mut impl Sink<'q>, version: i64, seq: usize, a: &'q Assessment) {
    s.int(version);
    s.int(seq as i64);
    s.text(a.verdict.word());
    s.string(a.failed.codes(","));
    s.opt_int(a.per_capita.map(|f| f.0));
    s.text(&a.explanation);
    s.end_row();
}

const PROBLEMS: Table = Table {
    name: "problems",
    columns: &[
        "version_id",
        "seq",
        "line",
        "column_name",
        "code",
        "message",
        "value",
        "household_seq",
        "household_no",
        "township",
        "village",
    ],
};

fn problem_row<'q>(
    s: &mut impl Sink<'q>,
    version: i64,
    seq: usize,
    p: &'q Problem,
    household: Option<(u32, &'q Household, &'q Area)>,
) {
    s.int(version);
    s.int(seq as i64);
    s.int(p.line as i64);
    s.text(p.column);
    s.text(p.code.as_str());
    s.text(&p.message);
    s.text(&p.value);
    s.opt_int(household.map(|h| i64::from(h.0)));
    s.opt_text(household.map(|h| &*h.1.id));
    s.opt_text(household.map(|h| &*h.2.township));
    s.opt_text(household.map(|h| &*h.2.village));
    s.end_row();
}

const VILLAGE_SUMMARIES: Table = Table {
    name: "village_summaries",
    columns: &concat_columns::<20>(&["version_id", "area_seq"]),
};

const TOWNSHIP_SUMMARIES: Table = Table {
    name: "township_summaries",
    columns: &concat_columns::<22>(&["version_id", "seq", "township", "population"]),
};

const COUNTY_SUMMARIES: Table = Table {
    name: "county_summaries",
    columns: &concat_columns::<20>(&["version_id", "population"]),
};

/// Key columns followed by the tally columns.
const fn concat_columns<const N: usize>(keys: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < keys.len() {
        out[i] = keys[i];
        i += 1;
    }
    let mut j = 0;
    while j < TALLY_COLUMNS.len() {
        out[i + j] = TALLY_COLUMNS[j];
        j += 1;
    }
    assert!(i + j == N, "N must be the number of key and tally columns");
    out
}

fn tally_cells<'q>(s: &mut impl Sink<'q>, t: &Tally) {
    for v in tally_values(t) {
        s.int(v as i64);
    }
    s.end_row();
}

/// The tables an import writes, in the order SQLite writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Areas,
    Households,
    Members,
    MemberIds,
    MemberNames,
    Assessments,
    Problems,
    VillageSummaries,
    TownshipSummaries,
    CountySummary,
}

impl Part {
    const ALL: [Part; 10] = [
        Part::Areas,
        Part::Households,
        Part::Members,
        Part::MemberIds,
        Part::MemberNames,
        Part::Assessments,
        Part::Problems,
        Part::VillageSummaries,
        Part::TownshipSummaries,
        Part::CountySummary,
    ];

    fn table(self) -> &'static Table {
        match self {
            Part::Areas => &AREAS,
            Part::Households => &HOUSEHOLDS,
            Part::Members => &MEMBERS,
            Part::MemberIds => &MEMBER_IDS,
            Part::MemberNames => &MEMBER_NAMES,
            Part::Assessments => &ASSESSMENTS,
            Part::Problems => &PROBLEMS,
            Part::VillageSummaries => &VILLAGE_SUMMARIES,
            Part::TownshipSummaries => &TOWNSHIP_SUMMARIES,
            Part::CountySummary => &COUNTY_SUMMARIES,
        }
    }

    /// How many items the rows come from (a household's members are one item).
    fn items(self, p: &Prepared<'_>) -> usize {
        let r = p.register;
        match self {
            Part::Areas | Part::VillageSummaries => r.areas.len(),
            Part::Households | Part::Members | Part::Assessments => r.households.len(),
            Part::MemberIds => p.ids.len(),
            Part::MemberNames => p.names.len(),
            Part::Problems => r.problems.len(),
            Part::TownshipSummaries => p.townships.len(),
            Part::CountySummary => 1,
        }
    }

    /// The rows of item `i` of version `v`.
    fn write<'q>(self, s: &mut impl Sink<'q>, v: i64, p: &Prepared<'q>, i: usize) {
        let r = p.register;
        match self {
            Part::Areas => area_row(s, v, i, &r.areas[i], p.villages[i]),
            Part::Households => household_row(s, v, i, &r.households[i]),
            Part::Members => member_rows(s, v, i, &r.households[i], member_texts(r, i)),
            Part::MemberIds => member_id_row(s, v, p.ids[i]),
            Part::MemberNames => member_name_row(s, v, p.names[i]),
            Part::Assessments => assessment_row(s, v, i, &p.assessments[i]),
            Part::Problems => {
                let household = p.problem_households[i].map(|h| {
                    let hh = &r.households[h as usize];
                    (h, hh, &r.areas[hh.area as usize])
                });
                problem_row(s, v, i, &r.problems[i], household)
            }
            Part::VillageSummaries => {
                s.int(v);
                s.int(i as i64);
                tally_cells(s, &p.tallies.areas[i]);
            }
            Part::TownshipSummaries => {
                let t = &p.townships[i];
                s.int(v);
                s.int(i as i64);
                s.text(t.name);
                s.opt_int(t.population.map(|n| n as i64));
                tally_cells(s, &t.tally);
            }
            Part::CountySummary => {
                s.int(v);
                s.opt_int(p.county_population.map(|n| n as i64));
                tally_cells(s, &p.tallies.county);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: COPY in text format.

/// COPY text format: tab between columns, `\N` for NULL, backslash escapes.
struct CopyText {
    buf: Vec<u8>,
    row_start: bool,
}

impl CopyText {
    fn sep(&mut self) {
        if !self.row_start {
            self.buf.push(b'\t');
        }
        self.row_start = false;
    }

    fn null(&mut self) {
        self.sep();
        self.buf.extend_from_slice(b"\\N");
    }

    fn escaped(&mut self, v: &str) {
        self.sep();
        for &b in v.as_bytes() {
            match b {
                b'\\' => self.buf.extend_from_slice(b"\\\\"),
                b'\t' => self.buf.extend_from_slice(b"\\t"),
                b'\n' => self.buf.extend_from_slice(b"\\n"),
                b'\r' => self.buf.extend_from_slice(b"\\r"),
                _ => self.buf.push(b),
            }
        }
    }
}

impl Sink<'_> for CopyText {
    fn int(&mut self, v: i64) {
        self.sep();
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
    fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }
    fn text(&mut self, v: &str) {
        self.escaped(v)
    }
    fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.escaped(v),
            None => self.null(),
        }
    }
    fn string(&mut self, v: String) {
        self.escaped(&v)
    }
    fn bool(&mut self, v: bool) {
        self.sep();
        self.buf.push(if v { b't' } else { b'f' });
    }
    fn opt_bool(&mut self, v: Option<bool>) {
        match v {
            Some(v) => self.bool(v),
            None => self.null(),
        }
    }
    fn opt_date(&mut self, v: Option<NaiveDate>) {
        match v {
            Some(d) => {
                self.sep();
                let text = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
                self.buf.extend_from_slice(text.as_bytes());
            }
            None => self.null(),
        }
    }
    fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.row_start = true;
    }
}

/// Bytes sent to the server at a time.
const COPY_CHUNK: usize = 1 << 20;

/// COPY a part's rows of version `v` into table `target` (the part's table or its
/// staging table).
async fn copy(
    conn: &mut PgConnection,
    target: &str,
    part: Part,
    v: i64,
    p: &Prepared<'_>,
) -> Result<(), sqlx::Error> {
    let statement = format!(
        "COPY {target} ({}) FROM STDIN",
        part.table().columns.join(", ")
    );
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut text = CopyText {
        buf: Vec::with_capacity(COPY_CHUNK + (64 << 10)),
        row_start: true,
    };
    for i in 0..part.items(p) {
        part.write(&mut text, v, p, i);
        if text.buf.len() >= COPY_CHUNK {
            copy.send(text.buf.as_slice()).await?;
            text.buf.clear();
        }
    }
    if !text.buf.is_empty() {
        copy.send(text.buf.as_slice()).await?;
    }
    copy.finish().await?;
    Ok(())
}

/// The per-household tables, partitioned by version on PostgreSQL (migration 0013), in
/// two groups of about equal load: each group is written on a connection of its own, so
/// that the server works on both cores.
const STAGED: [&[Part]; 2] = [
    &[Part::Households, Part::MemberIds, Part::MemberNames],
    &[Part::Members, Part::Assessments, Part::Problems],
];

/// The small tables, written inside the import's transaction.
const IN_TRANSACTION: [Part; 4] = [
    Part::Areas,
    Part::VillageSummaries,
    Part::TownshipSummaries,
    Part::CountySummary,
];

/// The staging table of a partitioned table for a version: `households_v7`. It becomes
/// the version's partition when the import's transaction attaches it.
fn staged_name(part: Part, version: VersionId) -> String {
    format!("{}_v{version}", part.table().name)
}

/// Imports take this advisory lock (in their transaction) one at a time, so that staging
/// tables not attached are an earlier, failed import's, and can be dropped.
const IMPORT_LOCK: i64 = 0x6675_7069_6e09;

/// Load a group of partitioned tables' rows for `version` into staging tables, on a
/// connection of its own: each created with the partition's check, filled by COPY into a
/// table without indexes, then given the parent's indexes (a sorted build, several times
/// faster than inserting 10^6 entries one by one into each). Committed, but nobody sees
/// them until the import's transaction attaches them.
async fn stage(
    pool: &sqlx::PgPool,
    version: VersionId,
    parts: &[Part],
    p: &Prepared<'_>,
    done: &(dyn Fn() + Sync),
) -> Result<()> {
    // Not from the pool: the pages keep their connections while an import loads.
    let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut *tx)
        .await?;
    for &part in parts {
        let parent = part.table().name;
        let staged = staged_name(part, version);
        sqlx::query(&format!(
            "CREATE TABLE {staged} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, \
             CHECK (version_id = {version}))"
        ))
        .execute(&mut *tx)
        .await?;
        copy(&mut tx, &staged, part, version, p).await?;
        for statement in index_statements(&mut tx, parent, &staged).await? {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        done();
    }
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}

/// The statements that give `staged` the indexes and key constraints of the partitioned
/// table `parent`, as the catalog defines them (so the migrations stay their one source):
/// ATTACH PARTITION then takes them as the partition's instead of building its own.
async fn index_statements(
    conn: &mut PgConnection,
    parent: &str,
    staged: &str,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT pg_get_indexdef(i.indexrelid) AS def, \
                (SELECT c.contype::text FROM pg_constraint c WHERE c.conindid = i.indexrelid \
                   AND c.conrelid = i.indrelid) AS constraint_type \
         FROM pg_index i WHERE i.indrelid = $1::regclass ORDER BY i.indexrelid",
    )
    .bind(parent)
    .fetch_all(&mut *conn)
    .await?;
    let mut statements = Vec::new();
    for row in rows {
        let def: String = row.text("def")?;
        let constraint: Option<String> = row.opt_text("constraint_type")?;
        // "CREATE [UNIQUE] INDEX name ON [ONLY] parent USING btree (columns) [WHERE …]"
        let Some((head, method)) = def.split_once(" USING ") else {
            return Err(StoreError::Corrupt(format!(
                "index definition of {parent} not understood: {def}"
            )));
        };
        let unique = head.starts_with("CREATE UNIQUE ");
        statements.push(match (constraint.as_deref(), method.split_once(' ')) {
            (Some("p"), Some((_, columns))) => {
                format!("ALTER TABLE {staged} ADD PRIMARY KEY {columns}")
            }
            (Some("u"), Some((_, columns))) => format!("ALTER TABLE {staged} ADD UNIQUE {columns}"),
            (None, _) if unique => format!("CREATE UNIQUE INDEX ON {staged} USING {method}"),
            (None, _) => format!("CREATE INDEX ON {staged} USING {method}"),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "index of {parent} not understood: {def}"
                )))
            }
        });
    }
    Ok(statements)
}

/// Take [`IMPORT_LOCK`] for the transaction, then drop the staging tables that no import
/// attached: what an import that failed between staging and committing left (the process
/// killed, the server gone).
async fn lock_imports(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(IMPORT_LOCK)
        .execute(&mut *conn)
        .await?;
    drop_unattached_locked(conn).await?;
    Ok(())
}

/// The staging tables no import attached, dropped while this connection's transaction
/// holds [`IMPORT_LOCK`] (no import runs): how many.
async fn drop_unattached_locked(conn: &mut PgConnection) -> Result<usize> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' \
           AND NOT c.relispartition \
           AND c.relname ~ '^(households|members|member_ids|member_names|assessments|problems)_v[0-9]+$'",
    )
    .fetch_all(&mut *conn)
    .await?;
    for name in &names {
        sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(names.len())
}

/// Drop the staging tables no import attached, in a transaction of their own under the
/// import lock: waiting for it (`wait`), or None at once if an import holds it.
async fn drop_unattached(pool: &sqlx::PgPool, wait: bool) -> Result<Option<usize>> {
    let mut tx = pool.begin().await?;
    if wait {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(IMPORT_LOCK)
            .execute(&mut *tx)
            .await?;
    } else {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(IMPORT_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            return Ok(None);
        }
    }
    let dropped = drop_unattached_locked(&mut tx).await?;
    tx.commit().await?;
    Ok(Some(dropped))
}

/// Write version `version`'s rows on PostgreSQL: the per-household tables staged on two
/// connections at once, then, in the import's transaction `tx`, attached as the version's
/// partitions, and the small tables copied.
async fn copy_rows(
    pool: &sqlx::PgPool,
    tx: &mut PgConnection,
    version: VersionId,
    p: &Prepared<'_>,
    progress: &(dyn Fn(u32) + Sync),
) -> Result<()> {
    // Steps 1 and 2 (assessing, preparing) are done; each table is one more.
    let step = AtomicU32::new(2);
    let done = || progress(step.fetch_add(1, Ordering::Relaxed) + 1);
    tokio::try_join!(
        stage(pool, version, STAGED[0], p, &done),
        stage(pool, version, STAGED[1], p, &done),
    )?;
    for part in STAGED.concat() {
        sqlx::query(&format!(
            "ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({version})",
            part.table().name,
            staged_name(part, version)
        ))
        .execute(&mut *tx)
        .await?;
    }
    for part in IN_TRANSACTION {
        copy(&mut *tx, part.table().name, part, version, p).await?;
        done();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// SQLite: multi-row INSERTs with bound values, in the import's transaction.

/// The bound values of one multi-row INSERT.
struct Batch<'q> {
    args: SqliteArguments<'q>,
    rows: usize,
    /// The first value that could not be encoded (none can, for these types).
    error: Option<String>,
}

impl<'q> Batch<'q> {
    fn add<T: sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + 'q>(&mut self, v: T) {
        if let Err(e) = self.args.add(v) {
            self.error.get_or_insert(e.to_string());
        }
    }
}

impl<'q> Sink<'q> for Batch<'q> {
    fn int(&mut self, v: i64) {
        self.add(v)
    }
    fn opt_int(&mut self, v: Option<i64>) {
        self.add(v)
    }
    fn text(&mut self, v: &'q str) {
        self.add(v)
    }
    fn opt_text(&mut self, v: Option<&'q str>) {
        self.add(v)
    }
    fn string(&mut self, v: String) {
        self.add(v)
    }
    fn bool(&mut self, v: bool) {
        self.add(v)
    }
    fn opt_bool(&mut self, v: Option<bool>) {
        self.add(v)
    }
    fn opt_date(&mut self, v: Option<NaiveDate>) {
        self.add(v)
    }
    fn end_row(&mut self) {
        self.rows += 1;
    }
}

/// Rows per INSERT: many, to save round trips, and within SQLite's 32,766 bound values
/// (a household's members may overshoot by a few rows).
fn rows_per_insert(table: &Table) -> usize {
    (32_766 / table.columns.len() - 64).min(1000)
}

/// `INSERT INTO table (columns) VALUES (?, …), …` for `rows` rows.
fn insert_sql(table: &Table, rows: usize) -> String {
    let one = format!("({})", vec!["?"; table.columns.len()].join(", "));
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        table.name,
        table.columns.join(", ")
    );
    sql.reserve(rows * (one.len() + 1));
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&one);
    }
    sql
}

async fn execute_batch<'q>(
    conn: &mut SqliteConnection,
    table: &Table,
    full_sql: &str,
    batch: &mut Batch<'q>,
) -> Result<(), sqlx::Error> {
    if let Some(e) = batch.error.take() {
        return Err(sqlx::Error::Encode(e.into()));
    }
    let args = std::mem::take(&mut batch.args);
    let rows = std::mem::take(&mut batch.rows);
    if rows == rows_per_insert(table) {
        sqlx::query_with(full_sql, args).execute(conn).await?;
    } else {
        // The last, shorter batch of a table, or one that overshot: not worth caching.
        let sql = insert_sql(table, rows);
        sqlx::query_with(&sql, args)
            .persistent(false)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// INSERT a part's rows of version `v`, a batch of rows at a time.
async fn insert<'q>(
    conn: &mut SqliteConnection,
    part: Part,
    v: i64,
    p: &Prepared<'q>,
) -> Result<(), sqlx::Error> {
    let table = part.table();
    let per = rows_per_insert(table);
    let full_sql = insert_sql(table, per);
    let mut batch = Batch {
        args: SqliteArguments::default(),
        rows: 0,
        error: None,
    };
    for i in 0..part.items(p) {
        part.write(&mut batch, v, p, i);
        if batch.rows >= per {
            execute_batch(conn, table, &full_sql, &mut batch).await?;
        }
    }
    if batch.rows > 0 {
        execute_batch(conn, table, &full_sql, &mut batch).await?;
    }
    Ok(())
}

async fn insert_rows(
    conn: &mut SqliteConnection,
    version: i64,
    p: &Prepared<'_>,
    progress: &(dyn Fn(u32) + Sync),
) -> Result<()> {
    // Steps 1 and 2 (assessing, preparing) are done; each table is one more.
    for (step, part) in (3..).zip(Part::ALL) {
        insert(conn, part, version, p).await?;
        progress(step);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_and_marks_nulls() {
        let mut t = CopyText {
            buf: Vec::new(),
            row_start: true,
        };
        t.int(-5);
        t.text("a\tb\\c\nd");
        t.opt_text(None);
        t.opt_bool(Some(true));
        t.opt_date(NaiveDate::from_ymd_opt(2008, 2, 9));
        t.end_row();
        t.int(1);
        t.end_row();
        assert_eq!(
            String::from_utf8(t.buf).unwrap(),
            "-5\ta\\tb\\\\c\\nd\t\\N\tt\t2008-02-09\n1\n"
        );
    }

    #[test]
    fn summary_tables_have_key_and_tally_columns() {
        assert_eq!(VILLAGE_SUMMARIES.columns[2], "households");
        assert_eq!(TOWNSHIP_SUMMARIES.columns[21], "fail_water");
        assert_eq!(COUNTY_SUMMARIES.columns.len(), 20);
        for t in [&AREAS, &HOUSEHOLDS, &MEMBERS, &ASSESSMENTS, &PROBLEMS] {
            assert!(rows_per_insert(t) * (t.columns.len() + 1) < 32_766);
        }
    }
}
