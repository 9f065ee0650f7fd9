//! Inspections (issue 6): the inspectors' draw (reproducible, quotas and minimums
//! honoured, impossible plans refused), the design-weighted estimators against hand
//! arithmetic and against a simulation with known truth, and the forecast of the sampled
//! 错退率 on registers with a known wrong-exit share.

use fupin_domain::estimates::{
    estimate, ratio, wilson, Approval, Indicator, Unit, Verification, Z95,
};
use fupin_domain::figures::Region;
use fupin_domain::forecast::forecast;
use fupin_domain::sampling::{
    draw, Allocation, CountyTotals, Fraction, Frame, FrameHousehold, FrameVillage, Group,
    NonRegistered, Sample, SampledHousehold, SampledVillage, SamplingError, SamplingPlan, Scope,
    Shortfall, SplitMix64,
};

/// A county of `townships` × `villages` villages (every other one poor), each with
/// `registered` registered households (every third unable to work, 3 people, all exited)
/// and 200 non-registered households counted.
fn county(townships: usize, villages: usize, registered: usize) -> Frame {
    let mut frame = Frame::default();
    for t in 0..townships {
        for v in 0..villages {
            frame.villages.push(FrameVillage {
                township: format!("乡{t}"),
                village: format!("乡{t}村{v}"),
                poor: v % 2 == 0,
                registered: (0..registered)
                    .map(|h| FrameHousehold {
                        id: format!("{t}-{v}-{h}"),
                        able: h % 3 != 2,
                        people: 3,
                        exited: true,
                        wrong_exit: false,
                    })
                    .collect(),
                non_registered: NonRegistered::Count(200),
            });
        }
    }
    frame
}

fn plan(seed: u64) -> SamplingPlan {
    SamplingPlan {
        seed,
        townships: 3,
        poor_villages_per_township: 2,
        other_villages_per_township: 1,
        households: Allocation::Ratio {
            per_village: 10,
            able: 5,
            non_registered: 3,
            unable: 2,
        },
        min_registered_share_bp: 100,
        min_households: 0,
        take_all_when_short: false,
    }
}

/// Same seed, same sample (and the plan with its seed survives JSON); another seed draws
/// another sample.
#[test]
fn the_same_seed_redraws_the_same_sample() {
    let frame = county(5, 6, 30);
    let a = draw(&frame, &plan(42), Scope::All).unwrap();
    let b = draw(&frame, &plan(42), Scope::All).unwrap();
    assert_eq!(a, b);
    let c = draw(&frame, &plan(43), Scope::All).unwrap();
    assert_ne!(a.households, c.households);
    let json = serde_json::to_string(&plan(42)).unwrap();
    let back: SamplingPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(draw(&frame, &back, Scope::All).unwrap(), a);
}

/// Redrawn by hand (docs/inspections.md, "Worked example"): one township, one village of
/// 10 registered households, 3 drawn systematically, seed 0. Townships and villages are
/// taken whole, so no number is drawn for them. The first SplitMix64 output of seed 0 is
/// 0xE220A8397B1DCDAF = 16,294,208,416,658,607,535; below(10) rejects only x < (2^64 − 10)
/// mod 10 = 6, so r = x mod 10 = 5. Positions ⌊(5 + 10j) ÷ 3⌋ = 1, 5, 8: the 2nd, 6th and
/// 9th households of the register; each weight 10/3.
#[test]
fn a_small_draw_redrawn_by_hand() {
    let mut frame = county(1, 1, 10);
    frame.villages[0]
        .registered
        .iter_mut()
        .for_each(|h| h.able = true);
    let p = SamplingPlan {
        seed: 0,
        townships: 0,
        poor_villages_per_township: 1,
        other_villages_per_township: 0,
        households: Allocation::Fixed {
            registered: 3,
            non_registered: 0,
        },
        min_registered_share_bp: 0,
        min_households: 0,
        take_all_when_short: false,
    };
    let s = draw(&frame, &p, Scope::All).unwrap();
    let got: Vec<(u32, &str)> = s
        .households
        .iter()
        .map(|h| (h.position, h.household_id.as_deref().unwrap()))
        .collect();
    assert_eq!(got, vec![(2, "0-0-1"), (6, "0-0-5"), (9, "0-0-8")]);
    assert!(s
        .households
        .iter()
        .all(|h| (h.weight - 10.0 / 3.0).abs() < 1e-12));
}

