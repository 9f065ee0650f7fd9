//! `fupin migrate`, `fupin user add`, `fupin import` and `fupin serve` as a user runs them:
//! the real binary, a real database, HTTP over a real socket on 127.0.0.1. Two `fupin
//! serve` processes share one PostgreSQL when FUPIN_TEST_PG holds an admin URL.
//!
//! Tests that only read and log in share one server ([`shared`]), started once for this
//! file; tests of how a server starts or of several servers start their own.

use crate::{fupin, golden, text};
use fupin_web::view::enc;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub(crate) const PASSWORD: &str = "管理员密码-2018";

fn fupin_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fupin"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // fupin may refuse its arguments and exit before it reads the password: the pipe
    // is then closed, and what it printed says why.
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn add_user(db: &str, name: &str, role_args: &[&str]) {
    let mut args = vec!["user", "add", name, "--db", db];
    args.extend_from_slice(role_args);
    let o = fupin_stdin(&args, &format!("{PASSWORD}\n"));
    assert!(o.status.success(), "{}", text(&o.stderr));
}

fn golden_without_errors() -> String {
    String::from_utf8(fupin_test_support::golden_without_errors()).unwrap()
}

/// `fupin import` of a members file with the golden villages file, year 2018, line 3535.
fn import_2018(db: &str, members: &str, user: &str) -> std::process::Output {
    let villages = golden("villages.csv");
    fupin(&[
        "import",
        members,
        "--villages",
        &villages,
        "--year",
        "2018",
        "--line",
        "3535",
        "--db",
        db,
        "--user",
        user,
    ])
}

/// The golden register without its error households, written in `dir` and imported into
/// `db` by `fupin import` as `user`, which must succeed.
fn import_clean_golden(db: &str, dir: &std::path::Path, user: &str) {
    let clean = dir.join("members-clean.csv");
    std::fs::write(&clean, golden_without_errors()).unwrap();
    let o = import_2018(db, clean.to_str().unwrap(), user);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

fn expected_problems() -> usize {
    csv::Reader::from_path(golden("expected_problems.csv"))
        .unwrap()
        .records()
        .count()
}

#[test]
fn import_refuses_a_file_with_errors_listing_every_problem_and_stores_a_good_one() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("fupin.db").display());
    let o = fupin(&["migrate", "--db", &db]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    add_user(&db, "admin", &["--role", "hq_admin"]);
    add_user(&db, "leader", &["--role", "county_leader"]);
    let members = golden("members.csv");
    let import = |file: &str, user: &str| import_2018(&db, file, user);
    // Errors: exit 2, every problem on stderr, nothing stored.
    let o = import(&members, "admin");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    let listed = err.lines().filter(|l| l.starts_with("members.csv")).count();
    assert_eq!(listed, expected_problems(), "{err}");
    assert!(err.contains("有错误的登记表不能导入"), "{err}");
    // Only the headquarters admin imports.
    let clean = tmp.path().join("members-clean.csv");
    std::fs::write(&clean, golden_without_errors()).unwrap();
    let o = import(clean.to_str().unwrap(), "leader");
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("只有指挥部管理员"),
        "{}",
        text(&o.stderr)
    );
    // A good file: a new version.
    let o = import(clean.to_str().unwrap(), "admin");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("已导入「members-clean.csv」为登记表版本 1"),
        "{}",
        text(&o.stdout)
    );
    let o = import(clean.to_str().unwrap(), "admin");
    assert!(text(&o.stdout).contains("版本 2"), "{}", text(&o.stdout));
}

