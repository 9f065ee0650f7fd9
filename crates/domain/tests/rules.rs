//! Property tests of the register rules: ID numbers (GB 11643-1999), income against the
//! line in fen, ages on the 1 September boundary, amounts.

#[path = "rules/funds.rs"]
mod funds;
#[path = "rules/inspections.rs"]
mod inspections;

use chrono::NaiveDate;
use fupin_domain::assess::{assess_household, Verdict};
use fupin_domain::household::{Entry, HouseholdValues, Member};
use fupin_domain::id_number::{age_on, age_reference_day, check_character, IdNumber};
use fupin_domain::values::{HousingGrade, PovertyStatus, Relocation, Renovation, Schooling};
use fupin_domain::{Criterion, Fen, Household};
use proptest::prelude::*;

fn id_with_check(first17: &str) -> String {
    let c = check_character(first17.as_bytes()) as char;
    format!("{first17}{c}")
}

fn first17() -> impl Strategy<Value = String> {
    (
        100000u32..999999,
        1900i32..2020,
        1u32..=12,
        1u32..=28,
        0u32..1000,
    )
        .prop_map(|(a, y, m, d, s)| format!("{a:06}{y:04}{m:02}{d:02}{s:03}"))
}

proptest! {
    /// GB 11643-1999: a number with its ISO 7064 MOD 11-2 check character always passes.
    #[test]
    fn id_with_valid_check_character_passes(f in first17()) {
        let id = id_with_check(&f);
        let parsed = IdNumber::parse(&id);
        prop_assert!(parsed.is_ok(), "{id}: {parsed:?}");
        prop_assert!(parsed.unwrap().birth_date().is_some());
    }

    /// Any single changed character fails: MOD 11-2 detects every single-digit error.
    #[test]
    fn id_with_one_changed_character_fails(f in first17(), pos in 0usize..18, with in prop::sample::select(b"0123456789X".to_vec())) {
        let id = id_with_check(&f);
        let mut bytes = id.clone().into_bytes();
        prop_assume!(bytes[pos] != with);
        bytes[pos] = with;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(IdNumber::parse(&changed).is_err(), "{id} → {changed} passed");
    }

    /// INCOME passes only when net income > line × members, exactly in fen.
    #[test]
    fn income_exactly_at_line_fails_one_fen_above_passes(line_yuan in 2000i64..10_000, n in 1u32..9) {
        let line = Fen::from_yuan(line_yuan);
        let at = Fen::new(line.fen() * i64::from(n));
        let h_at = household(at, n);
        let h_above = household(Fen::new(at.fen() + 1), n);
        let day = age_reference_day(2018);
        let a = assess_household(&h_at, line, day);
        prop_assert!(a.failed.contains(Criterion::Income));
        prop_assert_eq!(a.verdict, Verdict::NotReady);
        let b = assess_household(&h_above, line, day);
        prop_assert!(!b.failed.contains(Criterion::Income), "{}", b.explanation);
        prop_assert_eq!(b.verdict, Verdict::Ready);
    }

    /// Amounts written as plain yuan read back to the same fen.
    #[test]
    fn amounts_round_trip(fen in 0i64..10_000_000_000) {
        prop_assert_eq!(Fen::parse_yuan(&Fen::new(fen).plain()), Ok(Fen::new(fen)));
        prop_assert_eq!(Fen::parse_yuan(&Fen::new(fen).grouped()), Ok(Fen::new(fen)));
    }

    /// Per-capita rounding: never more than half a fen away from the exact quotient.
    #[test]
    fn per_capita_is_nearest_fen(total in -10_000_000i64..10_000_000, n in 1u32..12) {
        let p = Fen::new(total).per_capita(n).fen();
        let exact2 = 2 * total;           // 2 × total / n compared with 2 × p
        let diff = (p * 2 * i64::from(n) - exact2).abs();
        prop_assert!(diff <= i64::from(n), "total {total} n {n} → {p}");
    }
}

fn household(net: Fen, n: u32) -> Household {
    let member = |i: u32| Member {
        line: 2 + u64::from(i),
        id: None,
        birth: NaiveDate::from_ymd_opt(1980, 1, 1),
        is_head: i == 0,
        sex: None,
        schooling: Some(Schooling::NotStudent),
        medical_insurance: Some(true),
        active_military: false,
        labor: None,
        health: None,
    };
    Household {
        id: "H".into(),
        area: 0,
        first_line: 2,
        values: HouseholdValues {
            status: Entry::Value(PovertyStatus::NotExited),
            wage_income: Entry::Value(net),
            operating_income: Entry::Value(Fen::ZERO),
            operating_expense: Entry::Value(Fen::ZERO),
            property_income: Entry::Value(Fen::ZERO),
            transfer_income: Entry::Value(Fen::ZERO),
            food_secure: Entry::Value(true),
            clothing_secure: Entry::Value(true),
            housing_grade: Entry::Value(HousingGrade::A),
            renovation: Entry::Value(Renovation::None),
            relocation: Entry::Value(Relocation::No),
            safe_water: Entry::Value(true),
            ..HouseholdValues::default()
        },
        members: (0..n).map(member).collect(),
        errors: Vec::new(),
    }
}

fn child(birth: NaiveDate, schooling: Schooling) -> Household {
    let mut h = household(Fen::from_yuan(100_000), 2);
    h.members[1].birth = Some(birth);
    h.members[1].schooling = Some(schooling);
    h
}