/// The 5:3:2 quota in every village, villages 2 poor + 1 non-poor per township, and each
/// weight the product of the stage probabilities: townships 3/5, villages 2/3 (poor) or
/// 1/3 (non-poor), households 5/20 (able) · 3/200 (non-registered) · 2/10 (unable).
#[test]
fn quotas_strata_and_weights_are_honoured() {
    let frame = county(5, 6, 30);
    let s = draw(&frame, &plan(7), Scope::All).unwrap();
    assert_eq!(s.villages.len(), 9);
    assert_eq!(s.households.len(), 90);
    for (vi, v) in s.villages.iter().enumerate() {
        assert_eq!(v.p_township, Fraction { k: 3, n: 5 });
        let expected = if v.poor {
            Fraction { k: 2, n: 3 }
        } else {
            Fraction { k: 1, n: 3 }
        };
        assert_eq!(v.p_village, expected, "{}", v.village);
        let count = |g: Group| {
            s.households
                .iter()
                .filter(|h| h.village as usize == vi && h.group == g)
                .count()
        };
        assert_eq!(count(Group::RegisteredAble), 5);
        assert_eq!(count(Group::NonRegistered), 3);
        assert_eq!(count(Group::RegisteredUnable), 2);
    }
    for h in &s.households {
        let v = &s.villages[h.village as usize];
        let pi = v.p_township.value() * v.p_village.value() * h.p_household.value();
        assert!((h.weight - 1.0 / pi).abs() < 1e-9);
        match h.group {
            Group::RegisteredAble => assert_eq!(h.p_household, Fraction { k: 5, n: 20 }),
            Group::RegisteredUnable => assert_eq!(h.p_household, Fraction { k: 2, n: 10 }),
            Group::NonRegistered => assert_eq!(h.p_household, Fraction { k: 3, n: 200 }),
            Group::Registered => unreachable!(),
        }
        // Able households are drawn only among able ones, at fixed intervals of 20/5 = 4.
        if h.group.is_registered() {
            let id = h.household_id.as_deref().unwrap();
            let hh = frame
                .villages
                .iter()
                .flat_map(|v| &v.registered)
                .find(|r| r.id == id)
                .unwrap();
            assert_eq!(hh.able, h.group == Group::RegisteredAble);
        }
    }
    for vi in 0..s.villages.len() {
        let able: Vec<u32> = s
            .households
            .iter()
            .filter(|h| h.village as usize == vi && h.group == Group::RegisteredAble)
            .map(|h| h.position)
            .collect();
        assert!(able.windows(2).all(|w| w[1] - w[0] == 4), "{able:?}");
    }
}

/// A village with fewer households than asked is refused, with every shortfall named;
/// with take-all it is taken whole (probability 1 within the village).
#[test]
fn short_villages_are_refused_or_taken_whole() {
    let mut frame = county(1, 2, 30);
    frame.villages[0].registered.truncate(4); // 3 able (positions 0,1,3), 1 unable
    frame.villages[1].non_registered = NonRegistered::Unknown;
    let mut p = plan(1);
    p.townships = 0;
    p.poor_villages_per_township = 1;
    p.min_registered_share_bp = 0;
    let err = draw(&frame, &p, Scope::All).unwrap_err();
    let SamplingError::Short(list) = &err else {
        panic!("{err}")
    };
    assert_eq!(list.len(), 3, "{err}");
    assert!(list.contains(&Shortfall::Households {
        township: "乡0".into(),
        village: "乡0村0".into(),
        group: Group::RegisteredAble,
        available: 3,
        asked: 5,
    }));
    assert!(err
        .to_string()
        .contains("乡0乡0村0只有建档立卡户（有劳动能力）3 户，方案每村要抽 5 户"));
    assert!(err
        .to_string()
        .contains("乡0乡0村1没有导入农村总户数或非建档立卡户名单"));
    p.take_all_when_short = true;
    let s = draw(&frame, &p, Scope::All).unwrap();
    let first: Vec<&SampledHousehold> = s.households.iter().filter(|h| h.village == 0).collect();
    assert_eq!(first.iter().filter(|h| h.group.is_registered()).count(), 4);
    assert!(first
        .iter()
        .filter(|h| h.group.is_registered())
        .all(|h| h.p_household.k == h.p_household.n));
}

