//! Property tests of the fund ledger (issue 7): balances are the sum of entries, a full
//! reversal nets to zero, no reversal exceeds what it reverses, and no disbursement passes
//! the budget without an override; the benefit check against declared income.

use chrono::NaiveDate;
use fupin_domain::funds::{
    check_entry, disbursed, disbursed_total, is_behind, unaccounted_benefits, unreversed, Accepted,
    BenefitKind, Budget, EntryId, EntryKind, FundSource, IncomeComponent, LedgerEntry, NewEntry,
    Override, Refusal, ScheduleRule, Stage,
};
use fupin_domain::household::{Entry, HouseholdValues};
use fupin_domain::Fen;
use proptest::prelude::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, 1, 1).unwrap() + chrono::Days::new(u64::from(d))
}

/// One attempted ledger operation.
#[derive(Clone, Debug)]
enum Op {
    Disburse {
        source: usize,
        amount: i64,
        over: bool,
    },
    /// Reverse the `pick`-th entry so far (modulo), `amount` fen or all that is left.
    Reverse { pick: usize, amount: Option<i64> },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..7, -5i64..200_000, prop::bool::weighted(0.2)).prop_map(
            |(source, amount, over)| Op::Disburse {
                source,
                amount,
                over
            }
        ),
        (0usize..64, prop::option::of(-5i64..200_000))
            .prop_map(|(pick, amount)| Op::Reverse { pick, amount }),
    ]
}

fn budget() -> impl Strategy<Value = Budget> {
    prop::collection::vec(0i64..500_000, 7).prop_map(|v| {
        let mut b = Budget::default();
        for (s, a) in FundSource::ALL.iter().zip(v) {
            b.set(*s, Fen::new(a));
        }
        b
    })
}

/// Apply operations through the rule, keeping what it accepts, and check each decision
/// against a model of its own.
fn run(budget: &Budget, ops: &[Op]) -> Vec<(LedgerEntry, Accepted)> {
    let mut ledger: Vec<LedgerEntry> = Vec::new();
    let mut accepted = Vec::new();
    for (i, o) in ops.iter().enumerate() {
        let (new, over) = match o {
            Op::Disburse {
                source,
                amount,
                over,
            } => (
                NewEntry {
                    date: day(i as u32),
                    source: FundSource::ALL[*source],
                    amount: Fen::new(*amount),
                    kind: EntryKind::Disbursement,
                },
                over.then(|| Override {
                    reason: "上级追加资金已到位，预算调整在途".into(),
                }),
            ),
            Op::Reverse { pick, amount } => {
                if ledger.is_empty() {
                    continue;
                }
                let target = ledger[pick % ledger.len()];
                let left = unreversed(&ledger, target.id).unwrap_or(Fen::new(0));
                (
                    NewEntry {
                        date: day(i as u32),
                        source: target.source,
                        amount: amount.map_or(left, Fen::new),
                        kind: EntryKind::Reversal { of: target.id },
                    },
                    None,
                )
            }
        };
        let before = disbursed(&ledger, new.source);
        let result = check_entry(budget, &ledger, &new, over.as_ref());
        // The model of the rule.
        match (&new.kind, &result) {
            (_, Err(Refusal::NotPositive)) => assert!(new.amount.fen() <= 0),
            (_, _) if new.amount.fen() <= 0 => panic!("non-positive amount accepted: {new:?}"),
            (EntryKind::Reversal { of }, r) => {
                let target = ledger.iter().find(|e| e.id == *of).unwrap();
                match target.kind {
                    EntryKind::Reversal { .. } => {
                        assert_eq!(r, &Err(Refusal::ReversalOfReversal(*of)));
                    }
                    EntryKind::Disbursement => {
                        let left = unreversed(&ledger, *of).unwrap();
                        if new.amount > left {
                            assert_eq!(r, &Err(Refusal::ReversalTooLarge { of: *of, left }));
                        } else {
                            assert_eq!(r, &Ok(Accepted { over_budget: false }));
                        }
                    }
                }
            }
            (EntryKind::Disbursement, r) => {
                let passes = before.fen() + new.amount.fen() > budget.get(new.source).fen();
                match (passes, over.is_some()) {
                    (false, _) => assert_eq!(r, &Ok(Accepted { over_budget: false })),
                    (true, true) => assert_eq!(r, &Ok(Accepted { over_budget: true })),
                    (true, false) => assert!(matches!(r, Err(Refusal::OverBudget { .. }))),
                }
            }
        }
        if let Ok(a) = result {
            let e = LedgerEntry {
                id: EntryId::new(1000 + i as i64),
                date: new.date,
                source: new.source,
                amount: new.amount,
                kind: new.kind,
            };
            ledger.push(e);
            accepted.push((e, a));
        }
    }
    accepted
}

