//! Reading the register: summaries, lists paged by key, one household with its history,
//! search, problems and versions. Every read of the register takes a [`Scope`] and adds
//! its conditions to the SQL, on the `areas` row of what is read: a household outside the
//! scope is simply not found.
//!
//! Lists are paged by key (`after` the last key of the previous page, `LIMIT n`), never
//! by OFFSET, so page 1,000 costs what page 1 costs. Each read takes one pooled connection.
//!
//! - `summaries`: the county's, townships' and villages' figures, and the areas' names;
//! - `households`: a village's households, and one household with its members, problems
//!   and history;
//! - `search`: by 户编号, ID number or name;
//! - `problems`: the problems of the current version's file;
//! - `versions`: the register versions.

mod export;
pub(crate) mod households;
mod problems;
mod search;
mod summaries;
mod versions;

use crate::accounts::UserId;
use crate::backend::{sql, Sql};
use crate::rows::{count, Get};
use crate::{on_pool, Result, Scope, Store, StoreError};
use chrono::{DateTime, Utc};
use fupin_domain::criteria::CriteriaSet;
use fupin_domain::figures::{Tally, VillageConditions};
use fupin_domain::standards::PovertyLine;
use fupin_domain::values::{Labor, PovertyStatus};
use fupin_domain::{Assessment, Criterion, Fen, HouseholdValues, Member, ProblemCode, Verdict};
use serde::{Deserialize, Serialize};

pub type VersionId = fupin_domain::id::Id<RegisterVersion>;

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
    /// Its row in the version (households.seq) and its village's (areas.seq).
    pub(crate) seq: i64,
    pub(crate) area_seq: i64,
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

impl HouseholdDetail {
    /// The poverty line of the version it is read from.
    pub fn line(&self) -> Option<Fen> {
        self.history
            .iter()
            .find(|h| h.version == self.version)
            .map(|h| h.line)
    }

    /// Its rows in the import format (`fupin_io::register_file`), one per member: what a
    /// change form shows as the current values, and what a change is checked on. Cells
    /// the import could not read, and rows that differed from the first (E109), are as
    /// the file had them.
    pub fn rows(&self) -> Vec<fupin_io::register_file::RowCells> {
        stored_rows(
            (
                &self.row.household_no,
                &self.row.township,
                &self.row.village,
            ),
            &self.values,
            &self.members,
            |line, f| {
                self.problems
                    .iter()
                    .find(|p| p.line == line && p.column == f.chinese() && !p.value.is_empty())
                    .map(|p| (p.value.clone(), p.code))
            },
        )
    }
}

/// A stored household's rows in the import format: its (户编号, 乡镇, 行政村), values and
/// members, with `as_read` giving the text of cells a problem keeps
/// (`fupin_io::register_file::rows`).
pub(crate) fn stored_rows(
    (household_no, township, village): (&str, &str, &str),
    values: &HouseholdValues,
    members: &[StoredMember],
    as_read: impl Fn(u64, fupin_domain::fields::Field) -> Option<(String, ProblemCode)>,
) -> Vec<fupin_io::register_file::RowCells> {
    use fupin_io::register_file::{rows, HouseholdRows, MemberRow};
    let h = HouseholdRows {
        household_no,
        township,
        village,
        values,
        members: members
            .iter()
            .map(|m| MemberRow {
                member: &m.member,
                name: m.name.as_deref(),
                relation: m.relation.as_deref(),
            })
            .collect(),
    };
    rows(&h, as_read)
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

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::corrupt(format!("{what}「{value}」"))
}

pub(crate) fn verdict(r: &impl Get) -> Result<Verdict> {
    let w = r.text("verdict")?;
    Verdict::of_word(&w).ok_or_else(|| corrupt("verdict", &w))
}

/// Statement `text` on the households of register version `version` (`$1`) that asks
/// whether a member can work (`m.labor IN ($2, $3, $4)`), with the version and the labour
/// labels of the members who can bound.
pub(crate) fn with_labor_labels(text: &str, version: VersionId) -> Sql<'_> {
    let able: Vec<&str> = [Labor::Ordinary, Labor::Skilled, Labor::Weak]
        .into_iter()
        .filter(|l| l.can_work())
        .map(Labor::label)
        .collect();
    sql(text)
        .bind(version)
        .bind(able[0])
        .bind(able[1])
        .bind(able[2])
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
        per_capita: r.opt_int("per_capita")?.map(Fen::new),
        failed: failed(r)?,
    })
}