/// The minimum share: 3 townships × 3 villages × 7 registered = 63 of 5 × 6 × 300 = 9,000
/// registered households is 0.7% < 1% (90 needed): refused. The minimum total likewise,
/// and a plan that draws no village at all.
#[test]
fn minimum_share_and_total_are_enforced() {
    let frame = county(5, 6, 300);
    let err = draw(&frame, &plan(3), Scope::All).unwrap_err();
    assert_eq!(
        err,
        SamplingError::BelowShare {
            sampled: 63,
            required: 90,
            registered: 9_000,
            share_bp: 100
        }
    );
    assert!(err
        .to_string()
        .contains("不足全县建档立卡户 9000 户的 1.00%（至少 90 户）"));
    let mut p = plan(3);
    p.poor_villages_per_township = 0;
    p.other_villages_per_township = 0;
    assert_eq!(
        draw(&frame, &p, Scope::All).unwrap_err(),
        SamplingError::Empty
    );
    let mut p = plan(3);
    p.min_registered_share_bp = 50;
    p.min_households = 100;
    assert_eq!(
        draw(&frame, &p, Scope::All).unwrap_err(),
        SamplingError::BelowMinimum {
            sampled: 90,
            required: 100
        }
    );
}

fn village(name: &str, k: u32, n: u32) -> SampledVillage {
    SampledVillage {
        township: "乡".into(),
        village: name.into(),
        poor: true,
        p_township: Fraction { k: 1, n: 1 },
        p_village: Fraction { k, n },
    }
}

fn sampled(
    no: u32,
    village: u32,
    group: Group,
    people: Option<u32>,
    weight: f64,
) -> SampledHousehold {
    SampledHousehold {
        no,
        village,
        group,
        position: no,
        household_id: None,
        people,
        exited: group.is_registered(),
        p_household: Fraction { k: 1, n: 1 },
        weight,
    }
}

fn verified(no: u32, ok: bool, approval: Approval) -> Verification {
    Verification {
        no,
        people: None,
        checks: vec![true, true, ok, true, true, true],
        missed: None,
        approval,
    }
}

fn non_registered(no: u32, people: u32, missed: bool, approval: Approval) -> Verification {
    Verification {
        no,
        people: Some(people),
        checks: Vec::new(),
        missed: Some(missed),
        approval,
    }
}