proptest! {
    /// Balances equal the sum of entries, per source and in all; no source ever goes
    /// negative; a source is over its budget only through entries accepted by override.
    #[test]
    fn balances_equal_the_sum_of_entries(b in budget(), ops in prop::collection::vec(op(), 0..60)) {
        let accepted = run(&b, &ops);
        let ledger: Vec<LedgerEntry> = accepted.iter().map(|(e, _)| *e).collect();
        let mut total = 0i64;
        for s in FundSource::ALL {
            let sum: i64 = ledger.iter().filter(|e| e.source == *s).map(|e| match e.kind {
                EntryKind::Disbursement => e.amount.fen(),
                EntryKind::Reversal { .. } => -e.amount.fen(),
            }).sum();
            prop_assert_eq!(disbursed(&ledger, *s), Fen::new(sum));
            prop_assert!(sum >= 0);
            let overridden = accepted.iter().any(|(e, a)| e.source == *s && a.over_budget);
            if !overridden {
                prop_assert!(sum <= b.get(*s).fen(), "{:?} over budget without an override", s);
            }
            total += sum;
        }
        prop_assert_eq!(disbursed_total(&ledger), Fen::new(total));
        // Each disbursement: reversals of it never exceed it.
        for e in ledger.iter().filter(|e| e.kind == EntryKind::Disbursement) {
            let left = unreversed(&ledger, e.id).unwrap();
            prop_assert!(left.fen() >= 0 && left <= e.amount);
        }
    }

    /// Reversing every disbursement in full brings every balance back to zero.
    #[test]
    fn full_reversals_net_to_zero(b in budget(), ops in prop::collection::vec(op(), 0..40)) {
        let mut ledger: Vec<LedgerEntry> = run(&b, &ops).into_iter().map(|(e, _)| e).collect();
        let targets: Vec<LedgerEntry> = ledger
            .iter()
            .filter(|e| e.kind == EntryKind::Disbursement)
            .copied()
            .collect();
        for (i, t) in targets.iter().enumerate() {
            let left = unreversed(&ledger, t.id).unwrap();
            if left.fen() == 0 {
                continue;
            }
            let new = NewEntry { date: day(400), source: t.source, amount: left, kind: EntryKind::Reversal { of: t.id } };
            prop_assert_eq!(check_entry(&b, &ledger, &new, None), Ok(Accepted { over_budget: false }));
            // One fen more than what is left is refused.
            let more = NewEntry { amount: Fen::new(left.fen() + 1), ..new };
            prop_assert_eq!(
                check_entry(&b, &ledger, &more, None),
                Err(Refusal::ReversalTooLarge { of: t.id, left })
            );
            ledger.push(LedgerEntry { id: EntryId::new(10_000 + i as i64), date: new.date, source: new.source, amount: new.amount, kind: new.kind });
        }
        for s in FundSource::ALL {
            prop_assert_eq!(disbursed(&ledger, *s), Fen::new(0));
        }
        prop_assert_eq!(disbursed_total(&ledger), Fen::new(0));
    }

    /// Behind schedule exactly when, on or after the date, the share is below the rule's.
    #[test]
    fn behind_schedule_is_an_exact_share(budget in 1i64..10_000_000, paid in 0i64..10_000_000, bp in 0u64..=10_000, d in 0u32..30) {
        let rule = ScheduleRule { by: day(10), min_bp: bp };
        let behind = is_behind(rule, day(d), Fen::new(budget), Fen::new(paid));
        let expected = d >= 10 && i128::from(paid) * 10_000 < i128::from(bp) * i128::from(budget);
        prop_assert_eq!(behind, expected);
    }
}

/// An over-budget disbursement is refused without an override, and an override without a
/// reason is refused too.
#[test]
fn over_budget_needs_an_override_with_a_reason() {
    let b = Budget::default().with(FundSource::Central, Fen::new(10_000));
    let ledger = [LedgerEntry {
        id: EntryId::new(1),
        date: day(0),
        source: FundSource::Central,
        amount: Fen::new(8_000),
        kind: EntryKind::Disbursement,
    }];
    let new = NewEntry {
        date: day(1),
        source: FundSource::Central,
        amount: Fen::new(2_001),
        kind: EntryKind::Disbursement,
    };
    let refused = check_entry(&b, &ledger, &new, None).unwrap_err();
    assert!(
        refused.to_string().contains("超出预算 0.01 元"),
        "{refused}"
    );
    let blank = Override {
        reason: "  ".into(),
    };
    assert_eq!(
        check_entry(&b, &ledger, &new, Some(&blank)),
        Err(Refusal::OverrideWithoutReason)
    );
    let ok = Override {
        reason: "省级追加".into(),
    };
    assert_eq!(
        check_entry(&b, &ledger, &new, Some(&ok)),
        Ok(Accepted { over_budget: true })
    );
    // Exactly to the budget needs nothing; a source without budget takes nothing.
    let exact = NewEntry {
        amount: Fen::new(2_000),
        ..new
    };
    assert_eq!(
        check_entry(&b, &ledger, &exact, None),
        Ok(Accepted { over_budget: false })
    );
    let other = NewEntry {
        source: FundSource::Credit,
        amount: Fen::new(1),
        ..new
    };
    assert!(matches!(
        check_entry(&b, &ledger, &other, None),
        Err(Refusal::OverBudget { .. })
    ));
    // A reversal in another source than its entry's is refused.
    let wrong = NewEntry {
        source: FundSource::County,
        amount: Fen::new(1),
        kind: EntryKind::Reversal {
            of: EntryId::new(1),
        },
        ..new
    };
    assert_eq!(
        check_entry(&b, &ledger, &wrong, None),
        Err(Refusal::OtherSource {
            of: EntryId::new(1),
            source: FundSource::Central
        })
    );
}

