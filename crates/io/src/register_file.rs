//! The members file as fupin writes it, in the import format (registry spec §1.1): one
//! row per member, household-level values on every row, in [`Field::ALL`] order. The
//! export of the current register uses it, and so does a change: the household's rows
//! are written with the changed cells and read back by the importer's own code, so a
//! change is checked with the same rules and codes as an import.

use crate::error::FileError;
use crate::members::{read_members_text, ReadOptions};
use crate::merge::Register;
use fupin_domain::fields::Field;
use fupin_domain::household::{Entry, HouseholdValues};
use fupin_domain::problem::ProblemCode;
use fupin_domain::values::bool_label;
use fupin_domain::{Fen, Member};

/// A member as stored, with the texts a row needs besides the typed values.
#[derive(Clone, Debug)]
pub struct MemberRow<'a> {
    pub member: &'a Member,
    pub name: Option<&'a str>,
    pub relation: Option<&'a str>,
}

/// A stored household, for writing its rows.
pub struct HouseholdRows<'a> {
    pub household_no: &'a str,
    pub township: &'a str,
    pub village: &'a str,
    pub values: &'a HouseholdValues,
    pub members: Vec<MemberRow<'a>>,
}

/// One row's cells, in [`Field::ALL`] order.
pub type RowCells = Vec<String>;

/// The household's rows. `as_read(line, field)` gives the text of a cell as the file had
/// it when a problem keeps it (its value and code): a cell the import could not read
/// (stored as empty), or a row's household-level value that differed from the first
/// row's (E109; only the first row's is stored). Either is written as it was, so the
/// rows read back with the same problems.
pub fn rows(
    h: &HouseholdRows<'_>,
    as_read: impl Fn(u64, Field) -> Option<(String, ProblemCode)>,
) -> Vec<RowCells> {
    h.members
        .iter()
        .map(|m| {
            Field::ALL
                .iter()
                .map(|&f| match (as_read(m.member.line, f), cell(h, m, f)) {
                    (Some((text, ProblemCode::E109)), _) | (Some((text, _)), None) => text,
                    (_, Some(stored)) => stored,
                    (None, None) => String::new(),
                })
                .collect()
        })
        .collect()
}

/// A cell's text as the import reads it; None when the stored value is empty.
fn cell(h: &HouseholdRows<'_>, m: &MemberRow<'_>, f: Field) -> Option<String> {
    let v = h.values;
    let mm = m.member;
    let label = |s: &str| Some(s.to_string());
    match f {
        Field::HouseholdId => label(h.household_no),
        Field::Township => label(h.township),
        Field::Village => label(h.village),
        Field::Name => m.name.map(str::to_string),
        Field::IdNumber => mm.id.map(|i| i.text().as_str().to_string()),
        Field::Relation => m.relation.map(str::to_string),
        Field::Sex => mm.sex.map(|s| s.label().to_string()),
        Field::Schooling => mm.schooling.map(fupin_domain::values::Schooling::label),
        Field::Health => mm.health.map(|x| x.label().to_string()),
        Field::Labor => mm.labor.map(|x| x.label().to_string()),
        Field::MedicalInsurance => mm.medical_insurance.map(|b| bool_label(b).to_string()),
        Field::ActiveMilitary => label(bool_label(mm.active_military)),
        Field::PovertyStatus => entry(v.status, |x| x.label().into()),
        Field::HouseholdType => entry(v.household_type, |x| x.label().into()),
        Field::MainCause => entry(v.main_cause, |x| x.label().into()),
        Field::WageIncome => entry(v.wage_income, Fen::plain),
        Field::OperatingIncome => entry(v.operating_income, Fen::plain),
        Field::OperatingExpense => entry(v.operating_expense, Fen::plain),
        Field::PropertyIncome => entry(v.property_income, Fen::plain),
        Field::TransferIncome => entry(v.transfer_income, Fen::plain),
        Field::PerCapitaIncome => entry(v.per_capita_declared, Fen::plain),
        Field::FoodSecure => entry(v.food_secure, |b| bool_label(b).into()),
        Field::ClothingSecure => entry(v.clothing_secure, |b| bool_label(b).into()),
        Field::HousingGrade => entry(v.housing_grade, |x| x.label().into()),
        Field::Renovation => entry(v.renovation, |x| x.label().into()),
        Field::Relocation => entry(v.relocation, |x| x.label().into()),
        Field::SafeWater => entry(v.safe_water, |b| bool_label(b).into()),
    }
}

fn entry<T: Copy>(e: Entry<T>, show: impl Fn(T) -> String) -> Option<String> {
    e.value().map(show)
}

/// The rows as a UTF-8 CSV with the Chinese header (RFC 4180 quoting).
pub fn csv_text(rows: &[RowCells]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let header: Vec<&str> = Field::ALL.iter().map(|f| f.chinese()).collect();
    // Writing to a Vec cannot fail.
    let _ = w.write_record(&header);
    for r in rows {
        let _ = w.write_record(r);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Read rows back as the importer reads a file named `name` for year `year`. The
/// problems' lines are the rows' positions (the first row is line 2).
pub fn read_rows(name: &str, rows: &[RowCells], year: i32) -> Result<Register, FileError> {
    let opts = ReadOptions {
        member_texts: true,
        ..ReadOptions::new(year)
    };
    read_members_text(name, &csv_text(rows), &opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fupin_domain::values::{HousingGrade, PovertyStatus, Schooling};
    use fupin_domain::IdNumber;

    fn member(line: u64, id: &str, head: bool) -> Member {
        Member {
            line,
            id: IdNumber::parse(id).ok(),
            birth: None,
            is_head: head,
            sex: None,
            schooling: Some(Schooling::NotStudent),
            medical_insurance: Some(true),
            active_military: false,
            labor: None,
            health: None,
        }
    }

    /// Rows written from stored values read back to the same values, and an unreadable
    /// cell comes back with the importer's problem.
    #[test]
    fn rows_read_back_as_written() {
        let values = HouseholdValues {
            status: Entry::Value(PovertyStatus::NotExited),
            wage_income: Entry::Value(Fen::new(123_456)),
            food_secure: Entry::Value(true),
            clothing_secure: Entry::Value(true),
            housing_grade: Entry::Value(HousingGrade::B),
            safe_water: Entry::Value(true),
            ..HouseholdValues::default()
        };
        let (a, b) = (
            member(7, "110101195001010011", true),
            member(8, "110101198001010026", false),
        );
        let h = HouseholdRows {
            household_no: "5201000001",
            township: "一乡",
            village: "甲村",
            values: &values,
            members: vec![
                MemberRow {
                    member: &a,
                    name: Some("张甲"),
                    relation: Some("户主"),
                },
                MemberRow {
                    member: &b,
                    name: Some("张乙"),
                    relation: Some("配偶"),
                },
            ],
        };
        let written = rows(&h, |line, f| {
            (line == 8 && f == Field::IdNumber).then(|| ("12345".into(), ProblemCode::E105))
        });
        let r = read_rows("变更申请", &written, 2018).expect("read");
        assert_eq!(r.households.len(), 1);
        let got = &r.households[0];
        assert_eq!(got.values.wage_income, values.wage_income);
        assert_eq!(got.values.housing_grade, values.housing_grade);
        assert_eq!(got.members.len(), 2);
        let codes: Vec<_> = r
            .problems
            .iter()
            .map(|p| (p.line, p.code.as_str(), p.value.as_str()))
            .collect();
        assert!(codes.contains(&(3, "E105", "12345")), "{codes:?}");
    }
}
