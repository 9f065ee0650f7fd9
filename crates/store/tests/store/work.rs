//! The plan, gaps and work items in the store (issue 5), on both backends.

use crate::support::*;
use chrono::NaiveDate;
use fupin_domain::household::Entry;
use fupin_domain::values::HousingGrade;
use fupin_domain::work_item::{Refusal, WorkAction, WorkState};
use fupin_store::{GapFilter, ItemEdit, ItemFilter, ItemScope, NewWorkItem, Role, Scope, Store};

contract!(
    gaps_are_routed_by_the_plan_and_stored_with_their_route,
    the_same_gap_in_the_next_assessment_is_the_same_gap_and_a_fixed_one_closes_itself,
    only_the_unit_moves_its_items_and_only_headquarters_or_inspectors_close,
    unit_and_area_staff_read_only_their_items_and_gaps,
    plans_are_revised_not_replaced,
    two_checkers_closing_at_once_close_once,
    an_import_whose_gap_refresh_fails_stores_nothing,
    headquarters_changes_deadline_and_unit_with_a_reason_and_the_inboxes_follow,
    overdue_items_are_escalated_by_the_system_once_per_deadline,
    two_server_processes_escalating_at_once_escalate_each_item_once,
    a_household_shows_its_gaps_and_items_in_the_readers_scope,
    a_plan_is_stored_with_its_routing_or_not_at_all,
    a_plan_revision_moves_waiting_items_but_not_those_headquarters_reassigned,
);

