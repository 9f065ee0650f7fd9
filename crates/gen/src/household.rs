//! One registered household: its members and its household-level fields, drawn so that
//! the verdicts of the spec's §2 come out as a real county's would — mostly stable exits,
//! some households ready to exit, some not, and a couple of percent wrongly exited.
//!
//! The verdict is steered, not left to chance per field: whether the household has exited
//! is drawn first, and the failure rates of the seven criteria depend on it (exited
//! households rarely fail one; about half of the others fail at least one).

use crate::date::days_from_civil;
use crate::ids::{put_digits, IdAllocator};
use crate::inject::Overrides;
use crate::layout::Village;
use crate::people::{self, school, MemberRates, Person};
use crate::rng::{Purpose, Rng};
use fupin_domain::values::{
    Health, HouseholdType, HousingGrade, MainCause, PovertyStatus, Relocation, Renovation,
};
use fupin_domain::Fen;

/// What every household of one run shares.
pub struct Context {
    pub seed: u64,
    pub year: i32,
    /// The poverty line of the year in fen per person.
    pub line: i64,
}

/// A household, ready to be written. Reused from one household to the next.
#[derive(Clone)]
pub struct Household {
    /// 1-based number of the household in the register (also in member names).
    pub number: u64,
    /// 户编号: area code, township, village and a 4-digit sequence.
    pub code: [u8; 16],
    pub size: usize,
    pub members: [Person; 7],
    pub status: PovertyStatus,
    pub kind: HouseholdType,
    pub cause: MainCause,
    /// Amounts in fen.
    pub wage: i64,
    pub operating_income: i64,
    pub operating_expense: i64,
    pub property: i64,
    pub transfer: i64,
    /// The correct per-capita net income in fen, rounded half away from zero.
    pub per_capita: i64,
    pub food: bool,
    pub clothing: bool,
    pub grade: HousingGrade,
    pub renovation: Renovation,
    pub relocation: Relocation,
    pub water: bool,
    /// Cells written differently from the values above (injected problems).
    pub overrides: Overrides,
}

impl Default for Household {
    fn default() -> Household {
        Household {
            number: 0,
            code: [b'0'; 16],
            size: 0,
            members: [Person::EMPTY; 7],
            status: PovertyStatus::Exited,
            kind: HouseholdType::General,
            cause: MainCause::Other,
            wage: 0,
            operating_income: 0,
            operating_expense: 0,
            property: 0,
            transfer: 0,
            per_capita: 0,
            food: true,
            clothing: true,
            grade: HousingGrade::A,
            renovation: Renovation::None,
            relocation: Relocation::No,
            water: true,
            overrides: Overrides::default(),
        }
    }
}

impl Household {
    pub fn members(&self) -> &[Person] {
        &self.members[..self.size]
    }

    /// Net income in fen: wage + operating income − expense + property + transfer.
    pub fn net_income(&self) -> i64 {
        self.wage + self.operating_income - self.operating_expense + self.property + self.transfer
    }
}

/// Failure rates (per 10,000) of the criteria, by whether the household has exited.
struct Rates {
    income: u32,
    food: u32,
    clothing: u32,
    water: u32,
    /// A C/D house neither renovated nor left.
    housing: u32,
    members: MemberRates,
}

const EXITED: Rates = Rates {
    income: 100,
    food: 20,
    clothing: 20,
    water: 40,
    housing: 200,
    members: MemberRates {
        out_of_school: 40,
        uninsured: 15,
    },
};

const NOT_EXITED: Rates = Rates {
    income: 3000,
    food: 200,
    clothing: 150,
    water: 500,
    housing: 3000,
    members: MemberRates {
        out_of_school: 400,
        uninsured: 150,
    },
};

