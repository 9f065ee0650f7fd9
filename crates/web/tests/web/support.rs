//! Driving the real router over a real store: a fresh SQLite file, and a fresh PostgreSQL
//! database when FUPIN_TEST_PG holds an admin URL (`export FUPIN_TEST_PG="$(scripts/pg)"`),
//! both made by the shared `fupin-test-support`. Requests go through
//! `tower::ServiceExt::oneshot`; a small cookie jar plays the browser.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use fupin_store::{NewUser, RegisterMeta, Role, Store, User};
pub use fupin_test_support::{
    golden, golden_bytes, golden_csv, golden_dir, golden_without_errors, line_3535,
};
use fupin_web::{AppState, Config};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::future::Future;
use tower::ServiceExt;

pub const PASSWORD: &str = "测试密码-2018";
pub const ONE_TOWNSHIP: &str = "示例一乡";
pub const OTHER_TOWNSHIP: &str = "示例二镇";
pub const OWN_VILLAGE: &str = "示例一乡甲村";
pub const SIBLING_VILLAGE: &str = "示例一乡乙村";
pub const OTHER_VILLAGE: &str = "示例二镇丙村";
/// The demo plan's lead unit for housing (task 4), and a golden household with a housing gap.
pub const HOUSING_BUREAU: &str = "县住建局";
pub const HOUSING_HOUSEHOLD: &str = "1409300102007";

/// The app under test.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub router: Router,
}

impl App {
    pub fn new(store: Store, config: Config) -> App {
        App {
            router: fupin_web::router(AppState::new(store.clone(), config)),
            store,
        }
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    pub async fn user(&self, name: &str, role: Role) -> User {
        self.store
            .accounts()
            .create_user(
                &NewUser {
                    username: name.into(),
                    password: PASSWORD.into(),
                    role,
                },
                None,
            )
            .await
            .unwrap()
    }

    /// A logged-in client of a new account.
    pub async fn logged_in(&self, name: &str, role: Role) -> Client {
        self.user(name, role).await;
        let mut c = self.client();
        let r = c.login(name, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        c.fetch_csrf().await;
        c
    }

    /// A logged-in client of a new account of a unit's staff.
    pub async fn unit_staff(&self, name: &str, unit: &str) -> Client {
        self.logged_in(name, Role::UnitStaff { unit: unit.into() })
            .await
    }

    /// A logged-in client of a new account of a township's staff.
    pub async fn township_staff(&self, name: &str, township: &str) -> Client {
        let township = township.into();
        self.logged_in(name, Role::TownshipStaff { township }).await
    }

    /// A logged-in client of a new account of a village's staff.
    pub async fn village_staff(&self, name: &str, township: &str, village: &str) -> Client {
        let (township, village) = (township.into(), village.into());
        self.logged_in(name, Role::VillageStaff { township, village })
            .await
    }
}

pub fn test_config() -> Config {
    Config {
        upload_dir: None,
        ..Config::default()
    }
}

/// Run a test on a fresh SQLite file.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fupin_test_support::on_sqlite(|store| App::new(store, test_config()), test).await;
}

/// Run a test on a fresh PostgreSQL database, or say once that it is skipped.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fupin_test_support::on_postgres("fupin-web", |store| App::new(store, test_config()), test)
        .await;
}

/// Each test once on SQLite and once on PostgreSQL.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::on_sqlite(super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::on_postgres(super::$name).await
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------
// A browser of sorts.

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

pub struct Client {
    router: Router,
    pub cookies: BTreeMap<String, String>,
    /// The session's CSRF token, once fetched.
    pub csrf: Option<String>,
}

