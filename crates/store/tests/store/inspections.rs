//! Inspections in the store (issue 6): the recorded draw, results, estimates, and
//! findings flowing into work items — on both backends.

use crate::support::*;
use chrono::NaiveDate;
use fupin_domain::estimates::{Approval, Verification};
use fupin_domain::sampling::{Allocation, Group, SamplingPlan};
use fupin_domain::work_item::{Refusal, WorkAction, WorkState};
use fupin_store::{
    Inspection, InspectionLevel, ItemFilter, ItemScope, NewFinding, NewInspection, Role,
    RuralVillage, Scope, Severity, Store, User,
};

contract!(
    a_sample_is_drawn_from_the_register_recorded_and_redrawn_the_same,
    results_are_all_or_nothing_and_estimates_wait_for_every_household,
    findings_become_work_items_routed_by_the_plan_and_inspectors_close_them,
    only_headquarters_and_inspectors_record,
);

/// A new inspection recorded by `by`.
async fn inspection(store: &Store, by: &User) -> Inspection {
    store
        .inspections()
        .create_inspection(by, &new_inspection())
        .await
        .unwrap()
        .unwrap()
}

/// A new inspection recorded by `by`, its sample drawn with `seed` by the plan below.
async fn drawn(store: &Store, by: &User, seed: u64) -> Inspection {
    let i = inspection(store, by).await;
    store
        .inspections()
        .draw_sample(by, i.id, &plan(seed), &rural())
        .await
        .unwrap()
        .unwrap();
    i
}

fn new_inspection() -> NewInspection {
    NewInspection {
        name: "2018年贫困县退出省际交叉考核".into(),
        level: InspectionLevel::CrossProvince,
        starts_on: NaiveDate::from_ymd_opt(2018, 10, 15).unwrap(),
        ends_on: NaiveDate::from_ymd_opt(2018, 10, 25),
        team: "省际交叉考核第三组（组长：省扶贫办副主任）".into(),
    }
}

/// Both townships, every poor village (示例二镇 has one: taken whole), 3 registered and
/// 2 non-registered households a village: 15 households.
fn plan(seed: u64) -> SamplingPlan {
    SamplingPlan {
        seed,
        townships: 0,
        poor_villages_per_township: 2,
        other_villages_per_township: 0,
        households: Allocation::Fixed {
            registered: 3,
            non_registered: 2,
        },
        min_registered_share_bp: 0,
        min_households: 0,
        take_all_when_short: true,
    }
}

fn rural() -> Vec<RuralVillage> {
    [
        ("示例一乡", "示例一乡甲村", 30),
        ("示例一乡", "示例一乡乙村", 40),
        ("示例二镇", "示例二镇丙村", 20),
    ]
    .into_iter()
    .map(|(t, v, n)| RuralVillage {
        township: t.into(),
        village: v.into(),
        total: Some(n),
        list: None,
    })
    .collect()
}

/// A result for every sampled household: registered ones all verified except `wrong`,
/// non-registered ones not missed, 3 people; everyone approves.
fn results(store_rows: &[fupin_store::SampleRow], wrong: Option<u32>) -> Vec<Verification> {
    store_rows
        .iter()
        .map(|r| {
            let h = &r.household;
            if h.group.is_registered() {
                Verification {
                    no: h.no,
                    people: None,
                    checks: vec![Some(h.no) != wrong; 6],
                    missed: None,
                    approval: Approval::Yes,
                }
            } else {
                Verification {
                    no: h.no,
                    people: Some(3),
                    checks: Vec::new(),
                    missed: Some(false),
                    approval: Approval::Unsure,
                }
            }
        })
        .collect()
}