async fn all_gaps(store: &Store, filter: &GapFilter) -> Vec<fupin_store::GapRow> {
    store
        .work()
        .gaps(&ItemScope::All, filter, None, 500)
        .await
        .unwrap()
        .items
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Routing (plan.md 负责问题; issue 5): a household's housing gap goes to the housing task
/// and its lead unit, with a work item assigned there; income by labour capacity; kinds
/// no task owns (DATA, BROADBAND) wait in the headquarters' queue without an item.
async fn gaps_are_routed_by_the_plan_and_stored_with_their_route(store: Store) {
    plan_and_golden(&store).await;
    let gaps = all_gaps(
        &store,
        &GapFilter {
            open: true,
            ..GapFilter::default()
        },
    )
    .await;
    let housing = gaps
        .iter()
        .find(|g| g.key == format!("household:{HOUSING_HOUSEHOLD}:HOUSING"))
        .expect("the housing gap");
    assert_eq!(housing.task_no, Some(4));
    assert_eq!(housing.lead_unit.as_deref(), Some(HOUSING_UNIT));
    let item = store
        .work()
        .work_item(&ItemScope::All, housing.work_item.expect("an item"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.unit, HOUSING_UNIT);
    assert_eq!(item.state, WorkState::Todo);
    assert_eq!(item.deadline, Some(day("2018-10-31")));
    assert_eq!(item.leader.as_deref(), Some("分管副县长"));
    for g in &gaps {
        match g.kind.as_str() {
            "HOUSING" => assert_eq!(g.task_no, Some(4), "{}", g.key),
            "WATER" => assert_eq!(g.task_no, Some(6), "{}", g.key),
            "INCOME" => assert!(matches!(g.task_no, Some(7 | 8)), "{}", g.key),
            "DATA" | "BROADBAND" | "FOOD" | "CLOTHING" | "EDUCATION" | "MEDICAL" => {
                assert_eq!(g.task_no, None, "{}", g.key);
                assert_eq!(g.work_item, None, "{}", g.key);
            }
            _ => {}
        }
    }
    assert!(gaps
        .iter()
        .any(|g| g.kind == "BROADBAND" && g.village == "示例二镇丙村"));
    assert!(gaps.iter().any(|g| g.kind == "DATA"));
    // Income by labour capacity: both routes occur in the golden register, each to its task.
    let income: Vec<_> = gaps.iter().filter(|g| g.kind == "INCOME").collect();
    assert!(income.iter().any(|g| g.task_no == Some(8)));
    let queue = all_gaps(
        &store,
        &GapFilter {
            open: true,
            unrouted: true,
            ..GapFilter::default()
        },
    )
    .await;
    assert!(!queue.is_empty() && queue.iter().all(|g| g.task_no.is_none()));
    let counts = store.work().gap_counts(&ItemScope::All).await.unwrap();
    assert_eq!(counts.unrouted as usize, queue.len());
    assert_eq!(counts.open as usize, gaps.len());
}

/// Gap identity (issue 5): the same register imported again finds the same gaps (same
/// ids, no duplicates, no new items); a household whose house was made safe has its
/// housing gap closed with the evidence, and its item moved to 已完成待核 for the check.
async fn the_same_gap_in_the_next_assessment_is_the_same_gap_and_a_fixed_one_closes_itself(
    store: Store,
) {
    let first = plan_and_golden(&store).await;
    let before = all_gaps(&store, &GapFilter::default()).await;
    let (register, villages) = golden();
    let again = store
        .import()
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await
        .unwrap();
    assert_ne!(first.version, again.version);
    let after = all_gaps(&store, &GapFilter::default()).await;
    assert_eq!(
        before
            .iter()
            .map(|g| (g.id, &g.key, g.work_item))
            .collect::<Vec<_>>(),
        after
            .iter()
            .map(|g| (g.id, &g.key, g.work_item))
            .collect::<Vec<_>>()
    );
    assert!(after
        .iter()
        .all(|g| g.open && g.last_version == again.version));
    // Refreshing once more changes nothing either.
    let r = store
        .work()
        .refresh_gaps(again.version, None, None)
        .await
        .unwrap();
    assert_eq!(
        (r.opened, r.reopened, r.closed, r.items_created),
        (0, 0, 0, 0)
    );

    let (mut fixed, villages) = golden();
    let h = fixed
        .households
        .iter_mut()
        .find(|h| &*h.id == HOUSING_HOUSEHOLD)
        .unwrap();
    h.values.housing_grade = Entry::Value(HousingGrade::A);
    let third = store
        .import()
        .import_register(&fixed, &meta("members-fixed.csv", None), Some(&villages))
        .await
        .unwrap();
    let gaps = all_gaps(&store, &GapFilter::default()).await;
    assert_eq!(gaps.len(), before.len(), "no gap is added or removed");
    let housing = gaps
        .iter()
        .find(|g| g.key == format!("household:{HOUSING_HOUSEHOLD}:HOUSING"))
        .unwrap();
    assert!(!housing.open);
    let evidence = housing.evidence.clone().unwrap();
    assert!(
        evidence.contains("已达标") && evidence.contains(&format!("第 {} 版", third.version)),
        "{evidence}"
    );
    let item = store
        .work()
        .work_item(&ItemScope::All, housing.work_item.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.state, WorkState::Done);
    let events = store.work().work_events(item.id).await.unwrap();
    assert_eq!(events.last().unwrap().note, evidence);
    // Every other household's gaps stay open (the village's incidence may change with it).
    assert!(gaps
        .iter()
        .filter(|g| g.id != housing.id && g.household_no.is_some())
        .all(|g| g.open));
    // The dashboard's counts (kept in gap_counts by the refresh) follow: the closed gap
    // is counted closed, for the county and for the housing gap's lead unit.
    let counts = store.work().gap_counts(&ItemScope::All).await.unwrap();
    let open = gaps.iter().filter(|g| g.open).count();
    assert_eq!(
        (counts.open as usize, counts.closed as usize),
        (open, gaps.len() - open)
    );
    let unit = housing.lead_unit.clone().unwrap();
    let counts = store
        .work()
        .gap_counts(&ItemScope::Unit(unit.clone()))
        .await
        .unwrap();
    let of_unit = |open: bool| {
        gaps.iter()
            .filter(|g| g.open == open && g.lead_unit.as_deref() == Some(unit.as_str()))
            .count()
    };
    assert_eq!(
        (counts.open as usize, counts.closed as usize),
        (of_unit(true), of_unit(false))
    );
    assert!(counts.closed >= 1);

    // It fails again in the next version: the same gap opens again, its item with it.
    let (register, villages) = golden();
    store
        .import()
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await
        .unwrap();
    let again = store
        .work()
        .gap(&ItemScope::All, housing.id)
        .await
        .unwrap()
        .unwrap();
    assert!(again.open && again.evidence.is_none());
    let item = store
        .work()
        .work_item(&ItemScope::All, item.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.state, WorkState::InProgress);
}

/// The state machine's permissions, through the store (issue 5): another unit cannot
/// even see the item; the unit reports and reports done but cannot close; an inspector
/// sends it back (with a reason) and headquarters closes; every step is audited.
async fn only_the_unit_moves_its_items_and_only_headquarters_or_inspectors_close(store: Store) {
    plan_and_golden(&store).await;
    let hq = user(&store, "hq", Role::HqAdmin).await;
    let housing = unit_user(&store, "zjj", HOUSING_UNIT).await;
    let water = unit_user(&store, "slj", "县水利局").await;
    let inspector = user(&store, "dc", Role::Inspector).await;
    let today = day("2018-09-01");
    let id = all_gaps(&store, &GapFilter::default())
        .await
        .into_iter()
        .find(|g| g.key == format!("household:{HOUSING_HOUSEHOLD}:HOUSING"))
        .unwrap()
        .work_item
        .unwrap();

    let r = store
        .work()
        .act_on_work_item(&acting(&water), id, &step(WorkAction::Start, ""), today)
        .await
        .unwrap();
    assert_eq!(r, Ok(None), "another unit's item is not found");
    let mut report = step(WorkAction::Report, "已入户核实，危房改造已开工");
    report.percent = Some(40);
    report.attachments = vec![fupin_store::NewAttachment {
        file_name: "现场照片.jpg".into(),
        content_type: "image/jpeg".into(),
        data: vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3],
    }];
    let item = take_step(&store, &housing, id, &report, today).await;
    assert_eq!((item.state, item.progress), (WorkState::InProgress, 40));
    let refused = store
        .work()
        .act_on_work_item(&acting(&housing), id, &step(WorkAction::Close, ""), today)
        .await
        .unwrap();
    assert!(matches!(refused, Err(Refusal::Forbidden(_))), "{refused:?}");
    let refused = store
        .work()
        .act_on_work_item(&acting(&hq), id, &step(WorkAction::Close, ""), today)
        .await
        .unwrap();
    assert!(
        matches!(refused, Err(Refusal::Conflict(_))),
        "closing needs 已完成待核 first"
    );
    let item = take_step(
        &store,
        &housing,
        id,
        &step(WorkAction::Complete, "改造完成，已验收"),
        today,
    )
    .await;
    assert_eq!((item.state, item.progress), (WorkState::Done, 100));
    let no_reason = store
        .work()
        .act_on_work_item(
            &acting(&inspector),
            id,
            &step(WorkAction::Reopen, "  "),
            today,
        )
        .await
        .unwrap();
    assert!(no_reason.is_err());
    let item = take_step(
        &store,
        &inspector,
        id,
        &step(WorkAction::Reopen, "缺少鉴定报告"),
        today,
    )
    .await;
    assert_eq!(item.state, WorkState::InProgress);
    take_step(
        &store,
        &housing,
        id,
        &step(WorkAction::Complete, "补交鉴定报告"),
        today,
    )
    .await;
    // Issue 14 (销号以证据为准): the household's housing still fails, so 销号 is refused;
    // an inspector may not override, headquarters may with a reason, and it is listed.
    let refused = store
        .work()
        .act_on_work_item(
            &acting(&hq),
            id,
            &step(WorkAction::Close, "核查属实，销号"),
            today,
        )
        .await
        .unwrap();
    assert!(
        matches!(&refused, Err(Refusal::Conflict(m)) if m.contains("仍未达标")),
        "{refused:?}"
    );
    let refused = store
        .work()
        .act_on_work_item(
            &acting(&inspector),
            id,
            &overriding_close("无法改造"),
            today,
        )
        .await
        .unwrap();
    assert!(matches!(refused, Err(Refusal::Forbidden(_))), "{refused:?}");
    let item = take_step(
        &store,
        &hq,
        id,
        &overriding_close("核查属实，地质灾害区无法原址改造"),
        today,
    )
    .await;
    assert_eq!(item.state, WorkState::Closed);
    assert_eq!(
        item.close_override,
        Some(fupin_domain::work_item::CloseOverride::CannotRectify)
    );
    let listed = store
        .work()
        .work_items(
            &ItemScope::All,
            &ItemFilter {
                overridden: true,
                ..ItemFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(listed.items.iter().map(|i| i.id).collect::<Vec<_>>(), [id]);

    let events = store.work().work_events(id).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["assign", "report", "complete", "reopen", "complete", "close"]
    );
    assert_eq!(events[1].attachments.len(), 1);
    let a = store
        .work()
        .attachment(
            &ItemScope::Unit(HOUSING_UNIT.into()),
            events[1].attachments[0].id,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.data, vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    assert!(store
        .work()
        .attachment(&ItemScope::Unit("县水利局".into()), a.info.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(events[3].note, "缺少鉴定报告");
    let audit = store
        .audit_log()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .items;
    let audited: Vec<&str> = audit
        .iter()
        .filter(|e| e.entity == "work_item" && e.entity_id == id.to_string())
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        audited,
        [
            "work_item_close_override",
            "work_item_complete",
            "work_item_reopen",
            "work_item_complete",
            "work_item_report"
        ]
    );
    let close = audit
        .iter()
        .find(|e| e.action == "work_item_close_override")
        .unwrap();
    assert_eq!(close.user_id, Some(hq.id));
    assert!(close.after.as_ref().unwrap()["note"]
        .as_str()
        .unwrap()
        .starts_with("强制销号（无法整改）"));
    assert_eq!(close.before.as_ref().unwrap()["state"], "done");
    assert_eq!(close.after.as_ref().unwrap()["state"], "closed");

    // By hand (交办): headquarters only; a queued gap gets one item at most.
    let queued = all_gaps(
        &store,
        &GapFilter {
            open: true,
            unrouted: true,
            ..GapFilter::default()
        },
    )
    .await
    .into_iter()
    .next()
    .unwrap();
    let new = NewWorkItem {
        gap_id: Some(queued.id),
        task_no: None,
        title: "核实并更正基础资料".into(),
        detail: queued.detail.clone(),
        unit: "县扶贫办".into(),
        deadline: Some(day("2018-08-31")),
    };
    assert!(store
        .work()
        .create_work_item(&acting(&housing), &new)
        .await
        .unwrap()
        .is_err());
    let made = store
        .work()
        .create_work_item(&acting(&hq), &new)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made.township.as_deref(), Some(queued.township.as_str()));
    assert!(store
        .work()
        .create_work_item(&acting(&hq), &new)
        .await
        .unwrap()
        .is_err());
    // Past its deadline it is overdue, and headquarters escalates it once.
    assert!(made.overdue(today));
    let n = store
        .work()
        .escalate_overdue(&acting(&hq), today)
        .await
        .unwrap()
        .unwrap();
    assert!(n >= 1);
    assert_eq!(
        store
            .work()
            .escalate_overdue(&acting(&hq), today)
            .await
            .unwrap()
            .unwrap(),
        0
    );
    let escalated = store
        .work()
        .work_item(&ItemScope::All, made.id)
        .await
        .unwrap()
        .unwrap();
    assert!(escalated.escalated_at.is_some());
}

/// Scope in SQL (issue 5): unit staff read their unit's items and the gaps routed to it;
/// township staff their township's; nobody reads the others' by id either.
async fn unit_and_area_staff_read_only_their_items_and_gaps(store: Store) {
    plan_and_golden(&store).await;
    let unit = ItemScope::Unit(HOUSING_UNIT.into());
    let items = store
        .work()
        .work_items(&unit, &ItemFilter::default(), None, 500)
        .await
        .unwrap()
        .items;
    assert!(!items.is_empty() && items.iter().all(|i| i.unit == HOUSING_UNIT));
    let all = store
        .work()
        .work_items(&ItemScope::All, &ItemFilter::default(), None, 500)
        .await
        .unwrap()
        .items;
    let other = all.iter().find(|i| i.unit != HOUSING_UNIT).unwrap();
    assert_eq!(store.work().work_item(&unit, other.id).await.unwrap(), None);
    let gaps = store
        .work()
        .gaps(&unit, &GapFilter::default(), None, 500)
        .await
        .unwrap()
        .items;
    assert!(
        !gaps.is_empty()
            && gaps
                .iter()
                .all(|g| g.lead_unit.as_deref() == Some(HOUSING_UNIT))
    );

    let town = ItemScope::Area(Scope::Township {
        township: "示例一乡".into(),
    });
    let mine = store
        .work()
        .gaps(&town, &GapFilter::default(), None, 500)
        .await
        .unwrap()
        .items;
    assert!(!mine.is_empty() && mine.iter().all(|g| g.township == "示例一乡"));
    let elsewhere = all_gaps(&store, &GapFilter::default())
        .await
        .into_iter()
        .find(|g| g.township == "示例二镇")
        .unwrap();
    assert_eq!(store.work().gap(&town, elsewhere.id).await.unwrap(), None);
    let items = store
        .work()
        .work_items(&town, &ItemFilter::default(), None, 500)
        .await
        .unwrap()
        .items;
    assert!(items
        .iter()
        .all(|i| i.township.as_deref() == Some("示例一乡")));
    let counts = store.work().gap_counts(&town).await.unwrap();
    assert_eq!(counts.open as usize, mine.len());
}

/// A plan belongs to a year and is revised, not replaced: each import is the next
/// revision, the highest is in force, every one is audited.
async fn plans_are_revised_not_replaced(store: Store) {
    let first = store
        .plan()
        .import_plan(&small_plan(), &plan_source())
        .await
        .unwrap();
    let mut revised = small_plan();
    revised.tasks[0].lead_unit = "县住建局（房管所）".into();
    let second = store
        .plan()
        .import_plan(&revised, &plan_source())
        .await
        .unwrap();
    assert_eq!((first.revision, second.revision), (1, 2));
    let current = store
        .plan()
        .current_plan(Some(2018))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.revision.id, second.id);
    assert_eq!(current.plan, revised);
    assert_eq!(store.plan().current_plan(Some(2019)).await.unwrap(), None);
    assert_eq!(store.plan().plan_revisions().await.unwrap().len(), 2);
    let audit = store
        .audit_log()
        .audit_entries(None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(
        audit.iter().filter(|e| e.action == "import_plan").count(),
        2
    );

    let leader = user(&store, "fxz", Role::CountyLeader).await;
    store
        .plan()
        .set_leader_post(leader.id, Some("分管副县长"), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .plan()
            .leader_post(leader.id)
            .await
            .unwrap()
            .as_deref(),
        Some("分管副县长")
    );
    let unit = unit_user(&store, "u", HOUSING_UNIT).await;
    assert!(store
        .plan()
        .set_leader_post(unit.id, Some("县长"), None)
        .await
        .is_err());
}

/// Two checkers closing the same item at once: one closes it, the other is told it has
/// just changed; one close event, one audit row.
async fn two_checkers_closing_at_once_close_once(store: Store) {
    plan_and_golden(&store).await;
    let hq = user(&store, "hq", Role::HqAdmin).await;
    let inspector = user(&store, "dc", Role::Inspector).await;
    let today = day("2018-09-01");
    let id = store
        .work()
        .work_items(&ItemScope::All, &ItemFilter::default(), None, 1)
        .await
        .unwrap()
        .items[0]
        .id;
    take_step(&store, &hq, id, &step(WorkAction::Complete, "完成"), today).await;
    // Closed on evidence: the gap no longer fails.
    crate::support::execute(&store, &format!("UPDATE gaps SET open = FALSE WHERE id = (SELECT gap_id FROM work_items WHERE id = {id})"))
        .await
        .unwrap();
    let close = step(WorkAction::Close, "销号");
    // Each on a task of its own, so that they truly run at once.
    let (s1, s2) = (store.clone(), store.clone());
    let (c1, c2) = (close.clone(), close.clone());
    let (u1, u2) = (hq.clone(), inspector.clone());
    let a = tokio::spawn(async move {
        s1.work()
            .act_on_work_item(&acting(&u1), id, &c1, today)
            .await
            .map(|r| r.map(|i| i.is_some()))
    });
    let b = tokio::spawn(async move {
        s2.work()
            .act_on_work_item(&acting(&u2), id, &c2, today)
            .await
            .map(|r| r.map(|i| i.is_some()))
    });
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, Ok(true))).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| o.is_err()).count(),
        1,
        "{outcomes:?}"
    );
    let closes = store
        .work()
        .work_events(id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "close")
        .count();
    assert_eq!(closes, 1);
    let audited = store
        .audit_log()
        .audit_entries(None, 500)
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.action == "work_item_close")
        .count();
    assert_eq!(audited, 1);
}

