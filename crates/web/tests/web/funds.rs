//! The projects and funds API (issue 7) through the real router: scopes by unit and area,
//! recording by the unit, the budget and its override by headquarters, reversals, CSRF,
//! the figures and the six-in-place funds.

use crate::support::*;
use axum::http::StatusCode;
use fupin_domain::funds::{Budget, FundSource, Project, ProjectType, Stage};
use fupin_domain::Fen;
use fupin_store::Role;
use serde_json::json;

both!(
    units_and_areas_read_and_record_only_their_projects,
    the_budget_holds_unless_headquarters_overrides_and_reversals_correct,
);

const ENERGY: &str = "县能源局";

fn project(line: u64, name: &str, unit: &str, township: &str, central: i64) -> (u64, Project) {
    (
        line,
        Project {
            name: name.into(),
            year: 2018,
            kind: ProjectType::Photovoltaic,
            township: township.into(),
            village: None,
            task_no: None,
            unit: unit.into(),
            budget: Budget::default().with(FundSource::Central, Fen(central)),
            stage: Stage::Implementing,
            planned_start: None,
            planned_end: None,
            actual_start: None,
            actual_end: None,
        },
    )
}

/// Two projects: the energy bureau's in one township, the water bureau's in the other.
async fn library(app: &App) -> (i64, i64) {
    let solar = project(2, "一乡光伏电站", ENERGY, ONE_TOWNSHIP, 1_000_000);
    let water = project(3, "二镇饮水巩固", "县水利局", OTHER_TOWNSHIP, 200_000);
    app.store
        .import_projects("projects.csv", &[solar, water], None)
        .await
        .unwrap()
        .unwrap();
    let all = app
        .store
        .projects(&fupin_store::ItemScope::All)
        .await
        .unwrap();
    let id = |n: &str| all.iter().find(|p| p.project.name == n).unwrap().id;
    (id("一乡光伏电站"), id("二镇饮水巩固"))
}

fn paid(amount: &str) -> serde_json::Value {
    json!({"date": "2018-04-01", "source": "中央", "amount": amount,
           "voucher": "记-0401", "payee": "示例光伏建设公司"})
}

