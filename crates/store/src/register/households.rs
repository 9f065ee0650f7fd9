//! A village's households, and one household with its members, values, assessment,
//! problems and history.

use super::problems::problem_row;
use super::{
    clamp_limit, failed, household_row, status, verdict, HistoryEntry, HouseholdDetail,
    HouseholdRow, Page, StoredMember, CURRENT, ROW_COLUMNS, ROW_JOINS,
};
use crate::backend::{sql, Backend, Run};
use crate::rows::{count, Get};
use crate::scope::ScopeSql;
use crate::{Result, Scope};
use fupin_domain::household::Entry;
use fupin_domain::values::{
    Health, HouseholdType, HousingGrade, Labor, MainCause, PovertyStatus, Relocation, Renovation,
    Schooling, Sex,
};
use fupin_domain::{Assessment, Fen, HouseholdValues, IdNumber, Member};
use sqlx::Pool;

fn entry<T>(r: &impl Get, column: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Entry<T>> {
    Ok(match r.opt_text(column)? {
        None => Entry::Empty,
        Some(s) => parse(&s).map_or(Entry::Invalid, Entry::Value),
    })
}

fn money(r: &impl Get, column: &str) -> Result<Entry<Fen>> {
    Ok(r.opt_int(column)?
        .map_or(Entry::Empty, |v| Entry::Value(Fen::new(v))))
}

fn flag(r: &impl Get, column: &str) -> Result<Entry<bool>> {
    Ok(r.opt_bool(column)?.map_or(Entry::Empty, Entry::Value))
}

pub(crate) fn household_values(r: &impl Get) -> Result<HouseholdValues> {
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

pub(crate) fn stored_member(r: &impl Get) -> Result<StoredMember> {
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

fn history_entry(r: &impl Get) -> Result<HistoryEntry> {
    Ok(HistoryEntry {
        version: r.id("version_id")?,
        imported_at: r.time("imported_at")?,
        file_name: r.text("file_name")?,
        year: r.int("year")? as i32,
        line: Fen::new(r.int("line_fen")?),
        township: r.text("township")?,
        village: r.text("village")?,
        status: status(r)?,
        verdict: verdict(r)?,
        per_capita: r.opt_int("per_capita")?.map(Fen::new),
        failed: failed(r)?,
    })
}

/// [`crate::Store::households`]: the households of the village named by its township and
/// its name.
pub(super) async fn list<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    (township, village): (&str, &str),
    after: Option<&str>,
    limit: u32,
) -> Result<Page<HouseholdRow, String>> {
    let limit = clamp_limit(limit);
    let (filter, binds) = scope.sql("a", 5);
    let text = format!(
        "SELECT {ROW_COLUMNS} FROM {ROW_JOINS} \
         WHERE h.version_id = {CURRENT} AND a.township = $1 AND a.village = $2 \
         AND h.household_no > $3{filter} ORDER BY h.household_no LIMIT $4"
    );
    let mut q = sql(text)
        .bind(township)
        .bind(village)
        .bind(after.unwrap_or(""))
        .bind(limit + 1);
    for b in binds {
        q.push(b);
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    let items = rows.iter().map(household_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::of(items, limit, |h| h.household_no.clone()))
}

/// [`crate::Store::household`]: three statements on one pooled connection.
pub(super) async fn detail<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    household_no: &str,
) -> Result<Option<HouseholdDetail>> {
    detail_on(&mut *pool.acquire().await?, scope, household_no).await
}

/// One household of the current version on the caller's connection (a change reads it
/// in its write transaction).
pub(crate) async fn detail_on(
    conn: &mut impl Run,
    scope: &Scope,
    household_no: &str,
) -> Result<Option<HouseholdDetail>> {
    let (filter, binds) = scope.sql("a", 2);
    // Every version holding the 户编号 (one probe of `households_by_no` per version),
    // in scope in that version; the current one's row carries the detail.
    let text = format!(
        "SELECT {ROW_COLUMNS}, h.version_id, h.seq, h.area_seq, h.first_line, h.household_type, \
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
    let members_sql = "SELECT line, name, relation, id_number, birth, is_head, sex, schooling, \
                       health, labor, medical_insurance, active_military FROM members \
                       WHERE version_id = $1 AND household_seq = $2 ORDER BY seq";
    let problems_sql = "SELECT seq, line, column_name, code, message, value, household_no \
                        FROM problems WHERE version_id = $1 AND household_seq = $2 \
                        ORDER BY seq";
    let mut q = sql(text).bind(household_no);
    for b in binds {
        q.push(b);
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
    let history = rows.iter().map(history_entry).collect::<Result<Vec<_>>>()?;
    let row = household_row(r)?;
    let (version, seq): (crate::VersionId, i64) = (r.id("version_id")?, r.int("seq")?);
    let assessment = Assessment {
        verdict: row.verdict,
        per_capita: row.per_capita,
        failed: row.failed,
        explanation: r.text("explanation")?,
    };
    let members = sql(members_sql)
        .bind(version)
        .bind(seq)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(stored_member)
        .collect::<Result<Vec<_>>>()?;
    let problems = if r.bool("has_problems")? {
        sql(problems_sql)
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
    Ok(Some(HouseholdDetail {
        version,
        seq,
        area_seq: r.int("area_seq")?,
        first_line: count(r, "first_line")?,
        values: household_values(r)?,
        row,
        members,
        assessment,
        problems,
        history,
    }))
}