/// Draw household `number` (1-based) of `village`, `seq` (1-based) within the village.
pub fn generate(
    h: &mut Household,
    ctx: &Context,
    village: &Village,
    seq: u32,
    number: u64,
    ids: &mut IdAllocator,
) {
    let mut rng = Rng::stream(ctx.seed, Purpose::Household, number - 1);
    h.number = number;
    put_digits(&mut h.code[0..6], village.county_code);
    put_digits(&mut h.code[6..9], village.township_no);
    put_digits(&mut h.code[9..12], village.village_no);
    put_digits(&mut h.code[12..16], seq);
    h.overrides.clear();

    h.size = people::draw_size(&mut rng);
    people::draw_family(&mut rng, h.size, &mut h.members);
    let exited = rng.below(1000) < u64::from(village.traits.exited_share);
    h.status = if exited {
        PovertyStatus::Exited
    } else {
        PovertyStatus::NotExited
    };
    let rates = if exited { &EXITED } else { &NOT_EXITED };

    for p in &mut h.members[..h.size] {
        people::draw_attributes(&mut rng, p, rates.members);
        // Born in the year up to 1 September that makes the age right.
        let latest = days_from_civil(ctx.year - i32::from(p.age), 9, 1);
        p.birth = latest - rng.below(365) as i64;
        p.id = ids.allocate(&mut p.birth, p.male);
    }

    h.kind = draw_kind(&mut rng, h);
    h.cause = draw_cause(&mut rng, h);
    let income_fails = rng.chance(rates.income);
    draw_income(&mut rng, h, ctx, income_fails);
    draw_housing(&mut rng, h, rates.housing);
    h.food = !rng.chance(rates.food);
    h.clothing = !rng.chance(rates.clothing);
    h.water = !rng.chance(rates.water);
}

fn draw_kind(rng: &mut Rng, h: &Household) -> HouseholdType {
    let lone_elder = h.size == 1 && h.members[0].age >= 60;
    let w: &[(HouseholdType, u32)] = if lone_elder {
        &[
            (HouseholdType::Tekun, 35),
            (HouseholdType::Dibao, 40),
            (HouseholdType::General, 25),
        ]
    } else {
        &[
            (HouseholdType::Tekun, 2),
            (HouseholdType::Dibao, 24),
            (HouseholdType::General, 74),
        ]
    };
    rng.pick(w)
}

fn can_work(h: &Household) -> bool {
    h.members().iter().any(|p| p.labor.can_work())
}

fn draw_cause(rng: &mut Rng, h: &Household) -> MainCause {
    let m = h.members();
    let ill = m
        .iter()
        .any(|p| matches!(p.health, Health::Chronic | Health::SeriousIllness));
    let disabled = m.iter().any(|p| p.health == Health::Disabled);
    let costly_school = m.iter().any(|p| {
        p.schooling == school::COLLEGE
            || school::HIGH.contains(&p.schooling)
            || school::VOCATIONAL.contains(&p.schooling)
            || school::HIGHER_VOCATIONAL.contains(&p.schooling)
    });
    if ill && rng.chance(5500) {
        return MainCause::Illness;
    }
    if disabled && rng.chance(5000) {
        return MainCause::Disability;
    }
    if costly_school && rng.chance(3500) {
        return MainCause::Schooling;
    }
    if !can_work(h) && rng.chance(5000) {
        return MainCause::NoLabor;
    }
    rng.pick(&[
        (MainCause::Illness, 25),
        (MainCause::Disability, 6),
        (MainCause::Schooling, 6),
        (MainCause::Disaster, 3),
        (MainCause::NoLand, 3),
        (MainCause::NoWater, 2),
        (MainCause::NoSkills, 18),
        (MainCause::NoLabor, 6),
        (MainCause::NoCapital, 14),
        (MainCause::Transport, 3),
        (MainCause::NoDrive, 7),
        (MainCause::Marriage, 1),
        (MainCause::Funeral, 1),
        (MainCause::Other, 3),
    ])
}