#[test]
fn user_add_takes_the_password_from_stdin_or_a_file_and_checks_the_role() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("fupin.db").display());
    let pw = tmp.path().join("pw.txt");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let o = fupin(&[
        "user",
        "add",
        "t1",
        "--role",
        "township_staff",
        "--township",
        "示例一乡",
        "--db",
        &db,
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("乡镇工作人员"));
    // Taken, a role without its township, a short password: refused with a message.
    let o = fupin_stdin(
        &["user", "add", "t1", "--role", "inspector", "--db", &db],
        "longenough-1\n",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("已被使用"));
    let o = fupin_stdin(
        &["user", "add", "t2", "--role", "township_staff", "--db", &db],
        "longenough-1\n",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("需要填写乡镇"),
        "{}",
        text(&o.stderr)
    );
    let o = fupin_stdin(
        &["user", "add", "t3", "--role", "inspector", "--db", &db],
        "short\n",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("密码至少8个字符"),
        "{}",
        text(&o.stderr)
    );
}

// ---------------------------------------------------------------------------------------
// Servers.

/// A `fupin serve` process, ended when dropped — or, for the shared one that is never
/// dropped, when the test binary exits: it runs under a shell that waits on a pipe from
/// this process and ends the server when the pipe closes.
struct Server {
    child: Child,
    watch: Option<ChildStdin>,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.watch.take());
        let _ = self.child.wait();
    }
}

/// Runs `fupin serve ARGS` and ends it when its standard input closes.
const WATCHDOG: &str =
    r#"bin="$1"; shift; "$bin" serve "$@" & pid=$!; read _closed; kill $pid; wait $pid"#;

fn serve(args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", WATCHDOG, "sh", env!("CARGO_BIN_EXE_fupin")])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // In the guard at once: a failed start still ends the process.
    let mut server = Server {
        child: cmd.spawn().unwrap(),
        watch: None,
        addr: String::new(),
    };
    server.watch = server.child.stdin.take();
    server.addr = address_of(server.child.stdout.take().unwrap());
    server
}

/// The address a starting `fupin serve` prints on its standard output (within a minute);
/// its output is then read on, so it never blocks on a full pipe.
pub(crate) fn address_of(stdout: std::process::ChildStdout) -> String {
    let mut out = BufReader::new(stdout);
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 || Instant::now() > deadline {
            panic!("fupin serve did not start");
        }
        if let Some(i) = line.find("http://") {
            let rest = &line[i + 7..];
            let addr = rest[..rest.find('/').unwrap()].to_string();
            std::thread::spawn(move || {
                let mut sink = String::new();
                let _ = out.read_to_string(&mut sink);
            });
            return addr;
        }
    }
}

/// The server this file's reading tests share: SQLite, the golden register without its
/// error households imported by `fupin import`, an admin and a township account.
struct Shared {
    server: Server,
    _dir: tempfile::TempDir,
}

fn shared() -> &'static Server {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    &SHARED
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let db = format!("sqlite://{}", dir.path().join("fupin.db").display());
            let o = fupin(&["migrate", "--db", &db]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            add_user(&db, "admin", &["--role", "hq_admin"]);
            add_user(
                &db,
                "township",
                &["--role", "township_staff", "--township", "示例一乡"],
            );
            import_clean_golden(&db, dir.path(), "admin");
            Shared {
                server: serve(&["--db", &db, "--addr", "127.0.0.1:0"], &[]),
                _dir: dir,
            }
        })
        .server
}

pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request over a fresh connection.
pub(crate) fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    read_response(s)
}

