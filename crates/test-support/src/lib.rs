//! For fupin's tests only (a dev-dependency): each test gets a fresh database — SQLite in
//! a temp file, or PostgreSQL in a database made for it and dropped afterwards, pass or
//! fail, when FUPIN_TEST_PG holds an admin URL (`export FUPIN_TEST_PG="$(scripts/pg)"`) —
//! and the golden register the suites check against. The store's contract suite and the
//! web suite run the same test body on both backends through [`on_sqlite`] and
//! [`on_postgres`]; the command-line tests make databases with [`FreshPg`].

pub mod hostile;

use fupin_domain::standards::PovertyLine;
use fupin_domain::Fen;
use fupin_io::villages::{read_villages, Villages};
use fupin_io::{read_members, ReadOptions, Register};
use fupin_store::sqlx::{self, Connection, Executor};
use fupin_store::Store;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Connections per test store: enough for the tests that race takers.
const POOL: u32 = 4;

/// Run `test` on a fresh, migrated SQLite file; `wrap` makes what the test takes (the
/// store itself, or an app around it). The store is closed and the file removed after.
pub async fn on_sqlite<T, F, Fut>(wrap: impl FnOnce(Store) -> T, test: F)
where
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fupin.db").display());
    let store = Store::connect_with(&url, POOL).await.unwrap();
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(test(wrap(store.clone()))).await;
    store.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Run `test` on a fresh, migrated PostgreSQL database, dropped after, pass or fail; or
/// say once (past the harness's capture) that `suite`'s PostgreSQL half is skipped.
pub async fn on_postgres<T, F, Fut>(suite: &str, wrap: impl FnOnce(Store) -> T, test: F)
where
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(admin) = pg_admin_url(suite) else {
        return;
    };
    let db = FreshPg::create(&admin, "fupin_test").await;
    let store = Store::connect_with(&db.url, POOL).await.unwrap();
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(test(wrap(store.clone()))).await;
    store.close().await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The admin URL in FUPIN_TEST_PG, or None after saying once that `suite`'s PostgreSQL
/// tests are skipped.
pub fn pg_admin_url(suite: &str) -> Option<String> {
    let url = std::env::var("FUPIN_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** {suite}: PostgreSQL half SKIPPED: FUPIN_TEST_PG is not set \
                 (export FUPIN_TEST_PG=\"$(scripts/pg)\") ***\n"
            );
        });
    }
    url
}

/// A PostgreSQL database made for one test (not migrated).
pub struct FreshPg {
    admin: String,
    pub name: String,
    /// Its URL: the admin URL with this database.
    pub url: String,
}

impl FreshPg {
    /// Create a database named `prefix_` and a random suffix.
    pub async fn create(admin: &str, prefix: &str) -> FreshPg {
        let name = format!("{prefix}_{}", random_suffix());
        admin_sql(admin, &format!("CREATE DATABASE {name}")).await;
        FreshPg {
            url: with_database(admin, &name),
            admin: admin.to_string(),
            name,
        }
    }

    /// Drop it, ending any connection still open to it.
    pub async fn drop_database(self) {
        admin_sql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await;
    }
}

/// For a synchronous test (one that runs `fupin` processes): a fresh PostgreSQL database
/// and a runtime to reach it; the database is dropped when this goes, pass or fail.
pub struct BlockingPg {
    pub rt: tokio::runtime::Runtime,
    pub url: String,
    db: Option<FreshPg>,
}

impl BlockingPg {
    /// None, after saying so once, when FUPIN_TEST_PG is not set.
    pub fn create(suite: &str, prefix: &str) -> Option<BlockingPg> {
        let admin = pg_admin_url(suite)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let db = rt.block_on(FreshPg::create(&admin, prefix));
        Some(BlockingPg {
            url: db.url.clone(),
            db: Some(db),
            rt,
        })
    }
}

impl Drop for BlockingPg {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            self.rt.block_on(db.drop_database());
        }
    }
}

async fn admin_sql(admin: &str, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    conn.execute(sql).await.unwrap();
    conn.close().await.unwrap();
}

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// The admin URL with another database: postgres://u@h:p/postgres?x → …/name?x.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    format!("{}/{name}{query}", &base[..host_end])
}

// ---------------------------------------------------------------------------------------
// The golden register (crates/cli/tests/fixtures/golden).

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/fixtures/golden")
}

pub fn golden_bytes(name: &str) -> Vec<u8> {
    std::fs::read(golden_dir().join(name)).unwrap()
}

/// The golden register (year 2018, names and relations kept) and its villages file.
pub fn golden() -> (Register, Villages) {
    let dir = golden_dir();
    let opts = ReadOptions {
        member_texts: true,
        ..ReadOptions::new(2018)
    };
    let register = read_members(&dir.join("members.csv"), &opts).unwrap();
    let villages = read_villages(&dir.join("villages.csv"), None, None).unwrap();
    (register, villages)
}

/// The golden fixture's line: 3,535 yuan in 2018 (a provincial working line).
pub fn line_3535() -> PovertyLine {
    PovertyLine {
        year: 2018,
        place: Some("140000".into()),
        amount: Fen::from_yuan(3535),
        source: "测试：省定工作标准".into(),
        verified: true,
    }
}

/// A CSV file of the golden fixture as records of named fields.
pub fn golden_csv(name: &str) -> Vec<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(golden_dir().join(name)).unwrap();
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The golden members file without the households that have error-level problems: a
/// file an import accepts (its warnings stay).
pub fn golden_without_errors() -> Vec<u8> {
    let text = String::from_utf8(golden_bytes("members.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let household = |l: &str| l.split(',').next().unwrap().to_string();
    let bad: HashSet<String> = golden_csv("expected_problems.csv")
        .iter()
        .filter(|p| p["code"].starts_with('E'))
        .map(|p| household(lines[p["line"].parse::<usize>().unwrap() - 1]))
        .collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i == 0 || !bad.contains(&household(l)) {
            out.push_str(l);
            out.push('\n');
        }
    }
    out.into_bytes()
}