/// Three villages (PSUs). Exited households (weight, people, wrong?): V0: A (10, 4, no),
/// B (10, 2, yes); V1: C (20, 3, no); V2: D (5, 5, yes).
/// Σwx = 40 + 20 + 60 + 25 = 145; Σwy = 20 + 25 = 45; R̂ = 45/145 = 9/29 = 0.310345.
/// z_c = Σ w(y − R̂x) ÷ 145: V0 (20 − 60R̂)/145 = 40/4205; V1 −60R̂/145 = −540/4205;
/// V2 25(1 − R̂)/145 = 500/4205. v = 3/2 × (40² + 540² + 500²) ÷ 4205² = 814,800 ÷
/// 17,682,025 = 0.0460807; n_eff = R̂(1 − R̂) ÷ v = 0.214031 ÷ 0.0460807 = 4.6447.
/// Non-registered (weight, people, missed?): V0 E (50, 4, no), V1 F (40, 1, yes),
/// V2 G (30, 2, no): Σwx = 300, Σwy = 40, R̂ = 2/15; z = −400/15/300, 40·13/15/300,
/// −8/300 → v = 3/2 × (0.0079012 + 0.0133531 + 0.0007111) = 0.0329481.
/// Approval (yes = 1): A, D, E, G yes; B no; C, F unsure → Σwy = 10 + 5 + 50 + 30 = 95
/// of Σw = 165: 19/33 = 0.575758 (unsure counts as not approving).
/// 综合 with rural population 10,000, registered 1,000, remaining poor 100, exited 800:
/// (100 + 9,000 × 2/15 + 800 × 9/29) ÷ 10,000 = (100 + 1,200 + 248.2759) ÷ 10,000 =
/// 0.1548276.
#[test]
fn estimators_match_hand_arithmetic() {
    let sample = Sample {
        plan: plan(0),
        townships_in_county: 1,
        villages: vec![
            village("V0", 1, 10),
            village("V1", 1, 20),
            village("V2", 1, 5),
        ],
        households: vec![
            sampled(1, 0, Group::Registered, Some(4), 10.0),
            sampled(2, 0, Group::Registered, Some(2), 10.0),
            sampled(3, 1, Group::Registered, Some(3), 20.0),
            sampled(4, 2, Group::Registered, Some(5), 5.0),
            sampled(5, 0, Group::NonRegistered, None, 50.0),
            sampled(6, 1, Group::NonRegistered, None, 40.0),
            sampled(7, 2, Group::NonRegistered, None, 30.0),
        ],
    };
    let results = vec![
        verified(1, true, Approval::Yes),
        verified(2, false, Approval::No),
        verified(3, true, Approval::Unsure),
        verified(4, false, Approval::Yes),
        non_registered(5, 4, false, Approval::Yes),
        non_registered(6, 1, true, Approval::Unsure),
        non_registered(7, 2, false, Approval::Yes),
    ];
    let totals = CountyTotals {
        rural_population: 10_000,
        registered_people: 1_000,
        remaining_poor: 100,
        exited_people: 800,
        registered_households: 300,
    };
    let e = estimate(&sample, &results, &totals, Region::Central);
    let get = |i: Indicator| {
        e.indicators
            .iter()
            .find_map(|r| r.as_ref().ok().filter(|x| x.indicator == i))
            .unwrap()
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    let w = get(Indicator::WrongExit);
    assert!(close(w.estimate, 9.0 / 29.0));
    assert!(close(w.standard_error.powi(2), 814_800.0 / 17_682_025.0));
    assert!(close(w.effective_n, 4.644_698), "{}", w.effective_n);
    assert_eq!((w.found, w.base), (7, 14));
    assert_eq!(w.sample_rate().unwrap().percent(), "50.00");
    let (lo, hi) = wilson(9.0 / 29.0, w.effective_n, Z95);
    assert!(close(w.ci_low, lo) && close(w.ci_high, hi));
    assert!(!w.pass);
    let m = get(Indicator::Missed);
    assert!(close(m.estimate, 2.0 / 15.0));
    assert!(close(m.standard_error.powi(2), 0.032_948_148));
    assert_eq!((m.found, m.base), (1, 7));
    let a = get(Indicator::Approval);
    assert!(close(a.estimate, 19.0 / 33.0));
    assert_eq!((a.found, a.base), (4, 7));
    assert!(!a.pass);
    let c = get(Indicator::Comprehensive);
    assert!(close(c.estimate, 0.154_827_586));
    assert!(c.ci_low < c.estimate && c.estimate < c.ci_high);
    // MOVER: U − θ̂ = √((0.9 × (u_m − R̂_m))² + (0.08 × (u_w − R̂_w))²).
    let up = ((0.9 * (m.ci_high - m.estimate)).powi(2) + (0.08 * (w.ci_high - w.estimate)).powi(2))
        .sqrt();
    assert!(close(c.ci_high, c.estimate + up));
}

/// One village only: no variance between PSUs, so no interval — said, not invented.
#[test]
fn one_village_cannot_give_an_interval() {
    let units = [Unit {
        psu: 0,
        weight: 2.0,
        y: 1,
        x: 3,
    }];
    assert!(ratio(&units, 1).unwrap().variance.is_nan());
}

/// A county with known truth: 12 townships × 10 villages × 40 exited registered households
/// (1–6 people), each village with its own wrong-exit propensity (0–8%), so wrong exits
/// cluster by village as they do in the field. 1,000 seeded draws of 6 townships × (3 poor and
/// 2 non-poor villages) × 12 registered households; the 95% Wilson intervals of 错退率
/// and of 群众认可度 (each village with its own approval, 85–99%) must each cover the true
/// county rate in 92–98% of them.
#[test]
fn intervals_cover_the_truth_about_95_percent() {
    let mut rng = SplitMix64::new(2018);
    let mut frame = Frame::default();
    let (mut wrong, mut exited) = (0u64, 0u64);
    let mut disapproving = std::collections::HashSet::new();
    for t in 0..12 {
        for v in 0..10 {
            let propensity = rng.unit() * 0.08;
            let approving = 0.85 + rng.unit() * 0.14;
            let registered = (0..40)
                .map(|h| {
                    let people = 1 + rng.below(6) as u32;
                    let is_wrong = rng.unit() < propensity;
                    if rng.unit() >= approving {
                        disapproving.insert(format!("{t}-{v}-{h}"));
                    }
                    exited += u64::from(people);
                    if is_wrong {
                        wrong += u64::from(people);
                    }
                    FrameHousehold {
                        id: format!("{t}-{v}-{h}"),
                        able: true,
                        people,
                        exited: true,
                        wrong_exit: is_wrong,
                    }
                })
                .collect();
            frame.villages.push(FrameVillage {
                township: format!("乡{t}"),
                village: format!("乡{t}村{v}"),
                poor: v < 5,
                registered,
                non_registered: NonRegistered::Count(0),
            });
        }
    }
    let truth = wrong as f64 / exited as f64;
    let approval_truth = 1.0 - disapproving.len() as f64 / 4_800.0;
    let wrong_ids: std::collections::HashSet<String> = frame
        .villages
        .iter()
        .flat_map(|v| &v.registered)
        .filter(|h| h.wrong_exit)
        .map(|h| h.id.clone())
        .collect();
    let mut p = SamplingPlan {
        seed: 0,
        townships: 6,
        poor_villages_per_township: 3,
        other_villages_per_township: 2,
        households: Allocation::Fixed {
            registered: 12,
            non_registered: 0,
        },
        min_registered_share_bp: 0,
        min_households: 0,
        take_all_when_short: false,
    };
    let totals = CountyTotals::default();
    let (mut covered, mut approval_covered, mut runs) = (0u32, 0u32, 0u32);
    let mut seeds = SplitMix64::new(6);
    for _ in 0..1_000 {
        p.seed = seeds.next_u64();
        let s = draw(&frame, &p, Scope::RegisteredOnly).unwrap();
        let results: Vec<Verification> = s
            .households
            .iter()
            .map(|h| {
                let id = h.household_id.as_deref().unwrap();
                let approval = if disapproving.contains(id) {
                    Approval::No
                } else {
                    Approval::Yes
                };
                verified(h.no, !wrong_ids.contains(id), approval)
            })
            .collect();
        let e = estimate(&s, &results, &totals, Region::Central);
        let w = e.indicators[0].as_ref().unwrap();
        let a = e.indicators[2].as_ref().unwrap();
        runs += 1;
        if w.ci_low <= truth && truth <= w.ci_high {
            covered += 1;
        }
        if a.ci_low <= approval_truth && approval_truth <= a.ci_high {
            approval_covered += 1;
        }
    }
    let coverage = f64::from(covered) / f64::from(runs);
    let approval_coverage = f64::from(approval_covered) / f64::from(runs);
    println!(
        "错退率 truth {truth:.4}, coverage {coverage:.3}; 认可度 truth {approval_truth:.4}, coverage {approval_coverage:.3}; over {runs} draws"
    );
    assert!((0.92..=0.98).contains(&coverage), "coverage {coverage}");
    assert!(
        (0.92..=0.98).contains(&approval_coverage),
        "approval coverage {approval_coverage}"
    );
}

/// A register where exactly 10% of exited people are wrong exits (one household in ten,
/// every household 3 people): the register's own share is 10%, the sampled 错退率 centres
/// on it and the 2% veto fails in (nearly) every draw. With no wrong exit the sampled rate
/// is 0 in every draw and the veto never fails.
#[test]
fn forecast_on_a_register_with_a_known_wrong_exit_share() {
    let mut frame = county(5, 6, 30);
    for v in &mut frame.villages {
        for (i, h) in v.registered.iter_mut().enumerate() {
            h.wrong_exit = i % 10 == 4;
        }
    }
    let mut p = plan(99);
    p.households = Allocation::Fixed {
        registered: 10,
        non_registered: 3,
    };
    let f = forecast(&frame, &p, 500, 200).unwrap();
    assert_eq!(f.register_rate, Some((270, 2_700)));
    assert_eq!(f.runs, 500);
    assert_eq!(f.runs_without_exited, 0);
    let median = f.quantiles.iter().find(|q| q.0 == 50).unwrap().1;
    let m = median.0 as f64 / median.1 as f64;
    assert!((0.07..=0.13).contains(&m), "median {m}");
    assert!((f.mean - 0.10).abs() < 0.01, "mean {}", f.mean);
    assert!(f.p_fail() > 0.95, "{}", f.p_fail());
    assert!((f.mean_exited_households - 90.0).abs() < 1e-9);

    for v in &mut frame.villages {
        for h in &mut v.registered {
            h.wrong_exit = false;
        }
    }
    let f = forecast(&frame, &p, 200, 200).unwrap();
    assert_eq!(f.runs_failing, 0);
    assert!(f.quantiles.iter().all(|q| q.1 .0 == 0));

    // Only a village without registered households can be drawn: every run is without
    // a rate, and says so, rather than failing the forecast.
    let mut frame = county(1, 2, 10);
    frame.villages[1].registered.clear();
    let p = SamplingPlan {
        townships: 0,
        poor_villages_per_township: 0,
        other_villages_per_township: 1,
        households: Allocation::Fixed {
            registered: 3,
            non_registered: 0,
        },
        min_registered_share_bp: 0,
        take_all_when_short: true,
        ..plan(1)
    };
    let f = forecast(&frame, &p, 20, 200).unwrap();
    assert_eq!((f.runs_without_exited, f.runs_failing), (20, 0));
    assert!(f.quantiles.is_empty());
}

/// Non-exited registered households do not enter 错退率; a plan without non-registered
/// households cannot give 漏评率 nor, therefore, 综合贫困发生率 — each says why.
#[test]
fn indicators_that_cannot_be_estimated_say_why() {
    let frame = county(3, 4, 30);
    let mut p = plan(5);
    p.households = Allocation::Fixed {
        registered: 6,
        non_registered: 0,
    };
    let s = draw(&frame, &p, Scope::All).unwrap();
    let results: Vec<Verification> = s
        .households
        .iter()
        .map(|h| verified(h.no, true, Approval::Yes))
        .collect();
    let totals = CountyTotals {
        rural_population: 1_000,
        ..CountyTotals::default()
    };
    let e = estimate(&s, &results, &totals, Region::Western);
    let w = e.indicators[0].as_ref().unwrap();
    assert_eq!(w.found, 0);
    assert!(w.pass && w.ci_low.abs() < 1e-12 && w.ci_high > 0.0);
    assert!(e.indicators[1]
        .as_ref()
        .unwrap_err()
        .reason
        .contains("没有非建档立卡户"));
    assert!(e.indicators[3]
        .as_ref()
        .unwrap_err()
        .reason
        .starts_with("漏评率无法估计：样本中没有非建档立卡户"));
    assert_eq!(
        Indicator::Comprehensive.threshold(Region::Western),
        (300, true)
    );
}
