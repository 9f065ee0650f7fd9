//! Each role's access, route by route. Area scope: what lies outside a user's township or
//! village is 404 — by URL, search, problems export and API alike — never 403, so that its
//! existence does not leak. Role limits (import, audit, users) are 403.

use crate::support::*;
use axum::http::StatusCode;
use fupin_store::Role;
use fupin_web::view::{enc, household_url, township_url, village_url};

both!(
    a_township_user_cannot_reach_another_township,
    a_village_user_sees_only_their_village,
    only_the_admin_imports_and_reads_the_audit_log_and_users,
    county_roles_read_the_whole_county,
    village_households_page_by_key_and_every_one_comes_once,
);

const OWN_HOUSEHOLD: &str = "1409300101001"; // 示例一乡甲村
const SIBLING_HOUSEHOLD: &str = "1409300102001"; // 示例一乡乙村
const OTHER_HOUSEHOLD: &str = "1409300201001"; // 示例二镇丙村

fn golden_id_of(line: usize) -> String {
    golden_csv("members.csv")[line - 2]["证件号码"].clone()
}

async fn a_township_user_cannot_reach_another_township(app: App) {
    import_golden(&app.store).await;
    let mut c = app.township_staff("township", ONE_TOWNSHIP).await;
    // Own area: reachable.
    for path in [
        "/".to_string(),
        township_url(ONE_TOWNSHIP),
        village_url(ONE_TOWNSHIP, OWN_VILLAGE),
        village_url(ONE_TOWNSHIP, SIBLING_VILLAGE),
        household_url(OWN_HOUSEHOLD),
        format!("/api/v1/households/{OWN_HOUSEHOLD}"),
        format!("/api/v1/townships/{}", enc(ONE_TOWNSHIP)),
    ] {
        assert_eq!(c.get(&path).await.status, StatusCode::OK, "{path}");
    }
    // Another township: not found, pages and API alike.
    for path in [
        township_url(OTHER_TOWNSHIP),
        village_url(OTHER_TOWNSHIP, OTHER_VILLAGE),
        format!("{}?after=0", village_url(OTHER_TOWNSHIP, OTHER_VILLAGE)),
        household_url(OTHER_HOUSEHOLD),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!r.text().contains(OTHER_HOUSEHOLD), "{path}");
        assert!(r.text().contains("不在您的管辖范围内"));
    }
    for path in [
        format!("/api/v1/households/{OTHER_HOUSEHOLD}"),
        format!("/api/v1/townships/{}", enc(OTHER_TOWNSHIP)),
        format!("/api/v1/townships/{}/villages", enc(OTHER_TOWNSHIP)),
        format!(
            "/api/v1/townships/{}/villages/{}",
            enc(OTHER_TOWNSHIP),
            enc(OTHER_VILLAGE)
        ),
        format!(
            "/api/v1/townships/{}/villages/{}/households",
            enc(OTHER_TOWNSHIP),
            enc(OTHER_VILLAGE)
        ),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.json()["error"], "not_found", "{path}");
    }
    // A household that does not exist answers the same.
    let r = c.get("/api/v1/households/999999").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Dashboard and summary: own township only.
    let home = c.get("/").await.text();
    assert!(
        home.contains(OWN_VILLAGE) && !home.contains(OTHER_TOWNSHIP),
        "{home}"
    );
    let s = c.get("/api/v1/summary").await.json();
    assert_eq!(s["area"]["township"], ONE_TOWNSHIP);
    assert_eq!(s["area"]["households"], 26);
    let ts = c.get("/api/v1/townships").await.json();
    assert_eq!(ts["items"].as_array().unwrap().len(), 1);
    assert_eq!(ts["items"][0]["township"], ONE_TOWNSHIP);
    assert!(ts["next"].is_null());
    // Paging on from the own township's key does not reach the other one.
    for path in [
        "/api/v1/townships?after=0&limit=1",
        "/api/v1/summary?after=0&limit=1",
        "/?after=0&limit=1",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(!r.text().contains(OTHER_TOWNSHIP), "{path}");
    }
    // Search: by 户编号, by ID number — nothing of the other township.
    let r = c.get("/search?q=14093002").await.text();
    assert!(!r.contains(OTHER_HOUSEHOLD), "{r}");
    let other_id = golden_id_of(72);
    let r = c.get(&format!("/search?q={other_id}")).await.text();
    assert!(!r.contains(OTHER_HOUSEHOLD), "{r}");
    let r = c.get(&format!("/api/v1/search?q={other_id}")).await.json();
    assert_eq!(r["items"].as_array().unwrap().len(), 0);
    let r = c.get("/api/v1/search?q=1409300").await.json();
    assert_eq!(r["items"].as_array().unwrap().len(), 26);
    let own_id = golden_id_of(2);
    let r = c.get(&format!("/api/v1/search?q={own_id}")).await.json();
    assert_eq!(r["items"][0]["household"]["household_no"], OWN_HOUSEHOLD);
    // Problems: page, API and export hold nothing of the other township.
    let other_households: Vec<String> = golden_csv("members.csv")
        .iter()
        .filter(|r| r["乡镇"] == OTHER_TOWNSHIP)
        .map(|r| r["户编号"].clone())
        .collect();
    let page = c.get("/problems").await.text();
    let api = c.get("/api/v1/problems?limit=500").await.json();
    for p in api["items"].as_array().unwrap() {
        if let Some(h) = p["household_no"].as_str() {
            assert!(h.starts_with("14093001"), "{p}");
        }
    }
    let xlsx = c.get("/problems.xlsx").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    let rows = crate::import::xlsx_rows(&xlsx.body);
    assert_eq!(rows.len() - 1, api["items"].as_array().unwrap().len());
    for h in &other_households {
        assert!(!page.contains(h.as_str()), "{h} on the problems page");
        assert!(rows.iter().all(|r| !r.contains(h)), "{h} in the export");
    }
}