/// Incomes: first the net income per person (around the line), then its parts.
///
/// Failing households have 55–100 % of the line per person (a few exactly on it, which
/// fails: the line must be exceeded). The others have 1.01× the line and up, most between
/// 1.3× and 3×, with a long tail; households without labour and those not yet exited
/// have less. Only integer arithmetic, so the bytes never depend on floating point.
fn draw_income(rng: &mut Rng, h: &mut Household, ctx: &Context, fail: bool) {
    let n = h.size as i64;
    let line = ctx.line;
    let capable = can_work(h);
    let net = if fail {
        if rng.chance(500) {
            line * n
        } else {
            let pc = (line * rng.range(550, 999) / 1000 + rng.range(0, 99)).min(line - 1);
            pc * n + rng.range(0, n - 1)
        }
    } else {
        let t = rng.range(0, 1000) + rng.range(0, 1000) + rng.range(0, 1000);
        let mut spread = if capable { 4000 } else { 1500 };
        if h.status == PovertyStatus::NotExited {
            spread = spread * 6 / 10;
        }
        let per_mille = 1010 + spread * t * t / 9_000_000;
        let pc = line * per_mille / 1000 + rng.range(0, 99);
        pc * n + rng.range(0, n - 1)
    };

    // Transfers: 低保 / 特困供养 allowances, basic pensions from 60, small subsidies
    // (eco-compensation, farmland support). Yuan, then fen.
    let mut transfer = match h.kind {
        HouseholdType::Dibao => n * rng.range(1200, 3600),
        HouseholdType::Tekun => n * rng.range(4000, 6000),
        HouseholdType::General => 0,
    };
    for p in h.members() {
        if p.age >= 60 {
            transfer += rng.range(900, 1500);
        }
    }
    if rng.chance(6000) {
        transfer += rng.range(100, 900);
    }
    // Property: asset-income dividends (e.g. PV station shares), sometimes rent.
    let mut property = 0;
    if rng.chance(4000) {
        property += rng.range(300, 1500);
    }
    if rng.chance(500) {
        property += rng.range(500, 3000);
    }
    // Farming and small business: expenses mostly 15–60 % of the takings, a few losses.
    let takings = if capable {
        if rng.chance(8000) {
            rng.range(1000, 15_000)
        } else {
            0
        }
    } else if rng.chance(3500) {
        rng.range(300, 3000)
    } else {
        0
    };
    let expense_pct = if rng.chance(200) {
        rng.range(101, 130)
    } else {
        rng.range(15, 60)
    };
    let mut transfer = transfer * 100;
    let mut property = property * 100;
    let mut op_income = takings * 100;
    let mut op_expense = takings * expense_pct; // = takings × pct / 100, in fen
    op_expense -= op_expense % 100;

    let fixed = transfer + property;
    let mut wage;
    if fixed >= net {
        // Entitlements alone reach the target: shrink them to it, nothing else.
        property = if fixed > 0 {
            property * net / fixed / 100 * 100
        } else {
            0
        };
        transfer = net - property;
        op_income = 0;
        op_expense = 0;
        wage = 0;
    } else {
        let rest = net - fixed;
        let operating = op_income - op_expense;
        if operating > rest {
            // Scale farming down to what the target leaves.
            op_expense = op_expense * rest / operating / 100 * 100;
            op_income = op_expense + rest / 100 * 100;
        }
        wage = rest - (op_income - op_expense);
        if !capable && wage > 0 {
            // No one can work: the rest comes as support from relatives (a transfer).
            transfer += wage;
            wage = 0;
        }
    }
    h.wage = wage;
    h.operating_income = op_income;
    h.operating_expense = op_expense;
    h.property = property;
    h.transfer = transfer;
    debug_assert_eq!(h.net_income(), net);
    debug_assert!([wage, op_income, op_expense, property, transfer]
        .iter()
        .all(|&a| a >= 0));
    h.per_capita = Fen::new(net).per_capita(h.size as u32).fen();
}

/// Housing: most A/B; C/D houses mostly made safe by renovation or relocation.
fn draw_housing(rng: &mut Rng, h: &mut Household, unsafe_per_10k: u32) {
    use HousingGrade::*;
    h.grade = rng.pick(&[(A, 40), (B, 42), (C, 12), (D, 6)]);
    (h.renovation, h.relocation) = match h.grade {
        C | D if rng.chance(unsafe_per_10k) => rng.pick(&[
            ((Renovation::Building, Relocation::No), 40),
            ((Renovation::NotStarted, Relocation::No), 25),
            ((Renovation::None, Relocation::NotMovedIn), 35),
        ]),
        C | D => rng.pick(&[
            ((Renovation::Done, Relocation::No), 70),
            ((Renovation::None, Relocation::MovedIn), 30),
        ]),
        B if rng.chance(600) => (Renovation::Done, Relocation::No),
        A if rng.chance(400) => (Renovation::None, Relocation::MovedIn),
        _ => (Renovation::None, Relocation::No),
    };
}
