//! Change requests (issue 14) on both backends: a change from the field, its review, the
//! household reassessed in the same transaction, its gaps and items, and the summaries
//! moved by the household's difference — equal to a full recomputation from the register.

use crate::support::*;
use chrono::NaiveDate;
use fupin_domain::access::Refusal;
use fupin_domain::change::{CellChange, ChangeState, Visit};
use fupin_domain::fields::Field;
use fupin_domain::Verdict;
use fupin_io::engine::assess_register;
use fupin_io::register_file::read_rows;
use fupin_store::{
    ChangeFilter, ChangeRequest, GapFilter, ItemScope, NewAttachment, NewChange, Role, Scope,
    Store, User,
};
use std::collections::BTreeMap;

contract!(
    a_finished_renovation_approved_by_the_township_makes_the_household_ready,
    changes_are_refused_with_the_importers_words_and_outside_the_cadres_area,
    review_is_the_townships_and_never_ones_own,
    a_second_open_request_on_a_field_is_refused_naming_the_first,
    summaries_after_random_changes_equal_a_recomputation_from_the_register,
);

const TOWNSHIP: &str = "示例一乡";
const VILLAGE: &str = "示例一乡乙村";

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn visit(reason: &str, done_on: Option<&str>) -> Visit {
    Visit {
        date: fupin_store::today(),
        reason: reason.into(),
        done_on: done_on.map(day),
    }
}

fn cell(member: Option<u64>, field: Field, value: &str) -> CellChange {
    CellChange {
        member,
        field,
        value: value.into(),
    }
}

fn change(no: &str, cells: Vec<CellChange>, done_on: Option<&str>) -> NewChange {
    NewChange {
        household_no: no.into(),
        visit: visit("入户核实", done_on),
        cells,
        files: Vec::new(),
    }
}

struct People {
    hq: User,
    township: User,
    township2: User,
    village: User,
    other_village: User,
    unit: User,
}

async fn people(store: &Store) -> People {
    let township = |t: &str| Role::TownshipStaff { township: t.into() };
    let village = |v: &str| Role::VillageStaff {
        township: TOWNSHIP.into(),
        village: v.into(),
    };
    People {
        hq: user(store, "指挥部", Role::HqAdmin).await,
        township: user(store, "一乡干部", township(TOWNSHIP)).await,
        township2: user(store, "一乡干部二", township(TOWNSHIP)).await,
        village: user(store, "乙村干部", village(VILLAGE)).await,
        other_village: user(store, "甲村干部", village("示例一乡甲村")).await,
        unit: unit_user(store, "住建干部", HOUSING_UNIT).await,
    }
}

async fn submit(store: &Store, who: &User, c: &NewChange) -> Result<ChangeRequest, Refusal> {
    store
        .changes()
        .submit(&acting(who), c, false)
        .await
        .unwrap()
}

async fn approve(store: &Store, who: &User, r: &ChangeRequest) -> Result<ChangeRequest, Refusal> {
    store
        .changes()
        .approve(&acting(who), r.id, "")
        .await
        .unwrap()
}

async fn verdict(store: &Store, no: &str) -> Verdict {
    store
        .register()
        .household(&Scope::County, no)
        .await
        .unwrap()
        .unwrap()
        .row
        .verdict
}