#[test]
fn stages_move_forward_one_at_a_time() {
    assert!(Stage::Registered.can_move_to(Stage::Approved));
    assert!(!Stage::Registered.can_move_to(Stage::Implementing));
    assert!(!Stage::Approved.can_move_to(Stage::Registered));
    assert!(!Stage::Evaluated.can_move_to(Stage::Evaluated));
    assert_eq!(Stage::Evaluated.next(), None);
}

/// Dividends and land rent count against 财产性收入, wages against 工资性收入; services
/// are not checked; an invalid cell is not flagged twice.
#[test]
fn benefits_above_declared_income_are_flagged() {
    let values = HouseholdValues {
        property_income: Entry::Value(Fen::new(50_000)),
        wage_income: Entry::Value(Fen::new(300_000)),
        ..HouseholdValues::default()
    };
    let benefits = [
        (BenefitKind::Dividend, Fen::new(40_000)),
        (BenefitKind::LandRent, Fen::new(20_000)),
        (BenefitKind::Wage, Fen::new(300_000)),
        (BenefitKind::Service, Fen::new(999_900)),
    ];
    let flags = unaccounted_benefits(&values, &benefits);
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].component, IncomeComponent::Property);
    assert_eq!(flags[0].recorded, Fen::new(60_000));
    assert_eq!(flags[0].declared, Some(Fen::new(50_000)));

    let empty = HouseholdValues {
        property_income: Entry::Empty,
        wage_income: Entry::Invalid,
        ..HouseholdValues::default()
    };
    let flags = unaccounted_benefits(&empty, &benefits);
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].declared, None);
    assert!(unaccounted_benefits(&empty, &[(BenefitKind::Service, Fen::new(1))]).is_empty());
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Policy (issue 20, 拨付记录的必填项与日期): a 凭证号 always, a 收款单位 for a disbursement,
/// a date neither after today nor before 2014-01-01.
#[test]
fn an_entry_needs_its_voucher_payee_and_a_date_that_has_happened() {
    use fupin_domain::funds::{check_entry_fields, EntryField, EARLIEST_ENTRY_DATE};
    let today = ymd(2018, 10, 15);
    let d = EntryKind::Disbursement;
    let r = EntryKind::Reversal {
        of: EntryId::new(1),
    };
    let field = |date, voucher, payee, kind| {
        check_entry_fields(date, voucher, payee, kind, today)
            .err()
            .map(|e| e.field)
    };
    assert_eq!(field(ymd(2018, 4, 1), "记-0401", "示例公司", d), None);
    assert_eq!(field(today, "记-0401", "示例公司", d), None);
    assert_eq!(field(EARLIEST_ENTRY_DATE, "记-1", "示例公司", d), None);
    assert_eq!(
        field(ymd(2018, 4, 1), "  ", "示例公司", d),
        Some(EntryField::Voucher)
    );
    assert_eq!(
        field(ymd(2018, 4, 1), "记-1", "", d),
        Some(EntryField::Payee)
    );
    // A reversal's payee is the reversed entry's.
    assert_eq!(field(ymd(2018, 4, 1), "记-1", "", r), None);
    assert_eq!(field(ymd(2018, 4, 1), "", "", r), Some(EntryField::Voucher));
    assert_eq!(
        field(ymd(2999, 1, 1), "记-1", "示例公司", d),
        Some(EntryField::Date)
    );
    assert_eq!(
        field(ymd(2018, 10, 16), "记-1", "示例公司", r),
        Some(EntryField::Date)
    );
    assert_eq!(
        field(ymd(2013, 12, 31), "记-1", "示例公司", d),
        Some(EntryField::Date)
    );
    let m = check_entry_fields(ymd(2999, 1, 1), "记-1", "示例公司", d, today).unwrap_err();
    assert!(m.message.contains("2999-01-01") && m.message.contains("2018-10-15"));
}

/// Policy (issue 20, 带贫户的范围): a unit links households of its project's township in the
/// current register; headquarters any.
#[test]
fn a_unit_links_only_households_of_its_projects_township() {
    use fupin_domain::access::{may, Action, Actor};
    let unit = Actor::UnitStaff {
        unit: "县能源局"
    };
    let no = "1409300201001";
    let link = |home| Action::LinkBeneficiary {
        project_township: "示例一乡",
        household_no: no,
        household_township: home,
    };
    assert!(may(unit, link(Some("示例一乡"))).is_ok());
    let other = may(unit, link(Some("示例二镇")))
        .unwrap_err()
        .into_message();
    assert!(other.contains("示例二镇") && other.contains(no), "{other}");
    assert!(may(unit, link(None)).is_err());
    assert!(may(Actor::Headquarters, link(Some("示例二镇"))).is_ok());
    assert!(may(Actor::Headquarters, link(None)).is_ok());
}
