//! 责任落实 through the real router (issue 5): plan import, gaps routed to units' inboxes,
//! the loop 交办 → 整改 → 验收 → 销号 with its permissions, the matrix and six-in-place
//! panel, the ledgers read back with calamine, and the JSON API.

use crate::support::*;
use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use fupin_io::plan_file::DEMO_PLAN_2018_CSV;
use fupin_store::{GapFilter, ItemScope, Role};
use std::io::Cursor;

both!(
    a_housing_gap_goes_to_the_housing_bureau_and_is_closed_by_headquarters,
    units_see_only_their_items_and_cannot_close,
    a_plan_with_errors_is_refused_whole,
    the_ledger_read_back_matches_the_screen,
    the_api_serves_items_and_steps_with_the_same_rules,
    a_leader_sees_and_reminds_the_items_of_their_post_and_headquarters_escalates,
    headquarters_changes_deadline_and_unit_and_units_cannot,
    the_household_page_shows_its_gaps_and_items_in_the_readers_scope,
);

/// Upload the demo plan (the seed county's 2018 plan) as the headquarters.
async fn upload_plan(c: &mut Client, csv: &str) -> Resp {
    c.post_page_form(
        "/tasks/plan",
        &[
            ("year", "2018"),
            ("name", "2018年脱贫攻坚重点工作责任分解方案"),
            ("declared_tasks", "26"),
        ],
        &[("plan", "plan.csv", csv.as_bytes().to_vec())],
    )
    .await
}

/// A number in the matrix row of a task: the cell with `class`.
fn matrix_cell(html: &str, task: u32, class: &str) -> u64 {
    let row_start = html
        .find(&format!("<tr data-task=\"{task}\">"))
        .unwrap_or_else(|| panic!("task {task} in the matrix"));
    let row = &html[row_start..];
    let row = &row[..row.find("</tr>").unwrap()];
    let cell = &row[row.find(&format!("class=\"num {class}\"")).unwrap()..];
    let cell = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
    // The cell's text without its tags (the open count is a link).
    without_tags(cell).parse().unwrap()
}

/// The number inside `<b class="{class}">…</b>` of the six-in-place panel.
fn six_value(html: &str, class: &str) -> u64 {
    let i = html
        .find(&format!("<b class=\"{class}\">"))
        .unwrap_or_else(|| panic!("{class} on the panel"));
    let rest = &html[i + class.len() + 12..];
    rest[..rest.find('<').unwrap()].parse().unwrap()
}

