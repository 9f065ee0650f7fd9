//! 考核评估 through the real router (issue 6): an inspection recorded, its sample drawn
//! and downloaded, results uploaded and entered, the four indicators, the forecast;
//! findings flowing into work items and closed by an inspector; the 整改台账 read back
//! with calamine equal to the screen; who may record; what each area sees; the API.

use crate::support::*;
use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use fupin_store::Role;
use std::io::Cursor;

both!(
    an_inspector_records_draws_downloads_uploads_and_reads_the_indicators,
    findings_flow_into_work_items_and_the_ledger_read_back_matches_the_screen,
    only_headquarters_and_inspectors_record_and_each_area_sees_its_own,
    the_api_follows_the_same_rules,
    every_role_sees_the_same_areas_on_the_page_and_through_the_api,
);

async fn new_inspection(c: &mut Client) -> i64 {
    let token = c.token();
    let r = c
        .post_form(
            "/inspections",
            &[
                ("csrf", &token),
                ("name", "2018年贫困县退出省际交叉考核"),
                ("level", "cross_province"),
                ("starts_on", "2018-10-15"),
                ("ends_on", "2018-10-25"),
                ("team", "省际交叉考核第三组"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.location().rsplit('/').next().unwrap().parse().unwrap()
}

/// A finding entered by hand for the water bureau in the other township's village.
async fn water_finding(c: &mut Client, id: i64) {
    let token = c.token();
    let r = c
        .post_form(
            &format!("/inspections/{id}/findings"),
            &[
                ("csrf", &token),
                ("description", "村集中供水点水质未检测"),
                ("category", "其他"),
                ("severity", "general"),
                ("township", OTHER_TOWNSHIP),
                ("village", OTHER_VILLAGE),
                ("unit", "县水利局"),
                ("measure", "委托检测并公示"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

const RURAL_CSV: &str = "乡镇,行政村,农村总户数\n示例一乡,示例一乡甲村,30\n示例一乡,示例一乡乙村,40\n示例二镇,示例二镇丙村,20\n";

/// Every township, every poor village, 3 registered + 2 non-registered a village.
async fn draw(c: &mut Client, id: i64, seed: &str) -> Resp {
    c.post_page_form(
        &format!("/inspections/{id}/sample"),
        &[
            ("seed", seed),
            ("townships", "0"),
            ("poor_villages", "2"),
            ("other_villages", "0"),
            ("allocation", "fixed"),
            ("registered", "3"),
            ("non_registered", "2"),
            ("min_share", "0"),
            ("take_all", "1"),
        ],
        &[("rural", "rural.csv", RURAL_CSV.as_bytes().to_vec())],
    )
    .await
}

fn sheet(bytes: Vec<u8>, name: &str) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    wb.worksheet_range(name)
        .unwrap()
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::Empty => String::new(),
                    other => panic!("unexpected cell {other:?}"),
                })
                .collect()
        })
        .collect()
}

/// The text of each cell of the table `id`, row by row (tags stripped).
fn table(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("table {id}"));
    let body = &html[start..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let cell = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
                    without_tags(cell)
                        .replace("&amp;", "&")
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&#39;", "'")
                })
                .collect()
        })
        .collect()
}

