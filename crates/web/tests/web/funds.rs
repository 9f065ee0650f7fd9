//! The projects and funds API (issue 7) through the real router: scopes by unit and area,
//! recording by the unit, the budget and its override by headquarters, reversals, CSRF,
//! the figures and the six-in-place funds.

use crate::support::*;
use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use fupin_domain::funds::{Budget, FundSource, Project, ProjectType, Stage};
use fupin_domain::Fen;
use fupin_store::Role;
use serde_json::json;
use std::io::Cursor;

both!(
    units_and_areas_read_and_record_only_their_projects,
    the_budget_holds_unless_headquarters_overrides_and_reversals_correct,
    pages_and_ledgers_show_each_unit_and_area_only_its_projects,
    headquarters_creates_and_edits_projects_audited_and_the_stage_records_its_date,
    the_project_page_records_disbursements_overrides_and_reversals,
    uploads_are_all_or_nothing_with_every_problem_listed,
    a_refused_upload_lists_its_first_problems_and_counts_all,
    the_schedule_rule_is_a_county_setting_used_by_the_figures_and_six_in_place,
    the_household_page_shows_project_benefits_and_the_income_flag,
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
            budget: Budget::default().with(FundSource::Central, Fen::new(central)),
            stage: Stage::Implementing,
            planned_start: None,
            planned_end: None,
            actual_start: None,
            actual_end: None,
        },
    )
}

/// Two projects: the energy bureau's in one township, the water bureau's in the other.
pub(crate) async fn library(app: &App) -> (fupin_store::ProjectId, fupin_store::ProjectId) {
    let solar = project(2, "一乡光伏电站", ENERGY, ONE_TOWNSHIP, 1_000_000);
    let water = project(3, "二镇饮水巩固", "县水利局", OTHER_TOWNSHIP, 200_000);
    app.store
        .funds()
        .import_projects("projects.csv", &[solar, water], None)
        .await
        .unwrap()
        .unwrap();
    let all = app
        .store
        .funds()
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
    let mut energy = app.unit_staff("nyj", ENERGY).await;
    let mut town = app.township_staff("t2", OTHER_TOWNSHIP).await;
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
    let mut energy = app.unit_staff("nyj", ENERGY).await;
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
    let mut too_much = json!({"reverses": of, "date": "2018-04-02", "amount": "9000.01", "note": "金额录错",
               "voucher": "记-0402"});
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

// ---------------------------------------------------------------------------------------
// The pages (项目库, a project, the forms, uploads, figures) and the ledgers.

/// The cells of a sheet as text: numbers as Rust prints an f64 (10000.0 → "10000").
fn cells(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    wb.worksheet_range(sheet)
        .unwrap()
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => i.to_string(),
                    Data::Empty => String::new(),
                    other => panic!("an unexpected cell: {other:?}"),
                })
                .collect()
        })
        .collect()
}

