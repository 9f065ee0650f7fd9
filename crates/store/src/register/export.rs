//! The current register in the import format (registry spec §1.1): what `fupin export`
//! and the register download write, and what the change tests recompute from. Three
//! statements (households, members, the texts of unreadable cells), read in order and
//! zipped, so that the export never asks per household.

use super::households::{household_values, stored_member};
use super::{stored_rows, CURRENT};
use crate::backend::{sql, Backend};
use crate::rows::{count, Get};
use crate::scope::ScopeSql;
use crate::{Result, Scope};
use fupin_domain::fields::Field;
use fupin_domain::ProblemCode;
use fupin_io::register_file::RowCells;
use sqlx::Pool;
use std::collections::HashMap;

/// [`crate::Register::export_rows`].
pub(super) async fn rows<DB: Backend>(pool: &Pool<DB>, scope: &Scope) -> Result<Vec<RowCells>> {
    let (filter, binds) = scope.sql("a", 1);
    let households = format!(
        "SELECT h.seq, h.household_no, a.township, a.village, h.status, h.household_type, \
         h.main_cause, h.wage_income, h.operating_income, h.operating_expense, \
         h.property_income, h.transfer_income, h.per_capita_declared, h.food_secure, \
         h.clothing_secure, h.housing_grade, h.renovation, h.relocation, h.safe_water \
         FROM households h JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
         WHERE h.version_id = {CURRENT}{filter} ORDER BY h.seq"
    );
    let members = format!(
        "SELECT m.household_seq, m.line, m.name, m.relation, m.id_number, m.birth, m.is_head, \
         m.sex, m.schooling, m.health, m.labor, m.medical_insurance, m.active_military \
         FROM members m JOIN households h ON h.version_id = m.version_id \
         AND h.seq = m.household_seq \
         JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
         WHERE m.version_id = {CURRENT}{filter} ORDER BY m.household_seq, m.seq"
    );
    let unreadable = format!(
        "SELECT p.household_seq, p.line, p.column_name, p.code, p.value FROM problems p \
         JOIN households h ON h.version_id = p.version_id AND h.seq = p.household_seq \
         JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
         WHERE p.version_id = {CURRENT} AND p.value <> ''{filter} ORDER BY p.seq"
    );
    let mut conn = pool.acquire().await?;
    let run = |text: String| {
        let mut q = sql(text);
        for b in &binds {
            q.push(*b);
        }
        q
    };
    let hs = run(households).fetch_all(&mut *conn).await?;
    let ms = run(members).fetch_all(&mut *conn).await?;
    let mut texts: HashMap<(u64, String), (String, ProblemCode)> = HashMap::new();
    for r in run(unreadable).fetch_all(&mut *conn).await? {
        let code = r.text("code")?;
        let Some(code) = ProblemCode::of_code(&code) else {
            continue;
        };
        texts
            .entry((count(&r, "line")?, r.text("column_name")?))
            .or_insert((r.text("value")?, code));
    }
    let mut out = Vec::with_capacity(ms.len());
    let mut next = 0;
    for h in &hs {
        let seq = h.int("seq")?;
        let start = next;
        while next < ms.len() && ms[next].int("household_seq")? == seq {
            next += 1;
        }
        let stored = ms[start..next]
            .iter()
            .map(stored_member)
            .collect::<Result<Vec<_>>>()?;
        let (no, township, village) = (
            h.text("household_no")?,
            h.text("township")?,
            h.text("village")?,
        );
        let values = household_values(h)?;
        out.extend(stored_rows(
            (&no, &township, &village),
            &values,
            &stored,
            |line, f: Field| texts.get(&(line, f.chinese().to_string())).cloned(),
        ));
    }
    Ok(out)
}