impl Client {
    pub async fn send(&mut self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        for c in headers.get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let first = c.split(';').next().unwrap();
            let (k, v) = first.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), v.into());
            }
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            b = b.header(header::COOKIE, self.cookie_header());
        }
        b
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        let req = self.request("GET", path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", fupin_web::view::enc(k), fupin_web::view::enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    pub async fn post_json(
        &mut self,
        path: &str,
        body: &serde_json::Value,
        csrf: Option<&str>,
    ) -> Resp {
        let mut b = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = csrf {
            b = b.header("X-CSRF-Token", t);
        }
        let req = b.body(Body::from(body.to_string())).unwrap();
        self.send(req).await
    }

    /// A multipart POST: text fields and files (field, file name, bytes).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
        csrf_header: Option<&str>,
    ) -> Resp {
        let (ct, body) = multipart(fields, files);
        let mut b = self.request("POST", path).header(header::CONTENT_TYPE, ct);
        if let Some(t) = csrf_header {
            b = b.header("X-CSRF-Token", t);
        }
        let req = b.body(Body::from(body)).unwrap();
        self.send(req).await
    }

    /// Log in through the form, as a browser does.
    pub async fn login(&mut self, username: &str, password: &str) -> Resp {
        let page = self.get("/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let token = hidden_csrf(&page.text());
        self.post_form(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf", &token),
            ],
        )
        .await
    }

    pub async fn fetch_csrf(&mut self) -> String {
        let me = self.get("/api/v1/me").await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text());
        let t = me.json()["csrf_token"].as_str().unwrap().to_string();
        self.csrf = Some(t.clone());
        t
    }

    pub fn token(&self) -> String {
        self.csrf.clone().expect("fetch_csrf first")
    }

    /// A page's multipart form as the browser posts it: the session's CSRF token, then
    /// `fields` and `files` (field, file name, bytes).
    pub async fn post_page_form(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Resp {
        let token = self.token();
        let mut form = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.post_multipart(path, &form, files, None).await
    }

    /// A JSON POST to the API with the session's CSRF token in its header.
    pub async fn post_api(&mut self, path: &str, body: &serde_json::Value) -> Resp {
        let token = self.token();
        self.post_json(path, body, Some(&token)).await
    }

    /// A step on a work item through the item page's form (no attachments).
    pub async fn item_step(&mut self, id: impl std::fmt::Display, fields: &[(&str, &str)]) -> Resp {
        self.post_page_form(&format!("/tasks/items/{id}"), fields, &[])
            .await
    }
}

/// The value of the first hidden `csrf` field of a page.
pub fn hidden_csrf(html: &str) -> String {
    let i = html.find(r#"name="csrf" value=""#).expect("a csrf field");
    let rest = &html[i + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = "----fupin-test-boundary-7c3f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (k, name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

// ---------------------------------------------------------------------------------------
// The golden register.

/// The golden register (with its data errors) stored as a version, as the store allows:
/// the web import would refuse it, which is tested on its own.
pub async fn import_golden(store: &Store) -> fupin_store::Imported {
    let (register, villages) = golden();
    store_register(store, &register, &villages, "members.csv").await
}

/// A register (the golden one, changed by a test) stored as a version under `file_name`,
/// 2018 at the line of 3,535 yuan, as the store allows (no refusal of error households).
pub async fn store_register(
    store: &Store,
    register: &fupin_io::Register,
    villages: &fupin_io::villages::Villages,
    file_name: &str,
) -> fupin_store::Imported {
    // A stand-in digest of 64 hex digits, one per file name.
    let digest: String = file_name.bytes().map(|b| format!("{b:02x}")).collect();
    let meta = RegisterMeta {
        file_name: file_name.into(),
        sha256: format!("{digest:0<64.64}"),
        year: 2018,
        line: line_3535(),
        imported_by: None,
    };
    store
        .import()
        .import_register(register, &meta, Some(villages))
        .await
        .unwrap()
}

/// The demo plan (the seed county's 2018 plan: task 4 危房改造 led by 县住建局), then the
/// golden register, its gaps routed by the plan.
pub async fn demo_plan_and_golden(store: &Store) {
    store
        .plan()
        .import_plan(
            &fupin_io::plan_file::demo_plan_2018().unwrap().plan,
            &fupin_store::PlanSource {
                file_name: "plan.csv".into(),
                sha256: "cd".repeat(32),
                imported_by: None,
            },
        )
        .await
        .unwrap();
    import_golden(store).await;
}

/// The text of an HTML fragment without its tags.
pub fn without_tags(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// Audit rows as (action, username, entity id), newest first.
pub fn audit_lines<'a>(
    entries: impl IntoIterator<Item = &'a fupin_store::AuditEntry>,
) -> Vec<(&'a str, Option<&'a str>, String)> {
    entries
        .into_iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.username.as_deref(),
                e.entity_id.clone(),
            )
        })
        .collect()
}

/// Upload the golden register without its error rows through the API (multipart, CSRF
/// header) as a new version: the answer is the job's (202).
pub async fn import_clean_through_api(c: &mut Client) -> Resp {
    let token = c.token();
    c.post_multipart(
        "/api/v1/imports",
        &[("year", "2018"), ("line", "3535")],
        &[
            ("members", "members-clean.csv", golden_without_errors()),
            ("villages", "villages.csv", golden_bytes("villages.csv")),
        ],
        Some(&token),
    )
    .await
}

/// Wait for an import job to finish (through the API) and return it.
pub async fn wait_for_job(c: &mut Client, id: i64) -> serde_json::Value {
    for _ in 0..600 {
        let r = c.get(&format!("/api/v1/jobs/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let j = r.json();
        if j["state"] == "done" || j["state"] == "failed" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

/// The job id from an upload's redirect (`/import/jobs/{id}`).
pub fn job_id(r: &Resp) -> i64 {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.location()
        .strip_prefix("/import/jobs/")
        .unwrap()
        .parse()
        .unwrap()
}
