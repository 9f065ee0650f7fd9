//! Running each contract test on a fresh database of each backend (the shared
//! `fupin-test-support` makes them), and registers to store.

use fupin_io::villages::{read_villages, Villages};
use fupin_io::{read_members, ReadOptions, Register};
use fupin_store::sqlx;
use fupin_store::{RegisterMeta, Store, UserId};
pub use fupin_test_support::{golden, golden_csv, line_3535};
use std::future::Future;

/// Run a contract test on a fresh SQLite file.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fupin_test_support::on_sqlite(|store| store, test).await
}

/// Run a contract test on a fresh PostgreSQL database, or say once that the PostgreSQL
/// half is skipped.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fupin_test_support::on_postgres("fupin-store", |store| store, test).await
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

/// Run SQL on the store's own pool (for what the store has no method for, on purpose).
pub async fn execute(store: &Store, sql: &str) -> Result<u64, sqlx::Error> {
    Ok(match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
    })
}
