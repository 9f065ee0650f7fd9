//! What the pages show equals what the engine computed at import: the dashboard's figures
//! are the engine's tallies for the golden register (and its hand-derived figures), the
//! household page shows the stored explanation criterion by criterion.

use crate::support::*;
use axum::http::StatusCode;
use fupin_domain::{Criterion, Fen, Verdict};
use fupin_io::engine::assess_register;
use fupin_store::Role;
use fupin_web::view::{enc, household_url};

both!(
    dashboard_figures_equal_the_engine_tallies_for_the_golden_register,
    a_household_page_shows_each_criterion_and_why_it_fails,
    the_openapi_document_lists_every_api_route,
    an_empty_store_shows_an_empty_dashboard,
    the_township_table_pages_by_key_and_the_figures_stay_whole,
);

async fn dashboard_figures_equal_the_engine_tallies_for_the_golden_register(app: App) {
    import_golden(&app.store).await;
    let (register, _) = golden();
    let engine = assess_register(&register, Fen::from_yuan(3535), 2018, |_, _| {
        Ok::<(), ()>(())
    })
    .unwrap();
    let t = &engine.county;
    let mut c = app.logged_in("leader", Role::CountyLeader).await;

    let s = c.get("/api/v1/summary").await.json();
    let area = &s["area"];
    assert_eq!(area["households"], t.households);
    assert_eq!(area["members"], t.members);
    assert_eq!(area["poor_now"], t.poor_now);
    assert_eq!(area["remaining"], t.remaining);
    for v in Verdict::ALL {
        assert_eq!(area["verdicts"][v.word()], t.verdict_count(v), "{v:?}");
    }
    for cr in Criterion::ALL {
        assert_eq!(area["failed"][cr.code()], t.criterion_count(cr), "{cr:?}");
    }
    // expected_figures.csv: the hand-derived oracle.
    for row in golden_csv("expected_figures.csv") {
        let got = if row["township"] == "合计" {
            area.clone()
        } else {
            c.get(&format!(
                "/api/v1/townships/{}/villages/{}",
                enc(&row["township"]),
                enc(&row["village"])
            ))
            .await
            .json()
        };
        for k in [
            "households",
            "members",
            "poor_now",
            "remaining",
            "population",
        ] {
            assert_eq!(got[k].to_string(), row[k], "{k} of {row:?}");
        }
        assert_eq!(
            got["incidence_now_percent"],
            row["incidence_now_percent"].as_str()
        );
        assert_eq!(
            got["incidence_after_percent"],
            row["incidence_after_percent"].as_str()
        );
        if row["township"] == "合计" {
            assert_eq!(got["exit_ready"].to_string(), row["exit_ready"]);
        }
    }
    // The dashboard page shows the same figures.
    let home = c.get("/").await.text();
    assert!(home.contains(r#"id="kpi-households">33<"#), "{home}");
    assert!(home.contains(r#"id="kpi-members">89<"#));
    assert!(home.contains(r#"id="kpi-now">2.36%<"#));
    assert!(home.contains(r#"id="kpi-after">1.69%<"#));
    assert!(home.contains("阈值 2.00%"));
    for v in Verdict::ALL {
        let cell = format!(r#"data-verdict="{}">{}<"#, v.word(), t.verdict_count(v));
        assert!(home.contains(&cell), "{cell}");
    }
    for cr in Criterion::ALL {
        let cell = format!(
            r#"data-criterion="{}">{}<"#,
            cr.code(),
            t.criterion_count(cr)
        );
        assert!(home.contains(&cell), "{cell}");
    }
    // Charts are our own SVG; no script, nothing from elsewhere.
    assert!(home.contains("<svg class=\"chart\""));
    assert!(!home.contains("<script"));
    assert!(!home.contains("src=\"http") && !home.contains("href=\"http"));
    let r = c.get("/").await;
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    // The per-township table.
    assert!(home.contains(ONE_TOWNSHIP) && home.contains(OTHER_TOWNSHIP));
    let css = c.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.text().contains("@media"));
}

async fn a_household_page_shows_each_criterion_and_why_it_fails(app: App) {
    import_golden(&app.store).await;
    let mut c = app.logged_in("leader", Role::CountyLeader).await;
    for row in golden_csv("expected_households.csv") {
        let no = &row["household_id"];
        let page = c.get(&household_url(no)).await;
        assert_eq!(page.status, StatusCode::OK, "{no}");
        let html = page.text();
        let verdict = Verdict::ALL
            .into_iter()
            .find(|v| v.word() == row["verdict"])
            .unwrap();
        assert!(
            html.contains(&format!(r#"id="verdict">{}<"#, verdict.chinese())),
            "{no}"
        );
        let d = c.get(&format!("/api/v1/households/{no}")).await.json();
        assert_eq!(d["assessment"]["verdict"], row["verdict"]);
        let failed: Vec<&str> = row["failed"].split('|').filter(|s| !s.is_empty()).collect();
        for cr in &d["assessment"]["criteria"].as_array().unwrap()[..] {
            let code = cr["code"].as_str().unwrap();
            if verdict == Verdict::DataError {
                assert_eq!(cr["passed"], serde_json::Value::Null);
            } else {
                assert_eq!(cr["passed"], !failed.contains(&code), "{no} {code}");
            }
        }
        for code in &failed {
            let reason = d["failure_reasons"][code].as_str().unwrap();
            assert!(html.contains(reason), "{no} {code}: {reason}");
        }
        assert_eq!(d["history"].as_array().unwrap().len(), 1);
    }
    // 02: income below the line, with the values that decided it.
    let html = c.get(&household_url("1409300101002")).await.text();
    assert!(
        html.contains("人均纯收入 3,535.00 元 ≤ 标准 3,535 元"),
        "{html}"
    );
    assert!(html.contains("✘ 未达标"));
    assert!(html.contains("工资性收入"));
}

async fn the_openapi_document_lists_every_api_route(app: App) {
    let mut c = app.client();
    let r = c.get("/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/session",
        "/v1/logout",
        "/v1/me",
        "/v1/summary",
        "/v1/townships",
        "/v1/townships/{township}",
        "/v1/townships/{township}/villages",
        "/v1/townships/{township}/villages/{village}",
        "/v1/townships/{township}/villages/{village}/households",
        "/v1/households/{household_no}",
        "/v1/search",
        "/v1/problems",
        "/v1/versions",
        "/v1/imports",
        "/v1/jobs/{id}",
        "/v1/audit",
        "/v1/users",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert_eq!(c.get("/api/v1/nothing").await.status, StatusCode::NOT_FOUND);
}

async fn an_empty_store_shows_an_empty_dashboard(app: App) {
    let mut c = app.logged_in("admin", Role::HqAdmin).await;
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text().contains("尚未导入登记表"));
    let s = c.get("/api/v1/summary").await.json();
    assert!(s["area"].is_null());
    assert_eq!(c.get("/problems").await.status, StatusCode::OK);
    assert_eq!(c.get("/versions").await.status, StatusCode::OK);
}

/// A province has hundreds of townships: the dashboard's table, `/api/v1/summary`'s
/// children and `/api/v1/townships` come a page at a time, by key, each township once and
/// in register order, while the county's figures stay those of the whole county.
async fn the_township_table_pages_by_key_and_the_figures_stay_whole(app: App) {
    import_golden(&app.store).await;
    let mut c = app.logged_in("leader", Role::CountyLeader).await;
    let whole = c.get("/api/v1/summary").await.json();
    assert_eq!(whole["children"].as_array().unwrap().len(), 2);
    assert!(whole["next"].is_null());
    for base in ["/api/v1/townships", "/api/v1/summary"] {
        let list = if base.ends_with("summary") {
            "children"
        } else {
            "items"
        };
        let mut seen = Vec::new();
        let mut url = format!("{base}?limit=1");
        loop {
            let p = c.get(&url).await.json();
            let items = p[list].as_array().unwrap();
            assert!(items.len() <= 1, "{url}");
            seen.extend(
                items
                    .iter()
                    .map(|t| t["township"].as_str().unwrap().to_string()),
            );
            if list == "children" {
                assert_eq!(p["area"], whole["area"], "{url}");
            }
            match p["next"].as_u64() {
                Some(n) => url = format!("{base}?limit=1&after={n}"),
                None => break,
            }
        }
        assert_eq!(seen, [ONE_TOWNSHIP, OTHER_TOWNSHIP], "{base}");
    }
    // The dashboard: one township a page, the next page by its link, the county's figures
    // on every page.
    let first = c.get("/?limit=1").await.text();
    assert!(first.contains(r#"id="kpi-households">33<"#));
    assert!(first.contains(ONE_TOWNSHIP) && !first.contains(OTHER_TOWNSHIP));
    assert!(!first.contains(r#"id="first-page""#));
    let next = first
        .split(r#"<a href=""#)
        .find_map(|a| a.split_once(r#"" id="next-page""#))
        .map(|(href, _)| href.replace("&#38;", "&").replace("&amp;", "&"))
        .expect("a next-page link");
    assert_eq!(next, "/?after=0&limit=1");
    let second = c.get(&next).await.text();
    assert!(second.contains(r#"id="kpi-households">33<"#));
    assert!(second.contains(OTHER_TOWNSHIP), "{second}");
    assert!(
        second.contains(r#"href="/?limit=1" id="first-page""#),
        "{second}"
    );
    assert!(!second.contains(r#"id="next-page""#));
    // A key that is not one is refused, not read as the first page.
    assert_eq!(c.get("/?after=x").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        c.get("/api/v1/townships?after=x").await.status,
        StatusCode::BAD_REQUEST
    );
}
