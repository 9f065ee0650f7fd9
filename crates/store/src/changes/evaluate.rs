//! A change evaluated: the household's rows written in the import format with the changed
//! cells, read back by the importer (`fupin_io::register_file`), and judged by the
//! engine's `assess_household`, so that a change is checked and assessed exactly as an
//! import of the same rows would be.

use crate::register::HouseholdDetail;
use fupin_domain::access::Refusal;
use fupin_domain::change::CellChange;
use fupin_domain::fields::Field;
use fupin_domain::id_number::age_reference_day;
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_domain::{assess_household, Assessment, Fen, Household};
use fupin_io::register_file;

/// The file name problems of a change carry.
pub(super) const CHANGE_FILE: &str = "变更申请";

/// Problems the rows of one household cannot show again, kept from the import: an ID
/// number used in another household (E107) and a village missing from the villages
/// file (E110). (Rows that disagree, E109, are written as they were and found again,
/// unless the change sets that field, which then has one value on every row.)
fn kept(code: ProblemCode) -> bool {
    matches!(code, ProblemCode::E107 | ProblemCode::E110)
}

/// A household after a change: its rows, values, problems and assessment.
pub(super) struct Evaluated {
    pub household: Household,
    pub assessment: Assessment,
    /// Every problem of its rows after the change, at the register's lines.
    pub problems: Vec<Problem>,
    /// The cells' values before the change, in the request's order.
    pub old: Vec<String>,
    /// The cells' values as read back (trimmed), in the request's order.
    pub new: Vec<String>,
}

/// The row index of a cell's member (every row for a household field).
fn rows_of(d: &HouseholdDetail, c: &CellChange) -> Result<Vec<usize>, Refusal> {
    match c.member {
        None => Ok((0..d.members.len()).collect()),
        Some(line) => d
            .members
            .iter()
            .position(|m| m.member.line == line)
            .map(|i| vec![i])
            .ok_or_else(|| {
                Refusal::Invalid(format!(
                    "该户没有第{line}行的成员：请在户的页面重新选择成员"
                ))
            }),
    }
}

/// Evaluate `cells` on household `d` of a version of year `year` with poverty line `line`.
/// A changed cell the importer refuses (an error-level problem on it) refuses the change
/// with the problem's words, code and value.
pub(super) fn evaluate(
    d: &HouseholdDetail,
    year: i32,
    line: Fen,
    cells: &[CellChange],
) -> Result<Evaluated, Refusal> {
    let mut rows = d.rows();
    let mut old = Vec::with_capacity(cells.len());
    let mut changed: Vec<(usize, Field)> = Vec::new();
    for c in cells {
        let at = rows_of(d, c)?;
        old.push(rows[at[0]][c.field.index()].clone());
        for i in at {
            rows[i][c.field.index()] = c.value.trim().to_string();
            changed.push((i, c.field));
        }
    }
    let read = register_file::read_rows(CHANGE_FILE, &rows, year)
        .map_err(|e| Refusal::Invalid(e.to_string()))?;
    let [mut household] = <[Household; 1]>::try_from(read.households).map_err(|_| {
        Refusal::Invalid(
            "变更后的各行不再是同一户：户编号、乡镇和行政村不能通过变更申请修改".into(),
        )
    })?;
    // Rows are at lines 2, 3, … of the rows read back; the register's are the members'.
    let line_of = |read_line: u64| {
        usize::try_from(read_line.saturating_sub(2))
            .ok()
            .and_then(|i| d.members.get(i))
            .map_or(read_line, |m| m.member.line)
    };
    if let Some(p) = read.problems.iter().find(|p| {
        p.code.is_error()
            && changed
                .iter()
                .any(|&(i, f)| i as u64 + 2 == p.line && f.chinese() == p.column)
    }) {
        // Where it is: the member's row of the register (a household field stands on
        // every row; its first is named).
        let row = usize::try_from(p.line.saturating_sub(2))
            .ok()
            .and_then(|i| d.members.get(i));
        let whose = match row {
            Some(m) => format!(
                "第{}行（{}）",
                m.member.line,
                m.name.as_deref().unwrap_or("成员")
            ),
            None => String::new(),
        };
        return Err(Refusal::Invalid(format!(
            "{whose}「{}」{} {}：{}（填写的值：「{}」）",
            p.column,
            p.code.as_str(),
            p.code.title(),
            p.message,
            p.value
        )));
    }
    let mut problems: Vec<Problem> = read
        .problems
        .into_iter()
        .map(|mut p| {
            p.line = line_of(p.line);
            p
        })
        .collect();
    for p in &d.problems {
        if kept(p.code) {
            problems.push(Problem {
                file: std::sync::Arc::clone(&read.file),
                line: p.line,
                column: column_name(&p.column),
                code: p.code,
                message: p.message.clone(),
                value: p.value.clone(),
            });
        }
    }
    problems.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    for (m, stored) in household.members.iter_mut().zip(&d.members) {
        m.line = stored.member.line;
    }
    household.first_line = d.first_line;
    household.errors = problems
        .iter()
        .filter(|p| p.code.is_error())
        .map(|p| (p.line, p.code))
        .collect();
    let assessment = assess_household(&household, line, age_reference_day(year));
    let new = cells.iter().map(|c| c.value.trim().to_string()).collect();
    Ok(Evaluated {
        household,
        assessment,
        problems,
        old,
        new,
    })
}

/// A problem's column as `Problem::new` takes it: the field's static name when it is one.
fn column_name(column: &str) -> &'static str {
    Field::ALL
        .iter()
        .map(|f| f.chinese())
        .find(|c| *c == column)
        .unwrap_or("")
}
