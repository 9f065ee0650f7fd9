//! Writing an evaluated change into the current version, in the caller's transaction:
//! the changed columns, the household's problems and assessment, the summaries of its
//! village, township and county moved by its difference, and its gaps refreshed. Nothing
//! here reads more than the household, its village and its gaps.

use super::evaluate::Evaluated;
use crate::accounts::UserId;
use crate::backend::{sql, Backend, Run};
use crate::register::{HouseholdDetail, VersionId};
use crate::rows::{tally_values, TALLY_COLUMNS};
use crate::work::derive::Only;
use crate::work::refresh::{refresh_in, Household as Refreshed};
use crate::work::NewAttachment;
use crate::{Result, Store};
use fupin_domain::change::CellChange;
use fupin_domain::fields::Field;
use fupin_domain::figures::Tally;
use fupin_domain::household::Entry;
use fupin_domain::values::PovertyStatus;
use fupin_domain::Fen;

/// A column's new value, typed as the table stores it.
enum Value {
    Money(Option<i64>),
    Flag(Option<bool>),
    Label(Option<String>),
}

fn money(e: Entry<Fen>) -> Value {
    Value::Money(e.value().map(Fen::fen))
}

fn flag(e: Entry<bool>) -> Value {
    Value::Flag(e.value())
}

fn label<T: Copy>(e: Entry<T>, show: impl Fn(T) -> &'static str) -> Value {
    Value::Label(e.value().map(|v| show(v).to_string()))
}

/// The stored value of a household-level field after the change.
fn household_value(e: &Evaluated, f: Field) -> Option<Value> {
    let v = &e.household.values;
    Some(match f {
        Field::WageIncome => money(v.wage_income),
        Field::OperatingIncome => money(v.operating_income),
        Field::OperatingExpense => money(v.operating_expense),
        Field::PropertyIncome => money(v.property_income),
        Field::TransferIncome => money(v.transfer_income),
        Field::FoodSecure => flag(v.food_secure),
        Field::ClothingSecure => flag(v.clothing_secure),
        Field::HousingGrade => label(v.housing_grade, fupin_domain::values::HousingGrade::label),
        Field::Renovation => label(v.renovation, fupin_domain::values::Renovation::label),
        Field::Relocation => label(v.relocation, fupin_domain::values::Relocation::label),
        Field::SafeWater => flag(v.safe_water),
        _ => return None,
    })
}

/// The stored value of a member's field after the change.
fn member_value(e: &Evaluated, line: u64, f: Field) -> Option<Value> {
    let m = e.household.members.iter().find(|m| m.line == line)?;
    Some(match f {
        Field::Schooling => Value::Label(m.schooling.map(fupin_domain::values::Schooling::label)),
        Field::Health => Value::Label(m.health.map(|x| x.label().to_string())),
        Field::Labor => Value::Label(m.labor.map(|x| x.label().to_string())),
        Field::MedicalInsurance => Value::Flag(m.medical_insurance),
        // NOT NULL: an empty cell is 否 as the import reads it.
        Field::ActiveMilitary => Value::Flag(Some(m.active_military)),
        _ => return None,
    })
}

/// Run `text` with the value as $1 and `keys` as $2, $3, ….
async fn set(conn: &mut impl Run, text: &str, value: Value, keys: &[i64]) -> Result<()> {
    let q = sql(text);
    let mut q = match value {
        Value::Money(v) => q.bind(v),
        Value::Flag(v) => q.bind(v),
        Value::Label(v) => q.bind(v),
    };
    for k in keys {
        q = q.bind(*k);
    }
    q.execute(conn).await?;
    Ok(())
}

