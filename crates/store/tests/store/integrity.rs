//! The append-only ledger and audit log against someone with database rights (issue 20,
//! item 3): REPLACE and upsert refused on both backends (on SQLite by the guard of
//! migration 0014 and, separately, by `recursive_triggers`), the hash chain and
//! `Store::verify_chains` finding a rewrite, a deletion and a cut end, rows stored before
//! the chain chained by the migration, appends from many connections at once keeping one
//! chain, and on PostgreSQL a runtime role that cannot get past the triggers.

use crate::funds::{hq, imported, paid};
use crate::support::*;
use chrono::{TimeZone, Utc};
use fupin_domain::funds::{EntryKind, FundSource};
use fupin_store::sqlx;
use fupin_store::{BrokenLink, NewUser, Role, Store};

contract!(
    replace_and_upsert_cannot_rewrite_the_ledger_or_the_log,
    a_clean_ledger_and_log_verify_and_rewrites_are_found,
    a_cut_end_of_the_log_is_found,
    appends_from_many_connections_at_once_keep_one_chain,
    rows_stored_before_the_chain_are_chained_by_the_migration,
);

/// Two disbursements and the audit rows of the writes around them.
async fn some_entries(store: &Store) -> fupin_store::User {
    let admin = hq(store).await;
    let (solar, _) = imported(store, &admin).await;
    // 5,250.00 and 1,000.00 of the project's 10,000.00 central budget.
    for (amount, day) in [(525_000, 1), (100_000, 2)] {
        store
            .funds()
            .add_fund_entry(
                &admin,
                solar,
                EntryKind::Disbursement,
                &paid(FundSource::Central, amount, 4, day),
                None,
            )
            .await
            .unwrap()
            .unwrap();
    }
    admin
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    match store {
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

async fn raw(store: &Store, sql: &str) -> Result<(), sqlx::Error> {
    match store {
        Store::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
        Store::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
    }
}

async fn assert_clean(store: &Store) {
    let r = store.audit_log().verify_chains().await.unwrap();
    assert_eq!(r.broken, Vec::<BrokenLink>::new());
    assert_eq!(
        r.fund_entries as i64,
        scalar(store, "SELECT COUNT(*) FROM fund_entries").await
    );
    assert_eq!(
        r.audit_log as i64,
        scalar(store, "SELECT COUNT(*) FROM audit_log").await
    );
}

/// The probe's rewrite — `INSERT OR REPLACE … WHERE id = 1` turned entry 1 from
/// 525,000.00 into 0.01 — and its variants (REPLACE, upsert) are refused, and change nothing.
async fn replace_and_upsert_cannot_rewrite_the_ledger_or_the_log(store: Store) {
    some_entries(&store).await;
    let funds = "id, project_id, source, entry_date, amount, kind, voucher, payee, note, \
                 recorded_at, prev_hash, hash";
    let funds_1 = "id, project_id, source, entry_date, 1, kind, voucher, payee, note, \
                   recorded_at, prev_hash, hash";
    let audit = "id, at, action, entity, entity_id, prev_hash, hash";
    let audit_1 = "id, at, 'rewritten', entity, entity_id, prev_hash, hash";
    let statements: Vec<String> = if store.backend() == "sqlite" {
        vec![
            format!("INSERT OR REPLACE INTO fund_entries ({funds}) SELECT {funds_1} FROM fund_entries WHERE id = 1"),
            format!("REPLACE INTO fund_entries ({funds}) SELECT {funds_1} FROM fund_entries WHERE id = 1"),
            format!("INSERT INTO fund_entries ({funds}) SELECT {funds_1} FROM fund_entries WHERE id = 1 \
                     ON CONFLICT (id) DO UPDATE SET amount = 1"),
            format!("INSERT OR REPLACE INTO audit_log ({audit}) SELECT {audit_1} FROM audit_log WHERE id = 1"),
            format!("REPLACE INTO audit_log ({audit}) SELECT {audit_1} FROM audit_log WHERE id = 1"),
            format!("INSERT INTO audit_log ({audit}) SELECT {audit_1} FROM audit_log WHERE id = 1 \
                     ON CONFLICT (id) DO UPDATE SET action = 'rewritten'"),
        ]
    } else {
        vec![
            format!("INSERT INTO fund_entries ({funds}) OVERRIDING SYSTEM VALUE SELECT {funds_1} \
                     FROM fund_entries WHERE id = 1 ON CONFLICT (id) DO UPDATE SET amount = 1"),
            format!("INSERT INTO audit_log ({audit}) OVERRIDING SYSTEM VALUE SELECT {audit_1} \
                     FROM audit_log WHERE id = 1 ON CONFLICT (id) DO UPDATE SET action = 'rewritten'"),
        ]
    };
    for sql in &statements {
        let err = raw(&store, sql).await.unwrap_err().to_string();
        assert!(
            err.contains("append-only") || err.contains("hash-chained"),
            "{sql}: {err}"
        );
    }
    assert_eq!(
        scalar(&store, "SELECT amount FROM fund_entries WHERE id = 1").await,
        525_000
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'rewritten'"
        )
        .await,
        0
    );
    assert_clean(&store).await;
}

/// A clean database verifies; a row rewritten past the triggers (dropped on SQLite,
/// disabled by the owner on PostgreSQL) and a row deleted are each found, with the table,
/// the id and what differs.
async fn a_clean_ledger_and_log_verify_and_rewrites_are_found(store: Store) {
    some_entries(&store).await;
    assert_clean(&store).await;
    let audit_rows = scalar(&store, "SELECT COUNT(*) FROM audit_log").await;
    assert!(audit_rows >= 4, "{audit_rows}");
    let tamper = if store.backend() == "sqlite" {
        "DROP TRIGGER fund_entries_no_update; DROP TRIGGER audit_log_no_delete; \
         UPDATE fund_entries SET amount = 1 WHERE id = 1; DELETE FROM audit_log WHERE id = 2;"
    } else {
        "ALTER TABLE fund_entries DISABLE TRIGGER USER; ALTER TABLE audit_log DISABLE TRIGGER USER; \
         UPDATE fund_entries SET amount = 1 WHERE id = 1; DELETE FROM audit_log WHERE id = 2; \
         ALTER TABLE fund_entries ENABLE TRIGGER USER; ALTER TABLE audit_log ENABLE TRIGGER USER;"
    };
    raw(&store, tamper).await.unwrap();
    let r = store.audit_log().verify_chains().await.unwrap();
    assert_eq!(r.broken.len(), 2, "{:?}", r.broken);
    assert_eq!((r.broken[0].table, r.broken[0].id), ("fund_entries", 1));
    assert!(
        r.broken[0].what.contains("内容与哈希不符"),
        "{}",
        r.broken[0].what
    );
    assert_eq!((r.broken[1].table, r.broken[1].id), ("audit_log", 3));
    assert!(
        r.broken[1].what.contains("prev_hash"),
        "{}",
        r.broken[1].what
    );
    assert!(r.broken[1].what.contains("id 1"), "{}", r.broken[1].what);
    assert_eq!((r.fund_entries, r.audit_log), (0, 1));
}

/// The last rows deleted leave every remaining link whole: the head gives it away, and
/// still does after more writes.
async fn a_cut_end_of_the_log_is_found(store: Store) {
    some_entries(&store).await;
    let last = scalar(&store, "SELECT MAX(id) FROM audit_log").await;
    let tamper = if store.backend() == "sqlite" {
        format!("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = {last};")
    } else {
        format!(
            "ALTER TABLE audit_log DISABLE TRIGGER USER; DELETE FROM audit_log WHERE id = {last}; \
             ALTER TABLE audit_log ENABLE TRIGGER USER;"
        )
    };
    raw(&store, &tamper).await.unwrap();
    let r = store.audit_log().verify_chains().await.unwrap();
    assert_eq!(r.broken.len(), 1, "{:?}", r.broken);
    assert_eq!((r.broken[0].table, r.broken[0].id), ("audit_log", last));
    assert!(r.broken[0].what.contains("末尾"), "{}", r.broken[0].what);
    // Writing on does not hide the cut: the next row links to the head, past the gap.
    store
        .accounts()
        .create_user(
            &NewUser {
                username: "之后".into(),
                password: "乡镇工作-2018".into(),
                role: Role::HqAdmin,
            },
            None,
        )
        .await
        .unwrap();
    let r = store.audit_log().verify_chains().await.unwrap();
    assert_eq!(r.broken.len(), 1, "{:?}", r.broken);
    assert_eq!((r.broken[0].table, r.broken[0].id), ("audit_log", last + 1));
    assert!(
        r.broken[0].what.contains("prev_hash"),
        "{}",
        r.broken[0].what
    );
}

/// Accounts created and entries recorded from many connections at once: every write
/// lands, and the two chains are each one chain (the append is serialised).
async fn appends_from_many_connections_at_once_keep_one_chain(store: Store) {
    let admin = hq(&store).await;
    let (solar, _) = imported(&store, &admin).await;
    let before = scalar(&store, "SELECT COUNT(*) FROM audit_log").await;
    let mut tasks = Vec::new();
    for t in 0..6 {
        let store = store.clone();
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..4 {
                store
                    .accounts()
                    .create_user(
                        &NewUser {
                            username: format!("并发{t}-{i}"),
                            password: "乡镇工作-2018".into(),
                            role: Role::HqAdmin,
                        },
                        Some(admin.id),
                    )
                    .await
                    .unwrap();
                store
                    .funds()
                    .add_fund_entry(
                        &admin,
                        solar,
                        EntryKind::Disbursement,
                        &paid(FundSource::Central, 10, 5, 1 + i),
                        None,
                    )
                    .await
                    .unwrap()
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM fund_entries").await,
        24
    );
    // One create_user and one disburse row per step.
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM audit_log").await,
        before + 48
    );
    assert_clean(&store).await;
}

/// Audit rows stored before migration 0014 (keys in any order, as JSONB reorders them)
/// are chained when the store migrates; a later write follows them, and a rewrite of one
/// of them is found.
async fn rows_stored_before_the_chain_are_chained_by_the_migration(store: Store) {
    // The harness migrated: start again from a database at 0013, on a fresh one.
    let dir = tempfile::tempdir().unwrap();
    let store = match &store {
        Store::Sqlite(_) => {
            let path = dir.path().join("old.db");
            Store::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap()
        }
        Store::Postgres(p) => {
            let opts = p.connect_options();
            let admin = sqlx::PgPool::connect_with((*opts).clone()).await.unwrap();
            let name = format!("fupin_test_legacy_{}", std::process::id());
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin)
                .await;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let pool = sqlx::PgPool::connect_with((*opts).clone().database(&name))
                .await
                .unwrap();
            Store::Postgres(pool)
        }
    };
    store.migrate_through(13).await.unwrap();
    let insert = "INSERT INTO audit_log (at, action, entity, entity_id, before_json, after_json) \
                  VALUES ($1, $2, 'user', $3, NULL, $4)";
    for i in 1..=3 {
        let at = Utc.with_ymd_and_hms(2018, 4, i, 8, 0, 0).unwrap();
        let after = serde_json::json!({"username": format!("旧账号{i}"), "role": "hq_admin", "a": [i, 1.5]});
        match &store {
            Store::Sqlite(p) => {
                sqlx::query(insert)
                    .bind(at)
                    .bind("create_user")
                    .bind(i.to_string())
                    .bind(sqlx::types::Json(&after))
                    .execute(p)
                    .await
                    .unwrap();
            }
            Store::Postgres(p) => {
                sqlx::query(insert)
                    .bind(at)
                    .bind("create_user")
                    .bind(i.to_string())
                    .bind(sqlx::types::Json(&after))
                    .execute(p)
                    .await
                    .unwrap();
            }
        }
    }
    store.migrate().await.unwrap();
    // Again: nothing left to chain, nothing changes.
    store.migrate().await.unwrap();
    let r = store.audit_log().verify_chains().await.unwrap();
    assert_eq!((r.audit_log, r.broken.len()), (3, 0), "{:?}", r.broken);
    store
        .accounts()
        .create_user(
            &NewUser {
                username: "新账号".into(),
                password: "乡镇工作-2018".into(),
                role: Role::HqAdmin,
            },
            None,
        )
        .await
        .unwrap();
    let r = store.audit_log().verify_chains().await.unwrap();
    assert_eq!((r.audit_log, r.broken.len()), (4, 0), "{:?}", r.broken);
    let tamper = if store.backend() == "sqlite" {
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET entity_id = '9' WHERE id = 2;"
    } else {
        "ALTER TABLE audit_log DISABLE TRIGGER USER; UPDATE audit_log SET entity_id = '9' WHERE id = 2; \
         ALTER TABLE audit_log ENABLE TRIGGER USER;"
    };
    raw(&store, tamper).await.unwrap();
    let r = store.audit_log().verify_chains().await.unwrap();
    assert_eq!(r.broken.len(), 1);
    assert_eq!((r.broken[0].table, r.broken[0].id), ("audit_log", 2));
    if let Store::Postgres(p) = &store {
        let name = p.connect_options().get_database().unwrap().to_string();
        let opts = (*p.connect_options()).clone().database("postgres");
        store.close().await;
        let admin = sqlx::PgPool::connect_with(opts).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
    }
    drop(dir);
}