async fn audit_actions(store: &Store) -> Vec<String> {
    store
        .audit_log()
        .audit_entries(None, 500)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// The draw is `fupin_domain::sampling::draw` over the current version (villages and
/// households in register order), recorded with its seed: redrawing gives the same
/// sample; a second draw is refused; village staff see their village's households only.
async fn a_sample_is_drawn_from_the_register_recorded_and_redrawn_the_same(store: Store) {
    plan_and_golden(&store).await;
    let inspector = user(&store, "inspector", Role::Inspector).await;
    let i = inspection(&store, &inspector).await;
    assert_eq!(i.level.chinese(), "省际交叉考核");
    let s = store
        .inspections()
        .draw_sample(&inspector, i.id, &plan(20181015), &rural())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.plan.seed, 20181015);
    assert_eq!(s.sample.villages.len(), 3);
    assert_eq!(s.sample.households.len(), 15);
    assert_eq!(s.sample.count(|g| g == Group::NonRegistered), 6);
    // The county's totals from the register: 33 households, rural population 3,010.
    assert_eq!(s.totals.registered_households, 33);
    assert_eq!(s.totals.rural_population, 320 + 2050 + 640);
    // Registered households drawn are the register's, in its villages.
    for h in &s.sample.households {
        let v = &s.sample.villages[h.village as usize];
        if let Some(no) = &h.household_id {
            let d = store
                .register()
                .household(&Scope::County, no)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((&d.row.township, &d.row.village), (&v.township, &v.village));
        }
    }
    // Redrawn from what is recorded: the same sample; another seed gives another.
    let again = store
        .inspections()
        .redraw_sample(i.id)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(again, s.sample);
    let second = store
        .inspections()
        .draw_sample(&inspector, i.id, &plan(7), &rural())
        .await
        .unwrap();
    assert!(matches!(second, Err(Refusal::Conflict(_))), "{second:?}");
    assert_eq!(
        store
            .inspections()
            .sample(i.id)
            .await
            .unwrap()
            .unwrap()
            .sample,
        s.sample
    );
    // Scope in SQL: a village's staff read their village's sampled households only.
    let village = Scope::Village {
        township: "示例二镇".into(),
        village: "示例二镇丙村".into(),
    };
    let rows = store
        .inspections()
        .sample_rows(&village, i.id)
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.village == "示例二镇丙村"));
    assert_eq!(
        store
            .inspections()
            .sample_rows(&Scope::County, i.id)
            .await
            .unwrap()
            .len(),
        15
    );
    // A village the register does not have is refused with its name.
    let j = inspection(&store, &inspector).await;
    let mut bad = rural();
    bad[0].village = "不存在村".into();
    match store
        .inspections()
        .draw_sample(&inspector, j.id, &plan(1), &bad)
        .await
        .unwrap()
    {
        Err(Refusal::Invalid(m)) => assert!(m.contains("不存在村"), "{m}"),
        other => panic!("{other:?}"),
    }
    let actions = audit_actions(&store).await;
    assert_eq!(actions.iter().filter(|a| *a == "draw_sample").count(), 1);
    assert_eq!(
        actions.iter().filter(|a| *a == "create_inspection").count(),
        2
    );
}