/// The id in a redirect to `/projects/{id}…`.
fn project_id(r: &Resp) -> i64 {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let rest = r.location();
    let rest = rest.strip_prefix("/projects/").unwrap();
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn disburse(
    c: &mut Client,
    id: impl std::fmt::Display,
    amount: &str,
    extra: &[(&str, &str)],
) -> Resp {
    let t = c.token();
    let mut fields = vec![
        ("csrf", t.as_str()),
        ("kind", "disbursement"),
        ("date", "2018-04-01"),
        ("source", "central"),
        ("amount", amount),
        ("voucher", "记-0401"),
        ("payee", "示例光伏建设公司"),
    ];
    fields.extend_from_slice(extra);
    c.post_form(&format!("/projects/{id}/entries"), &fields)
        .await
}

async fn pages_and_ledgers_show_each_unit_and_area_only_its_projects(app: App) {
    let (solar, water) = library(&app).await;
    let mut energy = app.unit_staff("nyj", ENERGY).await;
    let mut town = app.township_staff("t2", OTHER_TOWNSHIP).await;
    let mut village = app.village_staff("v1", ONE_TOWNSHIP, OWN_VILLAGE).await;
    let mut inspector = app.logged_in("dc", Role::Inspector).await;

    let list = energy.get("/projects").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text().contains("一乡光伏电站") && !list.text().contains("二镇饮水巩固"));
    let list = town.get("/projects").await.text();
    assert!(list.contains("二镇饮水巩固") && !list.contains("一乡光伏电站"));
    // A township-wide project is not a village's.
    assert!(village
        .get("/projects")
        .await
        .text()
        .contains("no-projects"));
    // Outside the scope: not found, the page and the download alike.
    for path in [
        format!("/projects/{water}"),
        format!("/projects/{water}/entries.xlsx"),
    ] {
        assert_eq!(
            energy.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        town.get(&format!("/projects/{solar}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Filters.
    let only_water = inspector
        .get(&format!(
            "/projects?township={}",
            fupin_web::view::enc(OTHER_TOWNSHIP)
        ))
        .await
        .text();
    assert!(only_water.contains("二镇饮水巩固") && !only_water.contains("一乡光伏电站"));
    assert!(inspector
        .get("/projects?year=2017")
        .await
        .text()
        .contains("no-projects"));
    assert!(inspector
        .get("/projects?kind=photovoltaic&stage=implementing")
        .await
        .text()
        .contains("一乡光伏电站"));
    assert_eq!(
        inspector.get("/projects?stage=bogus").await.status,
        StatusCode::BAD_REQUEST
    );
    // Key paging: a page of one, then the next by its key, then no more.
    let first = app
        .store
        .funds()
        .project_page(
            &fupin_store::ItemScope::All,
            &fupin_store::ProjectFilter::default(),
            None,
            1,
        )
        .await
        .unwrap();
    let second = app
        .store
        .funds()
        .project_page(
            &fupin_store::ItemScope::All,
            &fupin_store::ProjectFilter::default(),
            first.next,
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        (first.items.len(), second.items.len(), second.next),
        (1, 1, None)
    );
    assert_ne!(first.items[0].id, second.items[0].id);

    assert_eq!(
        disburse(&mut energy, solar, "2500", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    // 项目库台账: the list's projects, with the budget and the net disbursed as numbers.
    let r = inspector.get("/projects/ledger.xlsx").await;
    assert_eq!(r.status, StatusCode::OK);
    let rows = cells(&r.body, "项目库台账");
    assert!(rows[0][0].contains("项目库台账"), "{:?}", rows[0]);
    assert_eq!(rows[1][3], "项目名称");
    let names: Vec<&str> = rows[2..].iter().map(|r| r[3].as_str()).collect();
    assert_eq!(names.len(), 2);
    let solar_row = rows.iter().find(|r| r[3] == "一乡光伏电站").unwrap();
    assert_eq!(
        (
            solar_row[14].as_str(),
            solar_row[21].as_str(),
            solar_row[22].as_str(),
            solar_row[24].as_str()
        ),
        ("10000", "10000", "2500", "25.00%")
    );
    // The same rows as the screen, in the same scope: the unit sees its own only.
    let rows = cells(
        &energy.get("/projects/ledger.xlsx").await.body,
        "项目库台账",
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2][3], "一乡光伏电站");
    let rows = cells(&town.get("/projects/ledger.xlsx").await.body, "项目库台账");
    assert_eq!(
        rows.iter()
            .skip(2)
            .map(|r| r[3].clone())
            .collect::<Vec<_>>(),
        ["二镇饮水巩固"]
    );
    // 资金拨付台账: the entries of the projects in scope and filter.
    let rows = cells(
        &energy.get("/projects/entries.xlsx").await.body,
        "资金拨付台账",
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        (
            rows[2][3].as_str(),
            rows[2][8].as_str(),
            rows[2][10].as_str(),
            rows[2][11].as_str(),
            rows[2][12].as_str()
        ),
        ("一乡光伏电站", "拨付", "中央", "2500", "记-0401")
    );
    assert_eq!(
        cells(
            &town.get("/projects/entries.xlsx").await.body,
            "资金拨付台账"
        )
        .len(),
        2
    );
    let filtered = inspector
        .get(&format!(
            "/projects/entries.xlsx?township={}",
            fupin_web::view::enc(OTHER_TOWNSHIP)
        ))
        .await;
    assert_eq!(cells(&filtered.body, "资金拨付台账").len(), 2);
    let one = energy.get(&format!("/projects/{solar}/entries.xlsx")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(cells(&one.body, "资金拨付台账").len(), 3);
}

fn form<'a>(csrf: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf", csrf),
        ("name", "一乡甲村光伏扶贫电站"),
        ("year", "2018"),
        ("kind", "photovoltaic"),
        ("township", ONE_TOWNSHIP),
        ("village", OWN_VILLAGE),
        ("task_no", "7"),
        ("unit", ENERGY),
        ("stage", "approved"),
        ("budget_central", "1,000"),
        ("budget_county", "500.50"),
        ("planned_start", "2018-03-01"),
        ("planned_end", "2018-09-30"),
    ];
    for (k, v) in extra {
        match f.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v,
            None => f.push((k, v)),
        }
    }
    f
}

async fn headquarters_creates_and_edits_projects_audited_and_the_stage_records_its_date(app: App) {
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let mut energy = app.unit_staff("nyj", ENERGY).await;
    let t = hq.token();
    assert_eq!(hq.get("/projects/new").await.status, StatusCode::OK);
    assert_eq!(
        energy.get("/projects/new").await.status,
        StatusCode::FORBIDDEN
    );
    let te = energy.token();
    assert_eq!(
        energy.post_form("/projects", &form(&te, &[])).await.status,
        StatusCode::FORBIDDEN
    );
    // Refused with every problem, in Chinese, on the form (the values kept).
    let r = hq
        .post_form(
            "/projects",
            &form(
                &t,
                &[
                    ("budget_central", ""),
                    ("budget_county", "-1"),
                    ("planned_end", "2018-01-01"),
                ],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let page = r.text();
    assert!(page.contains("id=\"form-error\""), "{page}");
    assert!(
        page.contains("县级资金") && page.contains("不能为负数"),
        "{page}"
    );
    let r = hq
        .post_form(
            "/projects",
            &form(&t, &[("budget_central", ""), ("budget_county", "")]),
        )
        .await;
    assert!(r.text().contains("没有任何预算"), "{}", r.text());
    assert!(r.text().contains("value=\"一乡甲村光伏扶贫电站\""));
    let r = hq
        .post_form("/projects", &form(&t, &[("planned_end", "2018-01-01")]))
        .await;
    assert!(r.text().contains("早于计划开工日期"), "{}", r.text());

    let id = project_id(&hq.post_form("/projects", &form(&t, &[])).await);
    let page = hq.get(&format!("/projects/{id}")).await.text();
    assert!(page.contains("1,500.50") && page.contains("批复"), "{page}");
    // The same year and name twice: refused.
    let r = hq.post_form("/projects", &form(&t, &[])).await;
    assert!(r.text().contains("已有项目"), "{}", r.text());
    // The unit sees it (its unit) and records; the edit form is headquarters'.
    assert_eq!(
        energy.get(&format!("/projects/{id}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        disburse(&mut energy, id, "800", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    // Edit: the budget may not fall below what is disbursed from its source.
    let edit = format!("/projects/{id}/edit");
    assert!(hq
        .get(&edit)
        .await
        .text()
        .contains("name=\"revision\" value=\"1\""));
    let r = hq
        .post_form(
            &edit,
            &form(&t, &[("revision", "1"), ("budget_central", "799.99")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("预算不能低于已拨付金额"), "{}", r.text());
    let r = hq
        .post_form(
            &edit,
            &form(
                &t,
                &[
                    ("revision", "1"),
                    ("budget_central", "2000"),
                    ("unit", "县扶贫办"),
                ],
            ),
        )
        .await;
    assert_eq!(project_id(&r), id);
    // From a stale revision: refused.
    let r = hq
        .post_form(
            &edit,
            &form(&t, &[("revision", "1"), ("budget_central", "3000")]),
        )
        .await;
    assert!(r.text().contains("已被他人修改"), "{}", r.text());
    let audit = app
        .store
        .audit_log()
        .audit_entries(None, 50)
        .await
        .unwrap()
        .items;
    let update = audit.iter().find(|e| e.action == "update_project").unwrap();
    assert_eq!(update.username.as_deref(), Some("hq"));
    assert_eq!(
        update.before.as_ref().unwrap()["project"]["budget"]["central"],
        "1000.00"
    );
    assert_eq!(
        update.after.as_ref().unwrap()["project"]["budget"]["central"],
        "2000.00"
    );
    assert_eq!(update.after.as_ref().unwrap()["revision"], 2);
    assert!(audit
        .iter()
        .any(|e| e.action == "create_project" && e.entity_id == id.to_string()));
    // The unit changed: the energy bureau no longer sees it.
    assert_eq!(
        energy.get(&format!("/projects/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // The stage: one step forward, 实施 with its actual start date.
    let stage = format!("/projects/{id}/stage");
    let r = set_stage(&mut hq, &stage, &t, "completed", "2018-05-01").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("逐级推进"), "{}", r.text());
    let r = set_stage(&mut hq, &stage, &t, "implementing", "").await;
    assert!(r.text().contains("须填写实际开工日期"), "{}", r.text());
    let r = set_stage(&mut hq, &stage, &t, "implementing", "2018-04-02").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = set_stage(&mut hq, &stage, &t, "completed", "2018-04-01").await;
    assert!(r.text().contains("早于实际开工日期"), "{}", r.text());
    let r = set_stage(&mut hq, &stage, &t, "completed", "2018-10-15").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = hq.get(&format!("/projects/{id}")).await.text();
    assert!(page.contains(r#"id="actual-start">2018-04-02<"#), "{page}");
    assert!(page.contains(r#"id="actual-end">2018-10-15<"#), "{page}");
    assert!(page.contains(r#"id="project-stage">完工<"#));
    let audit = app
        .store
        .audit_log()
        .audit_entries(None, 50)
        .await
        .unwrap()
        .items;
    let step = audit
        .iter()
        .find(|e| e.action == "set_project_stage")
        .unwrap();
    assert_eq!(step.after.as_ref().unwrap()["actual_end"], "2018-10-15");
}

/// Record a household's benefit from a project by the project page's form, as `c`.
async fn add_benefit(
    c: &mut Client,
    project: impl std::fmt::Display,
    no: &str,
    kind: &str,
    yearly: &str,
) -> Resp {
    let token = c.token();
    c.post_form(
        &format!("/projects/{project}/beneficiaries"),
        &[
            ("csrf", &token),
            ("household_no", no),
            ("kind", kind),
            ("yearly", yearly),
        ],
    )
    .await
}

/// Move a project's stage on with its date, by the form.
async fn set_stage(c: &mut Client, stage_url: &str, csrf: &str, stage: &str, date: &str) -> Resp {
    c.post_form(
        stage_url,
        &[("csrf", csrf), ("stage", stage), ("date", date)],
    )
    .await
}

async fn the_project_page_records_disbursements_overrides_and_reversals(app: App) {
    let (solar, _) = library(&app).await;
    let mut energy = app.unit_staff("nyj", ENERGY).await;
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let mut town = app.township_staff("t1", ONE_TOWNSHIP).await;
    let page = energy.get(&format!("/projects/{solar}")).await.text();
    assert!(page.contains("id=\"entry-form\""));
    // Only headquarters is offered the override.
    assert!(!page.contains("override_reason"));
    assert!(hq
        .get(&format!("/projects/{solar}"))
        .await
        .text()
        .contains("override_reason"));
    // Township staff read the page and record nothing.
    let page = town.get(&format!("/projects/{solar}")).await.text();
    assert!(!page.contains("id=\"entry-form\""));
    assert_eq!(
        disburse(&mut town, solar, "10", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    // Without the CSRF token nothing is recorded.
    let r = energy
        .post_form(
            &format!("/projects/{solar}/entries"),
            &[("kind", "disbursement"), ("amount", "10")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = disburse(&mut energy, solar, "9000", &[]).await;
    assert_eq!(project_id(&r), solar);
    // Over the budget: refused on the form, in Chinese, the values kept.
    let r = disburse(&mut energy, solar, "1000.01", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let page = r.text();
    assert!(
        page.contains("id=\"entry-error\"") && page.contains("将超出预算 0.01 元"),
        "{page}"
    );
    assert!(page.contains("value=\"1000.01\""));
    // A bad amount is the form's too.
    let r = disburse(&mut energy, solar, "12.345", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("id=\"entry-error\""));
    // The unit may not override; headquarters does, with a reason, audited.
    let r = disburse(
        &mut energy,
        solar,
        "1000.01",
        &[("override_reason", "追加")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = disburse(
        &mut hq,
        solar,
        "1000.01",
        &[("override_reason", "省级追加资金已下达")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let audit = app
        .store
        .audit_log()
        .audit_entries(None, 50)
        .await
        .unwrap()
        .items;
    let over = audit
        .iter()
        .find(|e| e.action == "override_budget")
        .unwrap();
    assert_eq!(over.after.as_ref().unwrap()["reason"], "省级追加资金已下达");
    let entries = app
        .store
        .funds()
        .fund_entries(&fupin_store::ItemScope::All, solar)
        .await
        .unwrap();
    let first = entries[0].id;
    // Reversals: never more than is left, with a reason; empty amount = all that is left.
    let path = format!("/projects/{solar}/entries");
    let t = energy.token();
    let of = first.to_string();
    let reverse = |amount: &'static str, note: &'static str| {
        vec![
            ("kind", "reversal"),
            ("reverses", of.as_str()),
            ("date", "2018-04-02"),
            ("amount", amount),
            ("voucher", "记-0402"),
            ("note", note),
        ]
    };
    let mut f = reverse("9000.01", "金额录错");
    f.push(("csrf", &t));
    let r = energy.post_form(&path, &f).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text().contains("id=\"reversal-error\"") && r.text().contains("超过记录"),
        "{}",
        r.text()
    );
    let mut f = reverse("100", "");
    f.push(("csrf", &t));
    assert!(energy
        .post_form(&path, &f)
        .await
        .text()
        .contains("冲销须在备注中写明原因"));
    let mut f = reverse("1000", "金额录错");
    f.push(("csrf", &t));
    assert_eq!(
        energy.post_form(&path, &f).await.status,
        StatusCode::SEE_OTHER
    );
    let mut f = reverse("", "金额录错，全部冲回");
    f.push(("csrf", &t));
    assert_eq!(
        energy.post_form(&path, &f).await.status,
        StatusCode::SEE_OTHER
    );
    let page = energy.get(&format!("/projects/{solar}")).await.text();
    assert!(page.contains(r#"class="disbursed">1,000.01<"#), "{page}");
    assert!(
        page.contains("-8,000.00") && page.contains("冲销记录"),
        "{page}"
    );
    // The whole first disbursement is reversed: it is no longer offered.
    assert!(!page.contains(&format!("<option value=\"{first}\"")));
    let entries = app
        .store
        .funds()
        .fund_entries(&fupin_store::ItemScope::All, solar)
        .await
        .unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(
        entries[3].kind,
        fupin_domain::funds::EntryKind::Reversal { of: first }
    );
    assert_eq!(entries[3].amount, Fen::new(800_000));
    // The ledger shows reversals negative, and sums to the net.
    let rows = cells(&hq.get("/projects/entries.xlsx").await.body, "资金拨付台账");
    let sum: f64 = rows[2..]
        .iter()
        .map(|r| r[11].parse::<f64>().unwrap())
        .sum();
    assert!((sum - 1000.01).abs() < 1e-6, "{sum}");
}

/// Upload a funds file by the form as `c`: (what it holds, file name, contents).
async fn upload(c: &mut Client, (what, name, body): &(&str, &str, String)) -> Resp {
    let token = c.token();
    let fields = [("what", *what), ("csrf", token.as_str())];
    let files = [("file", *name, body.clone().into_bytes())];
    c.post_multipart("/projects/upload", &fields, &files, None)
        .await
}

/// A refused upload with more than 1,000 problems lists the first 1,000 and says how many
/// there are (「共 N 条，显示前 1000 条」): the page stays small whatever the file (issue 20,
/// item 1). Before, every problem was a row of the page.
async fn a_refused_upload_lists_its_first_problems_and_counts_all(app: App) {
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let mut body = "项目名称,年度,项目类型,乡镇,行政村,实施单位,中央资金,项目阶段\n".to_string();
    for i in 0..1_200 {
        body.push_str(&format!(
            "项目{i},2018,光伏,{ONE_TOWNSHIP},,{ENERGY},abc,实施\n"
        ));
    }
    let r = upload(&mut hq, &("projects", "projects.csv", body)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let page = r.text();
    let rows =
        page.matches("<tr class=\"err\">").count() + page.matches("<tr class=\"warn\">").count();
    assert_eq!(rows, 1_000);
    assert!(page.contains("共 1,200 条，显示前 1,000 条"), "{page}");
    assert!(page.contains("有 1200 个问题"), "the summary counts all");
}

async fn uploads_are_all_or_nothing_with_every_problem_listed(app: App) {
    // Beneficiaries are households of the register (issue 20).
    import_golden(&app.store).await;
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let mut energy = app.unit_staff("nyj", ENERGY).await;
    let mut town = app.township_staff("t1", ONE_TOWNSHIP).await;
    let header = "项目名称,年度,项目类型,乡镇,行政村,实施单位,中央资金,项目阶段\n";
    let bad = format!(
        "{header}一乡光伏电站,2018,光伏,{ONE_TOWNSHIP},,{ENERGY},10000,实施\n二镇饮水,2018,水塔,{OTHER_TOWNSHIP},,县水利局,abc,批复\n"
    );
    let file = ("projects", "projects.csv", bad);
    let r = upload(&mut hq, &file).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let page = r.text();
    assert!(page.contains("id=\"upload-rejected\""), "{page}");
    for code in ["F503", "F504"] {
        assert!(page.contains(code), "{code}: {page}");
    }
    assert!(
        page.contains("<td class=\"num\">3</td><td>项目类型</td>"),
        "{page}"
    );
    assert!(app
        .store
        .funds()
        .projects(&fupin_store::ItemScope::All)
        .await
        .unwrap()
        .is_empty());
    // Only headquarters imports the library.
    let good = format!("{header}一乡光伏电站,2018,光伏,{ONE_TOWNSHIP},,{ENERGY},10000,实施\n二镇饮水巩固,2018,饮水安全,{OTHER_TOWNSHIP},,县水利局,2000,批复\n");
    let file = ("projects", "projects.csv", good);
    assert_eq!(
        upload(&mut energy, &file).await.status,
        StatusCode::FORBIDDEN
    );
    let r = upload(&mut hq, &file).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("新增项目 2 个"), "{}", r.text());

    // Disbursements: a row of another unit's project spoils the whole file.
    let dh = "年度,项目名称,拨付日期,资金来源,金额,凭证号,收款单位\n";
    let mixed = format!("{dh}2018,一乡光伏电站,2018-04-01,中央,2500,记-1,示例公司\n2018,二镇饮水巩固,2018-04-01,中央,100,记-2,示例公司\n");
    let file = ("disbursements", "funds.csv", mixed);
    let r = upload(&mut energy, &file).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(
        r.text().contains("F510") && r.text().contains("二镇饮水巩固"),
        "{}",
        r.text()
    );
    let solar = app
        .store
        .funds()
        .projects(&fupin_store::ItemScope::All)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.project.name == "一乡光伏电站")
        .unwrap();
    assert_eq!(solar.disbursed.total(), Fen::new(0));
    // Over budget in a file: refused (F511), never overridden.
    let over = format!("{dh}2018,一乡光伏电站,2018-04-01,中央,6000,记-1,示例公司\n2018,一乡光伏电站,2018-05-01,中央,6000,记-2,示例公司\n");
    let file = ("disbursements", "funds.csv", over);
    let r = upload(&mut energy, &file).await;
    assert!(r.text().contains("F511"), "{}", r.text());
    let ok = format!("{dh}2018,一乡光伏电站,2018-04-01,中央,2500,记-1,示例公司\n");
    let file = ("disbursements", "funds.csv", ok);
    let r = upload(&mut energy, &file).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("登记拨付记录 1 条"));
    // Beneficiaries: the unit's project; a township's staff may not upload.
    let bh = "年度,项目名称,户编号,带贫方式,年收益\n";
    let rows = format!("{bh}2018,一乡光伏电站,1409300102007,分红,3000\n");
    let file = ("beneficiaries", "benefits.csv", rows);
    assert_eq!(upload(&mut town, &file).await.status, StatusCode::FORBIDDEN);
    let r = upload(&mut energy, &file).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = energy.get(&format!("/projects/{}", solar.id)).await.text();
    assert!(
        page.contains("1409300102007") && page.contains("3,000.00"),
        "{page}"
    );
    // A household of another township: not the unit's to link, in a file, by the API or
    // by the form (issue 20); headquarters may.
    let other = "1409300201003";
    let rows = format!("{bh}2018,一乡光伏电站,{other},务工,500\n");
    let r = upload(&mut energy, &("beneficiaries", "benefits.csv", rows)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(
        r.text().contains("F510") && r.text().contains(OTHER_TOWNSHIP),
        "{}",
        r.text()
    );
    let body = json!({"household_no": other, "kind": "wage", "yearly": "500"});
    let api = format!("/api/v1/projects/{}/beneficiaries", solar.id);
    let r = energy.post_api(&api, &body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains(OTHER_TOWNSHIP));
    let r = add_benefit(&mut energy, solar.id, other, "wage", "500").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("id=\"benefit-error\""), "{}", r.text());
    assert!(!energy
        .get(&format!("/projects/{}", solar.id))
        .await
        .text()
        .contains(other));
    hq.fetch_csrf().await;
    let r = hq.post_api(&api, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A file that is not a table of the kind: every problem, nothing stored.
    let file = ("beneficiaries", "benefits.csv", "甲,乙\n1,2\n".into());
    let r = upload(&mut energy, &file).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("F501"), "{}", r.text());
}

async fn the_schedule_rule_is_a_county_setting_used_by_the_figures_and_six_in_place(app: App) {
    let (solar, water) = library(&app).await;
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let mut energy = app.unit_staff("nyj", ENERGY).await;
    assert_eq!(
        disburse(&mut energy, solar, "5000", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let page = hq.get("/funds").await.text();
    assert!(
        page.contains("id=\"no-rule\"") && page.contains("rule-form"),
        "{page}"
    );
    assert!(!hq.get("/tasks/six").await.text().contains("fund-behind"));
    let t = hq.token();
    // Refused in Chinese on the form.
    let r = hq
        .post_form(
            "/funds/rule",
            &[("csrf", &t), ("by", "2018-04-30"), ("min_percent", "120")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("id=\"rule-error\""), "{}", r.text());
    // Only headquarters sets it.
    let te = energy.token();
    assert_eq!(
        energy
            .post_form(
                "/funds/rule",
                &[("csrf", &te), ("by", "2018-04-30"), ("min_percent", "60")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = hq
        .post_form(
            "/funds/rule",
            &[("csrf", &t), ("by", "2018-04-30"), ("min_percent", "60")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        app.store.funds().schedule_rule().await.unwrap(),
        Some(fupin_domain::funds::ScheduleRule {
            by: chrono::NaiveDate::from_ymd_opt(2018, 4, 30).unwrap(),
            min_bp: 6000
        })
    );
    let audit = app
        .store
        .audit_log()
        .audit_entries(None, 50)
        .await
        .unwrap()
        .items;
    let set = audit
        .iter()
        .find(|e| e.action == "set_schedule_rule")
        .unwrap();
    assert_eq!(set.after.as_ref().unwrap()["min_bp"], 6000);
    // 50% and 0% are both below 60%: both behind, lowest share first.
    let page = hq.get("/funds").await.text();
    assert!(page.contains(r#"id="behind-count">2<"#), "{page}");
    let w = page.find(&format!("/projects/{water}\"")).unwrap();
    let s = page.rfind(&format!("/projects/{solar}\"")).unwrap();
    assert!(w < s);
    // The unit sees its own project only, against the same county rule.
    let page = energy.get("/funds").await.text();
    assert!(page.contains(r#"id="behind-count">1<"#), "{page}");
    assert!(!page.contains("rule-form"));
    let six = energy.get("/tasks/six").await.text();
    assert!(six.contains(r#"class="fund-behind">1<"#), "{six}");
    // The API's panels use the county's rule too, unless a request names its own.
    assert_eq!(
        energy.get("/api/v1/funds/six-in-place").await.json()["behind"],
        1
    );
    assert_eq!(
        energy.get("/api/v1/six-in-place").await.json()["funds"]["behind"],
        1
    );
    assert_eq!(
        energy
            .get("/api/v1/funds/six-in-place?by=2018-04-30&min_percent=40")
            .await
            .json()["behind"],
        0
    );
    assert!(hq
        .get("/tasks/six")
        .await
        .text()
        .contains(r#"class="fund-behind">2<"#));
    // Every grouping renders, with its rates.
    for by in ["project", "source", "task", "unit", "township", "month"] {
        let r = hq.get(&format!("/funds?by={by}")).await;
        assert_eq!(r.status, StatusCode::OK, "{by}");
    }
    let by_source = hq.get("/funds?by=source").await.text();
    assert!(
        by_source.contains("中央") && by_source.contains("41.67%"),
        "{by_source}"
    );
    let by_month = hq.get("/funds?by=month").await.text();
    assert!(
        by_month.contains("2018年4月") && by_month.contains("当月拨付"),
        "{by_month}"
    );
    assert_eq!(
        hq.get("/funds?by=bogus").await.status,
        StatusCode::BAD_REQUEST
    );
    // Cleared: none behind, none configured.
    let r = hq
        .post_form("/funds/rule", &[("csrf", &t), ("clear", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.funds().schedule_rule().await.unwrap(), None);
}

async fn the_household_page_shows_project_benefits_and_the_income_flag(app: App) {
    import_golden(&app.store).await;
    let (solar, water) = library(&app).await;
    let hq_user = app.user("hq", Role::HqAdmin).await;
    let mut hq = app.client();
    hq.login("hq", PASSWORD).await;
    // A wage far above anything declared, recorded on the project page: flagged.
    let no = "1409300102007";
    hq.fetch_csrf().await;
    let r = add_benefit(&mut hq, solar, no, "wage", "-5").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("id=\"benefit-error\""), "{}", r.text());
    let r = add_benefit(&mut hq, solar, no, "wage", "999999").await;
    assert_eq!(project_id(&r), solar);
    assert!(app
        .store
        .audit_log()
        .audit_entries(None, 20)
        .await
        .unwrap()
        .items
        .iter()
        .any(|e| e.action == "set_beneficiary" && e.entity_id == solar.to_string()));
    app.store
        .funds()
        .set_beneficiary(
            &hq_user,
            water,
            no,
            fupin_domain::funds::BenefitKind::Service,
            Fen::new(0),
        )
        .await
        .unwrap()
        .unwrap();
    let page = hq.get(&fupin_web::view::household_url(no)).await.text();
    assert!(
        page.contains("项目带贫收益") && page.contains("2018年 一乡光伏电站"),
        "{page}"
    );
    assert!(page.contains("999,999.00"), "{page}");
    assert!(
        page.contains("benefit-flag") && page.contains("工资性收入"),
        "{page}"
    );
    // A township's staff see the household but only their township's projects.
    let mut town = app.township_staff("t1", ONE_TOWNSHIP).await;
    let r = town.get(&fupin_web::view::household_url(no)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text().contains("一乡光伏电站") && !r.text().contains("二镇饮水巩固"),
        "{}",
        r.text()
    );
    // They read the project's beneficiaries and record none.
    let r = add_benefit(&mut town, solar, no, "dividend", "1").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!town
        .get(&format!("/projects/{solar}"))
        .await
        .text()
        .contains("benefit-form"));
}
