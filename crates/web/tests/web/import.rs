//! Import: a file with any error is refused whole — every problem listed (page, API,
//! XLSX), nothing changed, no audit row but the job's; a good file becomes a new version
//! — figures change, history kept, one audit row. The job page and the API show the
//! job's percentage.

use crate::support::*;
use axum::http::StatusCode;
use fupin_store::{Role, Scope};
use fupin_web::view::household_url;
use std::io::Cursor;

both!(
    a_file_with_errors_is_refused_whole_and_every_problem_listed,
    a_good_file_becomes_a_new_version_and_keeps_the_history,
    an_upload_without_a_file_or_year_is_refused_with_a_message,
    a_running_import_shows_its_percentage_from_the_job_row,
);

/// A job another process runs is followed through its row: the page refreshes itself and
/// shows the row's percentage, as does the API.
async fn a_running_import_shows_its_percentage_from_the_job_row(app: App) {
    let mut c = app.logged_in("admin", Role::HqAdmin).await;
    let payload = serde_json::json!({
        "file_name": "县登记表.csv",
        "stage": "storing",
        "progress": 40,
        "result": null,
    });
    let id = app
        .store
        .start_job("import", &payload, "fupin-other-process", None)
        .await
        .unwrap();
    let page = c.get(&format!("/import/jobs/{id}")).await.text();
    assert!(
        page.contains(r#"<meta http-equiv="refresh" content="1">"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<progress id="job-progress" max="100" value="40">"#),
        "{page}"
    );
    assert!(page.contains("正在写入数据库"), "{page}");
    let job = c.get(&format!("/api/v1/jobs/{id}")).await.json();
    assert_eq!(
        (job["state"].as_str(), job["progress"].as_u64()),
        (Some("running"), Some(40))
    );

    let mut payload = payload;
    payload["progress"] = serde_json::json!(80);
    app.store.update_job_payload(id, &payload).await.unwrap();
    let job = c.get(&format!("/api/v1/jobs/{id}")).await.json();
    assert_eq!(job["progress"], 80);
    app.store.finish_job(id, Some("进程退出")).await.unwrap();
    let page = c.get(&format!("/import/jobs/{id}")).await.text();
    assert!(!page.contains("http-equiv=\"refresh\""), "{page}");
    assert!(page.contains("导入失败：进程退出"), "{page}");
}

/// The cells of the first sheet of an XLSX file, row by row, each joined by tabs; and
/// that every cell of the value column is text.
pub fn xlsx_rows(bytes: &[u8]) -> Vec<String> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| {
            if let Some(v) = r.get(4) {
                assert!(
                    matches!(v, Data::String(_) | Data::Empty),
                    "a value cell that is not text: {v:?}"
                );
            }
            r.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect()
}

async fn a_file_with_errors_is_refused_whole_and_every_problem_listed(app: App) {
    let first = import_golden(&app.store).await;
    let mut c = app.logged_in("admin", Role::HqAdmin).await;
    let before_summary = c.get("/api/v1/summary").await.json();
    let audit_before = app.store.audit_entries(None, 500).await.unwrap().items;

    let token = c.token();
    let r = c
        .post_multipart(
            "/import",
            &[("csrf", &token), ("year", "2018"), ("line", "3535")],
            &[
                ("members", "members.csv", golden_bytes("members.csv")),
                ("villages", "villages.csv", golden_bytes("villages.csv")),
            ],
            None,
        )
        .await;
    let id = job_id(&r);
    let job = wait_for_job(&mut c, id).await;
    assert_eq!(job["state"], "done", "{job}");
    let result = &job["result"];
    assert_eq!(result["outcome"], "rejected", "{job}");
    let expected = golden_csv("expected_problems.csv");
    let problems = result["problems"].as_array().unwrap();
    assert_eq!(problems.len(), expected.len());
    for (p, e) in problems.iter().zip(&expected) {
        assert_eq!(p["line"].to_string(), e["line"]);
        assert_eq!(p["code"], e["code"].as_str());
        assert_eq!(p["file"], "members.csv", "the name the user knows");
    }
    // The progress page lists every problem and offers the XLSX.
    let page = c.get(&format!("/import/jobs/{id}")).await.text();
    assert!(page.contains("未导入"), "{page}");
    assert!(page.contains("登记表保持原样"));
    assert_eq!(
        page.matches("<tr class=\"err\">").count() + page.matches("<tr class=\"warn\">").count(),
        expected.len()
    );
    for e in &expected {
        assert!(page.contains(&format!(">{}<", e["code"])));
    }
    let x = c.get(&format!("/import/jobs/{id}/problems.xlsx")).await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(x.headers["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    let rows = xlsx_rows(&x.body);
    assert_eq!(rows.len(), expected.len() + 1);
    // ID numbers stay whole (18 characters, as text).
    let e105 = problems.iter().find(|p| p["code"] == "E105").unwrap();
    let value = e105["value"].as_str().unwrap();
    assert!(rows.iter().any(|r| r.contains(value)), "{value}");

    // Nothing changed.
    let versions = app.store.versions().await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].id, first.version);
    assert_eq!(c.get("/api/v1/summary").await.json(), before_summary);
    // The audit log has the job's start and end, in the admin's name, and nothing else.
    let audit = app.store.audit_entries(None, 500).await.unwrap().items;
    let (jobs, others): (Vec<_>, Vec<_>) = audit.into_iter().partition(|e| e.entity == "job");
    assert_eq!(others, audit_before);
    assert_eq!(
        audit_lines(&jobs),
        [
            ("finish_job", Some("admin"), id.to_string()),
            ("start_job", Some("admin"), id.to_string()),
        ]
    );

    // The same refusal through `fupin_web::import::check_files`, as `fupin import` uses.
    let dir = golden_dir();
    let m = fupin_web::import::Upload {
        path: &dir.join("members.csv"),
        name: "members.csv",
    };
    match fupin_web::import::check_files(&m, None, 2018, None, &fupin_io::Limits::default()) {
        fupin_web::import::Checked::Rejected { problems, .. } => {
            assert_eq!(problems.len(), expected.len())
        }
        _ => panic!("the golden register has errors"),
    }
}

async fn a_good_file_becomes_a_new_version_and_keeps_the_history(app: App) {
    let first = import_golden(&app.store).await;
    let mut c = app.logged_in("admin", Role::HqAdmin).await;
    let before = c.get("/api/v1/summary").await.json();
    assert_eq!(before["area"]["households"], 33);
    // Through the API this time (multipart + CSRF header).
    let r = import_clean_through_api(&mut c).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = r.json()["job"].as_i64().unwrap();
    let job = wait_for_job(&mut c, id).await;
    assert_eq!(job["result"]["outcome"], "imported", "{job}");
    assert_eq!(job["progress"], 100, "{job}");
    let version = job["result"]["version"].as_i64().unwrap();
    assert!(version > first.version);

    // Figures change: the refused households are gone, no data errors remain.
    let after = c.get("/api/v1/summary").await.json();
    assert_eq!(after["version"]["id"], version);
    assert_eq!(after["version"]["file_name"], "members-clean.csv");
    assert_eq!(after["area"]["verdicts"]["data_error"], 0);
    assert!(after["area"]["households"].as_u64().unwrap() < 33);
    assert_ne!(after["area"], before["area"]);
    // History kept: both versions; a household's verdicts in both.
    let versions = c.get("/api/v1/versions").await.json();
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(versions[0]["current"], true);
    assert_eq!(versions[0]["imported_by"], "admin");
    let h = c.get("/api/v1/households/1409300101001").await.json();
    assert_eq!(h["history"].as_array().unwrap().len(), 2);
    let html = c.get(&household_url("1409300101001")).await.text();
    assert!(html.contains("members-clean.csv") && html.contains("members.csv"));
    // One audit row for the import, by the admin.
    let audit = app.store.audit_entries(None, 500).await.unwrap().items;
    let imports: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "import_register")
        .collect();
    assert_eq!(imports.len(), 2, "the first (no user) and this one");
    assert_eq!(imports[0].username.as_deref(), Some("admin"));
    let page = c.get("/admin/audit").await.text();
    assert!(page.contains("导入登记表"));
    // The progress page says it worked.
    let page = c.get(&format!("/import/jobs/{id}")).await.text();
    assert!(page.contains("导入成功"), "{page}");
    // Store and page agree with a direct read.
    let county = app
        .store
        .county_summary(&Scope::County)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after["area"]["households"], county.tally.households);
}

async fn an_upload_without_a_file_or_year_is_refused_with_a_message(app: App) {
    let mut c = app.logged_in("admin", Role::HqAdmin).await;
    let token = c.token();
    let r = c
        .post_multipart("/import", &[("csrf", &token), ("year", "2018")], &[], None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("请选择成员表文件"));
    let r = c
        .post_multipart(
            "/import",
            &[("csrf", &token), ("year", "abc")],
            &[("members", "m.csv", golden_without_errors())],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("评估年度"));
    assert!(app.store.versions().await.unwrap().is_empty());
}
