//! The store's contract, written once and run on both backends: SQLite in a temp file, and
//! PostgreSQL when FUPIN_TEST_PG holds an admin URL (`export FUPIN_TEST_PG="$(scripts/pg)"`);
//! each test gets a fresh database.

#[macro_use]
#[path = "store/support.rs"]
mod support;

#[path = "store/funds.rs"]
mod funds;
#[path = "store/work.rs"]
mod work;

#[path = "store/inspections.rs"]
mod inspections;

#[path = "store/integrity.rs"]
mod integrity;

#[path = "store/bands.rs"]
mod bands;

#[path = "store/changes.rs"]
mod changes;

use chrono::{Duration, Utc};
use fupin_domain::household::Entry;
use fupin_domain::{Fen, Verdict};
use fupin_io::engine::assess_register;
use fupin_store::{
    JobId, NewUser, Page, Role, Scope, Search, SearchHit, SearchKey, Store, StoreError, UserId,
};
use std::collections::BTreeSet;
use support::*;

contract!(
    migrating_again_changes_nothing,
    golden_summaries_equal_the_engine_and_the_oracle,
    golden_households_read_back_as_assessed,
    registers_that_cannot_be_stored_are_refused,
    a_new_version_keeps_the_old_one_and_the_history,
    a_household_gone_from_the_current_version_is_not_found,
    township_staff_cannot_reach_another_township,
    village_staff_see_only_their_village,
    key_paging_returns_every_household_exactly_once,
    passwords_verify_and_usernames_are_unique,
    sessions_expire_and_end,
    a_disabled_account_cannot_log_in_and_its_sessions_end,
    a_reset_password_replaces_the_old_one_and_ends_sessions,
    passwords_follow_the_rules,
    failed_logins_are_counted_in_a_window,
    every_write_is_audited_and_the_log_is_append_only,
    each_job_is_taken_once,
    a_started_job_runs_at_once_and_carries_its_progress,
    job_state_changes_are_audited_in_the_name_of_who_asked,
    a_job_keeps_its_files_while_it_runs_and_any_process_reads_them,
    an_import_reports_each_of_its_steps,
    one_township_reads_as_in_the_list_and_only_in_scope,
    township_pages_by_key_hold_every_township_once_in_scope,
    id_keys_computed_in_sql_match_the_domain,
    an_import_that_fails_while_writing_leaves_nothing,
    area_names_are_every_township_with_its_villages,
    a_job_whose_lease_passed_is_failed_and_a_live_one_is_not,
    an_import_for_a_job_that_lost_its_lease_stores_nothing,
    leftover_staging_tables_are_dropped_but_never_a_running_imports,
    an_import_killed_half_way_still_drops_what_killed_imports_left,
);

const ONE_TOWNSHIP: &str = "示例一乡";
const OTHER_TOWNSHIP: &str = "示例二镇";

fn township(name: &str) -> Scope {
    Scope::Township {
        township: name.into(),
    }
}

async fn import_golden(store: &Store) -> fupin_store::Imported {
    let (register, villages) = golden();
    store
        .import()
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await
        .unwrap()
}

async fn admin(store: &Store) -> fupin_store::User {
    store
        .accounts()
        .create_user(
            &NewUser {
                username: "admin".into(),
                password: "管理员密码-123".into(),
                role: Role::HqAdmin,
            },
            None,
        )
        .await
        .unwrap()
}

/// Migrations run again on a migrated database do nothing, and an empty store has no
/// register.
async fn migrating_again_changes_nothing(store: Store) {
    store.migrate().await.unwrap();
    assert!(store.register().versions().await.unwrap().is_empty());
    assert_eq!(
        store
            .register()
            .county_summary(&Scope::County)
            .await
            .unwrap(),
        None
    );
    assert!(store
        .register()
        .townships(&Scope::County)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .register()
            .household(&Scope::County, "1")
            .await
            .unwrap(),
        None
    );
}