/// The changed columns. Column names are the fields' aliases, from the fixed lists of
/// changeable fields (`fupin_domain::change`), never from user text.
async fn write_cells(
    conn: &mut impl Run,
    d: &HouseholdDetail,
    e: &Evaluated,
    cells: &[CellChange],
) -> Result<()> {
    for c in cells {
        match c.member {
            None => {
                if let Some(v) = household_value(e, c.field) {
                    let text = format!(
                        "UPDATE households SET {} = $1 WHERE version_id = $2 AND seq = $3",
                        c.field.alias()
                    );
                    set(&mut *conn, &text, v, &[d.version.get(), d.seq]).await?;
                }
            }
            Some(line) => {
                if let Some(v) = member_value(e, line, c.field) {
                    let text = format!(
                        "UPDATE members SET {} = $1 WHERE version_id = $2 \
                         AND household_seq = $3 AND line = $4",
                        c.field.alias()
                    );
                    set(&mut *conn, &text, v, &[d.version.get(), d.seq, line as i64]).await?;
                }
            }
        }
    }
    sql("UPDATE households SET has_errors = $3 WHERE version_id = $1 AND seq = $2")
        .bind(d.version)
        .bind(d.seq)
        .bind(e.household.has_errors())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The household's problems replaced by the evaluated ones (at the end of the version's
/// report order), and the version's problem counts moved by the difference.
async fn write_problems(conn: &mut impl Run, d: &HouseholdDetail, e: &Evaluated) -> Result<()> {
    sql("DELETE FROM problems WHERE version_id = $1 AND household_seq = $2")
        .bind(d.version)
        .bind(d.seq)
        .execute(&mut *conn)
        .await?;
    for p in &e.problems {
        sql(
            "INSERT INTO problems (version_id, seq, line, column_name, code, message, value, \
             household_seq, household_no, township, village) \
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
             FROM problems WHERE version_id = $1",
        )
        .bind(d.version)
        .bind(p.line as i64)
        .bind(p.column)
        .bind(p.code.as_str())
        .bind(p.message.as_str())
        .bind(p.value.as_str())
        .bind(d.seq)
        .bind(d.row.household_no.as_str())
        .bind(d.row.township.as_str())
        .bind(d.row.village.as_str())
        .execute(&mut *conn)
        .await?;
    }
    let count = |errors: bool, codes: &mut dyn Iterator<Item = fupin_domain::ProblemCode>| {
        codes.filter(|c| c.is_error() == errors).count() as i64
    };
    let before = |errors| count(errors, &mut d.problems.iter().map(|p| p.code));
    let after = |errors| count(errors, &mut e.problems.iter().map(|p| p.code));
    sql(
        "UPDATE register_versions SET error_count = error_count + $2, \
         warning_count = warning_count + $3 WHERE id = $1",
    )
    .bind(d.version)
    .bind(after(true) - before(true))
    .bind(after(false) - before(false))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_assessment(conn: &mut impl Run, d: &HouseholdDetail, e: &Evaluated) -> Result<()> {
    let a = &e.assessment;
    let failed: Vec<&str> = a.failed.iter().map(fupin_domain::Criterion::code).collect();
    sql(
        "UPDATE assessments SET verdict = $3, failed = $4, per_capita = $5, explanation = $6 \
         WHERE version_id = $1 AND household_seq = $2",
    )
    .bind(d.version)
    .bind(d.seq)
    .bind(a.verdict.word())
    .bind(failed.join(","))
    .bind(a.per_capita.map(Fen::fen))
    .bind(a.explanation.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One household's tally.
fn tally_of(
    status: Option<PovertyStatus>,
    verdict: fupin_domain::Verdict,
    members: u64,
    failed: fupin_domain::criteria::CriteriaSet,
) -> Tally {
    let mut t = Tally::default();
    t.add(status, verdict, members, failed);
    t
}

/// Village, township and county summaries moved by the household's difference.
async fn move_summaries(conn: &mut impl Run, d: &HouseholdDetail, e: &Evaluated) -> Result<()> {
    let n = d.members.len() as u64;
    let before = tally_values(&tally_of(d.row.status, d.row.verdict, n, d.row.failed));
    let after = tally_values(&tally_of(
        e.household.status(),
        e.assessment.verdict,
        n,
        e.assessment.failed,
    ));
    let moved: Vec<(&str, i64)> = TALLY_COLUMNS
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(c, (b, a))| (*c, *a as i64 - *b as i64))
        .filter(|(_, d)| *d != 0)
        .collect();
    if moved.is_empty() {
        return Ok(());
    }
    // The deltas are $1, $2, …; the version and the area's key follow.
    let sets: Vec<String> = moved
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = {c} + ${}", i + 1))
        .collect();
    let (sets, k) = (sets.join(", "), moved.len() + 1);
    for table in [
        "village_summaries",
        "township_summaries",
        "county_summaries",
    ] {
        let key = match table {
            "village_summaries" => format!(" AND area_seq = ${}", k + 1),
            "township_summaries" => format!(" AND township = ${}", k + 1),
            _ => String::new(),
        };
        let text = format!("UPDATE {table} SET {sets} WHERE version_id = ${k}{key}");
        let mut q = sql(&text);
        for (_, delta) in &moved {
            q = q.bind(*delta);
        }
        q = q.bind(d.version);
        q = match table {
            "village_summaries" => q.bind(d.area_seq),
            "township_summaries" => q.bind(d.row.township.as_str()),
            _ => q,
        };
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Apply an evaluated change to household `d` of the current version, in the caller's
/// write transaction. `change` names the request in the words the items' events carry.
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply<DB: Backend>(
    conn: &mut DB::Connection,
    store: &Store,
    d: &HouseholdDetail,
    e: &Evaluated,
    cells: &[CellChange],
    by: UserId,
    change: String,
    files: &[NewAttachment],
) -> Result<()> {
    write_cells(&mut *conn, d, e, cells).await?;
    write_problems(&mut *conn, d, e).await?;
    write_assessment(&mut *conn, d, e).await?;
    move_summaries(&mut *conn, d, e).await?;
    let only = Only {
        household_seq: d.seq,
        household_no: d.row.household_no.clone(),
        area_seq: d.area_seq,
        township: d.row.township.clone(),
        village: d.row.village.clone(),
    };
    let version: VersionId = d.version;
    let one = Refreshed {
        only: &only,
        change,
        files,
    };
    refresh_in::<DB>(conn, store, version, None, Some(by), None, Some(&one)).await?;
    Ok(())
}