/// All or nothing (issue 5): a register import and its gap refresh are one transaction.
/// When the refresh cannot write (here the database itself refuses new gaps, by a
/// trigger), the import fails and nothing of it is stored: no version, no current
/// pointer, no audit row; the earlier version stays current with its gaps. Once the
/// database takes gaps again, the same import stores the version with its gaps.
async fn an_import_whose_gap_refresh_fails_stores_nothing(store: Store) {
    store
        .plan()
        .import_plan(&small_plan(), &plan_source())
        .await
        .unwrap();
    let (register, villages) = golden();
    let first = store
        .import()
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await
        .unwrap();
    let gaps_before = all_gaps(&store, &GapFilter::default()).await;
    assert!(!gaps_before.is_empty());
    // The next register has one more failed criterion: a new gap to insert.
    let (mut worse, villages) = golden();
    let h = worse
        .households
        .iter_mut()
        .find(|h| {
            h.values.safe_water == Entry::Value(true)
                && !gaps_before
                    .iter()
                    .any(|g| g.household_no.as_deref() == Some(&*h.id))
        })
        .expect("a household without gaps");
    h.values.safe_water = Entry::Value(false);
    let household = h.id.to_string();
    let allow = refuse_inserts(&store, "gaps", "no new gaps").await;
    let audit_rows = count(&store, "SELECT COUNT(*) FROM audit_log").await;
    let err = store
        .import()
        .import_register(&worse, &meta("members-worse.csv", None), Some(&villages))
        .await
        .expect_err("the refresh fails, so the import fails");
    assert!(err.to_string().contains("no new gaps"), "{err}");
    assert_eq!(store.register().versions().await.unwrap().len(), 1);
    assert_eq!(
        store
            .register()
            .current_version()
            .await
            .unwrap()
            .unwrap()
            .id,
        first.version
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM audit_log").await,
        audit_rows
    );
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM households WHERE version_id <> {}",
                first.version
            )
        )
        .await,
        0
    );
    assert_eq!(all_gaps(&store, &GapFilter::default()).await, gaps_before);
    if let Store::Postgres(pool) = &store {
        // The version's staging tables were attached, then detached by the rollback,
        // then dropped.
        assert_eq!(crate::unattached_tables(pool).await, Vec::<String>::new());
    }

    execute(&store, &allow).await;
    let again = store
        .import()
        .import_register(&worse, &meta("members-worse.csv", None), Some(&villages))
        .await
        .unwrap();
    let water = all_gaps(&store, &GapFilter::default())
        .await
        .into_iter()
        .find(|g| g.household_no.as_deref() == Some(household.as_str()) && g.kind == "WATER")
        .expect("the new gap, stored with the version");
    assert_eq!(water.first_version, again.version);
    assert!(water.work_item.is_some());
}