/// Summaries are the engine's tallies (the one assessment path), and match the golden
/// fixture's hand-derived figures (spec §3).
async fn golden_summaries_equal_the_engine_and_the_oracle(store: Store) {
    let imported = import_golden(&store).await;
    let (register, _) = golden();
    let engine = assess_register(&register, Fen::from_yuan(3535), 2018, |_, _| {
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(imported.tallies.county, engine.county);

    let county = store
        .register()
        .county_summary(&Scope::County)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(county.tally, engine.county);
    assert_eq!(county.township, None);
    assert_eq!(county.population, Some(3010));
    let verdicts: Vec<u64> = Verdict::ALL
        .iter()
        .map(|v| county.tally.verdict_count(*v))
        .collect();
    assert_eq!(verdicts, [8, 9, 4, 2, 10]); // ready, not_ready, stable, wrong_exit, data_error

    // Villages and the county against expected_figures.csv.
    let mut seen = 0;
    for township in store.register().townships(&Scope::County).await.unwrap() {
        let name = township.township.clone().unwrap();
        let villages = store
            .register()
            .villages(&Scope::County, &name)
            .await
            .unwrap();
        let mut sum = fupin_domain::figures::Tally::default();
        for v in &villages {
            let area = register
                .areas
                .iter()
                .position(|a| *a.township == *name && *a.village == **v.village.as_ref().unwrap())
                .unwrap();
            assert_eq!(v.tally, engine.areas[area], "{:?}", v.village);
            sum.merge(&v.tally);
            seen += 1;
        }
        assert_eq!(township.tally, sum, "{name}");
    }
    assert_eq!(seen, 3);
    for row in golden_csv("expected_figures.csv") {
        let tally = if row["township"] == "合计" {
            county.tally.clone()
        } else {
            let villages = store
                .register()
                .villages(&Scope::County, &row["township"])
                .await
                .unwrap();
            let v = villages
                .iter()
                .find(|v| v.village.as_deref() == Some(&row["village"]))
                .unwrap();
            assert_eq!(v.population, Some(row["population"].parse().unwrap()));
            v.tally.clone()
        };
        for (column, value) in [
            ("households", tally.households),
            ("members", tally.members),
            ("poor_now", tally.poor_now),
            ("remaining", tally.remaining),
        ] {
            assert_eq!(row[column], value.to_string(), "{column} of {row:?}");
        }
    }
    let bing = &store
        .register()
        .villages(&Scope::County, OTHER_TOWNSHIP)
        .await
        .unwrap()[0];
    assert_eq!(bing.conditions.broadband, Some(false));
    assert_eq!(bing.conditions.road, Some(true));

    let versions = store.register().versions().await.unwrap();
    assert_eq!(versions.len(), 1);
    let v = &versions[0];
    assert!(v.current);
    assert_eq!(v.id, imported.version);
    assert_eq!((v.households, v.members, v.villages), (33, 89, 3));
    assert_eq!((v.errors, v.warnings), (18, 6));
    assert_eq!(v.line, line_3535());
    assert!(v.with_villages_file);
}

/// Each household reads back with the engine's verdict, per-capita income and failed
/// criteria (expected_households.csv), its values and members; problems read back in
/// report order (expected_problems.csv).
async fn golden_households_read_back_as_assessed(store: Store) {
    import_golden(&store).await;
    for row in golden_csv("expected_households.csv") {
        let d = store
            .register()
            .household(&Scope::County, &row["household_id"])
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{row:?}"));
        assert_eq!(d.row.verdict.word(), row["verdict"], "{row:?}");
        assert_eq!(d.row.members.to_string(), row["members"]);
        assert_eq!(d.members.len().to_string(), row["members"]);
        let per_capita = d
            .row
            .per_capita
            .map(fupin_domain::Fen::plain)
            .unwrap_or_default();
        assert_eq!(per_capita, row["per_capita_income"], "{row:?}");
        assert_eq!(d.row.failed.codes("|"), row["failed"], "{row:?}");
        assert_eq!(d.assessment.verdict, d.row.verdict);
        assert!(!d.assessment.explanation.is_empty());
        assert_eq!(d.history.len(), 1);
        assert_eq!(d.history[0].verdict, d.row.verdict);
    }
    // Household 04: amounts with separators, booleans, defaults.
    let d = store
        .register()
        .household(&Scope::County, "1409300101004")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.values.wage_income, Entry::Value(Fen::new(1_234_560)));
    assert_eq!(d.values.operating_expense, Entry::Value(Fen::new(134_560)));
    assert_eq!(d.values.food_secure, Entry::Value(true));
    assert_eq!(d.first_line, 9);
    assert_eq!(d.row.township, ONE_TOWNSHIP);
    assert_eq!(d.members.iter().filter(|m| m.member.is_head).count(), 1);
    assert_eq!(d.members[0].member.line, 9);
    assert!(d.members[0].member.id.is_some());
    assert_eq!(d.members[0].name.as_deref(), Some("测试户主04"));
    assert_eq!(d.members[0].relation.as_deref(), Some("户主"));
    assert_eq!(d.members[1].relation.as_deref(), Some("配偶"));
    // Household 25: three E105 problems on its rows, shown with it.
    let d = store
        .register()
        .household(&Scope::County, "1409300102014")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.row.verdict, Verdict::DataError);
    assert_eq!(d.problems.len(), 3);
    assert!(d.problems.iter().all(|p| p.code.as_str() == "E105"));
    assert!(d.members.iter().all(|m| m.member.id.is_none()));

    let expected: Vec<(String, String)> = golden_csv("expected_problems.csv")
        .iter()
        .map(|r| (r["line"].clone(), r["code"].clone()))
        .collect();
    let page = store
        .register()
        .problems(&Scope::County, None, 500)
        .await
        .unwrap();
    assert_eq!(page.next, None);
    let got: Vec<(String, String)> = page
        .items
        .iter()
        .map(|p| (p.line.to_string(), p.code.as_str().to_string()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(page.items[0].household_no, None, "W205 is the header's");
}

/// The store refuses what it cannot store faithfully, and stores nothing of it.
async fn registers_that_cannot_be_stored_are_refused(store: Store) {
    let refused = |r: Result<fupin_store::Imported, StoreError>| match r {
        Err(StoreError::Refused { .. }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    };
    // A file-level problem (E110).
    let (mut register, villages) = golden();
    let file = register.file.clone();
    register.problems.push(fupin_domain::Problem::new(
        &file,
        2,
        "行政村",
        fupin_domain::ProblemCode::E110,
        "不在村级名册中",
        "x",
    ));
    let r = store
        .import()
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await;
    match &r {
        Err(StoreError::Refused { problems, .. }) => assert_eq!(problems.len(), 1),
        other => panic!("{other:?}"),
    }
    // A village missing from the villages file.
    let (register, mut villages) = golden();
    villages.list.pop();
    refused(
        store
            .import()
            .import_register(&register, &meta("members.csv", None), Some(&villages))
            .await,
    );
    // A household without 户编号.
    let (mut register, villages) = golden();
    register.households[3].id = "".into();
    refused(
        store
            .import()
            .import_register(&register, &meta("members.csv", None), Some(&villages))
            .await,
    );
    // A hash that is not SHA-256.
    let (register, villages) = golden();
    let mut m = meta("members.csv", None);
    m.sha256 = "abc".into();
    refused(
        store
            .import()
            .import_register(&register, &m, Some(&villages))
            .await,
    );

    assert!(store.register().versions().await.unwrap().is_empty());
    assert_eq!(
        store
            .register()
            .household(&Scope::County, "1409300101001")
            .await
            .unwrap(),
        None
    );
    let audit = store.audit_log().audit_entries(None, 10).await.unwrap();
    assert!(audit.items.is_empty());
}

/// A second import is a new current version; the first stays, and a household's history
/// shows its verdict in both.
async fn a_new_version_keeps_the_old_one_and_the_history(store: Store) {
    let first = import_golden(&store).await;
    let (mut register, villages) = golden();
    let h = register
        .households
        .iter_mut()
        .find(|h| &*h.id == "1409300101001")
        .unwrap();
    h.values.food_secure = Entry::Value(false);
    let second = store
        .import()
        .import_register(&register, &meta("members-v2.csv", None), Some(&villages))
        .await
        .unwrap();
    assert!(second.version > first.version);

    let versions = store.register().versions().await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.id, v.current))
            .collect::<Vec<_>>(),
        [(second.version, true), (first.version, false)]
    );
    assert_eq!(
        store
            .register()
            .current_version()
            .await
            .unwrap()
            .unwrap()
            .file_name,
        "members-v2.csv"
    );
    let d = store
        .register()
        .household(&Scope::County, "1409300101001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.version, second.version);
    assert_eq!(d.row.verdict, Verdict::NotReady);
    assert_eq!(d.row.failed.codes(","), "FOOD");
    let history: Vec<(fupin_store::VersionId, Verdict, &str)> = d
        .history
        .iter()
        .map(|e| (e.version, e.verdict, e.file_name.as_str()))
        .collect();
    assert_eq!(
        history,
        [
            (first.version, Verdict::Ready, "members.csv"),
            (second.version, Verdict::NotReady, "members-v2.csv")
        ]
    );
    let county = store
        .register()
        .county_summary(&Scope::County)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(county.tally.verdict_count(Verdict::Ready), 7);
    assert_eq!(county.tally.verdict_count(Verdict::NotReady), 10);
    assert_eq!(county.tally, second.tallies.county);
    // Lists show the current version only.
    let page = store
        .register()
        .households(&Scope::County, ONE_TOWNSHIP, "示例一乡甲村", None, 100)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 11);
}

/// A household of an older version that the current one no longer holds is not found,
/// though its history is kept; the others read on, with both versions in their history.
async fn a_household_gone_from_the_current_version_is_not_found(store: Store) {
    import_golden(&store).await;
    let (mut register, villages) = golden();
    let gone = "1409300101001";
    register.households.retain(|h| &*h.id != gone);
    store
        .import()
        .import_register(&register, &meta("members-v2.csv", None), Some(&villages))
        .await
        .unwrap();
    assert_eq!(
        store
            .register()
            .household(&Scope::County, gone)
            .await
            .unwrap(),
        None
    );
    let d = store
        .register()
        .household(&Scope::County, "1409300101002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.history.len(), 2);
    assert_eq!(d.history[1].version, d.version);
}

/// Area scope, route by route: a township user gets nothing of another township — not by
/// 户编号, list, summary, search (户编号, ID number, name), problems or history.
async fn township_staff_cannot_reach_another_township(store: Store) {
    import_golden(&store).await;
    let mine = township(ONE_TOWNSHIP);
    let other_household = "1409300201001"; // 示例二镇丙村
    let own_household = "1409300101001";

    // By 户编号.
    assert!(store
        .register()
        .household(&mine, own_household)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .register()
            .household(&mine, other_household)
            .await
            .unwrap(),
        None
    );
    assert!(store
        .register()
        .household(&township(OTHER_TOWNSHIP), other_household)
        .await
        .unwrap()
        .is_some());
    // Summaries and lists.
    assert_eq!(store.register().county_summary(&mine).await.unwrap(), None);
    let townships = store.register().townships(&mine).await.unwrap();
    assert_eq!(townships.len(), 1);
    assert_eq!(townships[0].township.as_deref(), Some(ONE_TOWNSHIP));
    assert!(store
        .register()
        .villages(&mine, OTHER_TOWNSHIP)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .register()
            .villages(&mine, ONE_TOWNSHIP)
            .await
            .unwrap()
            .len(),
        2
    );
    let page = store
        .register()
        .households(&mine, OTHER_TOWNSHIP, "示例二镇丙村", None, 100)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(
        store
            .register()
            .households(&Scope::County, OTHER_TOWNSHIP, "示例二镇丙村", None, 100)
            .await
            .unwrap()
            .items
            .len(),
        7
    );
    // Search by 户编号 prefix.
    let hits = all_hits(&store, &mine, &Search::HouseholdNo("14093002".into())).await;
    assert!(hits.is_empty());
    let hits = all_hits(&store, &mine, &Search::HouseholdNo("1409300".into())).await;
    assert_eq!(hits.len(), 26);
    assert!(hits.iter().all(|h| h.household.township == ONE_TOWNSHIP));
    assert_eq!(
        all_hits(
            &store,
            &Scope::County,
            &Search::HouseholdNo("1409300".into())
        )
        .await
        .len(),
        33
    );
    // Search by ID number: line 72 is 27's head, in 示例二镇.
    let members = golden_csv("members.csv");
    let other_id = members[72 - 2]["证件号码"].clone();
    let own_id = members[0]["证件号码"].clone(); // line 2, household 01
    let search = Search::IdNumber(other_id.to_lowercase());
    assert!(all_hits(&store, &mine, &search).await.is_empty());
    let hits = all_hits(&store, &Scope::County, &search).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].household.household_no, other_household);
    assert_eq!(hits[0].member.as_ref().unwrap().line, 72);
    let hits = all_hits(&store, &mine, &Search::IdNumber(own_id)).await;
    assert_eq!(hits[0].household.household_no, own_household);
    // Search by name: every golden name starts with 测试.
    let hits = all_hits(&store, &mine, &Search::Name("测试".into())).await;
    assert_eq!(hits.len(), 29 + 41);
    assert!(hits.iter().all(|h| h.household.township == ONE_TOWNSHIP));
    let hits = all_hits(&store, &Scope::County, &Search::Name("测试户主27".into())).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].member.as_ref().unwrap().name.as_deref(),
        Some("测试户主27")
    );
    assert!(all_hits(&store, &mine, &Search::Name("测试户主27".into()))
        .await
        .is_empty());
    // Problems: only those on its households' rows (not the header's W205).
    let mut after = None;
    let mut problems = Vec::new();
    loop {
        let page = store.register().problems(&mine, after, 4).await.unwrap();
        problems.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let expected = golden_csv("expected_problems.csv")
        .iter()
        .filter(|p| (2..=71).contains(&p["line"].parse::<u64>().unwrap()))
        .count();
    assert_eq!(problems.len(), expected);
    assert!(problems
        .iter()
        .all(|p| p.household_no.as_deref().unwrap().starts_with("1409300")));
    assert!(problems
        .iter()
        .all(|p| !p.household_no.as_deref().unwrap().starts_with("14093002")));
}

