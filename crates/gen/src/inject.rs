//! Deliberate data problems, so that the checker has something to find: with error rate R,
//! that share of households (chosen by their own random stream) gets exactly one
//! error-level problem of the spec's §4, and half as many get one warning.
//!
//! Most problems are written as overrides — a cell written with other text than the
//! household's values — so the household's true values stay as drawn. A few change the
//! member itself (a corrupted ID number, a second 户主, a person copied from the previous
//! household).

use crate::household::Household;
use crate::people::{school, Person, Relation};
use crate::rng::{Purpose, Rng};
use crate::write::push_amount;
use fupin_domain::fields::Field;
use fupin_domain::id_number::check_character;
use fupin_domain::values::{bool_label, HousingGrade, PovertyStatus, Sex};
use fupin_domain::ProblemCode;

/// A short text held inline, so overrides never allocate.
#[derive(Clone, Copy)]
pub struct SmallText {
    len: u8,
    buf: [u8; 46],
}

impl SmallText {
    pub fn new(s: &str) -> SmallText {
        let mut t = SmallText {
            len: 0,
            buf: [0; 46],
        };
        t.push(s.as_bytes());
        t
    }

    fn push(&mut self, b: &[u8]) {
        let start = usize::from(self.len);
        let end = (start + b.len()).min(self.buf.len());
        self.buf[start..end].copy_from_slice(&b[..end - start]);
        self.len = end as u8;
    }

    fn amount(fen: i64) -> SmallText {
        let mut v = Vec::with_capacity(24);
        push_amount(&mut v, fen);
        let mut t = SmallText::new("");
        t.push(&v);
        t
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

/// A cell written with other text: on one member's row, or on every row of the household.
#[derive(Clone, Copy)]
pub struct Override {
    pub row: Option<usize>,
    pub field: Field,
    pub text: SmallText,
}

/// The overrides of one household; the vector keeps its capacity from household to household.
#[derive(Clone, Default)]
pub struct Overrides(Vec<Override>);

impl Overrides {
    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn set(&mut self, row: Option<usize>, field: Field, text: SmallText) {
        self.0.push(Override { row, field, text });
    }

    /// The text to write instead, if any, for a member's row and field.
    pub fn get(&self, row: usize, field: Field) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|o| o.field == field && o.row.is_none_or(|r| r == row))
            .map(|o| o.text.as_str())
    }
}

/// What was injected into a household.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    Nothing,
    Error(ProblemCode),
    Warning(ProblemCode),
}

/// The head of the previous household as written, for duplicated ID numbers (E107).
#[derive(Clone, Copy)]
pub struct PreviousHead {
    pub person: Person,
    pub number: u64,
}

/// Decide and apply this household's problem, if any.
pub fn inject(
    seed: u64,
    error_rate: f64,
    h: &mut Household,
    previous: Option<&PreviousHead>,
) -> Injected {
    if error_rate <= 0.0 {
        return Injected::Nothing;
    }
    let mut rng = Rng::stream(seed, Purpose::Injection, h.number - 1);
    let u = rng.unit();
    if u < error_rate {
        Injected::Error(inject_error(&mut rng, h, previous))
    } else if u < error_rate * 1.5 {
        Injected::Warning(inject_warning(&mut rng, h))
    } else {
        Injected::Nothing
    }
}

#[derive(Clone, Copy)]
enum Kind {
    WrongCheck,
    ShortId,
    BadBirthDate,
    Empty,
    NotAllowed,
    BadAmount,
    DuplicateId,
    SecondHead,
    Disagreeing,
}