/// The answer to a request written on `s`, read to its end.
pub(crate) fn read_response(mut s: TcpStream) -> Resp {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut hs = HashMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            hs.entry(k.trim().to_ascii_lowercase())
                .and_modify(|e: &mut String| {
                    e.push('\n');
                    e.push_str(v.trim());
                })
                .or_insert_with(|| v.trim().to_string());
        }
    }
    if hs.get("transfer-encoding").is_some_and(|t| t == "chunked") {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers: hs,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

/// Log in through the API; returns (cookie header, CSRF token).
pub(crate) fn api_login(addr: &str, user: &str) -> (String, String) {
    let body = serde_json::json!({ "username": user, "password": PASSWORD }).to_string();
    let r = http(
        addr,
        "POST",
        "/api/v1/session",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let cookie = r.headers["set-cookie"]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (cookie, r.json()["csrf_token"].as_str().unwrap().to_string())
}

fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = "----fupin-cli-test-4f2a";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (k, name, bytes) in files {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn serve_reads_a_toml_config_and_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("fupin.db").display());
    let config = tmp.path().join("fupin.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{db}\"\naddr = \"127.0.0.1:0\"\nsecure_cookies = false\nregion = \"western\"\n"
        ),
    )
    .unwrap();
    let o = fupin(&["migrate", "--db", &db]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    add_user(&db, "admin", &["--role", "hq_admin"]);
    let server = serve(
        &["--config", config.to_str().unwrap()],
        &[("FUPIN_SECURE_COOKIES", "true")],
    );
    let r = http(&server.addr, "GET", "/login", &[], b"");
    assert_eq!(r.status, 200);
    let body = serde_json::json!({ "username": "admin", "password": PASSWORD }).to_string();
    let r = http(
        &server.addr,
        "POST",
        "/api/v1/session",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200);
    let cookie = &r.headers["set-cookie"];
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "the environment wins: {cookie}"
    );
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "port = 1\n").unwrap();
    let o = fupin(&["serve", "--config", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("配置文件"), "{}", text(&o.stderr));
}

