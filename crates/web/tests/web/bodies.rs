//! Every route that takes a body has a limit that fits it (issue 20, item 3): a form or a
//! JSON body of a few fields is refused past a few hundred kilobytes, a file past the
//! configured upload limit — 413 with a message that says so, nothing left on disk — and a
//! text field of a multipart form past 64 KB. The backend decides nothing here: SQLite.

use crate::support::*;
use axum::http::StatusCode;
use fupin_store::Role;
use fupin_web::Config;
use std::path::PathBuf;

/// An upload route: path, file field, other fields, and whether it is the API's.
type Route<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], bool);

/// The largest upload of this test's server.
const UPLOAD_LIMIT: usize = 200 << 10;

/// An app whose uploads wait in `dir` and are at most [`UPLOAD_LIMIT`].
async fn with_small_uploads<F, Fut>(dir: PathBuf, test: F)
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let config = Config {
        upload_dir: Some(dir),
        max_upload_bytes: UPLOAD_LIMIT,
        ..test_config()
    };
    fupin_test_support::on_sqlite(|store| App::new(store, config), test).await;
}

/// What is left in the upload folder.
fn left_in(dir: &std::path::Path) -> Vec<String> {
    walk(dir)
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_is_bounded_by_what_its_route_takes() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().to_path_buf();
    with_small_uploads(uploads.clone(), move |app| async move {
        let mut c = app.logged_in("hq", Role::HqAdmin).await;
        let token = c.token();

        // A file over the upload limit, to every upload route of the pages and the API.
        let big = vec![b'a'; UPLOAD_LIMIT + 1];
        let routes: [Route; 7] = [
            ("/import", "members", &[("year", "2018")], false),
            ("/api/v1/imports", "members", &[("year", "2018")], true),
            (
                "/projects/upload",
                "file",
                &[("what", "disbursements")],
                false,
            ),
            ("/tasks/plan", "plan", &[], false),
            ("/api/v1/plan", "plan", &[], true),
            ("/inspections/1/results", "results", &[], false),
            ("/inspections/1/sample", "rural", &[], false),
        ];
        for (path, field, fields, api) in routes {
            let mut form = fields.to_vec();
            if !api {
                form.insert(0, ("csrf", token.as_str()));
            }
            let header = api.then_some(token.as_str());
            let files = [(field, "big.csv", big.clone())];
            let r = c.post_multipart(path, &form, &files, header).await;
            assert_eq!(
                r.status,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{path}: {}",
                r.text()
            );
            assert!(r.text().contains("超过"), "{path}: {}", r.text());
            assert_eq!(left_in(&uploads), Vec::<String>::new(), "{path}");
        }

        // A text field of a multipart form over 64 KB, within the upload limit.
        let long = "9".repeat(100 << 10);
        let r = c
            .post_multipart(
                "/import",
                &[("csrf", &token), ("year", &long)],
                &[("members", "m.csv", golden_without_errors())],
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
        assert!(r.text().contains("表单项「year」超过"), "{}", r.text());
        assert!(app.store.register().versions().await.unwrap().is_empty());

        // A form and a JSON body past their small limits (axum's default was 2 MB).
        let padding = "x".repeat(fupin_web::upload::FORM_LIMIT + 1);
        let r = c
            .post_form("/admin/users", &[("csrf", &token), ("note", &padding)])
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        let padding = "x".repeat(fupin_web::upload::JSON_LIMIT + 1);
        let body = serde_json::json!({"username": "hq", "password": padding});
        let r = c.post_json("/api/v1/session", &body, None).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        // Within them, the routes still answer as before.
        let body = serde_json::json!({"username": "hq", "password": PASSWORD});
        let r = c.post_json("/api/v1/session", &body, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    })
    .await;
}

/// A file over its kind's configured size is stopped while it arrives, even within the
/// upload limit: 413 naming that size, nothing left on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_its_kinds_size_is_stopped_as_it_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().to_path_buf();
    let mut config = Config {
        upload_dir: Some(uploads.clone()),
        max_upload_bytes: UPLOAD_LIMIT,
        ..test_config()
    };
    config.limits.plan.max_file_bytes = 10 << 10;
    let left = uploads.clone();
    fupin_test_support::on_sqlite(
        |store| App::new(store, config),
        move |app| async move {
            let mut c = app.logged_in("hq", Role::HqAdmin).await;
            let plan = vec![b'a'; 20 << 10];
            let r = c
                .post_page_form("/tasks/plan", &[], &[("plan", "plan.csv", plan)])
                .await;
            assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
            assert!(
                r.text().contains("方案文件超过此类文件的上限 10 KB"),
                "{}",
                r.text()
            );
            assert_eq!(walk(&left), Vec::<String>::new());
        },
    )
    .await;
}
