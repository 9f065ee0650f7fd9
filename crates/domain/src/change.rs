//! Change requests (变更申请) to the register from the field: what a request may change,
//! its states, and the checks on what a cadre wrote before anything is stored. The values
//! themselves are checked by the importer's own rules (see `fupin_io::register_file`).

use crate::access::Refusal;
use crate::fields::Field;
use crate::values::Renovation;
use chrono::NaiveDate;
use std::fmt;
use std::str::FromStr;

/// Household-level fields a visit may change (the five income items, 两不愁, housing,
/// relocation and water). 脱贫属性 is the exit procedure's, 户编号 and the place the
/// national system's.
pub const HOUSEHOLD_FIELDS: [Field; 11] = [
    Field::WageIncome,
    Field::OperatingIncome,
    Field::OperatingExpense,
    Field::PropertyIncome,
    Field::TransferIncome,
    Field::FoodSecure,
    Field::ClothingSecure,
    Field::HousingGrade,
    Field::Renovation,
    Field::Relocation,
    Field::SafeWater,
];

/// A member's fields a visit may change.
pub const MEMBER_FIELDS: [Field; 5] = [
    Field::Schooling,
    Field::Health,
    Field::Labor,
    Field::MedicalInsurance,
    Field::ActiveMilitary,
];

/// The five income items, which the 收入测算 form changes together.
pub const INCOME_FIELDS: [Field; 5] = [
    Field::WageIncome,
    Field::OperatingIncome,
    Field::OperatingExpense,
    Field::PropertyIncome,
    Field::TransferIncome,
];

/// One cell a request changes: a household field (`member` None) or a member's, the
/// member named by the line of its row in the register version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellChange {
    pub member: Option<u64>,
    pub field: Field,
    /// The new value as the import format writes it (是/否, a label, yuan).
    pub value: String,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeState {
    /// 待审核: submitted by village or township staff.
    Submitted,
    /// 已批准: applied to the register.
    Approved,
    /// 已退回: sent back by the reviewer with a reason; nothing changed.
    Returned,
}

impl ChangeState {
    pub const ALL: [ChangeState; 3] = [
        ChangeState::Submitted,
        ChangeState::Approved,
        ChangeState::Returned,
    ];

    pub fn word(self) -> &'static str {
        match self {
            ChangeState::Submitted => "submitted",
            ChangeState::Approved => "approved",
            ChangeState::Returned => "returned",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            ChangeState::Submitted => "待审核",
            ChangeState::Approved => "已批准",
            ChangeState::Returned => "已退回",
        }
    }

    fn allowed() -> String {
        ChangeState::ALL.map(ChangeState::word).join("、")
    }
}

impl fmt::Display for ChangeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chinese())
    }
}

impl FromStr for ChangeState {
    type Err = crate::words::Unrecognized;
    fn from_str(word: &str) -> Result<ChangeState, Self::Err> {
        ChangeState::ALL
            .into_iter()
            .find(|s| s.word() == word || s.chinese() == word)
            .ok_or_else(|| {
                crate::words::Unrecognized::new("变更状态", word, ChangeState::allowed())
            })
    }
}

/// What a cadre writes besides the values: the visit and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    /// 走访日期.
    pub date: NaiveDate,
    /// 变更原因.
    pub reason: String,
    /// 竣工日期 of a renovation reported 已竣工.
    pub done_on: Option<NaiveDate>,
}

