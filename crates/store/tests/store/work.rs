//! The plan, gaps and work items in the store (issue 5), on both backends.

use crate::support::*;
use chrono::NaiveDate;
use fupin_domain::household::Entry;
use fupin_domain::plan::{Deadline, GapKind, KeyTask, Plan, UnitAssignment};
use fupin_domain::values::HousingGrade;
use fupin_domain::work_item::{Refusal, WorkAction, WorkState};
use fupin_store::{
    ActingUser, GapFilter, ItemFilter, ItemScope, NewUser, NewWorkItem, PlanSource, Role, Scope,
    Step, Store, User,
};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::on_sqlite(super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::on_postgres(super::$name).await
                }
            )*
        }
    };
}

both!(
    gaps_are_routed_by_the_plan_and_stored_with_their_route,
    the_same_gap_in_the_next_assessment_is_the_same_gap_and_a_fixed_one_closes_itself,
    only_the_unit_moves_its_items_and_only_headquarters_or_inspectors_close,
    unit_and_area_staff_read_only_their_items_and_gaps,
    plans_are_revised_not_replaced,
    two_checkers_closing_at_once_close_once,
    an_import_whose_gap_refresh_fails_stores_nothing,
);

pub const HOUSING_UNIT: &str = "县住建局";
const HOUSING_HOUSEHOLD: &str = "1409300102007";

fn task(no: u32, name: &str, leader: &str, unit: &str, owns: &[GapKind]) -> KeyTask {
    KeyTask {
        no,
        name: name.into(),
        leader: leader.into(),
        lead_unit: unit.into(),
        units: vec![UnitAssignment {
            unit: unit.into(),
            owner: format!("{unit}局长"),
        }],
        deadline: Deadline::Date(NaiveDate::from_ymd_opt(2018, 10, 31).unwrap()),
        owns: owns.to_vec(),
    }
}

/// A small plan: housing, employment (income, able to work), social security (income,
/// unable to work), water; nothing owns DATA or the village conditions.
pub fn small_plan() -> Plan {
    Plan {
        year: 2018,
        name: "2018年脱贫攻坚重点工作责任分解方案".into(),
        overall_post: "县委书记".into(),
        commander_post: "县长".into(),
        declared_tasks: Some(4),
        tasks: vec![
            task(
                4,
                "大力实施危房改造",
                "分管副县长",
                HOUSING_UNIT,
                &[GapKind::Housing],
            ),
            task(
                6,
                "加强饮水安全保障",
                "分管副县长",
                "县水利局",
                &[GapKind::Water],
            ),
            task(
                7,
                "大力实施兜底保障",
                "常务副县长",
                "县民政局",
                &[GapKind::IncomeNoLabor],
            ),
            task(
                8,
                "大力实施劳动力转移就业培训和职业培训教育",
                "常务副县长",
                "县人社局",
                &[GapKind::IncomeLabor, GapKind::Income],
            ),
        ],
    }
}

fn source() -> PlanSource {
    PlanSource {
        file_name: "plan.csv".into(),
        sha256: "cd".repeat(32),
        imported_by: None,
    }
}

async fn user(store: &Store, name: &str, role: Role) -> User {
    store
        .create_user(
            &NewUser {
                username: name.into(),
                password: "测试密码-2018".into(),
                role,
            },
            None,
        )
        .await
        .unwrap()
}

async fn plan_and_golden(store: &Store) -> fupin_store::Imported {
    store.import_plan(&small_plan(), &source()).await.unwrap();
    let (register, villages) = golden();
    store
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await
        .unwrap()
}

async fn all_gaps(store: &Store, filter: &GapFilter) -> Vec<fupin_store::GapRow> {
    store
        .gaps(&ItemScope::All, filter, None, 500)
        .await
        .unwrap()
        .items
}

fn acting(u: &User) -> ActingUser<'_> {
    ActingUser {
        user: u,
        post: None,
    }
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
    let counts = store.gap_counts(&ItemScope::All).await.unwrap();
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
    let r = store.refresh_gaps(again.version, None, None).await.unwrap();
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
        .work_item(&ItemScope::All, housing.work_item.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.state, WorkState::Done);
    let events = store.work_events(item.id).await.unwrap();
    assert_eq!(events.last().unwrap().note, evidence);
    // Every other household's gaps stay open (the village's incidence may change with it).
    assert!(gaps
        .iter()
        .filter(|g| g.id != housing.id && g.household_no.is_some())
        .all(|g| g.open));

    // It fails again in the next version: the same gap opens again, its item with it.
    let (register, villages) = golden();
    store
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await
        .unwrap();
    let again = store
        .gap(&ItemScope::All, housing.id)
        .await
        .unwrap()
        .unwrap();
    assert!(again.open && again.evidence.is_none());
    let item = store
        .work_item(&ItemScope::All, item.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.state, WorkState::InProgress);
}

