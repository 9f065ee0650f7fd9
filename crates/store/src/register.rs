//! Reading the register: summaries, lists paged by key, one household with its history,
//! search, problems and versions. Every read of the register takes a [`Scope`] and adds
//! its conditions to the SQL, on the `areas` row of what is read: a household outside the
//! scope is simply not found.
//!
//! Lists are paged by key (`after` the last key of the previous page, `LIMIT n`), never
//! by OFFSET, so page 1,000 costs what page 1 costs.

use crate::accounts::UserId;
use crate::rows::{count, tally, Get};
use crate::{on_pool, Result, Scope, Store, StoreError};
use chrono::{DateTime, Utc};
use fupin_domain::criteria::CriteriaSet;
use fupin_domain::figures::{Tally, VillageConditions};
use fupin_domain::household::Entry;
use fupin_domain::standards::PovertyLine;
use fupin_domain::values::{
    Health, HouseholdType, HousingGrade, Labor, MainCause, PovertyStatus, Relocation, Renovation,
    Schooling, Sex,
};
use fupin_domain::{
    Assessment, Criterion, Fen, HouseholdValues, IdNumber, Member, ProblemCode, Verdict,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub type VersionId = i64;

/// The most items a page holds.
pub const MAX_PAGE: u32 = 500;

pub(crate) fn clamp_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_PAGE))
}

/// A page of a list, and the key to pass as `after` for the next one (None at the end).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

impl<T, K> Page<T, K> {
    /// From `limit + 1` fetched items: the extra one only says there is more.
    pub(crate) fn of(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> Page<T, K> {
        let limit = limit as usize;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Page { items, next }
    }
}

/// Counts for the county, a township or a village, from the summary tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// None for the county.
    pub township: Option<String>,
    /// Set for a village.
    pub village: Option<String>,
    pub tally: Tally,
    /// 户籍人口 from the villages file: the village's, or the sum over the township's or
    /// county's villages; None when not known for every one.
    pub population: Option<u64>,
    /// Villages only, from the villages file.
    pub poor_village: Option<bool>,
    pub conditions: VillageConditions,
    pub collective_income: Option<Fen>,
}

/// A household in a list: enough for one table row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseholdRow {
    pub household_no: String,
    pub township: String,
    pub village: String,
    pub members: u64,
    pub status: Option<PovertyStatus>,
    pub verdict: Verdict,
    pub per_capita: Option<Fen>,
    pub failed: CriteriaSet,
}

/// A member as stored: the values the assessment used, and the name and relation to the
/// head (与户主关系, as written) when the import's reader kept them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMember {
    pub member: Member,
    pub name: Option<String>,
    pub relation: Option<String>,
}

/// One household of the current version, with its members, values, assessment, the
/// problems on its rows, and its verdicts in every version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseholdDetail {
    pub version: VersionId,
    pub row: HouseholdRow,
    pub first_line: u64,
    /// Household-level values; empty and unreadable cells are both `Entry::Empty` (the
    /// problems say which).
    pub values: HouseholdValues,
    pub members: Vec<StoredMember>,
    pub assessment: Assessment,
    pub problems: Vec<ProblemRow>,
    /// Oldest version first; only versions in which it lay in the reader's scope.
    pub history: Vec<HistoryEntry>,
}

/// A household's verdict in one register version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub version: VersionId,
    pub imported_at: DateTime<Utc>,
    pub file_name: String,
    pub year: i32,
    pub line: Fen,
    pub township: String,
    pub village: String,
    pub status: Option<PovertyStatus>,
    pub verdict: Verdict,
    pub per_capita: Option<Fen>,
    pub failed: CriteriaSet,
}

/// A problem found in the current version's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProblemRow {
    /// Position in report order (by line, column, code): the paging key.
    pub seq: u64,
    pub line: u64,
    pub column: String,
    pub code: ProblemCode,
    pub message: String,
    pub value: String,
    /// The household whose row it is on; None for the header.
    pub household_no: Option<String>,
}