/// The loop (issue 14): the village cadre records the finished renovation with a photo,
/// nothing changes until the township approves; then the household is ready, its housing
/// gap closed, its item done with the photo, and the dashboard's figures down by one.
async fn a_finished_renovation_approved_by_the_township_makes_the_household_ready(store: Store) {
    plan_and_golden(&store).await;
    let p = people(&store).await;
    assert_eq!(verdict(&store, HOUSING_HOUSEHOLD).await, Verdict::NotReady);
    let county = |s: &Store| {
        let s = s.clone();
        async move {
            s.register()
                .county_summary(&Scope::County)
                .await
                .unwrap()
                .unwrap()
                .tally
        }
    };
    let before = county(&store).await;
    let open_before = store.work().gap_counts(&ItemScope::All).await.unwrap();
    let mut c = change(
        HOUSING_HOUSEHOLD,
        vec![cell(None, Field::Renovation, "已竣工")],
        Some("2026-11-20"),
    );
    c.visit.date = day("2026-12-01");
    c.files.push(NewAttachment {
        file_name: "竣工照片.jpg".into(),
        content_type: "image/jpeg".into(),
        data: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
    });
    let r = submit(&store, &p.village, &c).await.unwrap();
    assert_eq!(r.state, ChangeState::Submitted);
    assert_eq!(r.cells[0].old, "在建");
    assert_eq!(r.cells[0].new, "已竣工");
    assert_eq!(r.cells[0].words(), "危房改造状态：在建 → 已竣工");
    assert_eq!(r.files.len(), 1);
    // Submitted is not applied.
    assert_eq!(verdict(&store, HOUSING_HOUSEHOLD).await, Verdict::NotReady);
    // The township's queue shows it; another township's would not.
    let queue = store
        .changes()
        .list(
            &Scope::of(&p.township.role),
            &ChangeFilter {
                state: Some(ChangeState::Submitted),
            },
            None,
            50,
        )
        .await
        .unwrap();
    assert_eq!(queue.items.len(), 1);
    let approved = approve(&store, &p.township, &r).await.unwrap();
    assert_eq!(approved.state, ChangeState::Approved);
    assert_eq!(approved.verdict_before, Some(Verdict::NotReady));
    assert_eq!(approved.verdict_after, Some(Verdict::Ready));
    let d = store
        .register()
        .household(&Scope::County, HOUSING_HOUSEHOLD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.row.verdict, Verdict::Ready);
    assert_eq!(
        d.values.renovation.value(),
        Some(fupin_domain::values::Renovation::Done)
    );
    // Its housing gap closed with the change as evidence; the item done with the photo.
    let gaps = store
        .work()
        .household_gaps(&ItemScope::All, HOUSING_HOUSEHOLD)
        .await
        .unwrap();
    let (gap, item) = gaps.iter().find(|(g, _)| g.kind == "HOUSING").unwrap();
    assert!(!gap.open);
    assert!(gap
        .evidence
        .as_deref()
        .unwrap()
        .contains(&format!("变更申请第 {} 号", r.id)));
    let item = item.as_ref().unwrap();
    assert_eq!(item.state, fupin_domain::work_item::WorkState::Done);
    let events = store.work().work_events(item.id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.action, "reassessed");
    assert_eq!(last.attachments.len(), 1);
    assert_eq!(last.attachments[0].file_name, "竣工照片.jpg");
    // The gap is closed on the change's evidence: an inspector may 销号 without override.
    let inspector = user(&store, "督查", Role::Inspector).await;
    let closed = take_step(
        &store,
        &inspector,
        item.id,
        &step(fupin_domain::work_item::WorkAction::Close, "照片核实"),
        day("2026-12-04"),
    )
    .await;
    assert_eq!(closed.state, fupin_domain::work_item::WorkState::Closed);
    assert_eq!(closed.close_override, None);
    // The figures moved by one household.
    let after = county(&store).await;
    let (ready, not_ready) = (Verdict::Ready.index(), Verdict::NotReady.index());
    assert_eq!(after.by_verdict[ready], before.by_verdict[ready] + 1);
    assert_eq!(
        after.by_verdict[not_ready],
        before.by_verdict[not_ready] - 1
    );
    assert_eq!(
        after.by_criterion[5],
        before.by_criterion[5] - 1,
        "fail_housing"
    );
    assert_eq!(after.remaining, before.remaining - 2);
    // One housing gap fewer (the village's incidence may have moved too: its gaps are
    // refreshed with the household's).
    let open_after = store.work().gap_counts(&ItemScope::All).await.unwrap();
    let housing = |c: &fupin_store::GapCounts| {
        c.open_by_kind
            .iter()
            .find(|(k, _)| k == "HOUSING")
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(housing(&open_after), housing(&open_before) - 1);
    assert!(open_after.open < open_before.open);
    assert_recomputed(&store).await;
    // The household's history lists the change.
    let history = store
        .changes()
        .of_household(&Scope::of(&p.village.role), HOUSING_HOUSEHOLD)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].reviewed_by_name.as_deref(), Some("一乡干部"));
}