/// Make the database itself refuse new rows of `table` with `message` (a trigger), as a
/// failure in the middle of a write; the SQL returned drops the trigger again.
async fn refuse_inserts(store: &Store, table: &str, message: &str) -> String {
    let trigger = format!("refuse_{table}");
    let (refuse, allow) = match store {
        Store::Sqlite(_) => (
            vec![format!(
                "CREATE TRIGGER {trigger} BEFORE INSERT ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )],
            format!("DROP TRIGGER {trigger}"),
        ),
        Store::Postgres(_) => (
            vec![
                format!(
                    "CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION '{message}'; END $$"
                ),
                format!(
                    "CREATE TRIGGER {trigger} BEFORE INSERT ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION {trigger}()"
                ),
            ],
            format!("DROP TRIGGER {trigger} ON {table}"),
        ),
    };
    for sql in &refuse {
        execute(store, sql).await;
    }
    allow
}

async fn execute(store: &Store, sql: &str) {
    match store {
        Store::Sqlite(p) => {
            fupin_store::sqlx::raw_sql(sql).execute(p).await.unwrap();
        }
        Store::Postgres(p) => {
            fupin_store::sqlx::raw_sql(sql).execute(p).await.unwrap();
        }
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    match store {
        Store::Sqlite(p) => fupin_store::sqlx::query_scalar(sql)
            .fetch_one(p)
            .await
            .unwrap(),
        Store::Postgres(p) => fupin_store::sqlx::query_scalar(sql)
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

fn housing_item_of(gaps: &[fupin_store::GapRow]) -> fupin_store::WorkItemId {
    gaps.iter()
        .find(|g| g.key == format!("household:{HOUSING_HOUSEHOLD}:HOUSING"))
        .and_then(|g| g.work_item)
        .expect("the housing gap's item")
}

async fn inbox(store: &Store, unit: &str) -> Vec<fupin_store::WorkItemId> {
    store
        .work()
        .work_items(
            &ItemScope::Unit(unit.into()),
            &ItemFilter::default(),
            None,
            500,
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.id)
        .collect()
}

/// 改期、改派 (issue 5): only headquarters changes an item's deadline or unit, and only
/// with a reason; the item leaves the old unit's inbox for the new one's; the change is
/// an event with the reason and an audit row with deadline and unit before and after; a
/// closed item is not changed.
async fn headquarters_changes_deadline_and_unit_with_a_reason_and_the_inboxes_follow(store: Store) {
    plan_and_golden(&store).await;
    let hq = user(&store, "hq", Role::HqAdmin).await;
    let housing = unit_user(&store, "zjj", HOUSING_UNIT).await;
    let inspector = user(&store, "dc", Role::Inspector).await;
    let id = housing_item_of(&all_gaps(&store, &GapFilter::default()).await);
    assert!(inbox(&store, HOUSING_UNIT).await.contains(&id));
    let edit = ItemEdit {
        deadline: Some(day("2018-12-15")),
        unit: "县扶贫办".into(),
        reason: "需先完成危房鉴定，改由扶贫办牵头".into(),
    };
    for who in [&housing, &inspector] {
        let r = store
            .work()
            .edit_work_item(&acting(who), id, &edit)
            .await
            .unwrap();
        assert!(matches!(r, Err(Refusal::Forbidden(_))), "{r:?}");
    }
    let no_reason = ItemEdit {
        reason: "  ".into(),
        ..edit.clone()
    };
    let r = store
        .work()
        .edit_work_item(&acting(&hq), id, &no_reason)
        .await
        .unwrap();
    assert!(matches!(r, Err(Refusal::Invalid(_))), "{r:?}");
    let unchanged = store
        .work()
        .work_item(&ItemScope::All, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (unchanged.unit.as_str(), unchanged.deadline),
        (HOUSING_UNIT, Some(day("2018-10-31")))
    );

    let item = store
        .work()
        .edit_work_item(&acting(&hq), id, &edit)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (item.unit.as_str(), item.deadline),
        ("县扶贫办", Some(day("2018-12-15")))
    );
    assert!(!inbox(&store, HOUSING_UNIT).await.contains(&id));
    assert!(inbox(&store, "县扶贫办").await.contains(&id));
    // The old unit can no longer act on it.
    let r = store
        .work()
        .act_on_work_item(
            &acting(&housing),
            id,
            &step(WorkAction::Start, ""),
            day("2018-11-01"),
        )
        .await
        .unwrap();
    assert_eq!(r, Ok(None));
    let e = store.work().work_events(id).await.unwrap();
    let last = e.last().unwrap();
    assert_eq!(last.action, "edit");
    assert_eq!(last.username.as_deref(), Some("hq"));
    assert!(
        last.note.contains("2018-10-31 → 2018-12-15")
            && last.note.contains("县住建局 → 县扶贫办")
            && last.note.contains("需先完成危房鉴定"),
        "{}",
        last.note
    );
    let audit = store
        .audit_log()
        .audit_entries(None, 50)
        .await
        .unwrap()
        .items;
    let a = audit
        .iter()
        .find(|a| a.action == "work_item_edit")
        .expect("audited");
    assert_eq!(a.user_id, Some(hq.id));
    assert_eq!(a.entity_id, id.to_string());
    let (before, after) = (a.before.as_ref().unwrap(), a.after.as_ref().unwrap());
    assert_eq!(
        (&before["unit"], &before["deadline"]),
        (
            &serde_json::json!(HOUSING_UNIT),
            &serde_json::json!("2018-10-31")
        )
    );
    assert_eq!(
        (&after["unit"], &after["deadline"], &after["reason"]),
        (
            &serde_json::json!("县扶贫办"),
            &serde_json::json!("2018-12-15"),
            &serde_json::json!("需先完成危房鉴定，改由扶贫办牵头")
        )
    );
    // Nothing to change is refused; a closed item is not changed.
    let r = store
        .work()
        .edit_work_item(&acting(&hq), id, &edit)
        .await
        .unwrap();
    assert!(matches!(r, Err(Refusal::Invalid(_))), "{r:?}");
    for s in [step(WorkAction::Complete, "完成"), overriding_close("完成")] {
        take_step(&store, &hq, id, &s, day("2018-11-01")).await;
    }
    let r = store
        .work()
        .edit_work_item(
            &acting(&hq),
            id,
            &ItemEdit {
                unit: HOUSING_UNIT.into(),
                ..edit
            },
        )
        .await
        .unwrap();
    assert!(matches!(r, Err(Refusal::Conflict(_))), "{r:?}");
}

/// The pending items of plan tasks past their deadline on `today`.
async fn overdue(store: &Store, today: NaiveDate) -> Vec<fupin_store::WorkItem> {
    store
        .work()
        .work_items(
            &ItemScope::All,
            &ItemFilter {
                overdue_on: Some(today),
                ..ItemFilter::default()
            },
            None,
            500,
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|i| i.task_no.is_some())
        .collect()
}

async fn escalations(store: &Store, id: fupin_store::WorkItemId) -> usize {
    store
        .work()
        .work_events(id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "escalate")
        .count()
}

/// Scheduled escalation (issue 5): on a day after the plan's deadline every overdue
/// item of a task is escalated to the task's leader by the system (no user), once: a
/// second run escalates nothing. An item given a new deadline is escalated again only
/// when that one passes too.
async fn overdue_items_are_escalated_by_the_system_once_per_deadline(store: Store) {
    plan_and_golden(&store).await;
    let hq = user(&store, "hq", Role::HqAdmin).await;
    assert_eq!(
        store
            .work()
            .escalate_overdue_as_system(day("2018-10-31"))
            .await
            .unwrap(),
        0,
        "nothing is overdue on the deadline itself"
    );
    let today = day("2018-11-05");
    let due = overdue(&store, today).await;
    assert!(due.len() > 3, "{}", due.len());
    // One reported done is waiting on the checker: not overdue, not escalated.
    let done = due[0].id;
    take_step(
        &store,
        &hq,
        done,
        &step(WorkAction::Complete, "完成"),
        today,
    )
    .await;
    let n = store
        .work()
        .escalate_overdue_as_system(today)
        .await
        .unwrap();
    assert_eq!(n as usize, due.len() - 1);
    assert_eq!(
        store
            .work()
            .escalate_overdue_as_system(today)
            .await
            .unwrap(),
        0
    );
    assert_eq!(escalations(&store, done).await, 0);
    let one = due[1].id;
    let item = store
        .work()
        .work_item(&ItemScope::All, one)
        .await
        .unwrap()
        .unwrap();
    assert!(item.escalated_at.is_some());
    let e = store.work().work_events(one).await.unwrap();
    let last = e.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.username.as_deref()),
        ("escalate", None)
    );
    assert!(
        last.note.contains(item.leader.as_deref().unwrap()),
        "{}",
        last.note
    );
    let audited = store
        .audit_log()
        .audit_entries(None, 500)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|a| a.action == "work_item_escalate")
        .collect::<Vec<_>>();
    assert_eq!(audited.len(), due.len() - 1);
    assert!(audited
        .iter()
        .all(|a| a.user_id.is_none() && a.after.as_ref().unwrap()["by"] == "system"));

    // A new deadline: not escalated while it holds, escalated again once it passes.
    store
        .work()
        .edit_work_item(
            &acting(&hq),
            one,
            &ItemEdit {
                deadline: Some(day("2018-11-20")),
                unit: item.unit.clone(),
                reason: "延期至11月20日".into(),
            },
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .work()
            .escalate_overdue_as_system(day("2018-11-10"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .work()
            .escalate_overdue_as_system(day("2018-11-21"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(escalations(&store, one).await, 2);
    assert_eq!(
        store
            .work()
            .escalate_overdue_as_system(day("2018-11-22"))
            .await
            .unwrap(),
        0
    );
}

/// Several `fupin serve` processes on one database (issue 5): two stores, each with its
/// own pool, escalate at the same moment; every overdue item is escalated exactly once
/// between them (one event, one audit row each).
async fn two_server_processes_escalating_at_once_escalate_each_item_once(store: Store) {
    plan_and_golden(&store).await;
    let other = match &store {
        Store::Sqlite(p) => Store::Sqlite(
            fupin_store::sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with((*p.connect_options()).clone())
                .await
                .unwrap(),
        ),
        Store::Postgres(p) => Store::Postgres(
            fupin_store::sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .connect_with((*p.connect_options()).clone())
                .await
                .unwrap(),
        ),
    };
    let today = day("2018-11-05");
    let due = overdue(&store, today).await;
    assert!(!due.is_empty());
    let mut runs = Vec::new();
    for s in [store.clone(), other.clone(), store.clone(), other.clone()] {
        runs.push(tokio::spawn(async move {
            s.work().escalate_overdue_as_system(today).await.unwrap()
        }));
    }
    let mut total = 0;
    for r in runs {
        total += r.await.unwrap();
    }
    other.close().await;
    assert_eq!(total as usize, due.len());
    for i in &due {
        assert_eq!(escalations(&store, i.id).await, 1, "item {}", i.id);
    }
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'work_item_escalate'"
        )
        .await as usize,
        due.len()
    );
}

/// The household page's gaps (issue 5): headquarters sees every gap of the household
/// with its item; the housing unit its housing gap; another unit nothing until the item
/// is reassigned to it; staff of another township nothing.
async fn a_household_shows_its_gaps_and_items_in_the_readers_scope(store: Store) {
    plan_and_golden(&store).await;
    let hq = user(&store, "hq", Role::HqAdmin).await;
    let all = store
        .work()
        .household_gaps(&ItemScope::All, HOUSING_HOUSEHOLD)
        .await
        .unwrap();
    let housing = all
        .iter()
        .find(|(g, _)| g.kind == "HOUSING")
        .expect("the housing gap");
    let item = housing.1.as_ref().expect("with its item");
    assert_eq!(item.unit, HOUSING_UNIT);
    assert!(all
        .iter()
        .all(|(g, _)| g.household_no.as_deref() == Some(HOUSING_HOUSEHOLD)));
    let unit = store
        .work()
        .household_gaps(&ItemScope::Unit(HOUSING_UNIT.into()), HOUSING_HOUSEHOLD)
        .await
        .unwrap();
    assert!(unit.iter().any(|(g, i)| g.kind == "HOUSING" && i.is_some()));
    assert!(unit
        .iter()
        .all(|(g, _)| g.lead_unit.as_deref() == Some(HOUSING_UNIT)));
    let other_unit = ItemScope::Unit("县扶贫办".into());
    assert!(store
        .work()
        .household_gaps(&other_unit, HOUSING_HOUSEHOLD)
        .await
        .unwrap()
        .is_empty());
    store
        .work()
        .edit_work_item(
            &acting(&hq),
            item.id,
            &ItemEdit {
                deadline: item.deadline,
                unit: "县扶贫办".into(),
                reason: "改派".into(),
            },
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let now_theirs = store
        .work()
        .household_gaps(&other_unit, HOUSING_HOUSEHOLD)
        .await
        .unwrap();
    assert_eq!(now_theirs.len(), 1);
    assert_eq!(now_theirs[0].1.as_ref().map(|i| i.id), Some(item.id));
    let township = all[0].0.township.clone();
    let elsewhere = if township == "示例一乡" {
        "示例二镇"
    } else {
        "示例一乡"
    };
    assert!(store
        .work()
        .household_gaps(
            &ItemScope::Area(Scope::Township {
                township: elsewhere.into()
            }),
            HOUSING_HOUSEHOLD
        )
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .work()
            .household_gaps(
                &ItemScope::Area(Scope::Township { township }),
                HOUSING_HOUSEHOLD
            )
            .await
            .unwrap()
            .len(),
        all.len()
    );
}

/// A plan import routes the current register's gaps in its own transaction (issue 5):
/// when routing cannot be stored (the database refuses new work items, by a trigger), the
/// plan is not stored either and the gaps stay in the headquarters' queue; once it can,
/// the same plan is revision 1 and the gaps have their items.
async fn a_plan_is_stored_with_its_routing_or_not_at_all(store: Store) {
    let (register, villages) = golden();
    store
        .import()
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await
        .unwrap();
    let queued = all_gaps(&store, &GapFilter::default()).await;
    assert!(queued
        .iter()
        .all(|g| g.task_no.is_none() && g.work_item.is_none()));
    let allow = refuse_inserts(&store, "work_items", "no new items").await;
    let err = store
        .plan()
        .import_plan_and_route(&small_plan(), &plan_source())
        .await
        .expect_err("routing fails, so the plan import fails");
    assert!(err.to_string().contains("no new items"), "{err}");
    assert!(store.plan().plan_revisions().await.unwrap().is_empty());
    assert_eq!(all_gaps(&store, &GapFilter::default()).await, queued);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'import_plan'"
        )
        .await,
        0
    );

    execute(&store, &allow).await;
    let (rev, routed) = store
        .plan()
        .import_plan_and_route(&small_plan(), &plan_source())
        .await
        .unwrap();
    assert_eq!(rev.revision, 1);
    let routed = routed.expect("the 2018 register is routed by the 2018 plan");
    assert!(routed.items_created > 0);
    let housing = all_gaps(&store, &GapFilter::default())
        .await
        .into_iter()
        .find(|g| g.key == format!("household:{HOUSING_HOUSEHOLD}:HOUSING"))
        .unwrap();
    assert_eq!(housing.task_no, Some(4));
    assert!(housing.work_item.is_some());
}

/// A plan revision that gives a task to another lead unit: the task's gaps follow it, and
/// so do their items not yet taken up (待办), each with an event saying why; an item
/// headquarters had reassigned by hand (改派) stays with the unit it was given.
async fn a_plan_revision_moves_waiting_items_but_not_those_headquarters_reassigned(store: Store) {
    plan_and_golden(&store).await;
    let hq = user(&store, "hq", Role::HqAdmin).await;
    let labour = "县人社局";
    let items = inbox(&store, labour).await;
    assert!(items.len() >= 2, "{items:?}");
    let (kept, moved) = (items[0], items[1]);
    let edit = ItemEdit {
        deadline: Some(day("2018-12-15")),
        unit: "县扶贫办".into(),
        reason: "由扶贫办统筹".into(),
    };
    store
        .work()
        .edit_work_item(&acting(&hq), kept, &edit)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let mut revised = small_plan();
    let task = revised
        .tasks
        .iter_mut()
        .find(|t| t.lead_unit == labour)
        .unwrap();
    task.lead_unit = "县就业局".into();
    store
        .plan()
        .import_plan_and_route(&revised, &plan_source())
        .await
        .unwrap();

    let now_in = |unit: &'static str| {
        let store = store.clone();
        async move { inbox(&store, unit).await }
    };
    assert!(now_in("县就业局").await.contains(&moved));
    assert!(!now_in(labour).await.contains(&moved));
    let last = store
        .work()
        .work_events(moved)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.action, "reroute");
    assert!(
        last.note.contains("县就业局") && last.note.contains(labour),
        "{}",
        last.note
    );
    let audit = store
        .audit_log()
        .audit_entries(None, 50)
        .await
        .unwrap()
        .items;
    let reroute = audit
        .iter()
        .find(|a| a.action == "work_item_reroute")
        .unwrap();
    assert_eq!(reroute.entity_id, moved.to_string());
    assert_eq!(reroute.before.as_ref().unwrap()["unit"], labour);
    // Headquarters' choice stands; the gap itself belongs to the task's new lead unit.
    assert!(now_in("县扶贫办").await.contains(&kept));
    assert_eq!(
        store
            .work()
            .work_events(kept)
            .await
            .unwrap()
            .pop()
            .unwrap()
            .action,
        "edit"
    );
    let gap = all_gaps(&store, &GapFilter::default())
        .await
        .into_iter()
        .find(|g| g.work_item == Some(kept))
        .unwrap();
    assert_eq!(gap.lead_unit.as_deref(), Some("县就业局"));
}