/// A register version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterVersion {
    pub id: VersionId,
    pub current: bool,
    pub imported_at: DateTime<Utc>,
    pub imported_by: Option<UserId>,
    pub imported_by_name: Option<String>,
    pub file_name: String,
    pub sha256: String,
    /// How the file was read, e.g. `CSV（UTF-8）`.
    pub format: String,
    pub with_villages_file: bool,
    pub year: i32,
    pub line: PovertyLine,
    pub rows: u64,
    pub households: u64,
    pub members: u64,
    pub villages: u64,
    pub errors: u64,
    pub warnings: u64,
}

/// What to search for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    /// Households whose 户编号 starts with this.
    HouseholdNo(String),
    /// Members with exactly this ID number (a lower-case x is taken as X).
    IdNumber(String),
    /// Members whose name starts with this (when names are stored).
    Name(String),
}

impl Search {
    /// What a search box holds: a valid-looking 18-character ID number, a 户编号 prefix
    /// (ASCII letters and digits), or else a name. None for an empty box.
    pub fn parse(text: &str) -> Option<Search> {
        let t = text.trim();
        if t.is_empty() {
            None
        } else if t.len() == 18
            && t[..17].bytes().all(|b| b.is_ascii_digit())
            && matches!(t.as_bytes()[17], b'0'..=b'9' | b'x' | b'X')
        {
            Some(Search::IdNumber(t.to_string()))
        } else if t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            Some(Search::HouseholdNo(t.to_string()))
        } else {
            Some(Search::Name(t.to_string()))
        }
    }
}

/// A search result: a household, and the member that matched (ID number and name
/// searches).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchHit {
    pub household: HouseholdRow,
    pub member: Option<MemberHit>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberHit {
    pub line: u64,
    pub name: Option<String>,
    pub id_number: Option<String>,
}

/// Where a search page ends: pass it back as `after` for the next page. For 户编号
/// searches `text` is the 户编号; for names, the name and line; for ID numbers, the line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchKey {
    pub text: String,
    pub line: u64,
}

/// The current version, as a subquery.
const CURRENT: &str = "(SELECT version_id FROM current_register WHERE id = 1)";

/// A household's list columns, from [`ROW_JOINS`].
const ROW_COLUMNS: &str = "h.household_no, a.township, a.village, h.members, h.status, \
                           s.verdict, s.per_capita, s.failed";

/// Households with their area (for the scope) and assessment.
const ROW_JOINS: &str = "households h \
    JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
    JOIN assessments s ON s.version_id = h.version_id AND s.household_seq = h.seq";

const TALLY_SELECT: &str = "households, members, poor_now, remaining, exited_members, \
    wrong_exit_members, ready, not_ready, stable, wrong_exit, data_error, fail_income, \
    fail_food, fail_clothing, fail_education, fail_medical, fail_housing, fail_water";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::corrupt(format!("{what}「{value}」"))
}

pub(crate) fn verdict(r: &impl Get) -> Result<Verdict> {
    let w = r.text("verdict")?;
    Verdict::ALL
        .into_iter()
        .find(|v| v.word() == w)
        .ok_or_else(|| corrupt("verdict", &w))
}

pub(crate) fn failed(r: &impl Get) -> Result<CriteriaSet> {
    let codes = r.text("failed")?;
    let mut set = CriteriaSet::default();
    for code in codes.split(',').filter(|c| !c.is_empty()) {
        let c = Criterion::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| corrupt("criterion", code))?;
        set.insert(c);
    }
    Ok(set)
}

fn status(r: &impl Get) -> Result<Option<PovertyStatus>> {
    Ok(r.opt_text("status")?.and_then(|s| PovertyStatus::parse(&s)))
}

fn household_row(r: &impl Get) -> Result<HouseholdRow> {
    Ok(HouseholdRow {
        household_no: r.text("household_no")?,
        township: r.text("township")?,
        village: r.text("village")?,
        members: count(r, "members")?,
        status: status(r)?,
        verdict: verdict(r)?,
        per_capita: r.opt_int("per_capita")?.map(Fen),
        failed: failed(r)?,
    })
}

