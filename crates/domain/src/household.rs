//! A household of the register as read and checked: typed values, its members, and
//! whether any of its rows carries an error.

use crate::fields::Field;
use crate::id_number::IdNumber;
use crate::money::Fen;
use crate::problem::ProblemCode;
use crate::values::{
    HouseholdType, HousingGrade, Labor, MainCause, PovertyStatus, Relocation, Renovation,
    Schooling, Sex,
};
use chrono::NaiveDate;

/// A cell as read: empty, a value, or invalid (its problem is already recorded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Entry<T> {
    #[default]
    Empty,
    Value(T),
    Invalid,
}

impl<T: Copy> Entry<T> {
    pub fn value(self) -> Option<T> {
        match self {
            Entry::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Two readings of one household field agree unless both are readable and differ.
    fn agrees(self, other: Entry<T>) -> bool
    where
        T: PartialEq,
    {
        matches!((self, other), (Entry::Invalid, _) | (_, Entry::Invalid)) || self == other
    }
}

/// The household-level fields, as they stand on one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HouseholdValues {
    pub status: Entry<PovertyStatus>,
    pub household_type: Entry<HouseholdType>,
    pub main_cause: Entry<MainCause>,
    pub wage_income: Entry<Fen>,
    pub operating_income: Entry<Fen>,
    pub operating_expense: Entry<Fen>,
    pub property_income: Entry<Fen>,
    pub transfer_income: Entry<Fen>,
    pub per_capita_declared: Entry<Fen>,
    pub food_secure: Entry<bool>,
    pub clothing_secure: Entry<bool>,
    pub housing_grade: Entry<HousingGrade>,
    pub renovation: Entry<Renovation>,
    pub relocation: Entry<Relocation>,
    pub safe_water: Entry<bool>,
}

impl HouseholdValues {
    /// The fields (other than 户编号, 乡镇 and 行政村) in which two rows disagree (E109).
    pub fn differences(&self, other: &HouseholdValues) -> Vec<Field> {
        let mut out = Vec::new();
        let mut check = |same: bool, f: Field| {
            if !same {
                out.push(f);
            }
        };
        check(self.status.agrees(other.status), Field::PovertyStatus);
        check(
            self.household_type.agrees(other.household_type),
            Field::HouseholdType,
        );
        check(self.main_cause.agrees(other.main_cause), Field::MainCause);
        check(
            self.wage_income.agrees(other.wage_income),
            Field::WageIncome,
        );
        check(
            self.operating_income.agrees(other.operating_income),
            Field::OperatingIncome,
        );
        check(
            self.operating_expense.agrees(other.operating_expense),
            Field::OperatingExpense,
        );
        check(
            self.property_income.agrees(other.property_income),
            Field::PropertyIncome,
        );
        check(
            self.transfer_income.agrees(other.transfer_income),
            Field::TransferIncome,
        );
        // An empty amount cell is 0 (registry spec §1.1), also for 人均纯收入 when rows are
        // compared; only W202 tells an empty 人均纯收入 (not given) from a written 0.
        let zero_if_empty = |e: Entry<Fen>| match e {
            Entry::Empty => Entry::Value(Fen::ZERO),
            other => other,
        };
        check(
            zero_if_empty(self.per_capita_declared)
                .agrees(zero_if_empty(other.per_capita_declared)),
            Field::PerCapitaIncome,
        );
        check(
            self.food_secure.agrees(other.food_secure),
            Field::FoodSecure,
        );
        check(
            self.clothing_secure.agrees(other.clothing_secure),
            Field::ClothingSecure,
        );
        check(
            self.housing_grade.agrees(other.housing_grade),
            Field::HousingGrade,
        );
        check(self.renovation.agrees(other.renovation), Field::Renovation);
        check(self.relocation.agrees(other.relocation), Field::Relocation);
        check(self.safe_water.agrees(other.safe_water), Field::SafeWater);
        out
    }

    /// The field's value as a label, for messages.
    pub fn label(&self, f: Field) -> String {
        fn show<T: Copy>(e: Entry<T>, f: impl Fn(T) -> String) -> String {
            match e {
                Entry::Empty => "（空）".into(),
                Entry::Invalid => "（无效）".into(),
                Entry::Value(v) => f(v),
            }
        }
        let money = |e: Entry<Fen>| show(e, super::money::Fen::plain);
        let b = |e: Entry<bool>| show(e, |v| crate::values::bool_label(v).into());
        match f {
            Field::PovertyStatus => show(self.status, |v| v.label().into()),
            Field::HouseholdType => show(self.household_type, |v| v.label().into()),
            Field::MainCause => show(self.main_cause, |v| v.label().into()),
            Field::WageIncome => money(self.wage_income),
            Field::OperatingIncome => money(self.operating_income),
            Field::OperatingExpense => money(self.operating_expense),
            Field::PropertyIncome => money(self.property_income),
            Field::TransferIncome => money(self.transfer_income),
            Field::PerCapitaIncome => money(self.per_capita_declared),
            Field::FoodSecure => b(self.food_secure),
            Field::ClothingSecure => b(self.clothing_secure),
            Field::HousingGrade => show(self.housing_grade, |v| v.label().into()),
            Field::Renovation => show(self.renovation, |v| v.label().into()),
            Field::Relocation => show(self.relocation, |v| v.label().into()),
            Field::SafeWater => b(self.safe_water),
            _ => String::new(),
        }
    }

    /// Net household income: wage + operating income − operating expense + property +
    /// transfer. None when a component is unreadable.
    pub fn net_income(&self) -> Option<Fen> {
        let v = |e: Entry<Fen>| match e {
            Entry::Value(f) => Some(f.fen()),
            Entry::Empty => Some(0),
            Entry::Invalid => None,
        };
        Some(Fen::new(
            v(self.wage_income)? + v(self.operating_income)? - v(self.operating_expense)?
                + v(self.property_income)?
                + v(self.transfer_income)?,
        ))
    }
}

/// One registered member, as needed to judge the household.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member's row (1-based line of the file; sheet row for XLSX).
    pub line: u64,
    pub id: Option<IdNumber>,
    /// Birth date from the ID number, when it is a real date not after 31 December of Y.
    pub birth: Option<NaiveDate>,
    pub is_head: bool,
    pub sex: Option<Sex>,
    pub schooling: Option<Schooling>,
    pub medical_insurance: Option<bool>,
    pub active_military: bool,
    pub labor: Option<crate::values::Labor>,
    pub health: Option<crate::values::Health>,
}

/// A household: its identity, the values on its first row and all its members.
#[derive(Clone, Debug)]
pub struct Household {
    pub id: Box<str>,
    /// Index of the household's (township, village) in the caller's table of villages.
    pub area: u32,
    /// Line of the household's first row.
    pub first_line: u64,
    /// Household-level values from the first row.
    pub values: HouseholdValues,
    pub members: Vec<Member>,
    /// Error-level problems on its rows: (line, code). Non-empty makes it `data_error`.
    pub errors: Vec<(u64, ProblemCode)>,
}

impl Household {
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Whether some member can work (普通, 技能 or 弱劳动力); routes income gaps.
    pub fn has_labor(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.labor.is_some_and(Labor::can_work))
    }

    pub fn status(&self) -> Option<PovertyStatus> {
        self.values.status.value()
    }
}
