//! How long an import takes, and a few reads after it (a benchmark, not a test).
//!
//!   cargo run --release -p fupin-store --example import_bench -- HOUSEHOLDS [sqlite|PG_ADMIN_URL] [imports]
//!
//! Generates a register of HOUSEHOLDS households with `fupin-gen` (kept in
//! ${TMPDIR:-/tmp}/fupin-store-bench/N for the next run), reads it, and imports it
//! `imports` times (default 2: the first into empty tables, the second next to it) into a
//! fresh SQLite file or a fresh PostgreSQL database made from the admin URL (dropped
//! afterwards). Then times single reads of the pages' queries.

use fupin_domain::standards::PovertyLine;
use fupin_domain::Fen;
use fupin_io::villages::read_villages;
use fupin_io::{read_members, ReadOptions};
use fupin_store::sqlx::{Connection, Executor, PgConnection};
use fupin_store::{RegisterMeta, Scope, Search, Store};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let households: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let target = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let imports: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);

    let dir = PathBuf::from(std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into()))
        .join("fupin-store-bench")
        .join(households.to_string());
    let members = dir.join("members.csv");
    if !members.exists() {
        let t = Instant::now();
        let opts = fupin_gen::GenOptions {
            households,
            ..fupin_gen::GenOptions::default()
        };
        fupin_gen::generate(&opts, &dir)?;
        eprintln!(
            "generated {households} households in {:.1} s",
            secs(t.elapsed())
        );
    }
    let t = Instant::now();
    let opts = ReadOptions {
        member_texts: true,
        ..ReadOptions::new(2018)
    };
    let register = read_members(&members, &opts)?;
    let villages = read_villages(&dir.join("villages.csv"), None, None)?;
    let members_count: usize = register.households.iter().map(|h| h.members.len()).sum();
    println!(
        "read: {} households, {} members, {} villages, {} problems in {:.2} s",
        register.households.len(),
        members_count,
        register.areas.len(),
        register.problems.len(),
        secs(t.elapsed())
    );

    let _tmp;
    let (store, cleanup) = if target.starts_with("sqlite://") {
        (Store::connect(&target).await?, None)
    } else if target == "sqlite" {
        _tmp = tempfile::tempdir_in(dir.parent().unwrap_or(&dir))?;
        let url = format!("sqlite://{}", _tmp.path().join("fupin.db").display());
        (Store::connect(&url).await?, None)
    } else {
        let name = format!("fupin_bench_{}", std::process::id());
        let mut admin = PgConnection::connect(&target).await?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let base = target.split('?').next().unwrap_or(&target);
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap_or(base.len())]);
        (Store::connect(&url).await?, Some((admin, name)))
    };
    store.migrate().await?;
    let meta = RegisterMeta {
        file_name: "members.csv".into(),
        sha256: "0".repeat(64),
        year: 2018,
        line: PovertyLine {
            year: 2018,
            place: None,
            amount: Fen::from_yuan(2995),
            source: "bench".into(),
            verified: false,
        },
        imported_by: None,
    };
    for i in 1..=imports {
        let t = Instant::now();
        let imported = store
            .import()
            .import_register(&register, &meta, Some(&villages))
            .await?;
        println!(
            "{} import {i}: {} households, {} members in {:.2} s (version {})",
            store.backend(),
            imported.households,
            imported.members,
            secs(t.elapsed()),
            imported.version
        );
    }

    // Single reads, the median of 21 runs each.
    let first = &register.households[register.households.len() / 2];
    let area = &register.areas[first.area as usize];
    let (t, v) = (area.township.to_string(), area.village.to_string());
    let county = Scope::County;
    let name = "households page (50)";
    time(name, || async {
        store
            .register()
            .households(&county, &t, &v, None, 50)
            .await
            .map(|_| ())
    })
    .await?;
    time("county summary", || async {
        store.register().county_summary(&county).await.map(|_| ())
    })
    .await?;
    time("townships", || async {
        store.register().townships(&county).await.map(|_| ())
    })
    .await?;
    time("villages of a township", || async {
        store.register().villages(&county, &t).await.map(|_| ())
    })
    .await?;
    time("household with history", || async {
        store
            .register()
            .household(&county, &first.id)
            .await
            .map(|_| ())
    })
    .await?;
    let prefix = Search::HouseholdNo(first.id[..first.id.len() - 2].to_string());
    time("search by 户编号 prefix", || async {
        store
            .register()
            .search(&county, &prefix, None, 20)
            .await
            .map(|_| ())
    })
    .await?;
    let id = first.members[0]
        .id
        .map(|i| i.to_string())
        .unwrap_or_default();
    let by_id = Search::IdNumber(id);
    time("search by ID number", || async {
        store
            .register()
            .search(&county, &by_id, None, 20)
            .await
            .map(|_| ())
    })
    .await?;
    let township = Scope::Township {
        township: t.clone(),
    };
    time("problems page (50), township scope", || async {
        store
            .register()
            .problems(&township, None, 50)
            .await
            .map(|_| ())
    })
    .await?;

    store.close().await;
    if let Some((mut admin, name)) = cleanup {
        admin
            .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
            .await?;
    }
    Ok(())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

async fn time<F, Fut>(what: &str, f: F) -> Result<(), fupin_store::StoreError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), fupin_store::StoreError>>,
{
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        f().await?;
        times.push(t.elapsed());
    }
    times.sort();
    println!("  {what}: {:.2} ms", times[10].as_secs_f64() * 1000.0);
    Ok(())
}