// ---------------------------------------------------------------------------------------
// SQLite: the guard and the pragma, each on its own.

/// The file of an SQLite store.
async fn sqlite_file(store: &Store) -> String {
    let Store::Sqlite(p) = store else {
        unreachable!()
    };
    let rows: Vec<(i64, String, String)> = sqlx::query_as("PRAGMA database_list")
        .fetch_all(p)
        .await
        .unwrap();
    rows.into_iter().find(|r| r.1 == "main").unwrap().2
}

const REPLACE_ENTRY_1: &str = "INSERT OR REPLACE INTO fund_entries (id, project_id, source, \
     entry_date, amount, kind, voucher, payee, note, recorded_at, prev_hash, hash) \
     SELECT id, project_id, source, entry_date, 1, kind, voucher, payee, note, recorded_at, \
     prev_hash, hash FROM fund_entries WHERE id = 1";

/// A connection opened without `recursive_triggers` (as any SQLite tool opens the file):
/// the guards of migration 0014 (the chain's, then the id's alone) still refuse the
/// REPLACE. Without the guard, that
/// connection rewrites entry 1 — the probe's defect — and verify finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_connection_without_the_pragma_is_refused_by_the_guard() {
    on_sqlite(without_the_pragma).await;
}

async fn without_the_pragma(store: Store) {
    {
        some_entries(&store).await;
        let file = sqlite_file(&store).await;
        // sqlx's own defaults: no recursive_triggers.
        let conn = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect(&format!("sqlite://{file}"))
            .await
            .unwrap();
        let pragma: i64 = sqlx::query_scalar("PRAGMA recursive_triggers")
            .fetch_one(&conn)
            .await
            .unwrap();
        assert_eq!(pragma, 0);
        let err = sqlx::query(REPLACE_ENTRY_1)
            .execute(&conn)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("hash-chained"), "{err}");
        // Each guard holds on its own: the id guard without the chain's.
        sqlx::raw_sql("DROP TRIGGER fund_entries_chain")
            .execute(&conn)
            .await
            .unwrap();
        let err = sqlx::query(REPLACE_ENTRY_1)
            .execute(&conn)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cannot be written over"), "{err}");
        assert_eq!(
            scalar(&store, "SELECT amount FROM fund_entries WHERE id = 1").await,
            525_000
        );
        sqlx::raw_sql("DROP TRIGGER fund_entries_no_replace")
            .execute(&conn)
            .await
            .unwrap();
        sqlx::query(REPLACE_ENTRY_1).execute(&conn).await.unwrap();
        conn.close().await;
        assert_eq!(
            scalar(&store, "SELECT amount FROM fund_entries WHERE id = 1").await,
            1
        );
        let r = store.audit_log().verify_chains().await.unwrap();
        assert_eq!(
            (r.broken[0].table, r.broken[0].id),
            ("fund_entries", 1),
            "{:?}",
            r.broken
        );
    }
}

