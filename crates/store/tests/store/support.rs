//! Running each contract test on a fresh database of each backend: SQLite in a temp file,
//! PostgreSQL (when FUPIN_TEST_PG holds an admin URL) in a database made for the test and
//! dropped afterwards, pass or fail.

use fupin_domain::standards::PovertyLine;
use fupin_domain::Fen;
use fupin_io::villages::{read_villages, Villages};
use fupin_io::{read_members, ReadOptions, Register};
use fupin_store::sqlx::{self, Connection, Executor};
use fupin_store::{RegisterMeta, Store, UserId};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Run a contract test on a fresh SQLite file.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fupin.db").display());
    let store = Store::connect_with(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(test(store.clone())).await;
    store.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Run a contract test on a fresh PostgreSQL database, or say (past the test harness's
/// capture, once) that the PostgreSQL half is skipped.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(admin) = std::env::var("FUPIN_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** fupin-store: PostgreSQL half of the contract suite SKIPPED: \
                 FUPIN_TEST_PG is not set (export FUPIN_TEST_PG=\"$(scripts/pg)\") ***\n"
            );
        });
        return;
    };
    let name = format!("fupin_test_{}", random_suffix());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let store = Store::connect_with(&with_database(&admin, &name), 4)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(test(store.clone())).await;
    store.close().await;
    conn.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
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
fn with_database(url: &str, name: &str) -> String {
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

/// The contract suite: each test once on SQLite and once on PostgreSQL.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::on_sqlite($crate::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::on_postgres($crate::$name).await
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------
// Registers.

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/fixtures/golden")
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

pub fn meta(file_name: &str, by: Option<UserId>) -> RegisterMeta {
    RegisterMeta {
        file_name: file_name.into(),
        sha256: "ab".repeat(32),
        year: 2018,
        line: line_3535(),
        imported_by: by,
    }
}

/// A generated register of `households` households (year 2018; names not kept) and its
/// villages file.
pub fn generated(households: u64, seed: u64) -> (Register, Villages) {
    let dir = tempfile::tempdir().unwrap();
    let opts = fupin_gen::GenOptions {
        households,
        seed,
        ..fupin_gen::GenOptions::default()
    };
    let s = fupin_gen::generate(&opts, dir.path()).unwrap();
    let register = read_members(&s.members_path, &ReadOptions::new(2018)).unwrap();
    let villages = read_villages(&s.villages_path, None, None).unwrap();
    (register, villages)
}

/// A CSV file of the golden fixture as records of named fields.
pub fn golden_csv(name: &str) -> Vec<std::collections::HashMap<String, String>> {
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

/// Run SQL on the store's own pool (for what the store has no method for, on purpose).
pub async fn execute(store: &Store, sql: &str) -> Result<u64, sqlx::Error> {
    Ok(match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
    })
}
