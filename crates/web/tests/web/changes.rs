//! Change requests through the real router (issue 14): the village cadre's form, the
//! township's review, the household reassessed; and nobody outside the household's area
//! reaches it by any route.

use crate::support::*;
use axum::http::StatusCode;
use fupin_domain::change::ChangeState;
use fupin_store::{ChangeFilter, Scope};

both!(
    the_village_cadre_submits_and_the_township_approves_through_the_pages,
    a_refused_value_shows_the_form_again_with_what_was_typed,
    no_one_outside_the_households_area_reaches_its_changes_by_any_route,
);

const HOUSEHOLD: &str = "1409300102007";
const TOWNSHIP: &str = "示例一乡";
const VILLAGE: &str = "示例一乡乙村";

fn form_path() -> String {
    format!("/households/{HOUSEHOLD}/change")
}

/// The finished renovation, with a photo.
async fn submit_renovation(c: &mut Client) -> Resp {
    c.fetch_csrf().await;
    c.post_page_form(
        &form_path(),
        &[
            ("visit_date", "2026-12-01"),
            ("reason", "危房改造已竣工验收"),
            ("h_renovation", "已竣工"),
            ("done_on", "2026-11-20"),
            // Unchanged values are not sent to the store as changes.
            ("h_housing_grade", "C"),
            ("h_wage_income", "1,000"),
        ],
        &[("files", "竣工照片.jpg", vec![0xFF, 0xD8, 0xFF, 0xE0, 9])],
    )
    .await
}

async fn only_request(app: &App) -> fupin_store::ChangeRequest {
    let mut all = app
        .store
        .changes()
        .list(&Scope::County, &ChangeFilter::default(), None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 1);
    all.pop().unwrap()
}

async fn the_village_cadre_submits_and_the_township_approves_through_the_pages(app: App) {
    demo_plan_and_golden(&app.store).await;
    let mut village = app.village_staff("乙村", TOWNSHIP, VILLAGE).await;
    let page = village
        .get(&format!("/households/{HOUSEHOLD}"))
        .await
        .text();
    assert!(
        page.contains("id=\"change-link\""),
        "the village cadre may submit"
    );
    let form = village.get(&form_path()).await;
    assert_eq!(form.status, StatusCode::OK);
    let html = form.text();
    assert!(html.contains("收入测算") && html.contains("name=\"h_renovation\""));
    assert!(html.contains("data-line=\"353500\""));
    let r = submit_renovation(&mut village).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let back = village.get(&r.location()).await.text();
    assert!(back.contains("已提交，等待乡镇审核"), "confirmation shown");
    assert!(back.contains("危房改造状态：在建 → 已竣工"));
    let req = only_request(&app).await;
    assert_eq!(req.cells.len(), 1, "only the changed cell: {:?}", req.cells);
    assert_eq!(req.files.len(), 1);
    assert!(back.contains("未达退出标准"), "not applied before review");
    // The village cadre cannot approve; the township can.
    assert!(!village
        .get("/changes")
        .await
        .text()
        .contains("id=\"approve-"));
    let mut township = app.township_staff("一乡", TOWNSHIP).await;
    let queue = township.get("/changes").await.text();
    assert!(
        queue.contains(&format!("id=\"approve-{}\"", req.id)),
        "{queue}"
    );
    assert!(queue.contains("竣工照片.jpg"));
    let token = township.fetch_csrf().await;
    let done = township
        .post_form(
            &format!("/changes/{}/approve", req.id),
            &[("csrf", &token), ("note", "已核实")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let msg = township.get(&done.location()).await.text();
    assert!(
        msg.contains("由「未达退出标准」变为「达到退出标准」"),
        "{msg}"
    );
    let page = township
        .get(&format!("/households/{HOUSEHOLD}"))
        .await
        .text();
    assert!(page.contains("达到退出标准"));
    assert_eq!(only_request(&app).await.state, ChangeState::Approved);
    // The photo is served to whoever sees the household.
    let file = township
        .get(&format!("/changes/files/{}", req.files[0].id))
        .await;
    assert_eq!(file.status, StatusCode::OK);
}

async fn a_refused_value_shows_the_form_again_with_what_was_typed(app: App) {
    demo_plan_and_golden(&app.store).await;
    let mut village = app.village_staff("乙村", TOWNSHIP, VILLAGE).await;
    village.fetch_csrf().await;
    let r = village
        .post_page_form(
            &form_path(),
            &[
                ("visit_date", "2026-12-01"),
                ("reason", "入户核实"),
                ("h_wage_income", "12.345"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(html.contains("E104") && html.contains("12.345"), "{html}");
    assert!(html.contains("value=\"12.345\""), "what was typed is kept");
    assert!(html.contains("value=\"入户核实\""));
    assert!(html.contains("id=\"change-form\"") && html.contains("<nav>"));
    assert!(app
        .store
        .changes()
        .list(&Scope::County, &ChangeFilter::default(), None, 10)
        .await
        .unwrap()
        .items
        .is_empty());
}

async fn no_one_outside_the_households_area_reaches_its_changes_by_any_route(app: App) {
    demo_plan_and_golden(&app.store).await;
    let mut village = app.village_staff("乙村", TOWNSHIP, VILLAGE).await;
    assert_eq!(
        submit_renovation(&mut village).await.status,
        StatusCode::SEE_OTHER
    );
    let req = only_request(&app).await;
    let mut other = app.village_staff("甲村", TOWNSHIP, "示例一乡甲村").await;
    assert_eq!(other.get(&form_path()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        submit_renovation(&mut other).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!other
        .get("/changes")
        .await
        .text()
        .contains(&format!("change-{}", req.id)));
    assert_eq!(
        other
            .get(&format!("/changes/files/{}", req.files[0].id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let token = other.fetch_csrf().await;
    let r = other
        .post_form(&format!("/changes/{}/approve", req.id), &[("csrf", &token)])
        .await;
    assert!(other
        .get(&r.location())
        .await
        .text()
        .contains("不在您负责的范围内"));
    let mut far = app.township_staff("二乡", "示例二乡").await;
    let token = far.fetch_csrf().await;
    far.post_form(&format!("/changes/{}/approve", req.id), &[("csrf", &token)])
        .await;
    let mut unit = app.unit_staff("zjj", "县住建局").await;
    assert_eq!(unit.get(&form_path()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(only_request(&app).await.state, ChangeState::Submitted);
}