async fn all_hits(store: &Store, scope: &Scope, search: &Search) -> Vec<SearchHit> {
    let mut after: Option<SearchKey> = None;
    let mut hits = Vec::new();
    loop {
        let page = store
            .register()
            .search(scope, search, after.as_ref(), 3)
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        hits.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return hits,
        }
    }
}

/// Village staff see their village only, not even their township's figures.
async fn village_staff_see_only_their_village(store: Store) {
    import_golden(&store).await;
    let scope = Scope::of(&Role::VillageStaff {
        township: ONE_TOWNSHIP.into(),
        village: "示例一乡甲村".into(),
    });
    assert!(store.register().townships(&scope).await.unwrap().is_empty());
    let villages = store
        .register()
        .villages(&scope, ONE_TOWNSHIP)
        .await
        .unwrap();
    assert_eq!(villages.len(), 1);
    assert_eq!(villages[0].village.as_deref(), Some("示例一乡甲村"));
    assert!(store
        .register()
        .household(&scope, "1409300101001")
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .register()
            .household(&scope, "1409300102001")
            .await
            .unwrap(),
        None
    ); // 乙村
    assert!(store
        .register()
        .households(&scope, ONE_TOWNSHIP, "示例一乡乙村", None, 50)
        .await
        .unwrap()
        .items
        .is_empty());
    let hits = all_hits(&store, &scope, &Search::HouseholdNo("1".into())).await;
    assert_eq!(hits.len(), 11);
    // Same names in another township are another village.
    let wrong = Scope::Village {
        township: OTHER_TOWNSHIP.into(),
        village: "示例一乡甲村".into(),
    };
    assert_eq!(
        store
            .register()
            .household(&wrong, "1409300101001")
            .await
            .unwrap(),
        None
    );
}

