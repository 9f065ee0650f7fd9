//! What goes wrong in a request, as the client sees it (issue 20): every rejection of the
//! API is JSON in Chinese naming the field and what it accepts; pages and API answers are
//! kept by no cache; an unreachable database is 503 with `Retry-After`, not 500.

use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use fupin_store::Role;
use serde_json::json;

both!(
    api_rejections_are_json_in_chinese_with_the_field,
    pages_and_api_answers_are_kept_by_no_cache,
);

/// A rejection's JSON: its status, `error` code, Chinese `message` and `field`.
fn refused(r: &Resp, status: StatusCode) -> (String, String) {
    assert_eq!(r.status, status, "{}", r.text());
    let ct = r.headers[header::CONTENT_TYPE].to_str().unwrap();
    assert!(ct.starts_with("application/json"), "{ct}: {}", r.text());
    let j = r.json();
    let message = j["message"].as_str().unwrap().to_string();
    assert!(
        message
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "not Chinese: {message}"
    );
    assert!(j["error"].is_string(), "{j}");
    (j["field"].as_str().unwrap_or("").to_string(), message)
}

async fn api_rejections_are_json_in_chinese_with_the_field(app: App) {
    let (solar, _) = crate::funds::library(&app).await;
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let entries = format!("/api/v1/projects/{solar}/entries");

    // A JSON body without a required field, with a wrong type, and not JSON at all.
    let r = hq.post_api(&entries, &json!({"source": "中央"})).await;
    let (field, m) = refused(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field, "date", "{m}");
    assert!(m.contains("date"), "{m}");
    let r = hq
        .post_api(
            &entries,
            &json!({"date": 20180401, "source": "中央", "amount": "1"}),
        )
        .await;
    let (field, m) = refused(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field, "date", "{m}");
    assert!(m.contains("字符串") && m.contains("20180401"), "{m}");
    let token = hq.token();
    let req = Request::builder()
        .method("POST")
        .uri(&entries)
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-CSRF-Token", &token)
        .header(header::COOKIE, cookie(&hq))
        .body(Body::from("{\"date\": "))
        .unwrap();
    let (_, m) = refused(&hq.send(req).await, StatusCode::BAD_REQUEST);
    assert!(m.contains("JSON"), "{m}");
    // No JSON content type.
    let req = Request::builder()
        .method("POST")
        .uri(&entries)
        .header("X-CSRF-Token", &token)
        .header(header::COOKIE, cookie(&hq))
        .body(Body::from("{}"))
        .unwrap();
    let (_, m) = refused(&hq.send(req).await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(m.contains("application/json"), "{m}");
    // An enum of the sampling plan, a query, a path and a method.
    let r = hq
        .post_api(
            "/api/v1/inspections",
            &json!({"name": "x", "level": "county_self", "starts_on": "2018-10-01", "team": "t"}),
        )
        .await;
    let inspection = r.json()["id"].as_i64().unwrap();
    let r = hq
        .post_api(
            &format!("/api/v1/inspections/{inspection}/sample"),
            &json!({"plan": {"seed": 7, "townships": 0, "poor_villages_per_township": 2,
                   "other_villages_per_township": 0,
                   "households": {"kind": "halves"},
                   "min_registered_share_bp": 0, "min_households": 0,
                   "take_all_when_short": true}}),
        )
        .await;
    let (field, m) = refused(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field.starts_with("plan.households"), "{field}: {m}");
    assert!(m.contains("halves") && m.contains("fixed"), "{m}");
    let (field, m) = refused(
        &hq.get("/api/v1/funds/behind?by=2018-06-30").await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(field, "min_percent", "{m}");
    let (field, m) = refused(
        &hq.get("/api/v1/projects/abc").await,
        StatusCode::BAD_REQUEST,
    );
    assert!(m.contains("abc") && m.contains("整数"), "{field}: {m}");
    let (_, m) = refused(
        &hq.post_api("/api/v1/summary", &json!({})).await,
        StatusCode::METHOD_NOT_ALLOWED,
    );
    assert!(m.contains("POST"), "{m}");

    // The ledger's own fields (issue 20): what the form requires, the API requires.
    for (body, field) in [
        (json!({"voucher": ""}), "voucher"),
        (json!({"payee": "  "}), "payee"),
        (json!({"date": "2999-01-01"}), "date"),
        (json!({"date": "2013-12-31"}), "date"),
    ] {
        let mut b = json!({"date": "2018-04-01", "source": "中央", "amount": "100",
                           "voucher": "记-0401", "payee": "示例光伏建设公司"});
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        let r = hq.post_api(&entries, &b).await;
        let (got, m) = refused(&r, StatusCode::BAD_REQUEST);
        assert_eq!(got, field, "{b}: {m}");
    }
    let page = hq.get(&format!("/api/v1/projects/{solar}")).await.json();
    assert_eq!(page["entries"].as_array().unwrap().len(), 0, "{page}");
}

fn cookie(c: &Client) -> String {
    c.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn pages_and_api_answers_are_kept_by_no_cache(app: App) {
    import_golden(&app.store).await;
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    let no_store = |r: &Resp| {
        r.headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap().to_string())
    };
    for path in [
        "/",
        "/households/1409300101001",
        "/problems.xlsx",
        "/api/v1/households/1409300101001",
        "/api/v1/summary",
        "/api/v1/nothing-here",
        "/login",
    ] {
        let r = hq.get(path).await;
        assert_eq!(no_store(&r).as_deref(), Some("no-store"), "{path}");
    }
    // The style sheet keeps its cache.
    let css = hq.get("/static/app.css").await;
    assert_eq!(
        no_store(&css).as_deref(),
        Some("public, max-age=3600"),
        "app.css"
    );
}

/// Policy (issue 20, 数据库不可用): a server whose PostgreSQL database is gone (its
/// connections ended and the database dropped) answers 503 with `Retry-After` and a
/// Chinese message, on the API and on pages — not 500. (PostgreSQL only: a SQLite file
/// stays readable by the connections already open.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_503_with_retry_after() {
    let Some(admin) = fupin_test_support::pg_admin_url("fupin-web") else {
        return;
    };
    let db = fupin_test_support::FreshPg::create(&admin, "fupin_test").await;
    let store = fupin_store::Store::connect_with(&db.url, 2).await.unwrap();
    store.migrate().await.unwrap();
    let app = App::new(store.clone(), test_config());
    let mut hq = app.logged_in("hq", Role::HqAdmin).await;
    assert_eq!(hq.get("/api/v1/summary").await.status, StatusCode::OK);
    db.drop_database().await;
    let started = std::time::Instant::now();
    for path in ["/api/v1/summary", "/"] {
        let r = hq.get(path).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            r.text()
        );
        let retry = r.headers[header::RETRY_AFTER].to_str().unwrap();
        assert!(retry.parse::<u32>().unwrap() > 0, "{retry}");
        assert!(r.text().contains("数据库暂时无法连接"), "{}", r.text());
    }
    let api = hq.get("/api/v1/me").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.json()["error"], "unavailable");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    store.close().await;
}