fn step(action: WorkAction, note: &str) -> Step {
    Step {
        action,
        note: note.into(),
        percent: None,
        attachments: Vec::new(),
    }
}

/// The state machine's permissions, through the store (issue 5): another unit cannot
/// even see the item; the unit reports and reports done but cannot close; an inspector
/// sends it back (with a reason) and headquarters closes; every step is audited.
async fn only_the_unit_moves_its_items_and_only_headquarters_or_inspectors_close(store: Store) {
    plan_and_golden(&store).await;
    let hq = user(&store, "hq", Role::HqAdmin).await;
    let housing = user(
        &store,
        "zjj",
        Role::UnitStaff {
            unit: HOUSING_UNIT.into(),
        },
    )
    .await;
    let water = user(
        &store,
        "slj",
        Role::UnitStaff {
            unit: "县水利局".into(),
        },
    )
    .await;
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
    let item = store
        .act_on_work_item(&acting(&housing), id, &report, today)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((item.state, item.progress), (WorkState::InProgress, 40));
    let refused = store
        .act_on_work_item(&acting(&housing), id, &step(WorkAction::Close, ""), today)
        .await
        .unwrap();
    assert!(
        matches!(refused, Err(Refusal::NotAllowed(_))),
        "{refused:?}"
    );
    let refused = store
        .act_on_work_item(&acting(&hq), id, &step(WorkAction::Close, ""), today)
        .await
        .unwrap();
    assert!(
        matches!(refused, Err(Refusal::WrongState(_))),
        "closing needs 已完成待核 first"
    );
    let item = store
        .act_on_work_item(
            &acting(&housing),
            id,
            &step(WorkAction::Complete, "改造完成，已验收"),
            today,
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((item.state, item.progress), (WorkState::Done, 100));
    let no_reason = store
        .act_on_work_item(
            &acting(&inspector),
            id,
            &step(WorkAction::Reopen, "  "),
            today,
        )
        .await
        .unwrap();
    assert!(no_reason.is_err());
    let item = store
        .act_on_work_item(
            &acting(&inspector),
            id,
            &step(WorkAction::Reopen, "缺少鉴定报告"),
            today,
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(item.state, WorkState::InProgress);
    store
        .act_on_work_item(
            &acting(&housing),
            id,
            &step(WorkAction::Complete, "补交鉴定报告"),
            today,
        )
        .await
        .unwrap()
        .unwrap();
    let item = store
        .act_on_work_item(
            &acting(&hq),
            id,
            &step(WorkAction::Close, "核查属实，销号"),
            today,
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(item.state, WorkState::Closed);

    let events = store.work_events(id).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["assign", "report", "complete", "reopen", "complete", "close"]
    );
    assert_eq!(events[1].attachments.len(), 1);
    let a = store
        .attachment(
            &ItemScope::Unit(HOUSING_UNIT.into()),
            events[1].attachments[0].id,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.data, vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    assert!(store
        .attachment(&ItemScope::Unit("县水利局".into()), a.info.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(events[3].note, "缺少鉴定报告");
    let audit = store.audit_entries(None, 100).await.unwrap().items;
    let audited: Vec<&str> = audit
        .iter()
        .filter(|e| e.entity == "work_item" && e.entity_id == id.to_string())
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        audited,
        [
            "work_item_close",
            "work_item_complete",
            "work_item_reopen",
            "work_item_complete",
            "work_item_report"
        ]
    );
    let close = audit
        .iter()
        .find(|e| e.action == "work_item_close")
        .unwrap();
    assert_eq!(close.user_id, Some(hq.id));
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
        .create_work_item(&acting(&housing), &new)
        .await
        .unwrap()
        .is_err());
    let made = store
        .create_work_item(&acting(&hq), &new)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made.township.as_deref(), Some(queued.township.as_str()));
    assert!(store
        .create_work_item(&acting(&hq), &new)
        .await
        .unwrap()
        .is_err());
    // Past its deadline it is overdue, and headquarters escalates it once.
    assert!(made.overdue(today));
    let n = store
        .escalate_overdue(&acting(&hq), today)
        .await
        .unwrap()
        .unwrap();
    assert!(n >= 1);
    assert_eq!(
        store
            .escalate_overdue(&acting(&hq), today)
            .await
            .unwrap()
            .unwrap(),
        0
    );
    let escalated = store
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
        .work_items(&unit, &ItemFilter::default(), None, 500)
        .await
        .unwrap()
        .items;
    assert!(!items.is_empty() && items.iter().all(|i| i.unit == HOUSING_UNIT));
    let all = store
        .work_items(&ItemScope::All, &ItemFilter::default(), None, 500)
        .await
        .unwrap()
        .items;
    let other = all.iter().find(|i| i.unit != HOUSING_UNIT).unwrap();
    assert_eq!(store.work_item(&unit, other.id).await.unwrap(), None);
    let gaps = store
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
    assert_eq!(store.gap(&town, elsewhere.id).await.unwrap(), None);
    let items = store
        .work_items(&town, &ItemFilter::default(), None, 500)
        .await
        .unwrap()
        .items;
    assert!(items
        .iter()
        .all(|i| i.township.as_deref() == Some("示例一乡")));
    let counts = store.gap_counts(&town).await.unwrap();
    assert_eq!(counts.open as usize, mine.len());
}

/// A plan belongs to a year and is revised, not replaced: each import is the next
/// revision, the highest is in force, every one is audited.
async fn plans_are_revised_not_replaced(store: Store) {
    let first = store.import_plan(&small_plan(), &source()).await.unwrap();
    let mut revised = small_plan();
    revised.tasks[0].lead_unit = "县住建局（房管所）".into();
    let second = store.import_plan(&revised, &source()).await.unwrap();
    assert_eq!((first.revision, second.revision), (1, 2));
    let current = store.current_plan(Some(2018)).await.unwrap().unwrap();
    assert_eq!(current.revision.id, second.id);
    assert_eq!(current.plan, revised);
    assert_eq!(store.current_plan(Some(2019)).await.unwrap(), None);
    assert_eq!(store.plan_revisions().await.unwrap().len(), 2);
    let audit = store.audit_entries(None, 10).await.unwrap().items;
    assert_eq!(
        audit.iter().filter(|e| e.action == "import_plan").count(),
        2
    );

    let leader = user(&store, "fxz", Role::CountyLeader).await;
    store
        .set_leader_post(leader.id, Some("分管副县长"), None)
        .await
        .unwrap();
    assert_eq!(
        store.leader_post(leader.id).await.unwrap().as_deref(),
        Some("分管副县长")
    );
    let unit = user(
        &store,
        "u",
        Role::UnitStaff {
            unit: HOUSING_UNIT.into(),
        },
    )
    .await;
    assert!(store
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
        .work_items(&ItemScope::All, &ItemFilter::default(), None, 1)
        .await
        .unwrap()
        .items[0]
        .id;
    store
        .act_on_work_item(&acting(&hq), id, &step(WorkAction::Complete, "完成"), today)
        .await
        .unwrap()
        .unwrap();
    let close = step(WorkAction::Close, "销号");
    // Each on a task of its own, so that they truly run at once.
    let (s1, s2) = (store.clone(), store.clone());
    let (c1, c2) = (close.clone(), close.clone());
    let (u1, u2) = (hq.clone(), inspector.clone());
    let a = tokio::spawn(async move {
        s1.act_on_work_item(
            &ActingUser {
                user: &u1,
                post: None,
            },
            id,
            &c1,
            today,
        )
        .await
        .map(|r| r.map(|i| i.is_some()))
    });
    let b = tokio::spawn(async move {
        s2.act_on_work_item(
            &ActingUser {
                user: &u2,
                post: None,
            },
            id,
            &c2,
            today,
        )
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
        .work_events(id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "close")
        .count();
    assert_eq!(closes, 1);
    let audited = store
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
    store.import_plan(&small_plan(), &source()).await.unwrap();
    let (register, villages) = golden();
    let first = store
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
    let (refuse, allow): (&[&str], &str) = match &store {
        Store::Sqlite(_) => (
            &["CREATE TRIGGER refuse_gaps BEFORE INSERT ON gaps \
               BEGIN SELECT RAISE(ABORT, 'no new gaps'); END"],
            "DROP TRIGGER refuse_gaps",
        ),
        Store::Postgres(_) => (
            &[
                "CREATE FUNCTION refuse_gaps() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'no new gaps'; END $$",
                "CREATE TRIGGER refuse_gaps BEFORE INSERT ON gaps \
                 FOR EACH ROW EXECUTE FUNCTION refuse_gaps()",
            ],
            "DROP TRIGGER refuse_gaps ON gaps",
        ),
    };
    for sql in refuse {
        execute(&store, sql).await;
    }
    let audit_rows = count(&store, "SELECT COUNT(*) FROM audit_log").await;
    let err = store
        .import_register(&worse, &meta("members-worse.csv", None), Some(&villages))
        .await
        .expect_err("the refresh fails, so the import fails");
    assert!(err.to_string().contains("no new gaps"), "{err}");
    assert_eq!(store.versions().await.unwrap().len(), 1);
    assert_eq!(
        store.current_version().await.unwrap().unwrap().id,
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

    execute(&store, allow).await;
    let again = store
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