fn inject_error(rng: &mut Rng, h: &mut Household, previous: Option<&PreviousHead>) -> ProblemCode {
    let kind = loop {
        let k = rng.pick(&[
            (Kind::WrongCheck, 12),
            (Kind::ShortId, 8),
            (Kind::BadBirthDate, 8),
            (Kind::Empty, 15),
            (Kind::NotAllowed, 15),
            (Kind::BadAmount, 12),
            (Kind::DuplicateId, 8),
            (Kind::SecondHead, 10),
            (Kind::Disagreeing, 12),
        ]);
        match k {
            Kind::DuplicateId if previous.is_none() => continue,
            Kind::Disagreeing if h.size < 2 => continue,
            _ => break k,
        }
    };
    let m = rng.below(h.size as u64) as usize;
    match kind {
        Kind::WrongCheck => {
            // Any other check character: one digit mistyped or swapped.
            const CHECK: &[u8; 11] = b"10X98765432";
            let id = &mut h.members[m].id;
            let i = CHECK.iter().position(|&c| c == id[17]).unwrap_or(0);
            id[17] = CHECK[(i + 1 + rng.below(10) as usize) % 11];
            ProblemCode::E105
        }
        Kind::ShortId => {
            let id = h.members[m].id;
            let text = std::str::from_utf8(&id[..17]).unwrap_or("");
            h.overrides
                .set(Some(m), Field::IdNumber, SmallText::new(text));
            ProblemCode::E105
        }
        Kind::BadBirthDate => {
            // Month 13–24 (the true month + 12): never a real date, and still unique.
            let id = &mut h.members[m].id;
            let month = u32::from(id[10] - b'0') * 10 + u32::from(id[11] - b'0') + 12;
            id[10] = b'0' + (month / 10) as u8;
            id[11] = b'0' + (month % 10) as u8;
            id[17] = check_character(&id[..17]);
            ProblemCode::E106
        }
        Kind::Empty => {
            let member_fields = [
                Field::Name,
                Field::IdNumber,
                Field::Schooling,
                Field::MedicalInsurance,
            ];
            let household_fields = [
                Field::PovertyStatus,
                Field::HousingGrade,
                Field::FoodSecure,
                Field::SafeWater,
            ];
            let i = rng.below(8) as usize;
            if i < 4 {
                h.overrides
                    .set(Some(m), member_fields[i], SmallText::new(""));
            } else {
                h.overrides
                    .set(None, household_fields[i - 4], SmallText::new(""));
            }
            ProblemCode::E102
        }
        Kind::NotAllowed => {
            // Values seen in real registers: old categories, free text, wrong grade names.
            let (row, field, text) = rng.pick(&[
                ((Some(m), Field::Schooling, "初中"), 3),
                ((Some(m), Field::Health, "良好"), 2),
                ((Some(m), Field::Labor, "强劳动力"), 1),
                ((Some(m), Field::MedicalInsurance, "已参保"), 2),
                ((Some(m), Field::Sex, "未知"), 1),
                ((None, Field::HousingGrade, "E"), 2),
                ((None, Field::PovertyStatus, "返贫"), 2),
                ((None, Field::Renovation, "已改造"), 1),
                ((None, Field::SafeWater, "基本安全"), 1),
                ((None, Field::MainCause, "因病致贫"), 1),
                ((None, Field::HouseholdType, "五保户"), 1),
            ]);
            h.overrides.set(row, field, SmallText::new(text));
            ProblemCode::E103
        }
        Kind::BadAmount => {
            let (field, fen) = rng.pick(&[
                ((Field::WageIncome, h.wage), 3),
                ((Field::OperatingIncome, h.operating_income), 2),
                ((Field::OperatingExpense, h.operating_expense), 1),
                ((Field::PropertyIncome, h.property), 1),
                ((Field::TransferIncome, h.transfer), 2),
            ]);
            let mut t = SmallText::amount(fen);
            match rng.below(4) {
                0 => t.push(b"5"), // three decimals: 12345.605
                1 => {
                    t = if fen > 0 {
                        with_prefix("-", t)
                    } else {
                        SmallText::new("-5")
                    }
                }
                2 => t.push("元".as_bytes()),
                _ => t = SmallText::new("1,23"),
            }
            h.overrides.set(None, field, t);
            ProblemCode::E104
        }
        Kind::DuplicateId => {
            // The previous household's head registered again here (the last member).
            let prev = previous.expect("checked above");
            let m = h.size - 1;
            let relation = h.members[m].relation;
            h.members[m] = prev.person;
            h.members[m].relation = relation;
            let mut name = String::with_capacity(24);
            crate::write::push_name(&mut name, prev.number, 0);
            h.overrides.set(Some(m), Field::Name, SmallText::new(&name));
            ProblemCode::E107
        }
        Kind::SecondHead => {
            if h.size >= 2 {
                let m = 1 + rng.below(h.size as u64 - 1) as usize;
                h.members[m].relation = Relation::Head;
            } else {
                // A lone member recorded as 本人: the household has no 户主.
                h.overrides
                    .set(Some(0), Field::Relation, SmallText::new("本人"));
            }
            ProblemCode::E108
        }
        Kind::Disagreeing => {
            // One later row of the household carries another (valid) value.
            let row = Some(1 + rng.below(h.size as u64 - 1) as usize);
            let (field, text) = match rng.below(5) {
                0 => (Field::SafeWater, SmallText::new(bool_label(!h.water))),
                1 => (Field::FoodSecure, SmallText::new(bool_label(!h.food))),
                2 => {
                    let other = match h.grade {
                        HousingGrade::A => HousingGrade::B,
                        HousingGrade::B => HousingGrade::A,
                        HousingGrade::C => HousingGrade::D,
                        HousingGrade::D => HousingGrade::C,
                    };
                    (Field::HousingGrade, SmallText::new(other.label()))
                }
                3 => {
                    let other = match h.status {
                        PovertyStatus::Exited => PovertyStatus::NotExited,
                        PovertyStatus::NotExited => PovertyStatus::Exited,
                    };
                    (Field::PovertyStatus, SmallText::new(other.label()))
                }
                _ => (
                    Field::WageIncome,
                    SmallText::amount(h.wage + 100 * rng.range(100, 2000)),
                ),
            };
            h.overrides.set(row, field, text);
            ProblemCode::E109
        }
    }
}