/// Ages are whole years on 1 September of Y: born 1 September turns a year older that day.
#[test]
fn age_boundaries_on_first_of_september() {
    let day = age_reference_day(2018);
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    assert_eq!(age_on(d(2012, 8, 31), day), 6);
    assert_eq!(age_on(d(2012, 9, 1), day), 6);
    assert_eq!(age_on(d(2012, 9, 2), day), 5);
    assert_eq!(age_on(d(2002, 8, 31), day), 16);
    assert_eq!(age_on(d(2002, 9, 1), day), 16);
    assert_eq!(age_on(d(2002, 9, 2), day), 15);
}

/// EDUCATION covers members aged 6–15 inclusive on 1 September of Y.
#[test]
fn education_applies_from_6_to_15_on_first_of_september() {
    let day = age_reference_day(2018);
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    let line = Fen::from_yuan(3535);
    let fails = |b| {
        assess_household(&child(b, Schooling::DroppedOut), line, day)
            .failed
            .contains(Criterion::Education)
    };
    assert!(fails(d(2012, 8, 31)), "6 on 31 Aug birthday");
    assert!(fails(d(2012, 9, 1)), "turns 6 on 1 Sep");
    assert!(!fails(d(2012, 9, 2)), "still 5 on 1 Sep");
    assert!(!fails(d(2002, 8, 31)), "16");
    assert!(!fails(d(2002, 9, 1)), "turns 16 on 1 Sep");
    assert!(fails(d(2002, 9, 2)), "still 15");
    let passes = |s| {
        !assess_household(&child(d(2010, 1, 1), s), line, day)
            .failed
            .contains(Criterion::Education)
    };
    assert!(
        passes(Schooling::HomeTeaching),
        "送教上门 counts as enrolled"
    );
    assert!(
        passes(Schooling::UnfitForStudy),
        "因身体原因不具备学习条件 is exempt"
    );
    assert!(passes(Schooling::Primary(3)));
    assert!(!passes(Schooling::OutOfSchool), "失学");
    assert!(!passes(Schooling::NotStudent), "非在校生 at 8");
}

/// HOUSING: C/D pass only when renovated (已竣工) or relocated (已搬迁入住).
#[test]
fn housing_grades() {
    let day = age_reference_day(2018);
    let line = Fen::from_yuan(3535);
    let with = |g, r, m| {
        let mut h = household(Fen::from_yuan(100_000), 1);
        h.values.housing_grade = Entry::Value(g);
        h.values.renovation = Entry::Value(r);
        h.values.relocation = Entry::Value(m);
        !assess_household(&h, line, day)
            .failed
            .contains(Criterion::Housing)
    };
    assert!(with(HousingGrade::B, Renovation::None, Relocation::No));
    assert!(with(HousingGrade::C, Renovation::Done, Relocation::No));
    assert!(with(HousingGrade::D, Renovation::None, Relocation::MovedIn));
    assert!(!with(HousingGrade::C, Renovation::Building, Relocation::No));
    assert!(!with(
        HousingGrade::D,
        Renovation::None,
        Relocation::NotMovedIn
    ));
}

/// MEDICAL: every member insured, or active military.
#[test]
fn medical_exemption_for_active_military() {
    let day = age_reference_day(2018);
    let line = Fen::from_yuan(3535);
    let mut h = household(Fen::from_yuan(100_000), 2);
    h.members[1].medical_insurance = Some(false);
    assert!(assess_household(&h, line, day)
        .failed
        .contains(Criterion::Medical));
    h.members[1].active_military = true;
    assert!(!assess_household(&h, line, day)
        .failed
        .contains(Criterion::Medical));
}

/// Exited households that fail a criterion are suspected wrong exits.
#[test]
fn exited_household_failing_is_wrong_exit() {
    let day = age_reference_day(2018);
    let mut h = household(Fen::from_yuan(100_000), 1);
    h.values.status = Entry::Value(PovertyStatus::Exited);
    assert_eq!(
        assess_household(&h, Fen::from_yuan(3535), day).verdict,
        Verdict::Stable
    );
    h.values.safe_water = Entry::Value(false);
    let a = assess_household(&h, Fen::from_yuan(3535), day);
    assert_eq!(a.verdict, Verdict::WrongExit);
    assert_eq!(a.explanation, "饮水安全有保障（WATER）：饮水安全：否");
}

/// E109 compares normalized values: an empty amount is 0, 是 equals Y, an empty 危房改造状态
/// equals 无 (defaults are applied when a row is read).
#[test]
fn household_fields_compare_after_normalizing() {
    let a = household(Fen::from_yuan(10), 1).values;
    let mut b = a;
    b.per_capita_declared = Entry::Value(Fen::ZERO);
    let mut c = a;
    c.per_capita_declared = Entry::Empty;
    assert!(b.differences(&c).is_empty(), "empty 人均纯收入 equals 0");
    c.per_capita_declared = Entry::Value(Fen::new(1));
    assert_eq!(
        b.differences(&c),
        vec![fupin_domain::fields::Field::PerCapitaIncome]
    );
    c.per_capita_declared = Entry::Invalid;
    assert!(
        b.differences(&c).is_empty(),
        "an invalid value has its own problem"
    );
}