fn item_id_of(html: &str, title_part: &str) -> i64 {
    let i = html
        .find(title_part)
        .unwrap_or_else(|| panic!("{title_part} listed"));
    let before = &html[..i];
    let href = before.rfind("/tasks/items/").unwrap();
    before[href + "/tasks/items/".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// The flow: the register is assessed (no plan yet: every gap waits for the
/// headquarters), the plan is imported, the household's housing gap appears in the housing
/// bureau's inbox, the bureau reports progress with a photo and reports it done, the
/// headquarters closes it — and the matrix and the six-in-place panel change.
async fn a_housing_gap_goes_to_the_housing_bureau_and_is_closed_by_headquarters(app: App) {
    import_golden(&app.store).await;
    let mut hq = app.logged_in("admin", Role::HqAdmin).await;
    let six = hq.get("/tasks/six").await.text();
    assert!(six.contains("尚未导入责任分解方案"));
    assert!(six.contains("尚未导入项目库"));
    let queued_before = six_value(&six, "unrouted");
    assert!(queued_before > 0);
    // Without a plan every gap waits in the headquarters' queue, shown on the dashboard.
    let home = hq.get("/").await.text();
    assert!(home.contains(&format!("<b id=\"queued\">{queued_before}</b>")));

    let r = upload_plan(&mut hq, DEMO_PLAN_2018_CSV).await;
    // The demo plan announces 26 tasks and lists 25: a warning, and it is stored.
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("已导入"));
    let matrix = hq.get("/tasks").await.text();
    assert!(matrix.contains("大力实施危房改造"));
    assert_eq!(matrix_cell(&matrix, 4, "closed"), 0);
    let open_before = matrix_cell(&matrix, 4, "open");
    assert!(open_before >= 1);
    let six = hq.get("/tasks/six").await.text();
    assert_eq!(
        six_value(&six, "unrouted"),
        0,
        "the demo plan owns every kind"
    );
    assert_eq!(six_value(&six, "staffed"), 25);
    let open_gaps_before = six_value(&six, "open-gaps");
    let closed_before = six_value(&six, "items-closed");

    let mut unit = app.unit_staff("zjj", HOUSING_BUREAU).await;
    let inbox = unit.get("/tasks/items").await.text();
    assert!(inbox.contains("县住建局 待办箱"));
    let id = item_id_of(&inbox, &format!("户 {HOUSING_HOUSEHOLD}：住房安全有保障"));
    let page = unit.get(&format!("/tasks/items/{id}")).await.text();
    assert!(page.contains("id=\"report-form\""));
    assert!(
        !page.contains("id=\"step-close\""),
        "the unit is not offered 销号"
    );

    let r = unit
        .post_page_form(
            &format!("/tasks/items/{id}"),
            &[("action", "report"), ("note", "已开工"), ("percent", "60")],
            &[("files", "照片.jpg", vec![0xff, 0xd8, 0xff, 0xe0, 9])],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = unit
        .item_step(id, &[("action", "complete"), ("note", "改造完成")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = unit.get(&format!("/tasks/items/{id}")).await.text();
    assert!(page.contains("data-state=\"done\""));
    let photo = page.find("/tasks/attachments/").unwrap();
    let href: String = page[photo..].chars().take_while(|c| *c != '"').collect();
    let file = unit.get(&href).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, vec![0xff, 0xd8, 0xff, 0xe0, 9]);

    let page = hq.get(&format!("/tasks/items/{id}")).await.text();
    assert!(page.contains("id=\"step-close\""));
    assert!(
        page.contains("name=\"override\""),
        "headquarters may override"
    );
    // Issue 14 (销号以证据为准): the household's housing still fails, so 销号 is refused
    // with the reason, and the item stays 已完成待核.
    let r = hq
        .item_step(id, &[("action", "close"), ("note", "核查属实")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = hq.get(&r.location()).await.text();
    assert!(page.contains("仍未达标"), "the refusal says why");
    assert!(page.contains("data-state=\"done\""));
    // Headquarters closes it anyway, with a written reason: 强制销号, listed.
    let r = hq
        .item_step(
            id,
            &[
                ("action", "close"),
                ("override", "cannot_rectify"),
                ("note", "核查属实，原址无法改造，已纳入搬迁计划"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = hq.get(&format!("/tasks/items/{id}")).await.text();
    assert!(page.contains("data-state=\"closed\""));
    assert!(page.contains("强制销号（无法整改）"));
    let listed = hq.get("/tasks/items?overridden=1").await.text();
    assert!(
        listed.contains(&format!("/tasks/items/{id}")),
        "listed among the overrides"
    );
    for step in ["交办", "报告进展", "报告完成", "销号"] {
        assert!(page.contains(step), "{step} in the history");
    }

    let matrix = hq.get("/tasks").await.text();
    assert_eq!(matrix_cell(&matrix, 4, "closed"), 1);
    assert_eq!(matrix_cell(&matrix, 4, "open"), open_before - 1);
    // The gap itself stays open until a reassessment shows it passes; the item is closed.
    let six = hq.get("/tasks/six").await.text();
    assert_eq!(six_value(&six, "open-gaps"), open_gaps_before);
    assert_eq!(six_value(&six, "items-closed"), closed_before + 1);
    let audit = app
        .store
        .audit_log()
        .audit_entries(None, 200)
        .await
        .unwrap()
        .items;
    for action in [
        "import_plan",
        "work_item_report",
        "work_item_complete",
        "work_item_close_override",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action} audited");
    }
}

/// Permissions over HTTP: another unit does not find the item (404), the unit cannot close
/// it (403), township staff see only their township's gaps, a forged form is refused.
async fn units_see_only_their_items_and_cannot_close(app: App) {
    demo_plan_and_golden(&app.store).await;
    let item = app
        .store
        .work()
        .work_items(
            &ItemScope::Unit(HOUSING_BUREAU.into()),
            &Default::default(),
            None,
            10,
        )
        .await
        .unwrap()
        .items
        .remove(0);
    let mut water = app.unit_staff("slj", "县水利局").await;
    assert_eq!(
        water.get(&format!("/tasks/items/{}", item.id)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = water.item_step(item.id, &[("action", "start")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!water
        .get("/tasks/items")
        .await
        .text()
        .contains(HOUSING_BUREAU));

    let mut unit = app.unit_staff("zjj", HOUSING_BUREAU).await;
    let token = unit.token();
    for (action, status) in [
        ("complete", StatusCode::SEE_OTHER),
        ("close", StatusCode::FORBIDDEN),
    ] {
        let r = unit.item_step(item.id, &[("action", action)]).await;
        assert_eq!(r.status, status, "{action}: {}", r.text());
    }
    let r = unit
        .post_multipart(
            &format!("/tasks/items/{}", item.id),
            &[("csrf", "forged"), ("action", "start")],
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Only the headquarters assigns by hand.
    let r = unit
        .post_form(
            "/tasks/items",
            &[("csrf", &token), ("title", "x"), ("unit", HOUSING_BUREAU)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let mut town = app.township_staff("t1", ONE_TOWNSHIP).await;
    let gaps = town.get("/api/v1/gaps").await.json();
    let items = gaps["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|g| g["township"] == ONE_TOWNSHIP));
    let other = app
        .store
        .work()
        .gaps(&ItemScope::All, &GapFilter::default(), None, 500)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|g| g.township == OTHER_TOWNSHIP && g.work_item.is_some())
        .unwrap();
    assert_eq!(
        town.get(&format!("/tasks/items/{}", other.work_item.unwrap()))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// A plan file with an error is refused whole, every problem shown; nothing is stored.
async fn a_plan_with_errors_is_refused_whole(app: App) {
    let mut hq = app.logged_in("admin", Role::HqAdmin).await;
    let bad = "序号,重点工作,责任领导,牵头单位,落实单位,落实单位责任人,完成时限,负责问题\n\
               1,大力实施危房改造,分管城建副县长,县住建局,县住建局,局长,2018-13-45,HOUSING\n\
               2,加强饮水安全保障,分管农业副县长,县水利局,县水利局、县卫健局,局长,2018-08-31,WATER\n";
    let r = upload_plan(&mut hq, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = r.text();
    assert!(html.contains("整份方案未导入"));
    assert!(html.contains("2018-13-45"));
    assert!(app.store.plan().plan_revisions().await.unwrap().is_empty());
    assert!(!html.contains("plan-shown"), "a short list says no count");
    // A plan of 1,200 bad rows: the page lists the first 1,000 and says how many there
    // are (issue 20: no page of megabytes for a bad file).
    let mut many =
        String::from("序号,重点工作,责任领导,牵头单位,落实单位,落实单位责任人,完成时限,负责问题\n");
    for i in 1..=1_200 {
        many.push_str(&format!(
            "{i},任务{i},分管副县长,县住建局,县住建局,局长,2018-13-45,\n"
        ));
    }
    let r = upload_plan(&mut hq, &many).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    let listed =
        html.matches("<tr class=\"err\">").count() + html.matches("<tr class=\"warn\">").count();
    assert_eq!(listed, 1_000, "rows listed");
    assert!(html.contains("id=\"plan-shown\""), "the count is said");
    assert!(html.contains("显示前 1,000 条"));
    // Not the headquarters: refused before reading.
    let mut leader = app.logged_in("leader", Role::CountyLeader).await;
    assert_eq!(
        upload_plan(&mut leader, DEMO_PLAN_2018_CSV).await.status,
        StatusCode::FORBIDDEN
    );
}

fn sheet(wb: &mut Xlsx<Cursor<Vec<u8>>>, name: &str) -> Vec<Vec<String>> {
    wb.worksheet_range(name)
        .unwrap()
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => panic!("a cell that is not text: {other:?}"),
                })
                .collect()
        })
        .collect()
}

/// The ledgers (台账) read back with calamine equal what the screens show: the plan
/// ledger's rows per task and unit with the matrix's counts, the gap ledger's rows the
/// open gaps of the API, by task and unit.
async fn the_ledger_read_back_matches_the_screen(app: App) {
    import_golden(&app.store).await;
    let mut hq = app.logged_in("admin", Role::HqAdmin).await;
    upload_plan(&mut hq, DEMO_PLAN_2018_CSV).await;
    let r = hq.get("/tasks/ledger.xlsx").await;
    assert_eq!(r.status, StatusCode::OK);
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(r.body.clone())).unwrap();
    let plan = sheet(&mut wb, "责任分解台账");
    assert_eq!(
        plan[0],
        fupin_web::tasks::PLAN_LEDGER_HEADER.map(String::from)
    );
    let api = hq.get("/api/v1/plan").await.json();
    let matrix = api["matrix"].as_array().unwrap();
    let units: usize = matrix
        .iter()
        .map(|t| t["units"].as_array().unwrap().len())
        .sum();
    assert_eq!(plan.len() - 1, units);
    let html = hq.get("/tasks").await.text();
    for row in &plan[1..] {
        let no: u32 = row[0].parse().unwrap();
        let t = matrix.iter().find(|t| t["task_no"] == no).unwrap();
        assert_eq!(row[1], t["task"].as_str().unwrap());
        assert_eq!(row[2], t["leader"].as_str().unwrap());
        assert_eq!(row[3], t["lead_unit"].as_str().unwrap());
        assert!(t["units"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["unit"] == row[4].as_str() && u["owner"] == row[5].as_str()));
        assert_eq!(row[8], matrix_cell(&html, no, "open").to_string());
        assert_eq!(row[9], matrix_cell(&html, no, "overdue").to_string());
        assert_eq!(row[10], matrix_cell(&html, no, "done").to_string());
        assert_eq!(row[11], matrix_cell(&html, no, "closed").to_string());
    }
    let gaps = sheet(&mut wb, "短板台账");
    assert_eq!(
        gaps[0],
        fupin_web::tasks::GAP_LEDGER_HEADER.map(String::from)
    );
    let mut listed = Vec::new();
    let mut after = String::new();
    loop {
        let page = hq.get(&format!("/api/v1/gaps?{after}")).await.json();
        listed.extend(page["items"].as_array().unwrap().clone());
        match page["next"].as_i64() {
            Some(n) => after = format!("after={n}"),
            None => break,
        }
    }
    assert_eq!(gaps.len() - 1, listed.len());
    for g in &listed {
        let item = g["work_item"]
            .as_i64()
            .map(|i| i.to_string())
            .unwrap_or_default();
        assert!(
            gaps[1..]
                .iter()
                .any(|row| row[6] == g["detail"].as_str().unwrap()
                    && row[3] == g["township"].as_str().unwrap()
                    && row[7] == item
                    && row[0]
                        == g["task_no"]
                            .as_u64()
                            .map(|n| n.to_string())
                            .unwrap_or_default()),
            "{g}"
        );
    }
    // By task: the task numbers never go down.
    let tasks: Vec<u32> = gaps[1..]
        .iter()
        .map(|r| r[0].parse().unwrap_or(u32::MAX))
        .collect();
    assert!(tasks.windows(2).all(|w| w[0] <= w[1]));
    // An ID-like 户编号 stays text.
    assert!(gaps[1..].iter().any(|r| r[5] == HOUSING_HOUSEHOLD));
}

/// The JSON API: a unit's items, a step with the CSRF header, a refusal in words, the
/// OpenAPI document listing the routes.
async fn the_api_serves_items_and_steps_with_the_same_rules(app: App) {
    import_golden(&app.store).await;
    let mut hq = app.logged_in("admin", Role::HqAdmin).await;
    upload_plan(&mut hq, DEMO_PLAN_2018_CSV).await;
    let mut unit = app.unit_staff("zjj", HOUSING_BUREAU).await;
    let list = unit.get("/api/v1/work-items").await.json();
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|i| i["unit"] == HOUSING_BUREAU));
    let id = items[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/work-items/{id}/steps");
    let body = serde_json::json!({ "action": "start" });
    assert_eq!(
        unit.post_json(&path, &body, None).await.status,
        StatusCode::FORBIDDEN
    );
    let token = unit.token();
    let r = unit.post_api(&path, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "in_progress");
    let r = unit
        .post_json(
            &path,
            &serde_json::json!({ "action": "close" }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("销号"));
    let detail = unit.get(&format!("/api/v1/work-items/{id}")).await.json();
    assert_eq!(detail["events"].as_array().unwrap().len(), 2);
    let six = hq.get("/api/v1/six-in-place").await.json();
    assert_eq!(six["funds"]["projects"], 0);
    assert_eq!(six["funds"]["rate"], serde_json::Value::Null);
    assert_eq!(six["responsibility"]["tasks"], 25);

    let doc = hq.get("/api/openapi.json").await.json();
    for p in [
        "/v1/plan",
        "/v1/six-in-place",
        "/v1/gaps",
        "/v1/work-items",
        "/v1/work-items/{id}",
        "/v1/work-items/{id}/steps",
        "/v1/work-items/{id}/edit",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} in the OpenAPI document");
    }
}

/// A county leader's account maps to a post: "my tasks" are the tasks that post leads, and
/// the leader may remind (催办) their items but not another leader's; the headquarters
/// escalates overdue items (the demo plan's deadlines are in 2018), which then show among
/// the leader's escalated items.
async fn a_leader_sees_and_reminds_the_items_of_their_post_and_headquarters_escalates(app: App) {
    import_golden(&app.store).await;
    let mut hq = app.logged_in("admin", Role::HqAdmin).await;
    upload_plan(&mut hq, DEMO_PLAN_2018_CSV).await;
    let mut leader = app.logged_in("fxz", Role::CountyLeader).await;
    // Without a post there are no "my tasks".
    assert_eq!(
        leader.get("/tasks/items?mine=1").await.status,
        StatusCode::BAD_REQUEST
    );
    let id = app
        .store
        .accounts()
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "fxz")
        .unwrap()
        .id;
    let token = hq.token();
    let r = hq
        .post_form(
            "/tasks/leaders",
            &[
                ("csrf", &token),
                ("user_id", &id.to_string()),
                ("post", "分管城建副县长"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let mine = leader.get("/tasks?mine=1").await.text();
    assert!(mine.contains("<tr data-task=\"4\">"));
    assert!(
        !mine.contains("<tr data-task=\"6\">"),
        "the water task is another leader's"
    );
    let items = leader.get("/api/v1/work-items?mine=1").await.json();
    let items = items["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|i| i["task_no"] == 4));
    let own = items[0]["id"].as_i64().unwrap();
    let token = leader.token();
    let remind = serde_json::json!({ "action": "remind", "note": "请加快进度" });
    let r = leader
        .post_api(&format!("/api/v1/work-items/{own}/steps"), &remind)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["reminders"], 1);
    let water = app
        .store
        .work()
        .work_items(
            &ItemScope::Unit("县水利局".into()),
            &Default::default(),
            None,
            1,
        )
        .await
        .unwrap()
        .items
        .remove(0);
    let r = leader
        .post_json(
            &format!("/api/v1/work-items/{}/steps", water.id),
            &remind,
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let token = hq.token();
    let r = hq.post_form("/tasks/escalate", &[("csrf", &token)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let escalated = leader
        .get("/api/v1/work-items?mine=1&escalated=1")
        .await
        .json();
    let escalated = escalated["items"].as_array().unwrap();
    assert!(!escalated.is_empty());
    assert!(escalated
        .iter()
        .all(|i| i["overdue"] == true && !i["escalated_at"].is_null()));
    let page = leader
        .get(&format!("/tasks/items/{}", escalated[0]["id"]))
        .await
        .text();
    assert!(page.contains("升级至责任领导分管城建副县长督办"));
}

/// The housing gap's work item of the golden household.
async fn housing_item(app: &App) -> fupin_store::WorkItemId {
    app.store
        .work()
        .gaps(&ItemScope::All, &GapFilter::default(), None, 500)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|g| g.key == format!("household:{HOUSING_HOUSEHOLD}:HOUSING"))
        .and_then(|g| g.work_item)
        .expect("the housing gap's item")
}

/// 改期、改派 (issue 5): the headquarters sees the form on the item page and changes the
/// deadline and unit with a reason (CSRF checked); the item moves from the housing
/// bureau's inbox to the new unit's; without a reason nothing changes; unit staff have no
/// form and are refused (403) on the page's POST and in the API; the API changes it too.
async fn headquarters_changes_deadline_and_unit_and_units_cannot(app: App) {
    demo_plan_and_golden(&app.store).await;
    let id = housing_item(&app).await;
    let page = format!("/tasks/items/{id}");
    let edit = format!("/tasks/items/{id}/edit");
    let mut unit = app.unit_staff("zjj", HOUSING_BUREAU).await;
    let mut poverty_office = app.unit_staff("fpb", "县扶贫办").await;
    let mut hq = app.logged_in("admin", Role::HqAdmin).await;
    let html = unit.get(&page).await.text();
    assert!(!html.contains("id=\"edit-form\""));
    let token = unit.token();
    let fields = |t: &str| {
        vec![
            ("csrf".to_string(), t.to_string()),
            ("deadline".to_string(), "2018-12-15".to_string()),
            ("unit".to_string(), "县扶贫办".to_string()),
            ("reason".to_string(), "需先完成危房鉴定".to_string()),
        ]
    };
    let r = post(&mut unit, fields(&token), edit.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = unit
        .post_json(
            &format!("/api/v1/work-items/{id}/edit"),
            &serde_json::json!({ "deadline": "2018-12-15", "unit": "县扶贫办", "reason": "改派" }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let html = hq.get(&page).await.text();
    assert!(html.contains("id=\"edit-form\""));
    assert!(
        html.contains("<option value=\"县扶贫办\">"),
        "the plan's units offered"
    );
    let token = hq.token();
    let r = post(&mut hq, fields("forged"), edit.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut no_reason = fields(&token);
    no_reason[3].1 = " ".into();
    let r = post(&mut hq, no_reason, edit.clone()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().contains("msg="), "{}", r.location());
    assert!(unit.get("/tasks/items").await.text().contains(&page));

    let r = post(&mut hq, fields(&token), edit.clone()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), page);
    let html = hq.get(&page).await.text();
    assert!(html.contains("<td id=\"unit\">县扶贫办</td>"));
    assert!(html.contains("2018-12-15"));
    assert!(html.contains("改期/改派") && html.contains("需先完成危房鉴定"));
    // The inboxes follow: gone from the housing bureau's, in the poverty office's.
    assert!(!unit.get("/tasks/items").await.text().contains(&page));
    assert_eq!(unit.get(&page).await.status, StatusCode::NOT_FOUND);
    assert!(poverty_office
        .get("/tasks/items")
        .await
        .text()
        .contains(&page));
    let audit = hq.get("/api/v1/audit").await.json();
    let row = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "work_item_edit")
        .expect("audited");
    assert_eq!(row["before"]["unit"], HOUSING_BUREAU);
    assert_eq!(row["after"]["unit"], "县扶贫办");

    // The API: back to the housing bureau, no deadline.
    let r = hq
        .post_json(
            &format!("/api/v1/work-items/{id}/edit"),
            &serde_json::json!({ "deadline": null, "unit": HOUSING_BUREAU, "reason": "鉴定完成，交回住建局" }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(
        (j["unit"].as_str(), j["deadline"].is_null()),
        (Some(HOUSING_BUREAU), true)
    );
    let r = hq
        .post_json(
            &format!("/api/v1/work-items/{id}/edit"),
            &serde_json::json!({ "deadline": null, "unit": HOUSING_BUREAU, "reason": "" }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The household page (issue 5) lists the household's gaps with their work items — state,
/// unit, deadline, overdue, a link to the item — and the API has them too, in the
/// reader's scope: the housing bureau sees the housing gap, the water bureau not, staff
/// of another township not even the household.
async fn the_household_page_shows_its_gaps_and_items_in_the_readers_scope(app: App) {
    demo_plan_and_golden(&app.store).await;
    let id = housing_item(&app).await;
    let page = format!("/households/{HOUSING_HOUSEHOLD}");
    let mut hq = app.logged_in("admin", Role::HqAdmin).await;
    let html = hq.get(&page).await.text();
    assert!(html.contains("id=\"household-gaps\""));
    assert!(html.contains(&format!("href=\"/tasks/items/{id}\"")));
    assert!(html.contains(HOUSING_BUREAU) && html.contains("住房安全"));
    // The demo plan's deadlines are in 2018: the item is overdue today.
    assert!(html.contains("（逾期）"), "overdue shown");
    let j = hq
        .get(&format!("/api/v1/households/{HOUSING_HOUSEHOLD}"))
        .await
        .json();
    let gaps = j["gaps"].as_array().unwrap();
    let housing = gaps
        .iter()
        .find(|g| g["kind"] == "HOUSING")
        .expect("the housing gap in the API");
    assert_eq!(housing["item"]["id"], id.get());
    assert_eq!(housing["item"]["unit"], HOUSING_BUREAU);
    assert_eq!(housing["item"]["overdue"], true);
    assert!(housing["item"]["deadline"].is_string());

    let mut unit = app.unit_staff("zjj", HOUSING_BUREAU).await;
    let j = unit
        .get(&format!("/api/v1/households/{HOUSING_HOUSEHOLD}"))
        .await
        .json();
    let kinds: Vec<&str> = j["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"HOUSING"));
    assert!(j["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["lead_unit"] == HOUSING_BUREAU));
    let mut water = app.unit_staff("slj", "县水利局").await;
    let html = water.get(&page).await.text();
    assert!(!html.contains(&format!("/tasks/items/{id}")));
    let j = water
        .get(&format!("/api/v1/households/{HOUSING_HOUSEHOLD}"))
        .await
        .json();
    assert!(j["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["kind"] != "HOUSING"));
    let township = j["household"]["township"].as_str().unwrap().to_string();
    let elsewhere = if township == ONE_TOWNSHIP {
        OTHER_TOWNSHIP
    } else {
        ONE_TOWNSHIP
    };
    let mut town = app.township_staff("t2", elsewhere).await;
    assert_eq!(town.get(&page).await.status, StatusCode::NOT_FOUND);
}

async fn post(c: &mut Client, fields: Vec<(String, String)>, path: String) -> Resp {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    c.post_form(&path, &refs).await
}
