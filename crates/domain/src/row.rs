//! Reading one row of the members file into typed values, with its problems
//! (registry spec §1.1, §4: E102–E106, W201, W203).

use crate::fields::{first_hidden, trim_cell, Field};
use crate::household::{Entry, HouseholdValues, Member};
use crate::id_number::{age_on, age_reference_day, IdNumber};
use crate::money::Fen;
use crate::problem::{Problem, ProblemCode};
use crate::values::{
    parse_bool, Health, HouseholdType, HousingGrade, Labor, MainCause, PovertyStatus, Relocation,
    Renovation, Schooling, Sex, BOOL_ALLOWED, SCHOOLING_ALLOWED,
};
use chrono::NaiveDate;
use std::sync::Arc;

/// What every row of one run shares.
#[derive(Clone, Debug)]
pub struct RowContext {
    pub file: Arc<str>,
    /// The assessment year Y.
    pub year: i32,
    /// 1 September of Y: the day ages are counted on.
    pub age_day: NaiveDate,
    /// 31 December of Y: no one may be born after it (E106).
    pub last_birth_day: NaiveDate,
}

impl RowContext {
    pub fn new(file: impl Into<Arc<str>>, year: i32) -> RowContext {
        RowContext {
            file: file.into(),
            year,
            age_day: age_reference_day(year),
            last_birth_day: NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX),
        }
    }
}

/// One row, read: the member, the household-level values it carries, and the three texts
/// that place it (trimmed). `error` is set when any error-level problem was found.
#[derive(Debug, Clone, Copy)]
pub struct MemberRow<'a> {
    pub household_id: &'a str,
    pub township: &'a str,
    pub village: &'a str,
    pub member: Member,
    pub values: HouseholdValues,
    pub error: bool,
}

struct Reader<'c, 'p, G> {
    get: G,
    ctx: &'c RowContext,
    line: u64,
    problems: &'p mut Vec<Problem>,
    error: bool,
}

impl<'a, G: Fn(Field) -> Option<&'a str>> Reader<'_, '_, G> {
    fn raw(&self, f: Field) -> &'a str {
        (self.get)(f).map_or("", trim_cell)
    }

    fn problem(&mut self, f: Field, code: ProblemCode, message: String, value: &str) {
        if code.is_error() {
            self.error = true;
        }
        self.problems.push(Problem::new(
            &self.ctx.file,
            self.line,
            f.chinese(),
            code,
            message,
            value,
        ));
    }

    /// A required text: E102 when empty.
    fn text(&mut self, f: Field) -> &'a str {
        let t = self.raw(f);
        if t.is_empty() && f.required() {
            self.problem(
                f,
                ProblemCode::E102,
                format!("「{}」不能为空", f.chinese()),
                "",
            );
        }
        t
    }

    /// A value from an allowed set: E102 when required and empty, E103 when not allowed.
    fn choice<T>(
        &mut self,
        f: Field,
        parse: impl Fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Entry<T> {
        let t = self.raw(f);
        if t.is_empty() {
            if f.required() {
                self.problem(
                    f,
                    ProblemCode::E102,
                    format!("「{}」不能为空，可填：{}", f.chinese(), allowed.trim()),
                    "",
                );
                return Entry::Invalid;
            }
            return Entry::Empty;
        }
        match parse(t) {
            Some(v) => Entry::Value(v),
            None => {
                self.problem(
                    f,
                    ProblemCode::E103,
                    format!(
                        "「{}」的值「{}」不在允许范围内，可填：{}",
                        f.chinese(),
                        clip(t),
                        allowed.trim()
                    ),
                    t,
                );
                Entry::Invalid
            }
        }
    }

    fn boolean(&mut self, f: Field) -> Entry<bool> {
        self.choice(f, parse_bool, BOOL_ALLOWED)
    }

    /// An amount in yuan: an empty cell is 0; E104 when not an amount.
    fn amount(&mut self, f: Field) -> Entry<Fen> {
        let t = self.raw(f);
        if t.is_empty() {
            return Entry::Value(Fen::ZERO);
        }
        match Fen::parse_yuan(t) {
            Ok(v) => Entry::Value(v),
            Err(e) => {
                self.problem(
                    f,
                    ProblemCode::E104,
                    format!("「{}」的值「{}」不是有效金额：{e}；应为不小于0、最多两位小数的元数，可用千分位逗号，如 12,345.60", f.chinese(), clip(t)),
                    t,
                );
                Entry::Invalid
            }
        }
    }
}

/// A value as messages quote it (cut to a prefix and its length when long).
fn clip(t: &str) -> String {
    crate::problem::echo(t)
}