/// The store's the register: versions, summaries, households, search and problems: `store.register()`.
#[derive(Clone, Copy, Debug)]
pub struct Register<'s>(pub(crate) &'s Store);

impl Register<'_> {
    /// The county's summary in the current version; None outside the county scope or
    /// before the first import.
    pub async fn county_summary(self, scope: &Scope) -> Result<Option<Summary>> {
        on_pool!(self.0, pool => summaries::county(pool, scope).await)
    }

    /// The townships in scope with their summaries, in register order. Village staff see
    /// none (a township's figures include other villages).
    pub async fn townships(self, scope: &Scope) -> Result<Vec<Summary>> {
        on_pool!(self.0, pool => summaries::townships(pool, scope).await)
    }

    /// The townships in scope with their summaries, in register order, `limit` at a time
    /// after the township whose key (its position in the register) is `after`: a
    /// province register has hundreds, and a page should not carry them all. The key of
    /// the last one is `next`. Village staff see none.
    pub async fn townships_page(
        self,
        scope: &Scope,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Page<Summary, u64>> {
        on_pool!(self.0, pool => summaries::townships_page(pool, scope, after, limit).await)
    }

    /// One township's summary, if it is in scope (without reading the others: a province
    /// register has hundreds).
    pub async fn township(self, scope: &Scope, name: &str) -> Result<Option<Summary>> {
        on_pool!(self.0, pool => summaries::township(pool, scope, name).await)
    }

    /// Every township of the current register with its villages' names, in register
    /// order, in one statement (for the accounts form: a province register has hundreds
    /// of townships). Headquarters' view: no scope.
    pub async fn area_names(self) -> Result<Vec<(String, Vec<String>)>> {
        on_pool!(self.0, pool => summaries::area_names(pool).await)
    }

    /// The villages of a township that are in scope, with their summaries, in register
    /// order.
    pub async fn villages(self, scope: &Scope, township: &str) -> Result<Vec<Summary>> {
        on_pool!(self.0, pool => summaries::villages(pool, scope, township).await)
    }

    /// A village's households in 户编号 order, `limit` at a time after the 户编号 `after`.
    pub async fn households(
        self,
        scope: &Scope,
        township: &str,
        village: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<HouseholdRow, String>> {
        on_pool!(self.0, pool => households::list(pool, scope, (township, village), after, limit).await)
    }

    /// One household of the current version by 户编号, if it is in scope.
    ///
    /// The household page is the register's busiest read, so it costs three statements on
    /// one pooled connection: its row in every version (the current one's values and
    /// explanation, and the history, read together), its members, and its problems only
    /// when it has any.
    pub async fn household(
        self,
        scope: &Scope,
        household_no: &str,
    ) -> Result<Option<HouseholdDetail>> {
        on_pool!(self.0, pool => households::detail(pool, scope, household_no).await)
    }

    /// Search the current version, in scope, `limit` hits at a time after `after`
    /// (the previous page's `next`). 户编号 hits come in 户编号 order; ID number hits in
    /// line order; name hits by name, then line.
    pub async fn search(
        self,
        scope: &Scope,
        search: &Search,
        after: Option<&SearchKey>,
        limit: u32,
    ) -> Result<Page<SearchHit, SearchKey>> {
        on_pool!(self.0, pool => search::search(pool, scope, search, after, limit).await)
    }

    /// Problems of the current version's file, in report order (line, column, code),
    /// `limit` at a time after the problem `after` (its `seq`). Outside the county scope,
    /// only problems on rows of households in scope.
    pub async fn problems(
        self,
        scope: &Scope,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Page<ProblemRow, u64>> {
        on_pool!(self.0, pool => problems::page(pool, scope, after, limit).await)
    }

    /// The current register in the scope as rows of the import format (one per member,
    /// in register order), for the export and for recomputing from it.
    pub async fn export_rows(
        self,
        scope: &Scope,
    ) -> Result<Vec<fupin_io::register_file::RowCells>> {
        on_pool!(self.0, pool => export::rows(pool, scope).await)
    }

    /// Every register version, newest first. The same for every reader: who imported
    /// which file when, and its counts, say nothing about one household.
    pub async fn versions(self) -> Result<Vec<RegisterVersion>> {
        on_pool!(self.0, pool => versions::all(pool).await)
    }

    /// The current version, if any register was imported: one row, read on every
    /// dashboard (not the list of every version).
    pub async fn current_version(self) -> Result<Option<RegisterVersion>> {
        on_pool!(self.0, pool => versions::current(pool).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