/// Sessions and jobs live in the database: a session made on one process works on the
/// other, and an import through one shows on the other.
#[test]
fn two_servers_on_one_postgres_share_sessions_and_imports() {
    let Some(pg) = fupin_test_support::BlockingPg::create("fupin (two servers)", "fupin_cli_test")
    else {
        return;
    };
    let db = pg.url.clone();
    let outcome = std::panic::catch_unwind(|| {
        let o = fupin(&["migrate", "--db", &db]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        add_user(&db, "admin", &["--role", "hq_admin"]);
        // One upload folder for both, as on one machine (not the user's home).
        let uploads = tempfile::tempdir().unwrap();
        let folder = uploads.path().join("uploads");
        let env = [("FUPIN_UPLOAD_DIR", folder.to_str().unwrap())];
        let a = serve(&["--db", &db, "--addr", "127.0.0.1:0"], &env);
        let b = serve(&["--db", &db, "--addr", "127.0.0.1:0"], &env);
        assert_ne!(a.addr, b.addr);

        // A session made on A works on B; ended on B, it is gone on A.
        let (cookie, csrf) = api_login(&a.addr, "admin");
        let me = http(&b.addr, "GET", "/api/v1/me", &[("Cookie", &cookie)], b"");
        assert_eq!(me.status, 200);
        assert_eq!(me.json()["csrf_token"], csrf.as_str());
        assert!(http(&b.addr, "GET", "/", &[("Cookie", &cookie)], b"").status == 200);

        // An import through A shows on B: its job's progress and the new figures.
        let before = http(
            &b.addr,
            "GET",
            "/api/v1/summary",
            &[("Cookie", &cookie)],
            b"",
        )
        .json();
        assert!(before["area"].is_null());
        let (ct, body) = multipart(
            &[("year", "2018"), ("line", "3535")],
            &[
                (
                    "members",
                    "members-clean.csv",
                    golden_without_errors().into_bytes(),
                ),
                (
                    "villages",
                    "villages.csv",
                    std::fs::read(golden("villages.csv")).unwrap(),
                ),
            ],
        );
        let r = http(
            &a.addr,
            "POST",
            "/api/v1/imports",
            &[
                ("Cookie", &cookie),
                ("Content-Type", &ct),
                ("X-CSRF-Token", &csrf),
            ],
            &body,
        );
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        let job = r.json()["job"].as_i64().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let done = loop {
            let j = http(
                &b.addr,
                "GET",
                &format!("/api/v1/jobs/{job}"),
                &[("Cookie", &cookie)],
                b"",
            )
            .json();
            if j["state"] == "done" || j["state"] == "failed" {
                break j;
            }
            assert!(Instant::now() < deadline, "job {job} did not finish: {j}");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(done["result"]["outcome"], "imported", "{done}");
        let page = http(
            &b.addr,
            "GET",
            &format!("/import/jobs/{job}"),
            &[("Cookie", &cookie)],
            b"",
        );
        assert!(String::from_utf8_lossy(&page.body).contains("导入成功"));
        let after = http(
            &b.addr,
            "GET",
            "/api/v1/summary",
            &[("Cookie", &cookie)],
            b"",
        )
        .json();
        assert_eq!(after["version"]["id"], done["result"]["version"]);
        assert_eq!(after["version"]["imported_by"], "admin");
        assert!(after["area"]["households"].as_u64().unwrap() > 0);

        // Logout on B ends the session on A too.
        let r = http(
            &b.addr,
            "POST",
            "/api/v1/logout",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            b"",
        );
        assert_eq!(r.status, 204);
        assert_eq!(
            http(&a.addr, "GET", "/api/v1/me", &[("Cookie", &cookie)], b"").status,
            401
        );
        drop((a, b));
    });
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

fn get(addr: &str, path: &str, cookie: &str) -> Resp {
    http(addr, "GET", path, &[("Cookie", cookie)], b"")
}

fn body(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// What a user clicks through on a served register answers, over a real socket: the
/// dashboard, a township, a village, a household, search by name, ID number and
/// household number, the problems, and the API's summaries.
#[test]
fn a_served_register_answers_every_page_a_user_clicks() {
    let addr = &shared().addr;
    let (cookie, _) = api_login(addr, "admin");
    let page = |path: &str| {
        let r = get(addr, path, &cookie);
        assert_eq!(r.status, 200, "{path}: {}", body(&r));
        body(&r)
    };
    assert!(page("/").contains("示例一乡"));
    assert!(page(&format!("/townships/{}", enc("示例一乡"))).contains("示例一乡甲村"));
    let village = format!(
        "/townships/{}/villages/{}",
        enc("示例一乡"),
        enc("示例一乡甲村")
    );
    page(&village);
    let list = get(addr, &format!("/api/v1{village}/households"), &cookie).json();
    let first = &list["items"][0];
    let no = first["household_no"].as_str().unwrap().to_string();
    assert!(page(&format!("/households/{no}")).contains(&no));
    let detail = get(addr, &format!("/api/v1/households/{no}"), &cookie).json();
    let head = &detail["members"][0];
    let (name, id) = (
        head["name"].as_str().unwrap().to_string(),
        head["id_number"].as_str().unwrap().to_string(),
    );
    for (q, kind) in [(&name, "name"), (&id, "id_number"), (&no, "household_no")] {
        let found = get(addr, &format!("/api/v1/search?q={}", enc(q)), &cookie).json();
        assert_eq!(found["kind"], kind, "{q}: {found}");
        assert!(
            found["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["household"]["household_no"] == no.as_str()),
            "{q}: {found}"
        );
        assert!(page(&format!("/search?q={}", enc(q))).contains(&no), "{q}");
    }
    page("/problems");
    page("/versions");
    let summary = get(addr, "/api/v1/summary", &cookie).json();
    assert!(
        summary["area"]["households"].as_u64().unwrap() > 0,
        "{summary}"
    );
    let township = get(
        addr,
        &format!("/api/v1/townships/{}", enc("示例一乡")),
        &cookie,
    )
    .json();
    assert_eq!(township["township"], "示例一乡", "{township}");
    assert!(township["households"].as_u64().unwrap() > 0, "{township}");
}

/// A township account on the same server reads its township, and the other township is
/// "not found", page and API alike.
#[test]
fn a_served_township_account_reads_only_its_township() {
    let addr = &shared().addr;
    let (cookie, _) = api_login(addr, "township");
    assert_eq!(
        get(addr, &format!("/townships/{}", enc("示例一乡")), &cookie).status,
        200
    );
    for path in [
        format!("/townships/{}", enc("示例二镇")),
        format!("/api/v1/townships/{}", enc("示例二镇")),
    ] {
        assert_eq!(get(addr, &path, &cookie).status, 404, "{path}");
    }
    assert_eq!(get(addr, "/admin/users", &cookie).status, 403);
}

/// Scheduled escalation (issue 5) with two `fupin serve` processes on one PostgreSQL:
/// both escalate at start (the first tick) and every minute; every overdue item of a
/// plan task (the demo plan's deadlines are in 2018) is escalated to its leader exactly
/// once between them, by the system.
#[test]
fn two_servers_on_one_postgres_escalate_each_overdue_item_once() {
    let Some(pg) = fupin_test_support::BlockingPg::create("fupin (escalation)", "fupin_cli_test")
    else {
        return;
    };
    let (rt, db) = (&pg.rt, pg.url.clone());
    let tmp = tempfile::tempdir().unwrap();
    let outcome = std::panic::catch_unwind(|| {
        let o = fupin(&["migrate", "--db", &db]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        add_user(&db, "admin", &["--role", "hq_admin"]);
        import_clean_golden(&db, tmp.path(), "admin");
        let plan = tmp.path().join("plan.csv").display().to_string();
        assert!(fupin(&["plan", "demo", "--out", &plan]).status.success());
        let o = fupin(&[
            "plan", "import", &plan, "--year", "2018", "--db", &db, "--user", "admin",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));

        let count = |sql: &str| -> i64 {
            rt.block_on(async {
                let store = fupin_store::Store::connect_with(&db, 1).await.unwrap();
                let fupin_store::Store::Postgres(pool) = &store else {
                    unreachable!()
                };
                let n: i64 = fupin_store::sqlx::query_scalar(sql)
                    .fetch_one(pool)
                    .await
                    .unwrap();
                store.close().await;
                n
            })
        };
        let due = count(
            "SELECT COUNT(*) FROM work_items WHERE task_no IS NOT NULL \
             AND state IN ('todo', 'in_progress') AND deadline < CURRENT_DATE",
        );
        assert!(due > 0, "the demo plan's 2018 deadlines have passed");
        let args = [
            "--db",
            &db,
            "--addr",
            "127.0.0.1:0",
            "--escalate-minutes",
            "1",
        ];
        let folder = tmp.path().join("uploads");
        let env = [("FUPIN_UPLOAD_DIR", folder.to_str().unwrap())];
        let a = serve(&args, &env);
        let b = serve(&args, &env);
        let escalated = "SELECT COUNT(*) FROM work_items WHERE escalated_at IS NOT NULL";
        let start = Instant::now();
        while count(escalated) < due {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "escalated {} of {due}",
                count(escalated)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // Give the slower process its first tick too.
        std::thread::sleep(Duration::from_secs(2));
        drop((a, b));
        assert_eq!(count(escalated), due);
        assert_eq!(
            count("SELECT COUNT(*) FROM work_events WHERE action = 'escalate' AND user_id IS NULL"),
            due,
            "one escalation per item"
        );
        assert_eq!(
            count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'work_item_escalate' \
                 AND user_id IS NULL"
            ),
            due
        );
    });
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

// ---------------------------------------------------------------------------------------
// Servers that stop mid-import (issue 20).

/// A `fupin serve` process run directly (not under the watchdog), so that a test can
/// `kill -9` it; killed when dropped.
struct Killable {
    child: Child,
    addr: String,
}

impl Drop for Killable {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_killable(args: &[&str], env: &[(&str, &str)]) -> Killable {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fupin"));
    cmd.arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut server = Killable {
        child: cmd.spawn().unwrap(),
        addr: String::new(),
    };
    let mut out = BufReader::new(server.child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("fupin serve did not start");
        }
        if let Some(i) = line.find("http://") {
            let rest = &line[i + 7..];
            server.addr = rest[..rest.find('/').unwrap()].to_string();
            std::thread::spawn(move || {
                let mut sink = String::new();
                let _ = out.read_to_string(&mut sink);
            });
            return server;
        }
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// What the job page and the API say of an import whose server stopped.
const INTERRUPTED: &str = "导入中断：处理它的服务器已停止，文件未写入任何数据，请重新上传";

/// A server killed (`kill -9`) while it imports a register: the upload waited in a
/// private folder beside the database (0700, its files 0600); the restarted server marks
/// the job failed once its lease has passed, with a message the user understands on the
/// page and in the API; no version was added, and the upload folder is emptied.
#[cfg(unix)]
#[test]
fn a_server_killed_mid_import_fails_the_job_after_restart_and_leaves_no_upload() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("fupin.db").display());
    let o = fupin(&["migrate", "--db", &db]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    add_user(&db, "admin", &["--role", "hq_admin"]);
    let register = tmp.path().join("register");
    let o = fupin(&[
        "gen",
        "--households",
        "30000",
        "--error-rate",
        "0",
        "--out",
        register.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lease = [("FUPIN_JOB_LEASE_SECONDS", "2")];
    let args = ["--db", &db, "--addr", "127.0.0.1:0"];
    let server = serve_killable(&args, &lease);
    let uploads = tmp.path().join("fupin-uploads");
    assert_eq!(mode(&uploads), 0o700);

    let (cookie, csrf) = api_login(&server.addr, "admin");
    let (ct, body) = multipart(
        &[("year", "2018"), ("line", "3535")],
        &[
            (
                "members",
                "members.csv",
                std::fs::read(register.join("members.csv")).unwrap(),
            ),
            (
                "villages",
                "villages.csv",
                std::fs::read(register.join("villages.csv")).unwrap(),
            ),
        ],
    );
    let r = http(
        &server.addr,
        "POST",
        "/api/v1/imports",
        &[
            ("Cookie", &cookie),
            ("Content-Type", &ct),
            ("X-CSRF-Token", &csrf),
        ],
        &body,
    );
    assert_eq!(r.status, 202, "{}", body_text(&r));
    let job = r.json()["job"].as_i64().unwrap();
    let url = format!("/api/v1/jobs/{job}");

    // While it runs: one private folder for the upload, its files readable by fupin only.
    let waiting: Vec<_> = std::fs::read_dir(&uploads)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(mode(&waiting[0]), 0o700);
    let files: Vec<_> = std::fs::read_dir(&waiting[0])
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    let running = get(&server.addr, &url, &cookie).json();
    assert_eq!(running["state"], "running", "{running}");

    // kill -9 mid-import, and start again.
    drop(server);
    let server = serve_killable(&args, &lease);
    let (cookie, _) = api_login(&server.addr, "admin");
    let deadline = Instant::now() + Duration::from_secs(60);
    let failed = loop {
        let j = get(&server.addr, &url, &cookie).json();
        if j["state"] != "running" {
            break j;
        }
        assert!(Instant::now() < deadline, "still running: {j}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["error"], INTERRUPTED, "{failed}");
    let page = body_text(&get(&server.addr, &format!("/import/jobs/{job}"), &cookie));
    assert!(page.contains(INTERRUPTED), "{page}");
    assert!(page.contains(r#"data-state="failed""#), "{page}");
    assert!(!page.contains("http-equiv=\"refresh\""), "{page}");
    let versions = get(&server.addr, "/api/v1/versions", &cookie).json();
    assert_eq!(versions, serde_json::json!([]), "no version was added");
    // The killed server's upload is removed once no process has touched it for two
    // leases.
    while std::fs::read_dir(&uploads).unwrap().next().is_some() {
        assert!(Instant::now() < deadline, "the upload was left behind");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn body_text(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A staging table a killed import left on PostgreSQL (created here as the import
/// creates it, never attached) is dropped when a server starts, before it answers; a
/// version's partitions are not. Uploads go to the configured folder, made private.
#[test]
fn a_server_start_drops_the_staging_tables_of_killed_imports() {
    let Some(pg) = fupin_test_support::BlockingPg::create("fupin (staging)", "fupin_cli_test")
    else {
        return;
    };
    let (rt, db) = (&pg.rt, pg.url.clone());
    let tmp = tempfile::tempdir().unwrap();
    let outcome = std::panic::catch_unwind(|| {
        let o = fupin(&["migrate", "--db", &db]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        add_user(&db, "admin", &["--role", "hq_admin"]);
        import_clean_golden(&db, tmp.path(), "admin");
        let sql = |statement: &str| -> Vec<String> {
            rt.block_on(async {
                let store = fupin_store::Store::connect_with(&db, 1).await.unwrap();
                let fupin_store::Store::Postgres(pool) = &store else {
                    unreachable!()
                };
                let rows: Vec<String> = fupin_store::sqlx::query_scalar(statement)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                store.close().await;
                rows
            })
        };
        // As `stage` in crates/store/src/import.rs creates it.
        rt.block_on(async {
            let store = fupin_store::Store::connect_with(&db, 1).await.unwrap();
            let fupin_store::Store::Postgres(pool) = &store else {
                unreachable!()
            };
            fupin_store::sqlx::query(
                "CREATE TABLE households_v77 (LIKE households INCLUDING DEFAULTS \
                 INCLUDING CONSTRAINTS, CHECK (version_id = 77))",
            )
            .execute(pool)
            .await
            .unwrap();
            store.close().await;
        });
        let tables = "SELECT relname::text FROM pg_class WHERE relkind = 'r' \
                      AND relname ~ '^households_v[0-9]+$' ORDER BY 1";
        assert_eq!(sql(tables), ["households_v1", "households_v77"]);
        let uploads = tmp.path().join("uploads");
        let server = serve(
            &["--db", &db, "--addr", "127.0.0.1:0"],
            &[("FUPIN_UPLOAD_DIR", uploads.to_str().unwrap())],
        );
        assert_eq!(sql(tables), ["households_v1"]);
        #[cfg(unix)]
        assert_eq!(mode(&uploads), 0o700);
        drop(server);
    });
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

/// An upload folder others can read (such as the system's temp folder) is refused at
/// start, never changed.
#[cfg(unix)]
#[test]
fn serve_refuses_an_upload_folder_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("fupin.db").display());
    let open = tmp.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_fupin"))
        .args(["serve", "--db", &db, "--addr", "127.0.0.1:0"])
        .env("FUPIN_UPLOAD_DIR", &open)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("其他用户可以读取"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(mode(&open), 0o755);
}

/// `fupin verify` (issue 20, item 3): a clean database verifies with exit 0 and the count
/// of each chain; an audit row rewritten past the triggers is named, exit 1.
#[test]
fn verify_reports_a_whole_chain_and_the_first_broken_link() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("fupin.db").display());
    let o = fupin(&["migrate", "--db", &db]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    add_user(&db, "admin", &["--role", "hq_admin"]);
    add_user(&db, "leader", &["--role", "county_leader"]);
    let o = fupin(&["verify", "--db", &db]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("链完整：fund_entries 0 条，audit_log 2 条"),
        "{}",
        text(&o.stdout)
    );
    // --runtime-role is for PostgreSQL.
    let o = fupin(&["migrate", "--db", &db, "--runtime-role", "fupin_app"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("只用于 PostgreSQL"),
        "{}",
        text(&o.stderr)
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use fupin_store::sqlx;
        let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
        sqlx::raw_sql(
            "DROP TRIGGER audit_log_no_update; \
             UPDATE audit_log SET entity_id = '99' WHERE id = 2",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    });
    let o = fupin(&["verify", "--db", &db]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    assert!(
        err.contains("链断开：audit_log id 2：内容与哈希不符"),
        "{err}"
    );
}

/// The deployment of README "Deployment roles" on PostgreSQL: the migration role migrates
/// and grants a runtime role; as that role, accounts are added, a register imported and
/// the server run (a login, pages read), and `fupin verify` finds both chains whole.
#[test]
fn a_server_runs_as_a_runtime_role_that_owns_nothing_it_must_not_change() {
    let Some(pg) = fupin_test_support::BlockingPg::create("fupin (roles)", "fupin_cli_test") else {
        return;
    };
    use fupin_store::sqlx;
    let name = pg.url.rsplit('/').next().unwrap().to_string();
    let suffix = name.rsplit('_').next().unwrap().to_lowercase();
    let (owner, app) = (
        format!("fupin_owner_{suffix}"),
        format!("fupin_app_{suffix}"),
    );
    let admin_sql = |url: &str, sql: &str| {
        pg.rt.block_on(async {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        });
    };
    let server_admin = pg.url.replacen(&format!("/{name}"), "/postgres", 1);
    admin_sql(
        &server_admin,
        &format!(
            "CREATE ROLE {owner} LOGIN; CREATE ROLE {app} LOGIN; GRANT {app} TO {owner}; \
             ALTER DATABASE {name} OWNER TO {owner};"
        ),
    );
    admin_sql(&pg.url, &format!("ALTER SCHEMA public OWNER TO {owner}"));
    let as_role = |role: &str| pg.url.replacen("://postgres@", &format!("://{role}@"), 1);
    let (owner_db, app_db) = (as_role(&owner), as_role(&app));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // The runtime role cannot migrate a fresh database…
        let o = fupin(&["migrate", "--db", &app_db]);
        assert!(!o.status.success(), "{}", text(&o.stdout));
        // … the migration role does, and grants it.
        let o = fupin(&["migrate", "--db", &owner_db, "--runtime-role", &app]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(text(&o.stdout).contains(&format!("已授权运行角色 {app}")));
        add_user(&app_db, "admin", &["--role", "hq_admin"]);
        let clean = tempfile::tempdir().unwrap();
        import_clean_golden(&app_db, clean.path(), "admin");
        let server = serve(&["--db", &app_db, "--addr", "127.0.0.1:0"], &[]);
        let (cookie, _) = api_login(&server.addr, "admin");
        assert_eq!(get(&server.addr, "/", &cookie).status, 200);
        assert_eq!(get(&server.addr, "/admin/audit", &cookie).status, 200);
        drop(server);
        let o = fupin(&["verify", "--db", &app_db]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(text(&o.stdout).contains("链完整：fund_entries 0 条"));
        // As the runtime role the log cannot be rewritten, nor its triggers turned off.
        pg.rt.block_on(async {
            let pool = sqlx::PgPool::connect(&app_db).await.unwrap();
            for sql in [
                "UPDATE audit_log SET action = 'x'",
                "ALTER TABLE audit_log DISABLE TRIGGER USER",
                "SET session_replication_role = replica",
            ] {
                let err = sqlx::raw_sql(sql).execute(&pool).await.unwrap_err();
                let err = err.to_string();
                assert!(
                    err.contains("permission denied") || err.contains("must be owner"),
                    "{sql}: {err}"
                );
            }
            pool.close().await;
        });
    }));
    // The database goes before its roles (the runtime role owns register tables in it).
    let rt_url = server_admin.clone();
    drop(pg);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&rt_url).await.unwrap();
        sqlx::raw_sql(&format!(
            "DROP ROLE IF EXISTS {app}; DROP ROLE IF EXISTS {owner};"
        ))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    });
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}