/// Paging by key returns every household exactly once, in 户编号 order, over a generated
/// register; and every problem once.
async fn key_paging_returns_every_household_exactly_once(store: Store) {
    let (register, villages) = generated(1500, 7);
    let imported = store
        .import()
        .import_register(&register, &meta("gen.csv", None), Some(&villages))
        .await
        .unwrap();
    assert_eq!(imported.households, 1500);
    // Read without names: stored as NULL, and nothing to find by name.
    let some = &register.households[700].id;
    let d = store
        .register()
        .household(&Scope::County, some)
        .await
        .unwrap()
        .unwrap();
    assert!(d
        .members
        .iter()
        .all(|m| m.name.is_none() && m.relation.is_none()));
    assert!(store
        .register()
        .search(&Scope::County, &Search::Name("虚拟".into()), None, 10)
        .await
        .unwrap()
        .items
        .is_empty());
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    for t in store.register().townships(&Scope::County).await.unwrap() {
        let t = t.township.unwrap();
        for v in store.register().villages(&Scope::County, &t).await.unwrap() {
            let village = v.village.unwrap();
            let mut after: Option<String> = None;
            let mut in_village = Vec::new();
            loop {
                let page: Page<_, String> = store
                    .register()
                    .households(&Scope::County, &t, &village, after.as_deref(), 7)
                    .await
                    .unwrap();
                pages += 1;
                in_village.extend(page.items.iter().map(|h| h.household_no.clone()));
                match page.next {
                    Some(k) => after = Some(k),
                    None => break,
                }
            }
            assert!(in_village.windows(2).all(|w| w[0] < w[1]), "{village}");
            assert_eq!(in_village.len() as u64, v.tally.households, "{village}");
            for h in in_village {
                assert!(seen.insert(h), "seen twice");
            }
        }
    }
    assert!(pages > 1500 / 7);
    let expected: BTreeSet<String> = register
        .households
        .iter()
        .map(|h| h.id.to_string())
        .collect();
    assert_eq!(seen, expected);

    // 户编号 search over everything, by key.
    let mut after = None;
    let mut found = Vec::new();
    loop {
        let page = store
            .register()
            .search(
                &Scope::County,
                &Search::HouseholdNo("14".into()),
                after.as_ref(),
                100,
            )
            .await
            .unwrap();
        found.extend(page.items.into_iter().map(|h| h.household.household_no));
        match page.next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    assert_eq!(found.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(found.len(), expected.len());

    // Problems, by key.
    let mut after = None;
    let mut problems = Vec::new();
    loop {
        let page = store
            .register()
            .problems(&Scope::County, after, 9)
            .await
            .unwrap();
        problems.extend(page.items);
        match page.next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    assert_eq!(problems.len(), register.problems.len());
    assert!(problems.iter().enumerate().all(|(i, p)| p.seq == i as u64));
    assert!(problems
        .iter()
        .zip(&register.problems)
        .all(|(s, r)| s.line == r.line && s.code == r.code));
    let county = store
        .register()
        .county_summary(&Scope::County)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(county.tally, imported.tallies.county);
}

/// Passwords are argon2id-hashed and verify; wrong passwords and unknown users fail;
/// usernames are unique; roles keep their area.
async fn passwords_verify_and_usernames_are_unique(store: Store) {
    let new = NewUser {
        username: "村干部".into(),
        password: "春耕-2018-甲村".into(),
        role: Role::VillageStaff {
            township: ONE_TOWNSHIP.into(),
            village: "示例一乡甲村".into(),
        },
    };
    let u = store.accounts().create_user(&new, None).await.unwrap();
    assert_eq!(u.role, new.role);
    let ok = store
        .accounts()
        .verify_password("村干部", "春耕-2018-甲村")
        .await
        .unwrap();
    assert_eq!(ok.as_ref().map(|u| u.id), Some(u.id));
    assert_eq!(
        store
            .accounts()
            .verify_password("村干部", "春耕-2018-乙村")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .accounts()
            .verify_password("nobody", "春耕-2018-甲村")
            .await
            .unwrap(),
        None
    );
    match store.accounts().create_user(&new, None).await {
        Err(StoreError::UsernameTaken(n)) => assert_eq!(n, "村干部"),
        other => panic!("{other:?}"),
    }
    let short = NewUser {
        username: "x".into(),
        password: "short".into(),
        role: Role::Inspector,
    };
    assert!(matches!(
        store.accounts().create_user(&short, None).await,
        Err(StoreError::InvalidAccount(_))
    ));
    assert_eq!(store.accounts().user(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(store.accounts().users().await.unwrap(), vec![u]);
    // The hash is argon2id, never the password.
    let phc = match &store {
        Store::Sqlite(p) => {
            fupin_store::sqlx::query_scalar::<_, String>("SELECT password_hash FROM users")
                .fetch_one(p)
                .await
                .unwrap()
        }
        Store::Postgres(p) => {
            fupin_store::sqlx::query_scalar::<_, String>("SELECT password_hash FROM users")
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    assert!(phc.starts_with("$argon2id$"), "{phc}");
}

/// An admin disables an account: its sessions end, its password no longer logs in; once
/// enabled again, it does. Both are audited with the account before and after; doing
/// what is already so writes nothing.
async fn a_disabled_account_cannot_log_in_and_its_sessions_end(store: Store) {
    let a = admin(&store).await;
    let new = NewUser {
        username: "村干部".into(),
        password: "春耕-2018-甲村".into(),
        role: Role::Inspector,
    };
    let u = store
        .accounts()
        .create_user(&new, Some(a.id))
        .await
        .unwrap();
    let s = store
        .accounts()
        .create_session(u.id, Duration::hours(8))
        .await
        .unwrap();
    let other = store
        .accounts()
        .create_session(a.id, Duration::hours(8))
        .await
        .unwrap();

    let off = store
        .accounts()
        .set_user_disabled(u.id, true, Some(a.id))
        .await
        .unwrap()
        .unwrap();
    assert!(off.disabled_at.is_some());
    assert_eq!(store.accounts().session(&s.token).await.unwrap(), None);
    assert!(store
        .accounts()
        .session(&other.token)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .accounts()
            .verify_password("村干部", &new.password)
            .await
            .unwrap(),
        None
    );
    assert!(store
        .accounts()
        .create_session(u.id, Duration::hours(1))
        .await
        .is_ok());
    let again = store
        .accounts()
        .create_session(u.id, Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.accounts().session(&again.token).await.unwrap(),
        None,
        "disabled"
    );
    let n = store
        .audit_log()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .items
        .len();
    store
        .accounts()
        .set_user_disabled(u.id, true, Some(a.id))
        .await
        .unwrap();
    assert_eq!(
        store
            .audit_log()
            .audit_entries(None, 100)
            .await
            .unwrap()
            .items
            .len(),
        n
    );

    let on = store
        .accounts()
        .set_user_disabled(u.id, false, Some(a.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(on.disabled_at, None);
    assert_eq!(
        store
            .accounts()
            .verify_password("村干部", &new.password)
            .await
            .unwrap(),
        Some(on)
    );
    assert_eq!(
        store
            .accounts()
            .set_user_disabled(UserId::new(u.id.get() + 100), true, None)
            .await
            .unwrap(),
        None
    );

    let log = store
        .audit_log()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .items;
    let changes: Vec<_> = log
        .iter()
        .filter(|e| e.action.ends_with("able_user"))
        .map(|e| {
            (
                e.action.as_str(),
                e.user_id,
                e.before.as_ref().unwrap()["disabled"].clone(),
                e.after.as_ref().unwrap()["disabled"].clone(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("enable_user", Some(a.id), true.into(), false.into()),
            ("disable_user", Some(a.id), false.into(), true.into()),
        ]
    );
}

/// A reset password replaces the old one and logs out whoever knew the old one; the log
/// records the reset without any hash.
async fn a_reset_password_replaces_the_old_one_and_ends_sessions(store: Store) {
    let a = admin(&store).await;
    let s = store
        .accounts()
        .create_session(a.id, Duration::hours(8))
        .await
        .unwrap();
    assert!(store
        .accounts()
        .reset_password(a.id, "新的密码-2019", Some(a.id))
        .await
        .unwrap());
    assert_eq!(store.accounts().session(&s.token).await.unwrap(), None);
    assert_eq!(
        store
            .accounts()
            .verify_password("admin", "管理员密码-123")
            .await
            .unwrap(),
        None
    );
    assert!(store
        .accounts()
        .verify_password("admin", "新的密码-2019")
        .await
        .unwrap()
        .is_some());
    assert!(matches!(
        store
            .accounts()
            .reset_password(a.id, "short", Some(a.id))
            .await,
        Err(StoreError::InvalidAccount(_))
    ));
    assert!(!store
        .accounts()
        .reset_password(UserId::new(a.id.get() + 100), "新的密码-2019", None)
        .await
        .unwrap());
    let log = store
        .audit_log()
        .audit_entries(None, 1)
        .await
        .unwrap()
        .items;
    assert_eq!(log[0].action, "reset_password");
    assert_eq!(log[0].entity_id, a.id.to_string());
    let text = log[0].after.as_ref().unwrap().to_string();
    assert!(
        !text.contains("argon2") && !text.contains("新的密码"),
        "{text}"
    );
}

/// Password rules: at least 8 characters of two kinds, not the username.
async fn passwords_follow_the_rules(store: Store) {
    for (username, password, ok) in [
        ("zhang", "春耕-2018-甲村", true),
        ("zhang", "abcdefg1", true),
        ("zhang", "村干部村干部村干部", false),
        ("zhang", "abcdefgh", false),
        ("zhang", "12345678", false),
        ("zhang", "ab1", false),
        ("zhang123", "zhang123", false),
    ] {
        assert_eq!(
            fupin_store::check_password(username, password).is_ok(),
            ok,
            "{username} {password}"
        );
        let created = store
            .accounts()
            .create_user(
                &NewUser {
                    username: username.into(),
                    password: password.into(),
                    role: Role::Inspector,
                },
                None,
            )
            .await;
        assert_eq!(created.is_ok(), ok, "{password}");
        if let Ok(u) = created {
            store
                .accounts()
                .set_user_disabled(u.id, true, None)
                .await
                .unwrap();
            break;
        }
    }
}

/// Sessions live in the database: found by token until they expire or end; the token
/// itself is not stored.
async fn sessions_expire_and_end(store: Store) {
    let u = admin(&store).await;
    let s = store
        .accounts()
        .create_session(u.id, Duration::hours(8))
        .await
        .unwrap();
    assert_eq!(s.token.len(), 64);
    let found = store.accounts().session(&s.token).await.unwrap().unwrap();
    assert_eq!(found.user, u);
    assert_eq!(found.csrf_token, s.csrf_token);
    assert_eq!(found.expires_at, s.expires_at);
    assert_eq!(store.accounts().session(&s.csrf_token).await.unwrap(), None);
    assert_eq!(store.accounts().session("").await.unwrap(), None);

    let expired = store
        .accounts()
        .create_session(u.id, Duration::seconds(-1))
        .await
        .unwrap();
    assert_eq!(
        store.accounts().session(&expired.token).await.unwrap(),
        None
    );
    assert_eq!(store.accounts().delete_expired_sessions().await.unwrap(), 1);

    assert!(store.accounts().delete_session(&s.token).await.unwrap());
    assert_eq!(store.accounts().session(&s.token).await.unwrap(), None);
    assert!(!store.accounts().delete_session(&s.token).await.unwrap());
    let stored = match &store {
        Store::Sqlite(p) => {
            fupin_store::sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions")
                .fetch_one(p)
                .await
                .unwrap()
        }
        Store::Postgres(p) => {
            fupin_store::sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions")
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    assert_eq!(stored, 0);
}

/// Failed logins are counted per username within a window.
async fn failed_logins_are_counted_in_a_window(store: Store) {
    let start = Utc::now() - Duration::seconds(1);
    for _ in 0..3 {
        store.accounts().record_failed_login("alice").await.unwrap();
    }
    store.accounts().record_failed_login("bob").await.unwrap();
    assert_eq!(
        store
            .accounts()
            .recent_failures("alice", start)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .accounts()
            .recent_failures("bob", start)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .accounts()
            .recent_failures("carol", start)
            .await
            .unwrap(),
        0
    );
    let later = Utc::now() + Duration::seconds(5);
    assert_eq!(
        store
            .accounts()
            .recent_failures("alice", later)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .accounts()
            .clear_failed_logins(Some("alice"), later)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .accounts()
            .recent_failures("alice", start)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .accounts()
            .recent_failures("bob", start)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .accounts()
            .clear_failed_logins(None, later)
            .await
            .unwrap(),
        1
    );
}

/// Every write leaves an audit row (who, what, before/after), in the write's transaction;
/// the log can be paged but not changed.
async fn every_write_is_audited_and_the_log_is_append_only(store: Store) {
    let a = admin(&store).await;
    let staff = store
        .accounts()
        .create_user(
            &NewUser {
                username: "乡干部".into(),
                password: "乡镇工作-2018".into(),
                role: Role::TownshipStaff {
                    township: ONE_TOWNSHIP.into(),
                },
            },
            Some(a.id),
        )
        .await
        .unwrap();
    let (register, villages) = golden();
    let imported = store
        .import()
        .import_register(&register, &meta("members.csv", Some(a.id)), Some(&villages))
        .await
        .unwrap();
    let s = store
        .accounts()
        .create_session(staff.id, Duration::hours(1))
        .await
        .unwrap();
    store.accounts().delete_session(&s.token).await.unwrap();

    let mut entries = Vec::new();
    let mut before = None;
    loop {
        let page = store.audit_log().audit_entries(before, 2).await.unwrap();
        entries.extend(page.items);
        match page.next {
            Some(k) => before = Some(k),
            None => break,
        }
    }
    let got: Vec<(&str, Option<UserId>, String)> = entries
        .iter()
        .map(|e| (e.action.as_str(), e.user_id, e.entity_id.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("delete_session", Some(staff.id), got[0].2.clone()),
            ("create_session", Some(staff.id), got[0].2.clone()),
            // The gaps of the new version, found right after it is stored (issue 5).
            ("refresh_gaps", Some(a.id), imported.version.to_string()),
            ("import_register", Some(a.id), imported.version.to_string()),
            ("create_user", Some(a.id), staff.id.to_string()),
            ("create_user", None, a.id.to_string()),
        ]
    );
    assert!(entries
        .windows(2)
        .all(|w| w[0].id > w[1].id && w[0].at >= w[1].at));
    let import = &entries[3];
    assert_eq!(import.username.as_deref(), Some("admin"));
    assert_eq!(import.before, None);
    let after = import.after.as_ref().unwrap();
    assert_eq!(after["households"], 33);
    assert_eq!(after["verdicts"]["data_error"], 10);
    let created = entries[4].after.as_ref().unwrap();
    assert_eq!(created["role"], "township_staff");
    assert_eq!(created["township"], ONE_TOWNSHIP);
    assert!(
        !created.to_string().contains("argon2"),
        "no password hash in the log"
    );
    assert!(entries[0].after.is_none() && entries[0].before.is_some());

    // Append-only, whoever asks.
    assert!(execute(&store, "UPDATE audit_log SET action = 'x'")
        .await
        .is_err());
    assert!(execute(&store, "DELETE FROM audit_log").await.is_err());
    assert_eq!(
        store
            .audit_log()
            .audit_entries(None, 100)
            .await
            .unwrap()
            .items
            .len(),
        6
    );

    // A refused import writes nothing, audit included.
    let mut m = meta("bad.csv", Some(a.id));
    m.sha256 = "zz".into();
    assert!(store
        .import()
        .import_register(&register, &m, Some(&villages))
        .await
        .is_err());
    assert_eq!(
        store
            .audit_log()
            .audit_entries(None, 100)
            .await
            .unwrap()
            .items
            .len(),
        6
    );
}

/// Jobs are taken once each, even by takers racing for them.
async fn each_job_is_taken_once(store: Store) {
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            store
                .jobs()
                .enqueue_job("export", &serde_json::json!({ "n": i }), None)
                .await
                .unwrap(),
        );
    }
    let mut takers = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        takers.push(tokio::spawn(async move {
            store.jobs().take_job(&format!("taker-{t}")).await.unwrap()
        }));
    }
    let mut taken = Vec::new();
    for t in takers {
        if let Some(job) = t.await.unwrap() {
            taken.push(job);
        }
    }
    assert_eq!(taken.len(), 6);
    let mut got: Vec<i64> = taken.iter().map(|j| j.id.get()).collect();
    got.sort();
    assert_eq!(got, ids);
    assert!(taken
        .iter()
        .all(|j| j.state == fupin_store::JobState::Running && j.attempts == 1));
    assert!(taken.iter().all(|j| j.payload["n"].is_number()));
    assert_eq!(store.jobs().take_job("late").await.unwrap(), None);

    assert!(store.jobs().finish_job(ids[0], None).await.unwrap());
    assert!(store
        .jobs()
        .finish_job(ids[1], Some("磁盘已满"))
        .await
        .unwrap());
    assert!(!store.jobs().finish_job(ids[0], None).await.unwrap());
    let failed = store.jobs().job(ids[1]).await.unwrap().unwrap();
    assert_eq!(failed.state, fupin_store::JobState::Failed);
    assert_eq!(failed.error.as_deref(), Some("磁盘已满"));
    assert!(failed.finished_at.is_some() && failed.taken_by.is_some());
}

/// A job started by a process is running at once (no other process takes it); its
/// payload follows its progress while it runs, and is frozen once it ends.
async fn a_started_job_runs_at_once_and_carries_its_progress(store: Store) {
    use fupin_store::JobState;
    use serde_json::json;
    let a = admin(&store).await;
    let id = store
        .jobs()
        .start_job(
            "import",
            &json!({ "stage": "checking" }),
            "fupin-1",
            Some(a.id),
        )
        .await
        .unwrap();
    let job = store.jobs().job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.taken_by.as_deref(), Some("fupin-1"));
    assert_eq!(job.requested_by, Some(a.id));
    assert_eq!(job.taken_at, Some(job.created_at));
    assert_eq!(store.jobs().take_job("fupin-2").await.unwrap(), None);

    let progress = json!({ "stage": "checking", "progress": 42 });
    assert!(store
        .jobs()
        .update_job_payload(id, &progress)
        .await
        .unwrap());
    assert_eq!(
        store.jobs().job(id).await.unwrap().unwrap().payload,
        progress
    );
    assert!(store.jobs().finish_job(id, None).await.unwrap());
    assert!(!store
        .jobs()
        .update_job_payload(id, &json!({ "stage": "late" }))
        .await
        .unwrap());
    let done = store.jobs().job(id).await.unwrap().unwrap();
    assert_eq!((done.state, done.payload), (JobState::Done, progress));
    assert!(!store
        .jobs()
        .update_job_payload(JobId::new(id.get() + 1), &json!({}))
        .await
        .unwrap());
}

/// A running job keeps a file with its result (the full problem list of a rejected
/// import), replaced by a second put and frozen once the job ends, in the database (any
/// process reads it); a file over MAX_JOB_FILE_BYTES is refused.
async fn a_job_keeps_its_files_while_it_runs_and_any_process_reads_them(store: Store) {
    use serde_json::json;
    let id = store
        .jobs()
        .start_job("import", &json!({}), "fupin-1", None)
        .await
        .unwrap();
    let other = store
        .jobs()
        .start_job("import", &json!({}), "fupin-1", None)
        .await
        .unwrap();
    assert!(store
        .jobs()
        .put_job_file(id, "problems.csv", "text/csv", b"first")
        .await
        .unwrap());
    assert!(store
        .jobs()
        .put_job_file(id, "problems.csv", "text/csv", "文件,行号\n".as_bytes())
        .await
        .unwrap());
    let f = store
        .jobs()
        .job_file(id, "problems.csv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (f.name.as_str(), f.content_type.as_str(), f.data),
        (
            "problems.csv",
            "text/csv",
            "文件,行号\n".as_bytes().to_vec()
        )
    );
    assert_eq!(
        store.jobs().job_file(other, "problems.csv").await.unwrap(),
        None
    );
    assert_eq!(store.jobs().job_file(id, "other.csv").await.unwrap(), None);
    let too_big = vec![b'x'; fupin_store::MAX_JOB_FILE_BYTES + 1];
    assert!(store
        .jobs()
        .put_job_file(other, "problems.csv", "text/csv", &too_big)
        .await
        .is_err());
    assert_eq!(
        store.jobs().job_file(other, "problems.csv").await.unwrap(),
        None
    );

    store.jobs().finish_job(id, None).await.unwrap();
    assert!(!store
        .jobs()
        .put_job_file(id, "problems.csv", "text/csv", b"late")
        .await
        .unwrap());
    assert!(!store
        .jobs()
        .put_job_file(
            JobId::new(other.get() + 1),
            "problems.csv",
            "text/csv",
            b"none"
        )
        .await
        .unwrap());
    let f = store
        .jobs()
        .job_file(id, "problems.csv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.data, "文件,行号\n".as_bytes());
}

/// Every state change of a job (queued, started, taken, finished) is an audit row naming
/// the account that asked for it, with the state before and after; progress is not.
async fn job_state_changes_are_audited_in_the_name_of_who_asked(store: Store) {
    use serde_json::json;
    let a = admin(&store).await;
    let queued = store
        .jobs()
        .enqueue_job("export", &json!({}), Some(a.id))
        .await
        .unwrap();
    let started = store
        .jobs()
        .start_job("import", &json!({}), "fupin-1", None)
        .await
        .unwrap();
    store.jobs().take_job("fupin-2").await.unwrap().unwrap();
    store
        .jobs()
        .update_job_payload(started, &json!({ "progress": 50 }))
        .await
        .unwrap();
    store
        .jobs()
        .finish_job(queued, Some("磁盘已满"))
        .await
        .unwrap();
    store.jobs().finish_job(started, None).await.unwrap();

    let entries = store
        .audit_log()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .items;
    let jobs: Vec<_> = entries.iter().filter(|e| e.entity == "job").rev().collect();
    let got: Vec<(&str, Option<UserId>, String)> = jobs
        .iter()
        .map(|e| (e.action.as_str(), e.user_id, e.entity_id.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("enqueue_job", Some(a.id), queued.to_string()),
            ("start_job", None, started.to_string()),
            ("take_job", Some(a.id), queued.to_string()),
            ("finish_job", Some(a.id), queued.to_string()),
            ("finish_job", None, started.to_string()),
        ]
    );
    let state = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v["state"].clone());
    let states: Vec<_> = jobs
        .iter()
        .map(|e| (state(&e.before), state(&e.after)))
        .collect();
    assert_eq!(
        states,
        [
            (None, Some(json!("queued"))),
            (None, Some(json!("running"))),
            (Some(json!("queued")), Some(json!("running"))),
            (Some(json!("running")), Some(json!("failed"))),
            (Some(json!("running")), Some(json!("done"))),
        ]
    );
    assert_eq!(jobs[2].after.as_ref().unwrap()["taken_by"], "fupin-2");
    assert_eq!(jobs[2].before.as_ref().unwrap()["taken_by"], json!(null));
    assert_eq!(jobs[3].after.as_ref().unwrap()["error"], "磁盘已满");
    assert_eq!(jobs[3].username.as_deref(), Some("admin"));
}

/// One township read alone is the list's entry; outside the scope (another township,
/// village staff) or unknown, it is absent.
async fn one_township_reads_as_in_the_list_and_only_in_scope(store: Store) {
    import_golden(&store).await;
    for name in [ONE_TOWNSHIP, OTHER_TOWNSHIP] {
        let listed = store.register().townships(&Scope::County).await.unwrap();
        let entry = listed.iter().find(|t| t.township.as_deref() == Some(name));
        let alone = store
            .register()
            .township(&Scope::County, name)
            .await
            .unwrap();
        assert_eq!(alone.as_ref(), entry, "{name}");
        assert!(alone.is_some());
    }
    let mine = township(ONE_TOWNSHIP);
    assert!(store
        .register()
        .township(&mine, ONE_TOWNSHIP)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .register()
            .township(&mine, OTHER_TOWNSHIP)
            .await
            .unwrap(),
        None
    );
    let village = Scope::Village {
        township: ONE_TOWNSHIP.into(),
        village: "示例一乡甲村".into(),
    };
    assert_eq!(
        store
            .register()
            .township(&village, ONE_TOWNSHIP)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .register()
            .township(&Scope::County, "无此乡")
            .await
            .unwrap(),
        None
    );
}

/// Townships page by key (their place in the register): every page of any size, taken in
/// turn, holds the list's townships once each, in its order; a scope's pages hold only its
/// own, village staff none.
async fn township_pages_by_key_hold_every_township_once_in_scope(store: Store) {
    import_golden(&store).await;
    let village = Scope::Village {
        township: ONE_TOWNSHIP.into(),
        village: "示例一乡甲村".into(),
    };
    for scope in [
        Scope::County,
        township(ONE_TOWNSHIP),
        township(OTHER_TOWNSHIP),
        village,
    ] {
        let listed = store.register().townships(&scope).await.unwrap();
        for limit in [1, 2, 3, 500] {
            let mut paged = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .register()
                    .townships_page(&scope, after, limit)
                    .await
                    .unwrap();
                assert!(page.items.len() <= limit as usize);
                paged.extend(page.items);
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            assert_eq!(paged, listed, "{scope:?} by {limit}");
        }
    }
    assert_eq!(
        store
            .register()
            .townships(&Scope::County)
            .await
            .unwrap()
            .len(),
        2
    );
    // Past the end: an empty last page.
    let page = store
        .register()
        .townships_page(&Scope::County, Some(u64::MAX), 5)
        .await
        .unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
}

/// An import reports its steps in order, ending with all of them done.
async fn an_import_reports_each_of_its_steps(store: Store) {
    let (register, villages) = golden();
    let steps = std::sync::Mutex::new(Vec::new());
    store
        .import()
        .import_register_with_progress(
            &register,
            &meta("members.csv", None),
            Some(&villages),
            &|n| steps.lock().unwrap().push(n),
        )
        .await
        .unwrap();
    let steps = steps.into_inner().unwrap();
    assert_eq!(steps, (1..=fupin_store::IMPORT_STEPS).collect::<Vec<_>>());
}

/// Migration 0005 fills member_ids for versions imported before it, computing ID number
/// keys in SQL: the same numbers as `IdNumber::key`, which imports use.
async fn id_keys_computed_in_sql_match_the_domain(store: Store) {
    let sql = "SELECT CAST(substr($1, 1, 17) AS BIGINT) * 11 \
               + CASE substr($1, 18, 1) WHEN 'X' THEN 10 \
                 ELSE CAST(substr($1, 18, 1) AS BIGINT) END";
    for text in [
        "11010519491231002X",
        "140930201209020467",
        "999999999999999990",
    ] {
        let id = fupin_domain::IdNumber::parse(text).unwrap_or_else(|_| {
            // A made-up number: fix its check character.
            let check = fupin_domain::id_number::check_character(&text.as_bytes()[..17]);
            fupin_domain::IdNumber::parse(&format!("{}{}", &text[..17], check as char)).unwrap()
        });
        let key: i64 = match &store {
            Store::Sqlite(p) => fupin_store::sqlx::query_scalar(sql)
                .bind(id.to_string())
                .fetch_one(p)
                .await
                .unwrap(),
            Store::Postgres(p) => fupin_store::sqlx::query_scalar(sql)
                .bind(id.to_string())
                .fetch_one(p)
                .await
                .unwrap(),
        };
        assert_eq!(key as u64, id.key(), "{id}");
    }
}

/// The per-household tables partitioned by version on PostgreSQL, in name order.
const PARTITIONED: [&str; 6] = [
    "assessments",
    "households",
    "member_ids",
    "member_names",
    "members",
    "problems",
];

/// Every partition on PostgreSQL with its bound ("households_v2 FOR VALUES IN ('2')"), in
/// name order.
async fn partitions(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text || ' ' || pg_get_expr(c.relpartbound, c.oid) \
         FROM pg_class c WHERE c.relispartition AND c.relkind = 'r' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The partitions an import of version `v` adds, as [`partitions`] lists them.
fn version_partitions(v: i64) -> Vec<String> {
    PARTITIONED
        .iter()
        .map(|t| format!("{t}_v{v} FOR VALUES IN ('{v}')"))
        .collect()
}

/// The staging tables on PostgreSQL that are not (yet) a version's partition.
async fn unattached_tables(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relkind = 'r' AND NOT relispartition \
         AND relname ~ '_v[0-9]+$' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// An import that fails while it writes leaves nothing behind: no version, no rows, no
/// audit row; on PostgreSQL no staging table either, and a staging table left by an
/// import killed half-way is dropped by the next import, whose tables become the version's
/// partitions.
async fn an_import_that_fails_while_writing_leaves_nothing(store: Store) {
    // Two households with one 户编号: the database's unique index refuses the second.
    let (mut register, villages) = golden();
    register.households[3].id = register.households[2].id.clone();
    let r = store
        .import()
        .import_register(&register, &meta("members.csv", None), Some(&villages))
        .await;
    assert!(matches!(r, Err(StoreError::Database(_))), "{r:?}");
    assert!(store.register().versions().await.unwrap().is_empty());
    assert!(store
        .audit_log()
        .audit_entries(None, 10)
        .await
        .unwrap()
        .items
        .is_empty());
    if let Store::Postgres(pool) = &store {
        assert_eq!(unattached_tables(pool).await, Vec::<String>::new());
        sqlx::query("CREATE TABLE members_v999 (LIKE members)")
            .execute(pool)
            .await
            .unwrap();
    }

    let imported = import_golden(&store).await;
    let v = imported.version;
    assert_eq!(store.register().versions().await.unwrap().len(), 1);
    let (golden_register, _) = golden();
    let first = &golden_register.households[0].id;
    assert!(store
        .register()
        .household(&Scope::County, first)
        .await
        .unwrap()
        .is_some());
    if let Store::Postgres(pool) = &store {
        assert_eq!(unattached_tables(pool).await, Vec::<String>::new());
        assert_eq!(partitions(pool).await, version_partitions(v.get()));
        // Each partition has the indexes the import built and nothing more: ATTACH took
        // them as the parent's instead of building its own beside them.
        let indexes: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT c.relname::text, \
                    (SELECT COUNT(*) FROM pg_index x WHERE x.indrelid = c.oid), \
                    (SELECT COUNT(*) FROM pg_index x WHERE x.indrelid = i.inhparent) \
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE c.relkind = 'r' ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        for (table, own, parents) in indexes {
            assert!(parents >= 1, "{table}");
            assert_eq!(own, parents, "{table}");
        }
    }
}

/// The accounts form's township and village names, read in one statement, are the
/// townships' and villages' lists as the dashboard pages them.
async fn area_names_are_every_township_with_its_villages(store: Store) {
    assert!(store.register().area_names().await.unwrap().is_empty());
    import_golden(&store).await;
    let mut expected = Vec::new();
    for t in store.register().townships(&Scope::County).await.unwrap() {
        let name = t.township.unwrap();
        let villages = store
            .register()
            .villages(&Scope::County, &name)
            .await
            .unwrap();
        expected.push((
            name,
            villages.into_iter().map(|v| v.village.unwrap()).collect(),
        ));
    }
    assert!(expected.len() > 1);
    assert_eq!(store.register().area_names().await.unwrap(), expected);
}

/// Migration 0013 on a PostgreSQL database holding a version stored before it: each old
/// per-household table becomes the partition of the versions it holds, rows and indexes
/// kept; the next import adds its own partitions beside it, and a household's history
/// reads across both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioning_keeps_the_versions_stored_before_it() {
    let Some(admin) = fupin_test_support::pg_admin_url("fupin-store") else {
        return;
    };
    let db = fupin_test_support::FreshPg::create(&admin, "fupin_test").await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate_through(12).await.unwrap();
    let Store::Postgres(pool) = &store else {
        unreachable!()
    };
    let (register, _) = golden();
    let no = register.households[0].id.to_string();
    // Version 1 as migrations 0002–0012 stored it: one household of one member.
    sqlx::raw_sql(&format!(
        "INSERT INTO register_versions (id, imported_at, file_name, sha256, format, year, \
             line_fen, line_year, line_source, line_verified, row_count, household_count, \
             member_count, village_count, error_count, warning_count) OVERRIDING SYSTEM VALUE \
         VALUES (1, now(), 'old.csv', '{sha}', 'csv', 2018, 353500, 2018, 'test', true, 1, 1, 1, 1, 0, 1); \
         SELECT setval(pg_get_serial_sequence('register_versions', 'id'), 1); \
         INSERT INTO current_register (id, version_id) VALUES (1, 1); \
         INSERT INTO areas (version_id, seq, township, village) VALUES (1, 0, '示例一乡', '甲村'); \
         INSERT INTO households (version_id, seq, household_no, area_seq, first_line, members, \
             status, has_errors) VALUES (1, 0, '{no}', 0, 2, 1, '未脱贫', false); \
         INSERT INTO members (version_id, household_seq, seq, line, id_number, is_head, \
             active_military) VALUES (1, 0, 0, 2, NULL, true, false); \
         INSERT INTO member_ids (version_id, id_key, line, household_seq, seq) VALUES (1, 7, 2, 0, 0); \
         INSERT INTO member_names (version_id, name, line, household_seq, seq) VALUES (1, '甲', 2, 0, 0); \
         INSERT INTO assessments (version_id, household_seq, verdict, failed, per_capita, explanation) \
             VALUES (1, 0, 'not_ready', 'INCOME', 100000, '收入不足'); \
         INSERT INTO problems (version_id, seq, line, column_name, code, message, value) \
             VALUES (1, 0, 1, '户编号', 'W205', '旧', '');",
        sha = "ab".repeat(32)
    ))
    .execute(pool)
    .await
    .unwrap();

    store.migrate().await.unwrap();
    let legacy: Vec<String> = PARTITIONED
        .iter()
        .map(|t| format!("{t}_legacy FOR VALUES IN ('1')"))
        .collect();
    assert_eq!(partitions(pool).await, legacy);
    for t in PARTITIONED {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t} WHERE version_id = 1"))
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "{t}");
    }
    let old = store
        .register()
        .household(&Scope::County, &no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.version, 1);
    assert_eq!(old.assessment.verdict, Verdict::NotReady);

    let imported = import_golden(&store).await;
    let v = imported.version;
    let mut expected = legacy;
    expected.extend(version_partitions(v.get()));
    expected.sort();
    assert_eq!(partitions(pool).await, expected);
    let now = store
        .register()
        .household(&Scope::County, &no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.version, v);
    let versions: Vec<i64> = now.history.iter().map(|h| h.version.get()).collect();
    assert_eq!(versions, [1, v.get()]);
    assert_eq!(now.history[0].verdict, Verdict::NotReady);

    store.close().await;
    db.drop_database().await;
}

/// What a server tells the user of a job whose server stopped (as the web does).
fn stopped(kind: &str) -> String {
    format!("{kind}：处理它的服务器已停止")
}

/// A running job whose lease has passed is failed by any process, once, audited in the
/// name of who asked; a job whose process renews its lease is not, nor a job the caller
/// says is its own; the failed job's process can no longer renew it or finish it.
async fn a_job_whose_lease_passed_is_failed_and_a_live_one_is_not(store: Store) {
    use fupin_store::{JobState, JOB_LEASE};
    use serde_json::json;
    let a = admin(&store).await;
    let dead = store
        .jobs()
        .start_job("import", &json!({}), "fupin-dead", Some(a.id))
        .await
        .unwrap();
    let live = store
        .jobs()
        .start_job("import", &json!({}), "fupin-live", None)
        .await
        .unwrap();
    let own = store
        .jobs()
        .start_job("import", &json!({}), "fupin-me", None)
        .await
        .unwrap();
    // A started job holds a lease of JOB_LEASE: nothing has expired.
    let lease = store.jobs().job_lease(live).await.unwrap().unwrap();
    let left = lease - Utc::now();
    assert!(
        left > Duration::seconds(JOB_LEASE.as_secs() as i64 - 5) && left <= Duration::seconds(30),
        "{left}"
    );
    assert!(store.jobs().expired_jobs().await.unwrap().is_empty());
    assert!(store
        .jobs()
        .fail_expired_jobs(&[], &stopped)
        .await
        .unwrap()
        .is_empty());

    // The dead process's last renewal ran out; the live one renews.
    for id in [dead, own] {
        let taker = if id == dead { "fupin-dead" } else { "fupin-me" };
        assert!(store
            .jobs()
            .renew_job_lease(id, taker, std::time::Duration::ZERO)
            .await
            .unwrap());
    }
    assert!(!store
        .jobs()
        .renew_job_lease(live, "fupin-dead", JOB_LEASE)
        .await
        .unwrap());
    assert!(store
        .jobs()
        .renew_job_lease(live, "fupin-live", JOB_LEASE)
        .await
        .unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let expired: Vec<i64> = store
        .jobs()
        .expired_jobs()
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.0.get())
        .collect();
    assert_eq!(expired, [dead, own]);
    // A live job is never failed, even asked for by id.
    assert!(!store.jobs().fail_expired_job(live, "x").await.unwrap());
    assert_eq!(
        store
            .jobs()
            .fail_expired_jobs(&[own], &stopped)
            .await
            .unwrap(),
        [dead]
    );
    // Twice (another process) fails nothing more.
    assert!(store
        .jobs()
        .fail_expired_jobs(&[own], &stopped)
        .await
        .unwrap()
        .is_empty());

    let failed = store.jobs().job(dead).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("import：处理它的服务器已停止")
    );
    assert!(failed.finished_at.is_some());
    assert_eq!(store.jobs().job_lease(dead).await.unwrap(), None);
    // The stopped process, were it only slow, learns it has lost the job.
    assert!(!store
        .jobs()
        .renew_job_lease(dead, "fupin-dead", JOB_LEASE)
        .await
        .unwrap());
    assert!(!store.jobs().finish_job(dead, None).await.unwrap());
    for id in [live, own] {
        assert_eq!(
            store.jobs().job(id).await.unwrap().unwrap().state,
            JobState::Running
        );
    }
    let entries = store
        .audit_log()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .items;
    let expiry: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "expire_job")
        .collect();
    assert_eq!(expiry.len(), 1);
    assert_eq!(expiry[0].entity_id, dead.to_string());
    assert_eq!(expiry[0].user_id, Some(a.id));
    assert_eq!(expiry[0].before.as_ref().unwrap()["state"], "running");
    assert_eq!(expiry[0].after.as_ref().unwrap()["state"], "failed");
}

/// An import run for a job renews the job's lease as it commits; when another process
/// has failed the job (its lease passed), the import commits nothing: a failed job never
/// leaves a version behind.
async fn an_import_for_a_job_that_lost_its_lease_stores_nothing(store: Store) {
    use fupin_store::{JobLease, JOB_LEASE};
    use serde_json::json;
    let (register, villages) = golden();
    let m = meta("members.csv", None);
    let lost = store
        .jobs()
        .start_job("import", &json!({}), "fupin-slow", None)
        .await
        .unwrap();
    store
        .jobs()
        .renew_job_lease(lost, "fupin-slow", std::time::Duration::ZERO)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(
        store.jobs().fail_expired_jobs(&[], &stopped).await.unwrap(),
        [lost]
    );
    let lease = JobLease {
        id: lost,
        taker: "fupin-slow",
        lease: JOB_LEASE,
    };
    let r = store
        .import()
        .import_register_for_job(&register, &m, Some(&villages), &|_| {}, lease)
        .await;
    assert!(
        matches!(r, Err(StoreError::JobLeaseLost(id)) if id == lost),
        "{r:?}"
    );
    assert!(store.register().versions().await.unwrap().is_empty());
    if let Store::Postgres(pool) = &store {
        assert_eq!(unattached_tables(pool).await, Vec::<String>::new());
        assert!(partitions(pool).await.is_empty());
    }

    // A job that holds its lease: the version, and a lease renewed as it committed.
    let live = store
        .jobs()
        .start_job("import", &json!({}), "fupin-1", None)
        .await
        .unwrap();
    let before = store.jobs().job_lease(live).await.unwrap().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let lease = JobLease {
        id: live,
        taker: "fupin-1",
        lease: JOB_LEASE,
    };
    store
        .import()
        .import_register_for_job(&register, &m, Some(&villages), &|_| {}, lease)
        .await
        .unwrap();
    assert_eq!(store.register().versions().await.unwrap().len(), 1);
    assert!(store.jobs().job_lease(live).await.unwrap().unwrap() > before);
}

/// The import lock's key (crates/store/src/import.rs, IMPORT_LOCK).
const IMPORT_LOCK: i64 = 0x6675_7069_6e09;

/// A staging table left by a killed import (no import attached it) is dropped at a
/// server's start — but not while an import holds the import lock, in any process,
/// since the tables then may be that import's; then it is asked again later.
async fn leftover_staging_tables_are_dropped_but_never_a_running_imports(store: Store) {
    let Store::Postgres(pool) = &store else {
        assert_eq!(
            store.import().drop_orphan_staging(false).await.unwrap(),
            Some(0)
        );
        return;
    };
    import_golden(&store).await;
    for t in ["households_v998", "members_v999"] {
        let parent = t.split("_v").next().unwrap();
        sqlx::query(&format!(
            "CREATE TABLE {t} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        ))
        .execute(pool)
        .await
        .unwrap();
    }
    let left = ["households_v998", "members_v999"]
        .map(String::from)
        .to_vec();
    // Another process's import holds the lock: nothing is dropped, nothing waits.
    let mut other = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(IMPORT_LOCK)
        .execute(&mut *other)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(
        store.import().drop_orphan_staging(false).await.unwrap(),
        None
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(unattached_tables(pool).await, left);
    other.rollback().await.unwrap();

    assert_eq!(
        store.import().drop_orphan_staging(false).await.unwrap(),
        Some(2)
    );
    assert_eq!(unattached_tables(pool).await, Vec::<String>::new());
    // The versions' partitions stay.
    assert_eq!(partitions(pool).await, version_partitions(1));
    assert_eq!(
        store.import().drop_orphan_staging(true).await.unwrap(),
        Some(0)
    );
}

/// An import killed half-way (here: its task panics while it loads, which drops its
/// transaction as a killed process's is) does not take with it the cleanup of what
/// earlier killed imports left: that is committed before the import starts, so killing
/// imports in turn does not pile up their tables.
async fn an_import_killed_half_way_still_drops_what_killed_imports_left(store: Store) {
    let Store::Postgres(pool) = &store else {
        return;
    };
    sqlx::query("CREATE TABLE members_v999 (LIKE members)")
        .execute(pool)
        .await
        .unwrap();
    let killed = {
        let store = store.clone();
        tokio::spawn(async move {
            let (register, villages) = golden();
            let killer = |step: u32| {
                if step == 3 {
                    panic!("killed while loading");
                }
            };
            store
                .import()
                .import_register_with_progress(
                    &register,
                    &meta("members.csv", None),
                    Some(&villages),
                    &killer,
                )
                .await
        })
        .await
    };
    assert!(killed.unwrap_err().is_panic());
    assert!(store.register().versions().await.unwrap().is_empty());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // The killed import's own staging tables were never committed; the old one is gone.
    while !unattached_tables(pool).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            unattached_tables(pool).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Migration 0016 on a job stored before it with 1,500 problems: the first 1,000 kept in
/// order, the count of all and of each code added; a smaller refused job and an imported
/// one are left as they were.
async fn migration_0016_cuts_the_problems_of_old_refused_jobs(store: Store) {
    use serde_json::json;
    store.migrate_through(15).await.unwrap();
    let problems: Vec<serde_json::Value> = (0..1_500)
        .map(|i| {
            let code = if i % 3 == 0 { "E102" } else { "E105" };
            json!({"file": "m.csv", "line": i + 2, "column": "证件号码", "code": code,
                   "value": format!("v{i}"), "message": "错"})
        })
        .collect();
    let payload = |problems: &[serde_json::Value]| {
        json!({"file_name": "m.csv", "stage": "done", "progress": 100,
               "result": {"outcome": "rejected", "summary": "有错误", "errors": problems.len(),
                          "warnings": 0, "problems": problems}})
    };
    let big = store
        .jobs()
        .start_job("import", &payload(&problems), "old", None)
        .await
        .unwrap();
    let small = store
        .jobs()
        .start_job("import", &payload(&problems[..10]), "old", None)
        .await
        .unwrap();
    let imported = json!({"result": {"outcome": "imported", "version": 1}});
    let good = store
        .jobs()
        .start_job("import", &imported, "old", None)
        .await
        .unwrap();
    store.migrate().await.unwrap();

    let r = store.jobs().job(big).await.unwrap().unwrap().payload["result"].clone();
    assert_eq!(r["total_problems"], 1_500);
    assert_eq!(r["by_code"], json!({"E102": 500, "E105": 1_000}));
    assert_eq!(r["problems"].as_array().unwrap()[..], problems[..1_000]);
    assert_eq!(r["summary"], "有错误");
    assert_eq!(
        store.jobs().job(small).await.unwrap().unwrap().payload,
        payload(&problems[..10])
    );
    assert_eq!(
        store.jobs().job(good).await.unwrap().unwrap().payload,
        imported
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0016_cuts_old_refused_jobs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fupin.db").display());
    let store = Store::connect(&url).await.unwrap();
    migration_0016_cuts_the_problems_of_old_refused_jobs(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0016_cuts_old_refused_jobs_on_postgres() {
    let Some(admin) = fupin_test_support::pg_admin_url("fupin-store") else {
        return;
    };
    let db = fupin_test_support::FreshPg::create(&admin, "fupin_test").await;
    let store = Store::connect(&db.url).await.unwrap();
    migration_0016_cuts_the_problems_of_old_refused_jobs(store.clone()).await;
    store.close().await;
    db.drop_database().await;
}