/// Read one member row. `get` returns the cell of a field, or None when the file has no
/// such column. Problems are appended to `problems`.
///
/// `id_stored_as_number` is set for an XLSX cell that holds the ID number as a number:
/// Excel keeps 15 significant digits, so the number has lost digits (E105).
pub fn read_member_row<'a>(
    get: impl Fn(Field) -> Option<&'a str>,
    line: u64,
    ctx: &RowContext,
    id_stored_as_number: bool,
    problems: &mut Vec<Problem>,
) -> MemberRow<'a> {
    let mut r = Reader {
        get,
        ctx,
        line,
        problems,
        error: false,
    };
    let household_id = r.text(Field::HouseholdId);
    let township = r.text(Field::Township);
    let village = r.text(Field::Village);
    let name = r.text(Field::Name);
    if let Some((c, kind)) = first_hidden(name) {
        r.problem(
            Field::Name,
            ProblemCode::E111,
            format!(
                "姓名中含有{}（U+{:04X}），它看不见或会改变文字的显示顺序，使看起来相同的姓名实际不同；请删去该字符后重新导出",
                kind.chinese(),
                c as u32
            ),
            name,
        );
    }
    let relation = r.text(Field::Relation);

    let (id, birth) = read_id(&mut r, id_stored_as_number);
    let sex = r.choice(Field::Sex, Sex::parse, Sex::ALLOWED).value();
    if let (Some(sex), Some(id)) = (sex, id) {
        // W201: the 17th digit is odd for men.
        if (sex == Sex::Male) != id.is_male() {
            let v = r.raw(Field::Sex);
            r.problem(
                Field::Sex,
                ProblemCode::W201,
                format!(
                    "性别「{}」与证件号码第17位（{}）不符：奇数为男，偶数为女",
                    sex.label(),
                    &id.text().as_str()[16..17]
                ),
                v,
            );
        }
    }
    let schooling = r
        .choice(Field::Schooling, Schooling::parse, SCHOOLING_ALLOWED)
        .value();
    if let (Some(s), Some(b)) = (schooling, birth) {
        let age = age_on(b, ctx.age_day);
        if s.implausible_for_age(age) {
            let v = r.raw(Field::Schooling);
            r.problem(
                Field::Schooling,
                ProblemCode::W203,
                format!(
                    "在校生状况「{}」与年龄（{}年9月1日{}岁）不符",
                    s.label(),
                    ctx.year,
                    age
                ),
                v,
            );
        }
    }
    let health = r
        .choice(Field::Health, Health::parse, Health::ALLOWED)
        .value();
    let labor = r.choice(Field::Labor, Labor::parse, Labor::ALLOWED).value();
    let medical_insurance = r.boolean(Field::MedicalInsurance).value();
    let active_military = r.boolean(Field::ActiveMilitary).value().unwrap_or(false);

    let values = HouseholdValues {
        status: r.choice(
            Field::PovertyStatus,
            PovertyStatus::parse,
            PovertyStatus::ALLOWED,
        ),
        household_type: r.choice(
            Field::HouseholdType,
            HouseholdType::parse,
            HouseholdType::ALLOWED,
        ),
        main_cause: r.choice(Field::MainCause, MainCause::parse, MainCause::ALLOWED),
        wage_income: r.amount(Field::WageIncome),
        operating_income: r.amount(Field::OperatingIncome),
        operating_expense: r.amount(Field::OperatingExpense),
        property_income: r.amount(Field::PropertyIncome),
        transfer_income: r.amount(Field::TransferIncome),
        per_capita_declared: match r.raw(Field::PerCapitaIncome) {
            "" => Entry::Empty,
            _ => r.amount(Field::PerCapitaIncome),
        },
        food_secure: r.boolean(Field::FoodSecure),
        clothing_secure: r.boolean(Field::ClothingSecure),
        housing_grade: r.choice(
            Field::HousingGrade,
            HousingGrade::parse_any_case,
            HousingGrade::ALLOWED,
        ),
        renovation: default_to(
            r.choice(Field::Renovation, Renovation::parse, Renovation::ALLOWED),
            Renovation::None,
        ),
        relocation: default_to(
            r.choice(Field::Relocation, Relocation::parse, Relocation::ALLOWED),
            Relocation::No,
        ),
        safe_water: r.boolean(Field::SafeWater),
    };
    MemberRow {
        household_id,
        township,
        village,
        member: Member {
            line,
            id,
            birth,
            is_head: relation == "户主",
            sex,
            schooling,
            medical_insurance,
            active_military,
            labor,
            health,
        },
        values,
        error: r.error,
    }
}

fn default_to<T>(e: Entry<T>, default: T) -> Entry<T> {
    match e {
        Entry::Empty => Entry::Value(default),
        other => other,
    }
}

/// E105/E106: the ID number and the birth date in it.
fn read_id<'a, G: Fn(Field) -> Option<&'a str>>(
    r: &mut Reader<'_, '_, G>,
    stored_as_number: bool,
) -> (Option<IdNumber>, Option<NaiveDate>) {
    let t = r.text(Field::IdNumber);
    if t.is_empty() {
        return (None, None);
    }
    if stored_as_number {
        r.problem(
            Field::IdNumber,
            ProblemCode::E105,
            "证件号码以数值格式存储，Excel 只保留15位有效数字，号码已失真；请把该列设为文本格式，重新录入号码".into(),
            t,
        );
        return (None, None);
    }
    let id = match IdNumber::parse(t) {
        Ok(id) => id,
        Err(e) => {
            r.problem(
                Field::IdNumber,
                ProblemCode::E105,
                format!(
                    "{e}；应为18位居民身份证号码（GB 11643-1999），末位按 ISO 7064 MOD 11-2 校验"
                ),
                t,
            );
            return (None, None);
        }
    };
    match id.birth_date() {
        None => {
            let msg = format!("证件号码中的出生日期「{}」不是有效日期", id.birth_digits());
            r.problem(Field::IdNumber, ProblemCode::E106, msg, t);
            (Some(id), None)
        }
        Some(b) if b > r.ctx.last_birth_day => {
            let msg = format!(
                "证件号码中的出生日期 {b} 晚于评估年度 {} 年12月31日",
                r.ctx.year
            );
            r.problem(Field::IdNumber, ProblemCode::E106, msg, t);
            (Some(id), None)
        }
        Some(b) => (Some(id), Some(b)),
    }
}