async fn units_and_areas_read_and_record_only_their_projects(app: App) {
    let (solar, water) = library(&app).await;
    let mut energy = app
        .logged_in(
            "nyj",
            Role::UnitStaff {
                unit: ENERGY.into(),
            },
        )
        .await;
    let mut town = app
        .logged_in(
            "t2",
            Role::TownshipStaff {
                township: OTHER_TOWNSHIP.into(),
            },
        )
        .await;
    let mut inspector = app.logged_in("dc", Role::Inspector).await;

    let names = |v: serde_json::Value| -> Vec<String> {
        v["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(energy.get("/api/v1/projects").await.json()),
        ["一乡光伏电站"]
    );
    assert_eq!(
        names(town.get("/api/v1/projects").await.json()),
        ["二镇饮水巩固"]
    );
    assert_eq!(
        inspector.get("/api/v1/projects").await.json()["projects"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Another unit's or area's project is not found, as one that does not exist.
    assert_eq!(
        energy
            .get(&format!("/api/v1/projects/{water}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        town.get(&format!("/api/v1/projects/{solar}")).await.status,
        StatusCode::NOT_FOUND
    );
    let t = energy.token();
    let r = energy
        .post_json(
            &format!("/api/v1/projects/{water}/entries"),
            &paid("10"),
            Some(&t),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    // Without the CSRF header nothing is recorded.
    let r = energy
        .post_json(
            &format!("/api/v1/projects/{solar}/entries"),
            &paid("10"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Inspectors read and record nothing.
    let t = inspector.token();
    let r = inspector
        .post_json(
            &format!("/api/v1/projects/{solar}/entries"),
            &paid("10"),
            Some(&t),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let t = energy.token();
    let r = energy
        .post_json(
            &format!("/api/v1/projects/{solar}/entries"),
            &paid("2500"),
            Some(&t),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["amount"], "2500.00");
    let detail = energy
        .get(&format!("/api/v1/projects/{solar}"))
        .await
        .json();
    assert_eq!(detail["disbursed_total"], "2500.00");
    assert_eq!(detail["rate"], "25.00");
    assert_eq!(detail["entries"].as_array().unwrap().len(), 1);
    // The six-in-place panel shows the funds of the viewer's scope.
    let page = energy.get("/tasks/six").await.text();
    assert!(
        page.contains(r#"class="fund-disbursed">2,500.00<"#),
        "{page}"
    );
    assert!(page.contains(r#"class="fund-rate">25.00%<"#), "{page}");
    let six = town.get("/api/v1/funds/six-in-place").await.json();
    assert_eq!(
        (six["projects"].as_u64(), six["disbursed"].as_str()),
        (Some(1), Some("0.00"))
    );
    let by_unit = inspector.get("/api/v1/funds/figures?by=unit").await.json();
    let units: Vec<&str> = by_unit["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    // In code-point order.
    assert_eq!(units, ["县水利局", "县能源局"]);
    let doc = inspector.get("/api/openapi.json").await.json();
    for path in [
        "/v1/projects",
        "/v1/projects/{id}",
        "/v1/projects/{id}/entries",
        "/v1/projects/{id}/stage",
        "/v1/projects/{id}/beneficiaries",
        "/v1/funds/figures",
        "/v1/funds/behind",
        "/v1/funds/six-in-place",
        "/v1/funds/benefit-flags",
        "/v1/funds/benefits/{household_no}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    let behind = inspector
        .get("/api/v1/funds/behind?by=2018-04-30&min_percent=30")
        .await
        .json();
    let ids: Vec<i64> = behind["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [water, solar]);
}

async fn the_budget_holds_unless_headquarters_overrides_and_reversals_correct(app: App) {
    let (solar, _) = library(&app).await;
    let mut energy = app
        .logged_in(
            "nyj",
            Role::UnitStaff {
                unit: ENERGY.into(),
            },
        )
        .await;
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let path = format!("/api/v1/projects/{solar}/entries");
    let t = energy.token();
    let first = energy
        .post_json(&path, &paid("9000"), Some(&t))
        .await
        .json();
    let r = energy.post_json(&path, &paid("1000.01"), Some(&t)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("将超出预算 0.01 元"), "{}", r.text());
    let mut over = paid("1000.01");
    over["override_reason"] = json!("省级追加资金已下达");
    assert_eq!(
        energy.post_json(&path, &over, Some(&t)).await.status,
        StatusCode::FORBIDDEN
    );
    let th = hq.token();
    let r = hq.post_json(&path, &over, Some(&th)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["override_reason"], "省级追加资金已下达");
    // A reversal: the unit corrects its own entry, with a reason, never beyond it.
    let of = first["id"].as_i64().unwrap();
    let mut too_much =
        json!({"reverses": of, "date": "2018-04-02", "amount": "9000.01", "note": "金额录错"});
    assert_eq!(
        energy.post_json(&path, &too_much, Some(&t)).await.status,
        StatusCode::BAD_REQUEST
    );
    too_much["amount"] = json!("9000");
    let r = energy.post_json(&path, &too_much, Some(&t)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        (r.json()["kind"].as_str(), r.json()["source"].as_str()),
        (Some("reversal"), Some("central"))
    );
    let detail = hq.get(&format!("/api/v1/projects/{solar}")).await.json();
    assert_eq!(detail["disbursed_total"], "1000.01");
    // The stage moves one step; a skip is refused.
    let stage = format!("/api/v1/projects/{solar}/stage");
    assert_eq!(
        energy
            .post_json(&stage, &json!({"stage": "验收"}), Some(&t))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let r = energy
        .post_json(&stage, &json!({"stage": "完工"}), Some(&t))
        .await;
    assert_eq!(r.json()["stage"], "completed", "{}", r.text());
}