/// Policy (issue 14, 变更有据): a change carries the visit date (not after today), a
/// reason, at least one changed cell of a field a visit may change, each cell once, and
/// a renovation reported 已竣工 its completion date (not after today, not after the
/// visit).
pub fn check_request(visit: &Visit, cells: &[CellChange], today: NaiveDate) -> Result<(), Refusal> {
    let invalid = |m: String| Err(Refusal::Invalid(m));
    if visit.reason.trim().is_empty() {
        return invalid("请填写变更原因".into());
    }
    if visit.date > today {
        return invalid(format!("走访日期 {} 晚于今天（{today}）", visit.date));
    }
    if cells.is_empty() {
        return invalid("没有要变更的内容：请至少修改一项".into());
    }
    for (i, c) in cells.iter().enumerate() {
        let allowed: &[Field] = if c.member.is_some() {
            &MEMBER_FIELDS
        } else {
            &HOUSEHOLD_FIELDS
        };
        if !allowed.contains(&c.field) {
            return invalid(format!(
                "「{}」不能通过变更申请修改；可修改：{}",
                c.field.chinese(),
                allowed
                    .iter()
                    .map(|f| f.chinese())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        if cells[..i]
            .iter()
            .any(|o| o.member == c.member && o.field == c.field)
        {
            return invalid(format!("「{}」在申请中出现了两次", c.field.chinese()));
        }
    }
    let finished = cells
        .iter()
        .any(|c| c.field == Field::Renovation && c.value.trim() == Renovation::Done.label());
    match (finished, visit.done_on) {
        (true, None) => invalid("危房改造状态改为「已竣工」时请填写竣工日期".into()),
        (_, Some(d)) if d > today => invalid(format!("竣工日期 {d} 晚于今天（{today}）")),
        (_, Some(d)) if d > visit.date => {
            invalid(format!("竣工日期 {d} 晚于走访日期 {}", visit.date))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn visit(date: &str, reason: &str, done_on: Option<&str>) -> Visit {
        Visit {
            date: day(date),
            reason: reason.into(),
            done_on: done_on.map(day),
        }
    }

    fn cell(member: Option<u64>, field: Field, value: &str) -> CellChange {
        CellChange {
            member,
            field,
            value: value.into(),
        }
    }

    #[test]
    fn a_request_needs_a_reason_a_past_visit_and_changeable_cells() {
        let today = day("2026-12-04");
        let ok = visit("2026-12-01", "入户核实", None);
        let water = [cell(None, Field::SafeWater, "是")];
        assert_eq!(check_request(&ok, &water, today), Ok(()));
        let refused =
            |v: &Visit, c: &[CellChange]| check_request(v, c, today).unwrap_err().into_message();
        assert!(refused(&visit("2026-12-01", " ", None), &water).contains("变更原因"));
        assert!(refused(&visit("2026-12-05", "x", None), &water).contains("晚于今天"));
        assert!(refused(&ok, &[]).contains("至少修改一项"));
        assert!(refused(&ok, &[cell(None, Field::PovertyStatus, "已脱贫")])
            .contains("不能通过变更申请修改"));
        assert!(refused(&ok, &[cell(None, Field::Schooling, "在校生")])
            .contains("不能通过变更申请修改"));
        assert_eq!(
            check_request(&ok, &[cell(Some(4), Field::Schooling, "非在校生")], today),
            Ok(())
        );
        assert!(refused(&ok, &[water[0].clone(), water[0].clone()]).contains("两次"));
    }

    #[test]
    fn a_finished_renovation_needs_its_completion_date() {
        let today = day("2026-12-04");
        let done = [cell(None, Field::Renovation, "已竣工")];
        let refused = |v: &Visit| check_request(v, &done, today).unwrap_err().into_message();
        assert!(refused(&visit("2026-12-01", "竣工验收", None)).contains("竣工日期"));
        assert!(
            refused(&visit("2026-12-01", "竣工验收", Some("2026-12-02"))).contains("晚于走访日期")
        );
        assert_eq!(
            check_request(
                &visit("2026-12-01", "竣工验收", Some("2026-11-20")),
                &done,
                today
            ),
            Ok(())
        );
    }

    #[test]
    fn states_read_their_words() {
        for s in ChangeState::ALL {
            assert_eq!(s.word().parse::<ChangeState>(), Ok(s));
            assert_eq!(s.chinese().parse::<ChangeState>(), Ok(s));
        }
        assert!("done".parse::<ChangeState>().is_err());
    }
}