fn with_prefix(prefix: &str, t: SmallText) -> SmallText {
    let mut out = SmallText::new(prefix);
    out.push(t.as_str().as_bytes());
    out
}

fn inject_warning(rng: &mut Rng, h: &mut Household) -> ProblemCode {
    match rng.below(3) {
        0 => {
            // W201: the sex column contradicts the ID number.
            let m = rng.below(h.size as u64) as usize;
            let wrong = if h.members[m].male {
                Sex::Female
            } else {
                Sex::Male
            };
            h.overrides
                .set(Some(m), Field::Sex, SmallText::new(wrong.label()));
            ProblemCode::W201
        }
        1 => {
            // W202: the declared per-capita income is off by 1.50–500 yuan, on every row.
            let delta = rng.range(150, 50_000);
            let wrong = if h.per_capita > delta && rng.chance(5000) {
                h.per_capita - delta
            } else {
                h.per_capita + delta
            };
            h.overrides
                .set(None, Field::PerCapitaIncome, SmallText::amount(wrong));
            ProblemCode::W202
        }
        _ => {
            // W203, one that applies, tried from a random start: 学前教育 at 8–17, 大专及以上
            // at 6–14, 小学 for an adult (every household has one).
            let members = &h.members[..h.size];
            let options = [
                ((8..=17u8), school::PRESCHOOL),
                ((6..=14u8), school::COLLEGE),
                ((18..=u8::MAX), "小学"),
            ];
            let start = rng.below(3) as usize;
            for k in 0..3 {
                let (ages, label) = &options[(start + k) % 3];
                if let Some(m) = members.iter().position(|p| ages.contains(&p.age)) {
                    h.overrides
                        .set(Some(m), Field::Schooling, SmallText::new(label));
                    break;
                }
            }
            ProblemCode::W203
        }
    }
}