async fn changes_are_refused_with_the_importers_words_and_outside_the_cadres_area(store: Store) {
    plan_and_golden(&store).await;
    let p = people(&store).await;
    let refused = |r: Result<ChangeRequest, Refusal>| r.unwrap_err();
    // A value the importer refuses: E103 with the value and what is accepted.
    let bad = change(
        HOUSING_HOUSEHOLD,
        vec![cell(None, Field::HousingGrade, "E")],
        None,
    );
    let r = refused(submit(&store, &p.village, &bad).await);
    assert!(matches!(r, Refusal::Invalid(_)), "{r:?}");
    assert!(
        r.message().contains("E103") && r.message().contains("「E」"),
        "{r}"
    );
    assert!(r.message().contains("A B C D"), "{r}");
    // Where: the household's first row in the register, its column.
    assert!(
        r.message()
            .starts_with("第48行（测试户主18）「住房安全等级」"),
        "{r}"
    );
    // An amount: E104.
    let bad = change(
        HOUSING_HOUSEHOLD,
        vec![cell(None, Field::WageIncome, "12.345")],
        None,
    );
    assert!(refused(submit(&store, &p.village, &bad).await)
        .message()
        .contains("E104"));
    // 已竣工 without its date.
    let bad = change(
        HOUSING_HOUSEHOLD,
        vec![cell(None, Field::Renovation, "已竣工")],
        None,
    );
    assert!(refused(submit(&store, &p.village, &bad).await)
        .message()
        .contains("竣工日期"));
    // The same value again.
    let same = change(
        HOUSING_HOUSEHOLD,
        vec![cell(None, Field::HousingGrade, "C")],
        None,
    );
    assert!(refused(submit(&store, &p.village, &same).await)
        .message()
        .contains("与现值相同"));
    // Another village's cadre, a unit: refused; the household is not theirs to see.
    let ok = change(
        HOUSING_HOUSEHOLD,
        vec![cell(None, Field::HousingGrade, "B")],
        None,
    );
    assert!(matches!(
        refused(submit(&store, &p.other_village, &ok).await),
        Refusal::Forbidden(_)
    ));
    assert!(matches!(
        refused(submit(&store, &p.unit, &ok).await),
        Refusal::Forbidden(_)
    ));
    // Township staff may not apply directly; headquarters may.
    assert!(matches!(
        store
            .changes()
            .submit(&acting(&p.township), &ok, true)
            .await
            .unwrap(),
        Err(Refusal::Forbidden(_))
    ));
    // Nothing was stored by any refusal.
    let all = store
        .changes()
        .list(&Scope::County, &ChangeFilter::default(), None, 50)
        .await
        .unwrap();
    assert!(all.items.is_empty());
    let direct = store
        .changes()
        .submit(&acting(&p.hq), &ok, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(direct.state, ChangeState::Approved);
    assert_eq!(direct.reviewed_by, Some(p.hq.id));
    assert_eq!(verdict(&store, HOUSING_HOUSEHOLD).await, Verdict::Ready);
    // A member's field, by the member's line.
    let d = store
        .register()
        .household(&Scope::County, HOUSING_HOUSEHOLD)
        .await
        .unwrap()
        .unwrap();
    let line = d.members[1].member.line;
    let m = change(
        HOUSING_HOUSEHOLD,
        vec![cell(Some(line), Field::MedicalInsurance, "否")],
        None,
    );
    let r = store
        .changes()
        .submit(&acting(&p.hq), &m, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.verdict_after, Some(Verdict::NotReady));
    assert_eq!(
        r.cells[0].words(),
        "测试成员18-2 是否参加基本医疗保险：是 → 否"
    );
    assert_recomputed(&store).await;
}

async fn review_is_the_townships_and_never_ones_own(store: Store) {
    plan_and_golden(&store).await;
    let p = people(&store).await;
    let c = change(
        HOUSING_HOUSEHOLD,
        vec![cell(None, Field::HousingGrade, "A")],
        None,
    );
    let own = submit(&store, &p.township, &c).await.unwrap();
    // Not by oneself, not by a village cadre, nor by a unit.
    for who in [&p.township, &p.village, &p.unit] {
        assert!(matches!(
            approve(&store, who, &own).await,
            Err(Refusal::Forbidden(_))
        ));
    }
    // Sent back by a colleague, with a reason; then it cannot be approved.
    let none = store
        .changes()
        .send_back(&acting(&p.township2), own.id, " ")
        .await
        .unwrap();
    assert!(matches!(none, Err(Refusal::Invalid(_))));
    let back = store
        .changes()
        .send_back(&acting(&p.township2), own.id, "照片不清楚，请补拍")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.state, ChangeState::Returned);
    assert_eq!(back.review_note.as_deref(), Some("照片不清楚，请补拍"));
    assert!(matches!(
        approve(&store, &p.hq, &back).await,
        Err(Refusal::Conflict(_))
    ));
    assert_eq!(verdict(&store, HOUSING_HOUSEHOLD).await, Verdict::NotReady);
    // Submitted again, approved by headquarters.
    let again = submit(&store, &p.village, &c).await.unwrap();
    assert!(approve(&store, &p.hq, &again).await.is_ok());
    assert_eq!(verdict(&store, HOUSING_HOUSEHOLD).await, Verdict::Ready);
    // Every step audited.
    let log = store.audit_log().audit_entries(None, 200).await.unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    for a in ["change_submit", "change_return", "change_approve"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

async fn a_second_open_request_on_a_field_is_refused_naming_the_first(store: Store) {
    plan_and_golden(&store).await;
    let p = people(&store).await;
    let first = submit(
        &store,
        &p.village,
        &change(
            HOUSING_HOUSEHOLD,
            vec![cell(None, Field::HousingGrade, "A")],
            None,
        ),
    )
    .await
    .unwrap();
    let second = change(
        HOUSING_HOUSEHOLD,
        vec![
            cell(None, Field::SafeWater, "否"),
            cell(None, Field::HousingGrade, "B"),
        ],
        None,
    );
    let r = submit(&store, &p.township, &second).await.unwrap_err();
    assert!(matches!(r, Refusal::Conflict(_)));
    assert!(r.message().contains(&format!("第 {} 号", first.id)), "{r}");
    // Another field is free; once the first is decided, the field is free again.
    assert!(submit(
        &store,
        &p.township,
        &change(
            HOUSING_HOUSEHOLD,
            vec![cell(None, Field::SafeWater, "否")],
            None
        )
    )
    .await
    .is_ok());
    approve(&store, &p.township, &first).await.unwrap();
    assert!(submit(
        &store,
        &p.village,
        &change(
            HOUSING_HOUSEHOLD,
            vec![cell(None, Field::HousingGrade, "B")],
            None
        )
    )
    .await
    .is_ok());
}

/// A small generator of change values, seeded (no dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Issue 14: after many approved changes of every changeable kind, the stored summaries
/// and gap counts equal what a full recomputation from the register (its export, read
/// back and judged by the engine) and a recount of the gaps give.
async fn summaries_after_random_changes_equal_a_recomputation_from_the_register(store: Store) {
    let (register, villages) = generated_with_names(300, 14);
    store
        .plan()
        .import_plan(&small_plan(), &plan_source())
        .await
        .unwrap();
    store
        .import()
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await
        .unwrap();
    let hq = user(&store, "指挥部", Role::HqAdmin).await;
    let mut rng = Lcg(14);
    let choices: [(Field, &[&str]); 11] = [
        (Field::WageIncome, &["0", "1,200", "6000.50", "20000"]),
        (Field::OperatingIncome, &["0", "3000"]),
        (Field::OperatingExpense, &["0", "500"]),
        (Field::PropertyIncome, &["0", "100"]),
        (Field::TransferIncome, &["0", "2500"]),
        (Field::FoodSecure, &["是", "否"]),
        (Field::ClothingSecure, &["是", "否"]),
        (Field::HousingGrade, &["A", "B", "C", "D"]),
        (Field::Relocation, &["否", "未入住", "已搬迁入住"]),
        (Field::SafeWater, &["是", "否"]),
        (Field::MedicalInsurance, &["是", "否"]),
    ];
    let numbers: Vec<String> = register
        .households
        .iter()
        .map(|h| h.id.to_string())
        .collect();
    let mut applied = 0;
    for _ in 0..120 {
        let no = &numbers[rng.next(numbers.len())];
        let (field, values) = choices[rng.next(choices.len())];
        let value = values[rng.next(values.len())];
        let member = if field == Field::MedicalInsurance {
            let d = store
                .register()
                .household(&Scope::County, no)
                .await
                .unwrap()
                .unwrap();
            Some(d.members[rng.next(d.members.len())].member.line)
        } else {
            None
        };
        let c = change(no, vec![cell(member, field, value)], None);
        match store
            .changes()
            .submit(&acting(&hq), &c, true)
            .await
            .unwrap()
        {
            Ok(_) => applied += 1,
            // The value it already has, or a household with data errors the change
            // does not touch: refused, nothing stored.
            Err(Refusal::Invalid(_)) => {}
            Err(r) => panic!("{r:?}"),
        }
    }
    assert!(applied > 60, "{applied} changes applied");
    assert_recomputed(&store).await;
}

/// The stored summaries equal the engine's over the exported register, and the stored gap
/// counts a recount of the gaps.
async fn assert_recomputed(store: &Store) {
    let rows = store.register().export_rows(&Scope::County).await.unwrap();
    let reread = read_rows("export.csv", &rows, 2018).unwrap();
    let t = assess_register(&reread, line_3535().amount, 2018, |_, _| Ok::<(), ()>(())).unwrap();
    let county = store
        .register()
        .county_summary(&Scope::County)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(county.tally, t.county, "county");
    let mut stored: BTreeMap<(String, String), fupin_domain::figures::Tally> = BTreeMap::new();
    for (township, _) in store.register().area_names().await.unwrap() {
        for v in store
            .register()
            .villages(&Scope::County, &township)
            .await
            .unwrap()
        {
            stored.insert((township.clone(), v.village.unwrap()), v.tally);
        }
    }
    for (i, a) in reread.areas.iter().enumerate() {
        let key = (a.township.to_string(), a.village.to_string());
        assert_eq!(stored.get(&key), Some(&t.areas[i]), "{key:?}");
    }
    let counts = store.work().gap_counts(&ItemScope::All).await.unwrap();
    // Every gap, page by page.
    let (mut open, mut all, mut after) = (0u64, 0u64, None);
    loop {
        let page = store
            .work()
            .gaps(&ItemScope::All, &GapFilter::default(), after, 500)
            .await
            .unwrap();
        open += page.items.iter().filter(|g| g.open).count() as u64;
        all += page.items.len() as u64;
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert!(all > 0, "the register has gaps");
    assert_eq!(counts.open, open, "open gaps");
    assert_eq!(counts.closed, all - open, "closed gaps");
}