/// The store's own connections have `recursive_triggers` on: with the guards of 0014
/// gone, the REPLACE's delete fires the append-only DELETE trigger of 0009.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_pragma_makes_replace_fire_the_delete_trigger() {
    on_sqlite(with_the_pragma).await;
}

async fn with_the_pragma(store: Store) {
    {
        some_entries(&store).await;
        assert_eq!(scalar(&store, "PRAGMA recursive_triggers").await, 1);
        for sql in [
            "DROP TRIGGER fund_entries_no_replace",
            "DROP TRIGGER fund_entries_chain",
            "DROP TRIGGER audit_log_no_replace",
            "DROP TRIGGER audit_log_chain",
        ] {
            raw(&store, sql).await.unwrap();
        }
        let err = raw(&store, REPLACE_ENTRY_1).await.unwrap_err().to_string();
        assert!(err.contains("correct an entry with a reversal"), "{err}");
        let err = raw(
            &store,
            "INSERT OR REPLACE INTO audit_log (id, at, action, entity, entity_id) \
             SELECT id, at, 'rewritten', entity, entity_id FROM audit_log WHERE id = 1",
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("audit_log is append-only"), "{err}");
        assert_eq!(
            scalar(&store, "SELECT amount FROM fund_entries WHERE id = 1").await,
            525_000
        );
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: a migration role that owns the schema, a runtime role that owns nothing it
// must not change.

/// Run `sql` as the cluster's admin on database `db` (or the admin's own).
async fn as_admin(admin: &str, db: Option<&str>, sql: &str) {
    let url = match db {
        Some(db) => fupin_test_support::with_database(admin, db),
        None => admin.to_string(),
    };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

/// The story of a deployment: the migration role migrates and grants; the store then runs
/// as the runtime role — it starts (migrate is a no-op), imports a register (staging
/// tables attached as partitions), records a project library, a disbursement and a
/// disbursement file, creates an account — and the chains verify. As that role, the
/// ledger and the log cannot be updated, deleted, truncated, have their triggers disabled,
/// or be switched off with session_replication_role; nor can the chain heads be moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_runtime_role_runs_the_store_and_cannot_get_past_the_triggers() {
    let Some(admin) = fupin_test_support::pg_admin_url("fupin-store") else {
        return;
    };
    let db = fupin_test_support::FreshPg::create(&admin, "fupin_test").await;
    let suffix = db.name.rsplit('_').next().unwrap().to_lowercase();
    let (owner, app) = (
        format!("fupin_owner_{suffix}"),
        format!("fupin_app_{suffix}"),
    );
    as_admin(
        &admin,
        None,
        &format!(
            "CREATE ROLE {owner} LOGIN; CREATE ROLE {app} LOGIN; GRANT {app} TO {owner}; \
             ALTER DATABASE {} OWNER TO {owner};",
            db.name
        ),
    )
    .await;
    as_admin(
        &admin,
        Some(&db.name),
        &format!("ALTER SCHEMA public OWNER TO {owner}"),
    )
    .await;
    let url_as = |role: &str| db.url.replacen("://postgres@", &format!("://{role}@"), 1);

    let outcome =
        tokio::spawn({
            let (owner_url, app_url, app) = (url_as(&owner), url_as(&app), app.clone());
            async move {
                let migrator = Store::connect(&owner_url).await.unwrap();
                migrator.migrate().await.unwrap();
                // Refused: a name that is not a plain identifier, a role that does not exist,
                // the owner itself.
                for bad in [
                    "fupin app",
                    "nobody_here_x",
                    owner_url
                        .split("://")
                        .nth(1)
                        .unwrap()
                        .split('@')
                        .next()
                        .unwrap(),
                ] {
                    let err = migrator
                        .grant_runtime_role(bad)
                        .await
                        .unwrap_err()
                        .to_string();
                    assert!(
                        err.contains("角色") || err.contains("所有者"),
                        "{bad}: {err}"
                    );
                }
                migrator.grant_runtime_role(&app).await.unwrap();
                // Again (after an upgrade): harmless.
                migrator.grant_runtime_role(&app).await.unwrap();

                let store = Store::connect(&app_url).await.unwrap();
                store.migrate().await.unwrap();
                let admin_user = hq(&store).await;
                let (register, villages) = golden();
                store
                    .import()
                    .import_register(
                        &register,
                        &meta("members.csv", Some(admin_user.id)),
                        Some(&villages),
                    )
                    .await
                    .unwrap();
                // A second version: the first one's partitions stay, the new ones attach.
                store
                    .import()
                    .import_register(
                        &register,
                        &meta("members.csv", Some(admin_user.id)),
                        Some(&villages),
                    )
                    .await
                    .unwrap();
                let (solar, _) = imported(&store, &admin_user).await;
                store
                    .funds()
                    .add_fund_entry(
                        &admin_user,
                        solar,
                        EntryKind::Disbursement,
                        &paid(FundSource::Central, 525_000, 4, 1),
                        None,
                    )
                    .await
                    .unwrap()
                    .unwrap();
                let report = store.audit_log().verify_chains().await.unwrap();
                assert_eq!(report.broken, Vec::<BrokenLink>::new());
                assert_eq!(report.fund_entries, 1);
                assert!(report.audit_log >= 6, "{report:?}");

                let Store::Postgres(pool) = &store else {
                    unreachable!()
                };
                for sql in [
                "UPDATE fund_entries SET amount = 1 WHERE id = 1",
                "DELETE FROM fund_entries WHERE id = 1",
                "TRUNCATE fund_entries",
                "ALTER TABLE fund_entries DISABLE TRIGGER USER",
                "ALTER TABLE fund_entries DISABLE TRIGGER fund_entries_no_change",
                "UPDATE audit_log SET action = 'x' WHERE id = 1",
                "DELETE FROM audit_log WHERE id = 1",
                "TRUNCATE audit_log",
                "ALTER TABLE audit_log DISABLE TRIGGER USER",
                "UPDATE chain_heads SET last_id = 0",
                "DELETE FROM chain_heads",
                "INSERT INTO chain_heads VALUES ('x', 0, '')",
                "DROP TABLE fund_entries",
                "DROP FUNCTION append_only_row() CASCADE",
                "CREATE OR REPLACE FUNCTION append_only_row() RETURNS trigger LANGUAGE plpgsql \
                 AS $$ BEGIN RETURN NEW; END $$",
                "SET session_replication_role = replica",
                "DO $$ BEGIN SET LOCAL session_replication_role = replica; \
                 UPDATE fund_entries SET amount = 1 WHERE id = 1; END $$",
            ] {
                let err = sqlx::raw_sql(sql).execute(pool).await.unwrap_err().to_string();
                assert!(
                    err.contains("permission denied") || err.contains("must be owner"),
                    "{sql}: {err}"
                );
            }
                let amount: i64 =
                    sqlx::query_scalar("SELECT amount FROM fund_entries WHERE id = 1")
                        .fetch_one(pool)
                        .await
                        .unwrap();
                assert_eq!(amount, 525_000);
                assert_eq!(
                    store.audit_log().verify_chains().await.unwrap().broken,
                    Vec::<BrokenLink>::new()
                );
                store.close().await;
                migrator.close().await;
            }
        })
        .await;
    db.drop_database().await;
    as_admin(
        &admin,
        None,
        &format!("DROP ROLE IF EXISTS {app}; DROP ROLE IF EXISTS {owner};"),
    )
    .await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