async fn a_village_user_sees_only_their_village(app: App) {
    import_golden(&app.store).await;
    let mut c = app
        .village_staff("village", ONE_TOWNSHIP, OWN_VILLAGE)
        .await;
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    assert_eq!(
        c.get(&village_url(ONE_TOWNSHIP, OWN_VILLAGE)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        c.get(&household_url(OWN_HOUSEHOLD)).await.status,
        StatusCode::OK
    );
    for path in [
        township_url(ONE_TOWNSHIP),
        village_url(ONE_TOWNSHIP, SIBLING_VILLAGE),
        household_url(SIBLING_HOUSEHOLD),
        household_url(OTHER_HOUSEHOLD),
        format!("/api/v1/households/{SIBLING_HOUSEHOLD}"),
        format!("/api/v1/townships/{}", enc(ONE_TOWNSHIP)),
    ] {
        assert_eq!(c.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let s = c.get("/api/v1/summary").await.json();
    assert_eq!(s["area"]["village"], OWN_VILLAGE);
    assert_eq!(s["area"]["households"], 11);
    let r = c.get("/api/v1/search?q=1409300").await.json();
    assert_eq!(r["items"].as_array().unwrap().len(), 11);
}

async fn only_the_admin_imports_and_reads_the_audit_log_and_users(app: App) {
    import_golden(&app.store).await;
    let mut admin = app.logged_in("admin", Role::HqAdmin).await;
    for path in [
        "/import",
        "/admin/audit",
        "/admin/users",
        "/api/v1/audit",
        "/api/v1/users",
    ] {
        assert_eq!(admin.get(path).await.status, StatusCode::OK, "{path}");
    }
    let roles = [
        ("leader", Role::CountyLeader),
        (
            "unit",
            Role::UnitStaff {
                unit: "县住建局".into(),
            },
        ),
        (
            "township",
            Role::TownshipStaff {
                township: ONE_TOWNSHIP.into(),
            },
        ),
        (
            "village",
            Role::VillageStaff {
                township: ONE_TOWNSHIP.into(),
                village: OWN_VILLAGE.into(),
            },
        ),
        ("inspector", Role::Inspector),
    ];
    for (name, role) in roles {
        let mut c = app.logged_in(name, role).await;
        for path in ["/import", "/admin/audit", "/admin/users", "/import/jobs/1"] {
            let r = c.get(path).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name} {path}");
            assert!(r.text().contains("仅限指挥部管理员"), "{name} {path}");
        }
        for path in ["/api/v1/audit", "/api/v1/users", "/api/v1/jobs/1"] {
            assert_eq!(
                c.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{name} {path}"
            );
        }
        // Even with a valid CSRF token, an upload is refused and nothing changes.
        let token = c.token();
        let r = c
            .post_multipart(
                "/import",
                &[("csrf", &token), ("year", "2018")],
                &[("members", "members.csv", golden_without_errors())],
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        let r = c
            .post_multipart(
                "/api/v1/imports",
                &[("year", "2018")],
                &[("members", "members.csv", golden_without_errors())],
                Some(&token),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        // Pages every role reads.
        for path in ["/", "/problems", "/versions", "/search?q=1409300"] {
            assert_eq!(c.get(path).await.status, StatusCode::OK, "{name} {path}");
        }
        // The menu shows no admin entries.
        assert!(
            !c.get("/").await.text().contains("href=\"/import\""),
            "{name}"
        );
    }
    assert_eq!(app.store.register().versions().await.unwrap().len(), 1);
}

async fn county_roles_read_the_whole_county(app: App) {
    import_golden(&app.store).await;
    for (name, role) in [
        ("leader", Role::CountyLeader),
        (
            "unit",
            Role::UnitStaff {
                unit: "县住建局".into(),
            },
        ),
        ("inspector", Role::Inspector),
        ("admin", Role::HqAdmin),
    ] {
        let mut c = app.logged_in(name, role).await;
        for path in [
            household_url(OWN_HOUSEHOLD),
            household_url(OTHER_HOUSEHOLD),
            township_url(OTHER_TOWNSHIP),
            village_url(OTHER_TOWNSHIP, OTHER_VILLAGE),
            format!("/api/v1/households/{OTHER_HOUSEHOLD}"),
        ] {
            assert_eq!(c.get(&path).await.status, StatusCode::OK, "{name} {path}");
        }
        let s = c.get("/api/v1/summary").await.json();
        assert_eq!(s["area"]["households"], 33, "{name}");
        assert_eq!(s["children"].as_array().unwrap().len(), 2, "{name}");
    }
}

async fn village_households_page_by_key_and_every_one_comes_once(app: App) {
    import_golden(&app.store).await;
    let mut c = app.logged_in("leader", Role::CountyLeader).await;
    let base = format!(
        "/api/v1/townships/{}/villages/{}/households",
        enc(ONE_TOWNSHIP),
        enc(SIBLING_VILLAGE)
    );
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(a) => format!("{base}?limit=4&after={}", enc(a)),
            None => format!("{base}?limit=4"),
        };
        let page = c.get(&url).await.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 4);
        seen.extend(
            items
                .iter()
                .map(|h| h["household_no"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 15);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "in 户编号 order, each once");
    // The page's "next" link carries the key, not an offset.
    let html = c
        .get(&village_url(ONE_TOWNSHIP, SIBLING_VILLAGE))
        .await
        .text();
    assert!(
        !html.contains("id=\"next-page\""),
        "15 households fit one page of 50"
    );
}