/// The inspector records an inspection and draws (recorded with its seed: the page shows
/// it), downloads the list, the field teams' list comes back filled (CSV) and is taken
/// all or nothing; one household is corrected by the form; the four indicators appear
/// with intervals, pass/fail and probabilities. The forecast runs on the register.
async fn an_inspector_records_draws_downloads_uploads_and_reads_the_indicators(app: App) {
    demo_plan_and_golden(&app.store).await;
    let mut c = app.logged_in("inspector", Role::Inspector).await;
    let id = new_inspection(&mut c).await;
    // No seed: refused with what to do.
    let r = c
        .post_page_form(&format!("/inspections/{id}/sample"), &[], &[])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("随机种子"));
    let r = draw(&mut c, id, "20181015").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = c.get(&format!("/inspections/{id}")).await.text();
    assert!(page.contains("<dd id=\"seed\">20181015</dd>"), "{page}");
    assert_eq!(table(&page, "sample").len(), 15);
    // A second draw is refused: the recorded sample stays.
    assert_eq!(draw(&mut c, id, "1").await.status, StatusCode::CONFLICT);

    // The list for the field teams: the screen's rows, 户编号 as text.
    let xlsx = c.get(&format!("/inspections/{id}/sample.xlsx")).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    let rows = sheet(xlsx.body, "样本清单");
    assert_eq!(rows[0][0], "样本编号");
    assert_eq!(rows[0][10], "收入稳定超过标准");
    assert_eq!(rows.len(), 16);
    let screen = table(&page, "sample");
    for (x, s) in rows[1..].iter().zip(&screen) {
        assert_eq!(&x[..7], &s[..7]);
    }
    // Filled in: registered households all verified but the first exited one; the
    // non-registered not missed, 4 people; approval yes.
    let mut csv = String::from("样本编号,户编号,家庭人口,收入稳定超过标准,不愁吃,不愁穿,义务教育有保障,基本医疗有保障,住房安全有保障,饮水安全有保障,是否漏评,是否认可\n");
    let mut wrong_marked = false;
    for r in &rows[1..] {
        let registered = !r[4].starts_with("非建档立卡户");
        if registered {
            let wrong = r[8] == "已脱贫" && !wrong_marked;
            wrong_marked |= wrong;
            let yn = if wrong { "否" } else { "是" };
            csv.push_str(&format!("{},{},,是,是,是,是,是,{yn},,,是\n", r[0], r[6]));
        } else {
            csv.push_str(&format!("{},{},4,,,,,,,,否,是\n", r[0], r[6]));
        }
    }
    // A bad value first: refused whole, with line and column.
    let bad = csv.replacen(",否,是\n", ",也许,是\n", 1);
    let r = c
        .post_page_form(
            &format!("/inspections/{id}/results"),
            &[],
            &[("results", "results.csv", bad.into_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("是否漏评"), "{}", r.text());
    assert!(r.text().contains("results.csv"));
    let est = c.get(&format!("/inspections/{id}/estimates")).await.text();
    assert!(est.contains("id=\"pending\""), "nothing recorded yet");
    let r = c
        .post_page_form(
            &format!("/inspections/{id}/results"),
            &[],
            &[("results", "results.csv", csv.into_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let est = c.get(&format!("/inspections/{id}/estimates")).await.text();
    let lines = table(&est, "indicators");
    let names: Vec<&str> = lines.iter().map(|l| l[0].as_str()).collect();
    assert_eq!(names, ["错退率", "漏评率", "群众认可度", "综合贫困发生率"]);
    // 群众认可度: 15 of 15 approve; 漏评率 0; each with a 95% interval and a verdict.
    assert_eq!(lines[2][3], "15 / 15（100.00%）");
    assert_eq!(lines[1][1], "0.00%");
    assert!(lines
        .iter()
        .all(|l| l[2].contains('–') && (l[5] == "达标" || l[5] == "未达标")));
    if wrong_marked {
        assert_eq!(lines[0][5], "未达标", "{:?}", lines[0]);
    }
    // One household corrected by the form: a non-registered household found missed.
    let no = rows[1..]
        .iter()
        .find(|r| r[4].starts_with("非建档立卡户"))
        .unwrap()[0]
        .clone();
    let form = c.get(&format!("/inspections/{id}/results/{no}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("name=\"missed\""));
    let token = c.token();
    let r = c
        .post_form(
            &format!("/inspections/{id}/results/{no}"),
            &[
                ("csrf", &token),
                ("people", "5"),
                ("missed", "是"),
                ("approval", "否"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let est = c.get(&format!("/inspections/{id}/estimates")).await.text();
    let lines = table(&est, "indicators");
    assert_eq!(lines[2][3], "14 / 15（93.33%）");
    assert_ne!(lines[1][1], "0.00%");
    // What the results show is proposed as findings, each with a link that fills the form.
    let page = c.get(&format!("/inspections/{id}/findings")).await.text();
    let start = page.find("id=\"proposals\"").expect("proposals");
    let list = &page[start..page[start..].find("</ul>").unwrap() + start];
    assert!(list.contains("〔漏评〕"), "{list}");
    assert!(list.contains("〔群众认可度〕"), "{list}");
    assert_eq!(list.contains("〔错退〕"), wrong_marked, "{list}");
    let href = &list[list.find("〔漏评〕").unwrap()..];
    let href = &href[href.find("href=\"").unwrap() + 6..];
    let href = href[..href.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let form = c.get(&href).await.text();
    let desc_at = form.find("name=\"description\"").unwrap();
    let desc = &form[desc_at..];
    let desc = &desc[desc.find('>').unwrap() + 1..desc.find("</textarea>").unwrap()];
    assert!(desc.contains("漏评，5 人"), "{desc}");
    assert!(form.contains("<option selected>漏评</option>"));
    let at = form.find("name=\"village\"").unwrap();
    assert!(
        form[at..].starts_with(&format!(
            "name=\"village\" size=\"12\" value=\"{}\"",
            rows[1..].iter().find(|r| r[0] == no).unwrap()[2]
        )),
        "{}",
        &form[at..]
    );
    let r = c
        .post_form(
            &format!("/inspections/{id}/findings"),
            &[
                ("csrf", &token),
                ("description", desc),
                ("category", "漏评"),
                ("severity", "serious"),
                (
                    "township",
                    &rows[1..].iter().find(|r| r[0] == no).unwrap()[1],
                ),
                (
                    "village",
                    &rows[1..].iter().find(|r| r[0] == no).unwrap()[2],
                ),
                ("unit", "县扶贫办"),
                ("measure", "按程序识别纳入"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = c.get(&format!("/inspections/{id}/findings")).await.text();
    assert!(
        !page.contains("〔漏评〕样本"),
        "a recorded proposal is not proposed again"
    );
    assert!(page.contains("〔群众认可度〕"));
    // The forecast from the register.
    let f = c
        .get("/inspections/forecast?seed=7&runs=200&townships=0&poor_villages=2&other_villages=0&per_village=5&min_share=0&take_all=1")
        .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text());
    assert!(f.text().contains("id=\"p-fail\""), "{}", f.text());
    let audit = app
        .store
        .audit_log()
        .audit_entries(None, 50)
        .await
        .unwrap()
        .items;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for a in ["create_inspection", "draw_sample", "record_verification"] {
        assert!(actions.contains(&a), "{a} audited");
    }
}

/// A finding linked to the housing task goes to 县住建局's inbox as a work item with its
/// deadline; the bureau rectifies, an inspector closes it; the ledger downloaded equals
/// the findings table on the screen, before and after 销号.
async fn findings_flow_into_work_items_and_the_ledger_read_back_matches_the_screen(app: App) {
    demo_plan_and_golden(&app.store).await;
    let mut insp = app.logged_in("inspector", Role::Inspector).await;
    let mut unit = app.unit_staff("housing", HOUSING_BUREAU).await;
    let id = new_inspection(&mut insp).await;
    let token = insp.token();
    let r = insp
        .post_form(
            &format!("/inspections/{id}/findings"),
            &[
                ("csrf", &token),
                ("description", "住房为C级危房，未改造即认定脱贫"),
                ("category", "两不愁三保障"),
                ("severity", "serious"),
                ("household_no", HOUSING_HOUSEHOLD),
                ("task_no", "4"),
                ("measure", "年底前完成危房改造并入住"),
                ("deadline", "2018-12-31"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    water_finding(&mut insp, id).await;

    let page = insp
        .get(&format!("/inspections/{id}/findings"))
        .await
        .text();
    let screen = table(&page, "ledger");
    assert_eq!(screen.len(), 2);
    assert_eq!(screen[0][3], HOUSING_BUREAU);
    assert_eq!(screen[0][4], "局长");
    assert_eq!(screen[0][5], "2018-12-31");
    assert_eq!(screen[0][7], "未销号");
    let item: i64 = screen[0][8].trim_start_matches("事项 ").parse().unwrap();
    let x = ledger(&mut insp, id).await;
    assert_eq!(
        x[1],
        [
            "序号",
            "问题",
            "整改措施",
            "责任单位",
            "责任人",
            "完成时限",
            "整改进展",
            "销号情况"
        ]
    );
    for (xr, sr) in x[2..].iter().zip(&screen) {
        assert_eq!(xr[..], sr[..8]);
    }
    assert_eq!(x.len(), 2 + screen.len());

    // In the bureau's inbox; the bureau sees its finding only. The item's page links back
    // to the finding's row.
    let inbox = unit.get("/tasks/items").await.text();
    assert!(inbox.contains(&format!("/tasks/items/{item}")));
    let page = unit.get(&format!("/tasks/items/{item}")).await.text();
    let back = format!(r#"id="finding-link" href="/inspections/{id}/findings#item-{item}""#);
    assert!(
        page.contains(&back) && page.contains("住房为C级危房，未改造即认定脱贫"),
        "{page}"
    );
    assert!(insp
        .get(&format!("/inspections/{id}/findings"))
        .await
        .text()
        .contains(&format!(r#"<tr id="item-{item}">"#)));
    let theirs = table(
        &unit
            .get(&format!("/inspections/{id}/findings"))
            .await
            .text(),
        "ledger",
    );
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0][3], HOUSING_BUREAU);
    for (action, note) in [("report", "新房主体完工"), ("complete", "已入住")] {
        let r = unit
            .item_step(item, &[("action", action), ("note", note)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    // The bureau cannot close; the inspector does.
    let r = unit
        .item_step(item, &[("action", "close"), ("note", "")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = insp
        .item_step(item, &[("action", "close"), ("note", "现场核验通过")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let screen = table(
        &insp
            .get(&format!("/inspections/{id}/findings"))
            .await
            .text(),
        "ledger",
    );
    assert!(
        screen[0][6].starts_with("已销号，进度 100%"),
        "{:?}",
        screen[0]
    );
    assert!(screen[0][7].starts_with("已销号（"), "{:?}", screen[0]);
    let x = ledger(&mut insp, id).await;
    for (xr, sr) in x[2..].iter().zip(&screen) {
        assert_eq!(xr[..], sr[..8]);
    }
}

async fn ledger(c: &mut Client, id: i64) -> Vec<Vec<String>> {
    sheet(
        c.get(&format!("/inspections/{id}/ledger.xlsx")).await.body,
        "整改台账",
    )
}

/// Unit staff, county leaders and area staff cannot record (403) and nothing is written;
/// a village's staff see their village's sampled households only and not the county's
/// estimates; a township's staff see the findings of their township only.
async fn only_headquarters_and_inspectors_record_and_each_area_sees_its_own(app: App) {
    demo_plan_and_golden(&app.store).await;
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let id = new_inspection(&mut hq).await;
    assert_eq!(draw(&mut hq, id, "3").await.status, StatusCode::SEE_OTHER);
    water_finding(&mut hq, id).await;
    // The audit log names the inspection's writes in Chinese.
    let audit = hq.get("/admin/audit").await.text();
    for label in ["新建考核评估", "考核抽样", "登记考核问题并交办", "交办事项"]
    {
        assert!(audit.contains(label), "{label} in the audit log");
    }
    for (name, role) in [
        ("leader", Role::CountyLeader),
        (
            "unit",
            Role::UnitStaff {
                unit: HOUSING_BUREAU.into(),
            },
        ),
        (
            "village",
            Role::VillageStaff {
                township: ONE_TOWNSHIP.into(),
                village: OWN_VILLAGE.into(),
            },
        ),
    ] {
        let mut c = app.logged_in(name, role).await;
        let list = c.get("/inspections").await.text();
        assert!(!list.contains("id=\"new-inspection\""), "{name}: no form");
        let token = c.token();
        let r = c
            .post_form(
                "/inspections",
                &[
                    ("csrf", &token),
                    ("name", "x"),
                    ("level", "county_self"),
                    ("starts_on", "2018-10-15"),
                    ("team", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        let r = c
            .post_form(
                &format!("/inspections/{id}/findings"),
                &[
                    ("csrf", &token),
                    ("description", "x"),
                    ("category", "其他"),
                    ("severity", "general"),
                    ("unit", "县水利局"),
                    ("measure", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        let r = c
            .post_form(
                &format!("/inspections/{id}/results/1"),
                &[("csrf", &token), ("approval", "是")],
            )
            .await;
        assert_ne!(r.status, StatusCode::SEE_OTHER, "{name}");
    }
    assert_eq!(app.store.inspections().all().await.unwrap().len(), 1);
    assert_eq!(
        app.store
            .inspections()
            .findings(&fupin_store::ItemScope::All, None)
            .await
            .unwrap()
            .len(),
        1
    );
    // A village's staff: their own sampled households only, no county estimates.
    let mut village = app.client();
    village.login("village", PASSWORD).await;
    let page = village.get(&format!("/inspections/{id}")).await.text();
    let rows = table(&page, "sample");
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r[2] == OWN_VILLAGE));
    let x = sheet(
        village
            .get(&format!("/inspections/{id}/sample.xlsx"))
            .await
            .body,
        "样本清单",
    );
    assert_eq!(x.len(), 6);
    assert_eq!(
        village
            .get(&format!("/inspections/{id}/estimates"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        village.get("/inspections/forecast?seed=1").await.status,
        StatusCode::NOT_FOUND
    );
    // Findings by area: the other township's finding is not the village's.
    let f = table(
        &village
            .get(&format!("/inspections/{id}/findings"))
            .await
            .text(),
        "ledger",
    );
    assert!(f.is_empty());
    let mut town = app.township_staff("town2", OTHER_TOWNSHIP).await;
    let f = table(
        &town
            .get(&format!("/inspections/{id}/findings"))
            .await
            .text(),
        "ledger",
    );
    assert_eq!(f.len(), 1);
}

/// The API: the same records, rules and scopes; POSTs need the CSRF header; the
/// OpenAPI document lists the paths.
async fn the_api_follows_the_same_rules(app: App) {
    demo_plan_and_golden(&app.store).await;
    let mut c = app.logged_in("inspector", Role::Inspector).await;
    let token = c.token();
    let body = serde_json::json!({
        "name": "2018年第三方评估", "level": "third_party", "starts_on": "2018-11-01",
        "team": "第三方评估机构",
    });
    assert_eq!(
        c.post_json("/api/v1/inspections", &body, None).await.status,
        StatusCode::FORBIDDEN
    );
    let r = c.post_api("/api/v1/inspections", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    let plan = serde_json::json!({
        "plan": {
            "seed": 99, "townships": 0, "poor_villages_per_township": 2,
            "other_villages_per_township": 0,
            "households": { "kind": "fixed", "registered": 2, "non_registered": 0 },
            "min_registered_share_bp": 0, "min_households": 0, "take_all_when_short": true
        }
    });
    let r = c
        .post_api(&format!("/api/v1/inspections/{id}/sample"), &plan)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["seed"], "99");
    let one = c.get(&format!("/api/v1/inspections/{id}")).await.json();
    assert_eq!(one["draw"]["seed"], "99");
    let rows = c
        .get(&format!("/api/v1/inspections/{id}/sample"))
        .await
        .json();
    let households = rows["households"].as_array().unwrap();
    assert_eq!(households.len(), 6);
    let results: Vec<serde_json::Value> = households
        .iter()
        .map(|h| {
            serde_json::json!({
                "no": h["household"]["no"], "people": null,
                "checks": [true, true, true, true, true, true], "missed": null,
                "approval": "yes",
            })
        })
        .collect();
    let r = c
        .post_json(
            &format!("/api/v1/inspections/{id}/results"),
            &serde_json::json!(results),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let est = c
        .get(&format!("/api/v1/inspections/{id}/estimates"))
        .await
        .json();
    assert_eq!(est["verified"], 6);
    assert_eq!(est["estimates"]["indicators"].as_array().unwrap().len(), 4);
    let f = c
        .post_json(
            &format!("/api/v1/inspections/{id}/findings"),
            &serde_json::json!({
                "description": "危房未改造", "category": "两不愁三保障", "severity": "grave",
                "household_no": HOUSING_HOUSEHOLD, "task_no": 4, "measure": "限期改造",
                "deadline": "2018-12-31",
            }),
            Some(&token),
        )
        .await;
    assert_eq!(f.status, StatusCode::CREATED, "{}", f.text());
    assert_eq!(f.json()["unit"], HOUSING_BUREAU);
    let fc = c.get("/api/v1/forecast?seed=5&runs=50&townships=0&poor_villages=2&other_villages=0&per_village=5&min_share=0&take_all=1").await;
    assert_eq!(fc.status, StatusCode::OK, "{}", fc.text());
    assert_eq!(fc.json()["runs"], 50);
    // Another unit's staff: the finding is not theirs; cannot record.
    let mut water = app.unit_staff("water", "县水利局").await;
    let theirs = water
        .get(&format!("/api/v1/inspections/{id}/findings"))
        .await
        .json();
    assert!(theirs["findings"].as_array().unwrap().is_empty());
    let wt = water.token();
    assert_eq!(
        water
            .post_json("/api/v1/inspections", &body, Some(&wt))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let doc = c.get("/api/openapi.json").await.json();
    for p in [
        "/v1/inspections",
        "/v1/inspections/{id}",
        "/v1/inspections/{id}/sample",
        "/v1/inspections/{id}/results",
        "/v1/inspections/{id}/estimates",
        "/v1/inspections/{id}/findings",
        "/v1/forecast",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} in the OpenAPI document");
    }
}

/// What a text reveals of the county: the township and village names and 户编号 in it.
fn revealed(text: &str) -> std::collections::BTreeSet<String> {
    let mut out: std::collections::BTreeSet<String> = [
        ONE_TOWNSHIP,
        OTHER_TOWNSHIP,
        OWN_VILLAGE,
        SIBLING_VILLAGE,
        OTHER_VILLAGE,
    ]
    .iter()
    .filter(|n| text.contains(**n))
    .map(std::string::ToString::to_string)
    .collect();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("14093") {
        let start = i + at;
        let end = start + 13;
        if end <= b.len()
            && b[start..end].iter().all(u8::is_ascii_digit)
            && b.get(end).is_none_or(|c| !c.is_ascii_digit())
            && (start == 0 || !b[start - 1].is_ascii_digit())
        {
            out.insert(text[start..end].to_string());
        }
        i = start + 5;
    }
    out
}

/// A page's content (inside <main>, without the header that names the user's area), or
/// nothing when it is not shown.
async fn page_reveals(c: &mut Client, path: &str) -> (bool, std::collections::BTreeSet<String>) {
    let r = c.get(path).await;
    if r.status != StatusCode::OK {
        assert!(
            r.status.is_client_error(),
            "{path}: {} {}",
            r.status,
            r.text()
        );
        return (false, Default::default());
    }
    let html = r.text();
    let main = &html[html.find("<main>").unwrap()..];
    (true, revealed(main))
}

async fn api_reveals(c: &mut Client, path: &str) -> (bool, std::collections::BTreeSet<String>) {
    let r = c.get(path).await;
    if r.status != StatusCode::OK {
        return (false, Default::default());
    }
    (true, revealed(&r.json().to_string()))
}

/// Policy (issue 20, 页面与接口同一范围): for every role, the pages and the API of each
/// resource reveal the same townships, villages and households — the area's and no other
/// (the API's inspection once showed every sampled village and the county totals).
async fn every_role_sees_the_same_areas_on_the_page_and_through_the_api(app: App) {
    demo_plan_and_golden(&app.store).await;
    crate::funds::library(&app).await;
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let id = new_inspection(&mut hq).await;
    assert_eq!(
        draw(&mut hq, id, "20181015").await.status,
        StatusCode::SEE_OTHER
    );
    water_finding(&mut hq, id).await;
    let t = fupin_web::view::enc(ONE_TOWNSHIP);
    let v = fupin_web::view::enc(OWN_VILLAGE);
    let own = "1409300101001";
    // (resource, its pages, its API answers)
    let resources: Vec<(&str, Vec<String>, Vec<String>)> = vec![
        (
            "inspection",
            vec![
                format!("/inspections/{id}"),
                format!("/inspections/{id}/findings"),
                format!("/inspections/{id}/estimates"),
            ],
            vec![
                format!("/api/v1/inspections/{id}"),
                format!("/api/v1/inspections/{id}/sample"),
                format!("/api/v1/inspections/{id}/findings"),
                format!("/api/v1/inspections/{id}/estimates"),
            ],
        ),
        (
            "township",
            vec![format!("/townships/{t}")],
            vec![
                format!("/api/v1/townships/{t}"),
                format!("/api/v1/townships/{t}/villages"),
            ],
        ),
        (
            "village",
            vec![format!("/townships/{t}/villages/{v}")],
            vec![
                format!("/api/v1/townships/{t}/villages/{v}"),
                format!("/api/v1/townships/{t}/villages/{v}/households"),
            ],
        ),
        (
            "household",
            vec![format!("/households/{own}")],
            vec![format!("/api/v1/households/{own}")],
        ),
        (
            "work items",
            vec!["/tasks/items".into()],
            vec!["/api/v1/work-items".into()],
        ),
        (
            "projects",
            // The page names the reader's area (范围), as /me does.
            vec!["/projects".into()],
            vec!["/api/v1/projects".into(), "/api/v1/me".into()],
        ),
    ];
    let roles: Vec<(&str, Client, &[&str])> = vec![
        ("hq", hq, &[]),
        (
            "leader",
            app.logged_in("leader", Role::CountyLeader).await,
            &[],
        ),
        ("unit", app.unit_staff("water", "县水利局").await, &[]),
        (
            "inspector",
            app.logged_in("inspector", Role::Inspector).await,
            &[],
        ),
        (
            "township",
            app.township_staff("town", ONE_TOWNSHIP).await,
            &[OTHER_TOWNSHIP, OTHER_VILLAGE, "14093002"],
        ),
        (
            "village",
            app.village_staff("vil", ONE_TOWNSHIP, OWN_VILLAGE).await,
            &[
                OTHER_TOWNSHIP,
                OTHER_VILLAGE,
                SIBLING_VILLAGE,
                "14093002",
                "1409300102",
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (role, mut c, outside) in roles {
        // The county totals are the county's: not in the area staff's answer.
        let draw = &c.get(&format!("/api/v1/inspections/{id}")).await.json()["draw"];
        if draw["totals"].is_null() == outside.is_empty() {
            failures.push(format!("{role}: draw totals {}", draw["totals"]));
        }
        for (resource, pages, apis) in &resources {
            let (mut page_shown, mut on_pages) = (false, std::collections::BTreeSet::new());
            for p in pages {
                let (shown, set) = page_reveals(&mut c, p).await;
                page_shown |= shown;
                on_pages.extend(set);
            }
            let (mut api_shown, mut in_api) = (false, std::collections::BTreeSet::new());
            for p in apis {
                let (shown, set) = api_reveals(&mut c, p).await;
                api_shown |= shown;
                in_api.extend(set);
            }
            if page_shown != api_shown {
                failures.push(format!(
                    "{role} {resource}: page shown {page_shown}, API shown {api_shown}"
                ));
            }
            if on_pages != in_api {
                failures.push(format!(
                    "{role} {resource}: pages reveal {on_pages:?}, the API {in_api:?}"
                ));
            }
            for o in outside {
                if let Some(x) = in_api.iter().chain(&on_pages).find(|x| x.starts_with(o)) {
                    failures.push(format!("{role} {resource}: {x} is outside the area"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