fn entry<T>(r: &impl Get, column: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Entry<T>> {
    Ok(match r.opt_text(column)? {
        None => Entry::Empty,
        Some(s) => parse(&s).map_or(Entry::Invalid, Entry::Value),
    })
}

fn money(r: &impl Get, column: &str) -> Result<Entry<Fen>> {
    Ok(r.opt_int(column)?
        .map_or(Entry::Empty, |v| Entry::Value(Fen(v))))
}

fn flag(r: &impl Get, column: &str) -> Result<Entry<bool>> {
    Ok(r.opt_bool(column)?.map_or(Entry::Empty, Entry::Value))
}

fn household_values(r: &impl Get) -> Result<HouseholdValues> {
    Ok(HouseholdValues {
        status: entry(r, "status", PovertyStatus::parse)?,
        household_type: entry(r, "household_type", HouseholdType::parse)?,
        main_cause: entry(r, "main_cause", MainCause::parse)?,
        wage_income: money(r, "wage_income")?,
        operating_income: money(r, "operating_income")?,
        operating_expense: money(r, "operating_expense")?,
        property_income: money(r, "property_income")?,
        transfer_income: money(r, "transfer_income")?,
        per_capita_declared: money(r, "per_capita_declared")?,
        food_secure: flag(r, "food_secure")?,
        clothing_secure: flag(r, "clothing_secure")?,
        housing_grade: entry(r, "housing_grade", HousingGrade::parse)?,
        renovation: entry(r, "renovation", Renovation::parse)?,
        relocation: entry(r, "relocation", Relocation::parse)?,
        safe_water: flag(r, "safe_water")?,
    })
}

fn stored_member(r: &impl Get) -> Result<StoredMember> {
    let label = |c: &str| r.opt_text(c);
    Ok(StoredMember {
        member: Member {
            line: count(r, "line")?,
            id: label("id_number")?.and_then(|s| IdNumber::parse(&s).ok()),
            birth: r.opt_date("birth")?,
            is_head: r.bool("is_head")?,
            sex: label("sex")?.and_then(|s| Sex::parse(&s)),
            schooling: label("schooling")?.and_then(|s| Schooling::parse(&s)),
            medical_insurance: r.opt_bool("medical_insurance")?,
            active_military: r.bool("active_military")?,
            labor: label("labor")?.and_then(|s| Labor::parse(&s)),
            health: label("health")?.and_then(|s| Health::parse(&s)),
        },
        name: r.opt_text("name")?,
        relation: r.opt_text("relation")?,
    })
}

fn problem_row(r: &impl Get) -> Result<ProblemRow> {
    let code = r.text("code")?;
    Ok(ProblemRow {
        seq: count(r, "seq")?,
        line: count(r, "line")?,
        column: r.text("column_name")?,
        code: ProblemCode::ALL
            .into_iter()
            .find(|c| c.as_str() == code)
            .ok_or_else(|| corrupt("problem code", &code))?,
        message: r.text("message")?,
        value: r.text("value")?,
        household_no: r.opt_text("household_no")?,
    })
}

fn history_entry(r: &impl Get) -> Result<HistoryEntry> {
    Ok(HistoryEntry {
        version: r.int("version_id")?,
        imported_at: r.time("imported_at")?,
        file_name: r.text("file_name")?,
        year: r.int("year")? as i32,
        line: Fen(r.int("line_fen")?),
        township: r.text("township")?,
        village: r.text("village")?,
        status: status(r)?,
        verdict: verdict(r)?,
        per_capita: r.opt_int("per_capita")?.map(Fen),
        failed: failed(r)?,
    })
}

fn summary(r: &impl Get, township: bool, village: bool) -> Result<Summary> {
    let village_info = |c: &str| {
        if village {
            r.opt_bool(c)
        } else {
            Ok(None)
        }
    };
    Ok(Summary {
        township: if township {
            Some(r.text("township")?)
        } else {
            None
        },
        village: if village {
            Some(r.text("village")?)
        } else {
            None
        },
        tally: tally(r)?,
        population: r.opt_int("population")?.map(|p| p.max(0) as u64),
        poor_village: village_info("poor_village")?,
        conditions: VillageConditions {
            road: village_info("road")?,
            power: village_info("power")?,
            broadband: village_info("broadband")?,
            clinic: village_info("clinic")?,
        },
        collective_income: if village {
            r.opt_int("collective_income")?.map(Fen)
        } else {
            None
        },
    })
}

fn register_version(r: &impl Get, current: Option<VersionId>) -> Result<RegisterVersion> {
    let id = r.int("id")?;
    Ok(RegisterVersion {
        id,
        current: current == Some(id),
        imported_at: r.time("imported_at")?,
        imported_by: r.opt_int("imported_by")?,
        imported_by_name: r.opt_text("username")?,
        file_name: r.text("file_name")?,
        sha256: r.text("sha256")?,
        format: r.text("format")?,
        with_villages_file: r.opt_text("villages_file")?.is_some(),
        year: r.int("year")? as i32,
        line: PovertyLine {
            year: r.int("line_year")? as i32,
            place: r.opt_text("line_place")?,
            amount: Fen(r.int("line_fen")?),
            source: r.text("line_source")?,
            verified: r.bool("line_verified")?,
        },
        rows: count(r, "row_count")?,
        households: count(r, "household_count")?,
        members: count(r, "member_count")?,
        villages: count(r, "village_count")?,
        errors: count(r, "error_count")?,
        warnings: count(r, "warning_count")?,
    })
}

/// The smallest text greater than every text starting with `prefix` (in code-point order,
/// which is UTF-8 byte order); None if there is none.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(c) = chars.pop() {
        let mut next = c as u32 + 1;
        if next == 0xD800 {
            next = 0xE000;
        }
        if let Some(n) = char::from_u32(next) {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

impl Store {
    /// The county's summary in the current version; None outside the county scope or
    /// before the first import.
    pub async fn county_summary(&self, scope: &Scope) -> Result<Option<Summary>> {
        if !scope.is_county() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT population, {TALLY_SELECT} FROM county_summaries WHERE version_id = {CURRENT}"
        );
        Ok(on_pool!(self, pool => {
            let row = sqlx::query(&sql).fetch_optional(pool).await?;
            row.map(|r| summary(&r, false, false)).transpose()?
        }))
    }

    /// The townships in scope with their summaries, in register order. Village staff see
    /// none (a township's figures include other villages).
    pub async fn townships(&self, scope: &Scope) -> Result<Vec<Summary>> {
        if matches!(scope, Scope::Village { .. }) {
            return Ok(Vec::new());
        }
        let (filter, binds) = scope.sql("t", 1);
        let sql = format!(
            "SELECT t.township, t.population, {TALLY_SELECT} FROM township_summaries t \
             WHERE t.version_id = {CURRENT}{filter} ORDER BY t.seq"
        );
        Ok(on_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(*b);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(|r| summary(r, true, false)).collect::<Result<Vec<_>>>()?
        }))
    }

    /// The townships in scope with their summaries, in register order, `limit` at a time
    /// after the township whose key (its position in the register) is `after`: a
    /// province register has hundreds, and a page should not carry them all. The key of
    /// the last one is `next`. Village staff see none.
    pub async fn townships_page(
        &self,
        scope: &Scope,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Page<Summary, u64>> {
        if matches!(scope, Scope::Village { .. }) {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let limit = clamp_limit(limit);
        let (filter, binds) = scope.sql("t", 3);
        let sql = format!(
            "SELECT t.seq, t.township, t.population, {TALLY_SELECT} FROM township_summaries t \
             WHERE t.version_id = {CURRENT} AND t.seq > $1{filter} ORDER BY t.seq LIMIT $2"
        );
        let items = on_pool!(self, pool => {
            let mut q = sqlx::query(&sql)
                .bind(after.map_or(-1, |a| a.min(i64::MAX as u64) as i64))
                .bind(limit + 1);
            for b in &binds {
                q = q.bind(*b);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok((count(r, "seq")?, summary(r, true, false)?)))
                .collect::<Result<Vec<_>>>()?
        });
        let page = Page::of(items, limit, |(seq, _)| *seq);
        Ok(Page {
            items: page.items.into_iter().map(|(_, s)| s).collect(),
            next: page.next,
        })
    }

    /// One township's summary, if it is in scope (without reading the others: a province
    /// register has hundreds).
    pub async fn township(&self, scope: &Scope, name: &str) -> Result<Option<Summary>> {
        if matches!(scope, Scope::Village { .. }) {
            return Ok(None);
        }
        let (filter, binds) = scope.sql("t", 2);
        let sql = format!(
            "SELECT t.township, t.population, {TALLY_SELECT} FROM township_summaries t \
             WHERE t.version_id = {CURRENT} AND t.township = $1{filter}"
        );
        Ok(on_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(name);
            for b in &binds {
                q = q.bind(*b);
            }
            match q.fetch_optional(pool).await? {
                Some(r) => Some(summary(&r, true, false)?),
                None => None,
            }
        }))
    }

    /// Every township of the current register with its villages' names, in register
    /// order, in one statement (for the accounts form: a province register has hundreds
    /// of townships). Headquarters' view: no scope.
    pub async fn area_names(&self) -> Result<Vec<(String, Vec<String>)>> {
        let sql = format!(
            "SELECT township, village FROM areas WHERE version_id = {CURRENT} ORDER BY seq"
        );
        let rows: Vec<(String, String)> = on_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(&sql).fetch_all(pool).await? {
                out.push((r.text("township")?, r.text("village")?));
            }
            out
        });
        let mut townships: Vec<(String, Vec<String>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (township, village) in rows {
            let i = *index.entry(township.clone()).or_insert_with(|| {
                townships.push((township, Vec::new()));
                townships.len() - 1
            });
            townships[i].1.push(village);
        }
        Ok(townships)
    }

    /// The villages of a township that are in scope, with their summaries, in register
    /// order.
    pub async fn villages(&self, scope: &Scope, township: &str) -> Result<Vec<Summary>> {
        let (filter, binds) = scope.sql("a", 2);
        let sql = format!(
            "SELECT a.township, a.village, a.population, a.poor_village, a.road, a.power, \
             a.broadband, a.clinic, a.collective_income, {TALLY_SELECT} \
             FROM village_summaries v \
             JOIN areas a ON a.version_id = v.version_id AND a.seq = v.area_seq \
             WHERE v.version_id = {CURRENT} AND a.township = $1{filter} ORDER BY a.seq"
        );
        Ok(on_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(township);
            for b in &binds {
                q = q.bind(*b);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(|r| summary(r, true, true)).collect::<Result<Vec<_>>>()?
        }))
    }

    /// A village's households in 户编号 order, `limit` at a time after the 户编号 `after`.
    pub async fn households(
        &self,
        scope: &Scope,
        township: &str,
        village: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<HouseholdRow, String>> {
        let limit = clamp_limit(limit);
        let (filter, binds) = scope.sql("a", 5);
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM {ROW_JOINS} \
             WHERE h.version_id = {CURRENT} AND a.township = $1 AND a.village = $2 \
             AND h.household_no > $3{filter} ORDER BY h.household_no LIMIT $4"
        );
        let items = on_pool!(self, pool => {
            let mut q = sqlx::query(&sql)
                .bind(township)
                .bind(village)
                .bind(after.unwrap_or(""))
                .bind(limit + 1);
            for b in &binds {
                q = q.bind(*b);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(household_row).collect::<Result<Vec<_>>>()?
        });
        Ok(Page::of(items, limit, |h| h.household_no.clone()))
    }

    /// One household of the current version by 户编号, if it is in scope.
    ///
    /// The household page is the register's busiest read, so it costs three statements on
    /// one pooled connection: its row in every version (the current one's values and
    /// explanation, and the history, read together), its members, and its problems only
    /// when it has any.
    pub async fn household(
        &self,
        scope: &Scope,
        household_no: &str,
    ) -> Result<Option<HouseholdDetail>> {
        let (filter, binds) = scope.sql("a", 2);
        // Every version holding the 户编号 (one probe of `households_by_no` per version),
        // in scope in that version; the current one's row carries the detail.
        let sql = format!(
            "SELECT {ROW_COLUMNS}, h.version_id, h.seq, h.first_line, h.household_type, \
             h.main_cause, h.wage_income, h.operating_income, h.operating_expense, \
             h.property_income, h.transfer_income, h.per_capita_declared, h.food_secure, \
             h.clothing_secure, h.housing_grade, h.renovation, h.relocation, h.safe_water, \
             s.explanation, v.imported_at, v.file_name, v.year, v.line_fen, \
             c.version_id AS current_version, \
             EXISTS (SELECT 1 FROM problems p WHERE p.version_id = h.version_id \
                     AND p.household_seq = h.seq) AS has_problems \
             FROM current_register c CROSS JOIN register_versions v \
             JOIN households h ON h.version_id = v.id \
             JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
             JOIN assessments s ON s.version_id = h.version_id AND s.household_seq = h.seq \
             WHERE c.id = 1 AND h.household_no = $1{filter} ORDER BY h.version_id"
        );
        let members_sql =
            "SELECT line, name, relation, id_number, birth, is_head, sex, schooling, health, \
                           labor, medical_insurance, active_military FROM members \
                           WHERE version_id = $1 AND household_seq = $2 ORDER BY seq";
        let problems_sql = "SELECT seq, line, column_name, code, message, value, household_no \
                            FROM problems WHERE version_id = $1 AND household_seq = $2 \
                            ORDER BY seq";
        Ok(on_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            let mut q = sqlx::query(&sql).bind(household_no);
            for b in &binds {
                q = q.bind(*b);
            }
            let rows = q.fetch_all(&mut *conn).await?;
            let mut current = None;
            for r in &rows {
                if r.int("version_id")? == r.int("current_version")? {
                    current = Some(r);
                }
            }
            let Some(r) = current else {
                return Ok(None);
            };
            let history = rows
                .iter()
                .map(history_entry)
                .collect::<Result<Vec<_>>>()?;
            let row = household_row(r)?;
            let (version, seq) = (r.int("version_id")?, r.int("seq")?);
            let assessment = Assessment {
                verdict: row.verdict,
                per_capita: row.per_capita,
                failed: row.failed,
                explanation: r.text("explanation")?,
            };
            let members = sqlx::query(members_sql)
                .bind(version)
                .bind(seq)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(stored_member)
                .collect::<Result<Vec<_>>>()?;
            let problems = if r.bool("has_problems")? {
                sqlx::query(problems_sql)
                    .bind(version)
                    .bind(seq)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(problem_row)
                    .collect::<Result<Vec<_>>>()?
            } else {
                Vec::new()
            };
            Some(HouseholdDetail {
                version,
                first_line: count(r, "first_line")?,
                values: household_values(r)?,
                row,
                members,
                assessment,
                problems,
                history,
            })
        }))
    }

    /// Search the current version, in scope, `limit` hits at a time after `after`
    /// (the previous page's `next`). 户编号 hits come in 户编号 order; ID number hits in
    /// line order; name hits by name, then line.
    pub async fn search(
        &self,
        scope: &Scope,
        search: &Search,
        after: Option<&SearchKey>,
        limit: u32,
    ) -> Result<Page<SearchHit, SearchKey>> {
        let limit = clamp_limit(limit);
        let start = SearchKey::default();
        let after = after.unwrap_or(&start);
        let member_columns = "m.line, m.name, m.id_number";
        // From a key table (`k`: member_ids or member_names) to the member, its household,
        // area and assessment.
        let member_joins = |keys: &str| {
            format!(
                "{keys} k JOIN members m ON m.version_id = k.version_id \
                 AND m.household_seq = k.household_seq AND m.seq = k.seq \
                 JOIN households h ON h.version_id = k.version_id AND h.seq = k.household_seq \
                 JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
                 JOIN assessments s ON s.version_id = h.version_id AND s.household_seq = h.seq"
            )
        };
        // The SQL of each kind of search, and what to bind before the limit: texts, then
        // integers. The scope's values come after the limit.
        let (sql, texts, ints, with_member): (String, Vec<String>, Vec<i64>, bool) = match search {
            Search::HouseholdNo(prefix) => {
                let Some(end) = prefix_end(prefix).filter(|_| !prefix.is_empty()) else {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                    });
                };
                let (filter, _) = scope.sql("a", 5);
                // One lower bound, the later of the prefix and the previous page's last
                // number (then left out): given two, SQLite may range from the lower.
                let from = prefix.clone().max(after.text.clone());
                (
                    format!(
                        "SELECT {ROW_COLUMNS} FROM {ROW_JOINS} WHERE h.version_id = {CURRENT} \
                         AND h.household_no >= $1 AND h.household_no < $2 \
                         AND h.household_no <> $3{filter} ORDER BY h.household_no LIMIT $4"
                    ),
                    vec![from, end, after.text.clone()],
                    vec![],
                    false,
                )
            }
            Search::IdNumber(id) => {
                // Only valid numbers are in member_ids: any other text finds none.
                let Ok(id) = IdNumber::parse(id.trim()) else {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                    });
                };
                let (filter, _) = scope.sql("a", 4);
                (
                    format!(
                        "SELECT {ROW_COLUMNS}, {member_columns} FROM {} \
                         WHERE k.version_id = {CURRENT} AND k.id_key = $1 \
                         AND k.line > $2{filter} ORDER BY k.line LIMIT $3",
                        member_joins("member_ids")
                    ),
                    vec![],
                    vec![crate::import::id_key(id), after.line as i64],
                    true,
                )
            }
            Search::Name(prefix) => {
                let Some(end) = prefix_end(prefix).filter(|_| !prefix.is_empty()) else {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                    });
                };
                let (filter, _) = scope.sql("a", 5);
                // One lower bound, (name, line) after the later of the prefix and the
                // previous page's last hit: given two (the prefix, and an empty name on
                // the first page), SQLite ranges from the lower and reads half the index.
                let (from, line) = if after.text.as_str() >= prefix.as_str() {
                    (after.text.clone(), after.line as i64)
                } else {
                    (prefix.clone(), -1)
                };
                (
                    format!(
                        "SELECT {ROW_COLUMNS}, {member_columns} FROM {} \
                         WHERE k.version_id = {CURRENT} AND k.name >= $1 AND k.name < $2 \
                         AND (k.name, k.line) > ($1, $3){filter} \
                         ORDER BY k.name, k.line LIMIT $4",
                        member_joins("member_names")
                    ),
                    vec![from, end],
                    vec![line],
                    true,
                )
            }
        };
        let (_, scope_binds) = scope.sql("a", 0);
        let items = on_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for t in &texts {
                q = q.bind(t.as_str());
            }
            for i in &ints {
                q = q.bind(*i);
            }
            q = q.bind(limit + 1);
            for b in &scope_binds {
                q = q.bind(*b);
            }
            let rows = q.fetch_all(pool).await?;
            let mut hits = Vec::with_capacity(rows.len());
            for r in &rows {
                hits.push(SearchHit {
                    household: household_row(r)?,
                    member: if with_member {
                        Some(MemberHit {
                            line: count(r, "line")?,
                            name: r.opt_text("name")?,
                            id_number: r.opt_text("id_number")?,
                        })
                    } else {
                        None
                    },
                });
            }
            hits
        });
        let key = |h: &SearchHit| match (search, &h.member) {
            (Search::HouseholdNo(_), _) | (_, None) => SearchKey {
                text: h.household.household_no.clone(),
                line: 0,
            },
            (Search::IdNumber(_), Some(m)) => SearchKey {
                text: String::new(),
                line: m.line,
            },
            (Search::Name(_), Some(m)) => SearchKey {
                text: m.name.clone().unwrap_or_default(),
                line: m.line,
            },
        };
        Ok(Page::of(items, limit, key))
    }

    /// Problems of the current version's file, in report order (line, column, code),
    /// `limit` at a time after the problem `after` (its `seq`). Outside the county scope,
    /// only problems on rows of households in scope.
    pub async fn problems(
        &self,
        scope: &Scope,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Page<ProblemRow, u64>> {
        let limit = clamp_limit(limit);
        // Problems carry their household's township and village: a township's are one
        // range of `problems_by_township`.
        let (filter, binds) = scope.sql("p", 3);
        let sql = format!(
            "SELECT p.seq, p.line, p.column_name, p.code, p.message, p.value, p.household_no \
             FROM problems p \
             WHERE p.version_id = {CURRENT} AND p.seq > $1{filter} ORDER BY p.seq LIMIT $2"
        );
        let items = on_pool!(self, pool => {
            let mut q = sqlx::query(&sql)
                .bind(after.map_or(-1, |a| a as i64))
                .bind(limit + 1);
            for b in &binds {
                q = q.bind(*b);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(problem_row).collect::<Result<Vec<_>>>()?
        });
        Ok(Page::of(items, limit, |p| p.seq))
    }

    /// Every register version, newest first. The same for every reader: who imported
    /// which file when, and its counts, say nothing about one household.
    pub async fn versions(&self) -> Result<Vec<RegisterVersion>> {
        let sql = "SELECT v.*, u.username FROM register_versions v \
                   LEFT JOIN users u ON u.id = v.imported_by ORDER BY v.id DESC";
        Ok(on_pool!(self, pool => {
            let current = sqlx::query("SELECT version_id FROM current_register WHERE id = 1")
                .fetch_optional(pool)
                .await?
                .map(|r| r.int("version_id"))
                .transpose()?;
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter()
                .map(|r| register_version(r, current))
                .collect::<Result<Vec<_>>>()?
        }))
    }

    /// The current version, if any register was imported: one row, read on every
    /// dashboard (not the list of every version).
    pub async fn current_version(&self) -> Result<Option<RegisterVersion>> {
        let sql = "SELECT v.*, u.username FROM current_register c \
                   JOIN register_versions v ON v.id = c.version_id \
                   LEFT JOIN users u ON u.id = v.imported_by WHERE c.id = 1";
        Ok(on_pool!(self, pool => {
            match sqlx::query(sql).fetch_optional(pool).await? {
                Some(r) => Some(register_version(&r, Some(r.int("id")?))?),
                None => None,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends_are_the_next_text_after_every_extension() {
        assert_eq!(prefix_end("14093001").as_deref(), Some("14093002"));
        assert_eq!(prefix_end("王").as_deref(), Some("玌"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }

    #[test]
    fn search_boxes_are_read_as_id_number_household_or_name() {
        assert_eq!(
            Search::parse(" 14093019450315050x "),
            Some(Search::IdNumber("14093019450315050x".into()))
        );
        assert_eq!(
            Search::parse("1409300101"),
            Some(Search::HouseholdNo("1409300101".into()))
        );
        assert_eq!(Search::parse("张三"), Some(Search::Name("张三".into())));
        assert_eq!(Search::parse("  "), None);
    }

    #[test]
    fn pages_keep_limit_items_and_key_the_last() {
        let p = Page::of(vec![1, 2, 3], 2, |x| *x);
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next, Some(2));
        let p = Page::of(vec![1, 2], 2, |x| *x);
        assert_eq!(p.next, None);
    }
}