/// Results: every one must be a sampled household's and carry what its group needs, or
/// none is written; estimates appear when every household has its result, and a wrong
/// exit found moves 错退率 off zero.
async fn results_are_all_or_nothing_and_estimates_wait_for_every_household(store: Store) {
    plan_and_golden(&store).await;
    let hq = user(&store, "hq", Role::HqAdmin).await;
    let i = drawn(&store, &hq, 42).await;
    let rows = store
        .inspections()
        .sample_rows(&Scope::County, i.id)
        .await
        .unwrap();
    let exited = rows
        .iter()
        .find(|r| r.household.exited)
        .map(|r| r.household.no);
    let all = results(&rows, exited);
    // One bad row (a non-registered household without 是否漏评) refuses the lot.
    let mut bad = all.clone();
    let nr = bad.iter_mut().find(|v| v.missed.is_some()).unwrap();
    nr.missed = None;
    let nr_no = nr.no;
    match store
        .inspections()
        .record_results(&hq, i.id, &bad)
        .await
        .unwrap()
    {
        Err(Refusal::Invalid(m)) => assert!(m.contains(&format!("样本 {nr_no}")), "{m}"),
        other => panic!("{other:?}"),
    }
    let est = store
        .inspections()
        .inspection_estimates(i.id, fupin_domain::figures::Region::Central)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((est.sampled, est.verified), (15, 0));
    // Half now: no estimates yet.
    store
        .inspections()
        .record_results(&hq, i.id, &all[..7])
        .await
        .unwrap()
        .unwrap();
    let est = store
        .inspections()
        .inspection_estimates(i.id, fupin_domain::figures::Region::Central)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(est.verified, 7);
    assert!(est.estimates.is_none());
    store
        .inspections()
        .record_results(&hq, i.id, &all[7..])
        .await
        .unwrap()
        .unwrap();
    let est = store
        .inspections()
        .inspection_estimates(i.id, fupin_domain::figures::Region::Central)
        .await
        .unwrap()
        .unwrap();
    let e = est.estimates.expect("every household verified");
    assert_eq!(e.households, 15);
    let wrong = e.indicators[0].as_ref().unwrap();
    assert_eq!(wrong.found > 0, exited.is_some());
    // 不清楚 counts as not approving: the 9 registered households approve, 6 do not.
    let approval = e.indicators[2].as_ref().unwrap();
    assert_eq!((approval.found, approval.base), (9, 15));
    // Results read back as written.
    let back = store
        .inspections()
        .sample_rows(&Scope::County, i.id)
        .await
        .unwrap();
    for (r, v) in back.iter().zip(&all) {
        assert_eq!(r.result.as_ref(), Some(v));
    }
    // Corrected: written again, the audit row keeps what it replaced.
    store
        .inspections()
        .record_results(&hq, i.id, &all[..1])
        .await
        .unwrap()
        .unwrap();
    let entries = store
        .audit_log()
        .audit_entries(None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(entries[0].action, "record_verification");
    assert!(entries[0].before.is_some());
}

fn finding(desc: &str) -> NewFinding {
    NewFinding {
        description: desc.into(),
        category: "两不愁三保障".into(),
        severity: Some(Severity::Serious),
        household_no: Some(HOUSING_HOUSEHOLD.into()),
        task_no: Some(4),
        measure: "年底前完成危房改造并入住".into(),
        deadline: NaiveDate::from_ymd_opt(2018, 12, 31),
        ..NewFinding::default()
    }
}

/// A finding is a work item at once: linked to the housing task it goes to the task's
/// lead unit (its inbox), with the household's place; the unit works it, an inspector
/// closes it (销号), and the finding reads closed with the time. Unit and area staff read
/// only their own findings.
async fn findings_become_work_items_routed_by_the_plan_and_inspectors_close_them(store: Store) {
    plan_and_golden(&store).await;
    let inspector = user(&store, "inspector", Role::Inspector).await;
    let housing = unit_user(&store, "housing", HOUSING_UNIT).await;
    let water = unit_user(&store, "water", "县水利局").await;
    let other_township = user(
        &store,
        "town2",
        Role::TownshipStaff {
            township: "示例二镇".into(),
        },
    )
    .await;
    let i = inspection(&store, &inspector).await;
    let f = store
        .inspections()
        .create_finding(
            &inspector,
            i.id,
            &finding("住房为C级危房，未改造即认定脱贫"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.unit, HOUSING_UNIT);
    assert_eq!(f.owner, format!("{HOUSING_UNIT}局长"));
    assert_eq!(f.township.as_deref(), Some("示例一乡"));
    assert_eq!(f.state, WorkState::Todo);
    // In the unit's inbox, as an item of task 4 with its deadline.
    let inbox = store
        .work()
        .work_items(
            &ItemScope::Unit(HOUSING_UNIT.into()),
            &ItemFilter::default(),
            None,
            100,
        )
        .await
        .unwrap()
        .items;
    let item = inbox
        .iter()
        .find(|w| w.id == f.work_item)
        .expect("in the inbox");
    assert_eq!(item.task_no, Some(4));
    assert_eq!(item.deadline, NaiveDate::from_ymd_opt(2018, 12, 31));
    assert!(item.title.contains("省际交叉考核"));
    // The unit reads which household and what to do on the item itself.
    assert!(
        item.detail.contains(&format!("户编号 {HOUSING_HOUSEHOLD}")),
        "{}",
        item.detail
    );
    assert!(item.detail.contains("整改措施：年底前完成危房改造并入住"));
    // By hand: another unit, no task.
    let by_hand = store
        .inspections()
        .create_finding(
            &inspector,
            i.id,
            &NewFinding {
                task_no: None,
                unit: Some("县水利局".into()),
                household_no: None,
                township: Some("示例二镇".into()),
                village: Some("示例二镇丙村".into()),
                category: "其他".into(),
                ..finding("村集中供水点水质未检测")
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_hand.unit, "县水利局");
    assert_eq!(by_hand.owner, "县水利局主要负责人");
    // Scope: each unit its own, a township its own, the inspector all.
    let ids = |v: Vec<fupin_store::FindingRow>| v.into_iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .inspections()
            .findings(&ItemScope::All, Some(i.id))
            .await
            .unwrap()),
        [f.id, by_hand.id]
    );
    for (who, theirs) in [
        (&housing, [f.id]),
        (&water, [by_hand.id]),
        (&other_township, [by_hand.id]),
    ] {
        let read = store
            .inspections()
            .findings(&ItemScope::of(&who.role), None)
            .await;
        assert_eq!(ids(read.unwrap()), theirs, "{}", who.username);
    }
    assert!(store
        .inspections()
        .finding(&ItemScope::of(&water.role), f.id)
        .await
        .unwrap()
        .is_none());
    // The loop: the unit reports and completes; the inspector closes (销号).
    let today = NaiveDate::from_ymd_opt(2018, 11, 1).unwrap();
    take_step(
        &store,
        &housing,
        f.work_item,
        &step(WorkAction::Report, "已拆除旧房，新房主体完工"),
        today,
    )
    .await;
    let mid = store
        .inspections()
        .finding(&ItemScope::All, f.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mid.state, WorkState::InProgress);
    assert_eq!(mid.latest_note.as_deref(), Some("已拆除旧房，新房主体完工"));
    take_step(
        &store,
        &housing,
        f.work_item,
        &step(WorkAction::Complete, "已入住"),
        today,
    )
    .await;
    let refused = store
        .work()
        .act_on_work_item(
            &acting(&housing),
            f.work_item,
            &step(WorkAction::Close, ""),
            today,
        )
        .await
        .unwrap();
    assert!(matches!(refused, Err(Refusal::Forbidden(_))));
    take_step(
        &store,
        &inspector,
        f.work_item,
        &step(WorkAction::Close, "现场核验通过"),
        today,
    )
    .await;
    let closed = store
        .inspections()
        .finding(&ItemScope::All, f.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.state, WorkState::Closed);
    assert!(closed.closed_at.is_some());
    let actions = audit_actions(&store).await;
    assert_eq!(actions.iter().filter(|a| *a == "create_finding").count(), 2);
    assert!(actions.iter().any(|a| a == "work_item_close"));
    // A task the plan does not have, an unknown household, no route: refused.
    for (bad, what) in [
        (
            NewFinding {
                task_no: Some(99),
                ..finding("x")
            },
            "第 99 项",
        ),
        (
            NewFinding {
                household_no: Some("0000".into()),
                ..finding("x")
            },
            "0000",
        ),
        (
            NewFinding {
                task_no: None,
                ..finding("x")
            },
            "承办单位",
        ),
    ] {
        match store
            .inspections()
            .create_finding(&inspector, i.id, &bad)
            .await
            .unwrap()
        {
            Err(Refusal::Invalid(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

/// Policy: headquarters and inspectors record inspections, draws, results and findings;
/// unit, area staff and county leaders are refused and nothing is written.
async fn only_headquarters_and_inspectors_record(store: Store) {
    plan_and_golden(&store).await;
    let inspector = user(&store, "inspector", Role::Inspector).await;
    let i = drawn(&store, &inspector, 3).await;
    for (name, role) in [
        ("leader", Role::CountyLeader),
        (
            "unit",
            Role::UnitStaff {
                unit: HOUSING_UNIT.into(),
            },
        ),
        (
            "town",
            Role::TownshipStaff {
                township: "示例一乡".into(),
            },
        ),
    ] {
        let u = user(&store, name, role).await;
        assert!(matches!(
            store
                .inspections()
                .create_inspection(&u, &new_inspection())
                .await
                .unwrap(),
            Err(Refusal::Forbidden(_))
        ));
        let j = store.inspections().all().await.unwrap()[0].id;
        assert!(matches!(
            store
                .inspections()
                .draw_sample(&u, j, &plan(3), &rural())
                .await
                .unwrap(),
            Err(Refusal::Forbidden(_))
        ));
        let rows = store
            .inspections()
            .sample_rows(&Scope::County, i.id)
            .await
            .unwrap();
        assert!(matches!(
            store
                .inspections()
                .record_results(&u, i.id, &results(&rows, None))
                .await
                .unwrap(),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            store
                .inspections()
                .create_finding(&u, i.id, &finding("x"))
                .await
                .unwrap(),
            Err(Refusal::Forbidden(_))
        ));
    }
    assert_eq!(store.inspections().all().await.unwrap().len(), 1);
    assert!(store
        .inspections()
        .findings(&ItemScope::All, None)
        .await
        .unwrap()
        .is_empty());
}
