//! The migrations of each backend, embedded in the binary: `migrations/sqlite/*.sql` and
//! `migrations/postgres/*.sql`, version = the file's number.

use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// (version, description, SQL) of each migration, in order.
type Files = &'static [(i64, &'static str, &'static str)];

const SQLITE: Files = &[
    (
        1,
        "accounts",
        include_str!("../migrations/sqlite/0001_accounts.sql"),
    ),
    (
        2,
        "register",
        include_str!("../migrations/sqlite/0002_register.sql"),
    ),
    (
        3,
        "audit jobs",
        include_str!("../migrations/sqlite/0003_audit_jobs.sql"),
    ),
    (
        4,
        "member search",
        include_str!("../migrations/sqlite/0004_member_search.sql"),
    ),
    (
        5,
        "member id keys",
        include_str!("../migrations/sqlite/0005_member_id_keys.sql"),
    ),
    (
        6,
        "jobs accounts",
        include_str!("../migrations/sqlite/0006_jobs_accounts.sql"),
    ),
    (
        7,
        "plan gaps work",
        include_str!("../migrations/sqlite/0007_plan_gaps_work.sql"),
    ),
    (
        8,
        "household gaps escalation",
        include_str!("../migrations/sqlite/0008_household_gaps_escalation.sql"),
    ),
    (
        9,
        "projects funds",
        include_str!("../migrations/sqlite/0009_projects_funds.sql"),
    ),
    (
        10,
        "inspections",
        include_str!("../migrations/sqlite/0010_inspections.sql"),
    ),
    (
        11,
        "gap counts",
        include_str!("../migrations/sqlite/0011_gap_counts.sql"),
    ),
    (
        12,
        "fund settings",
        include_str!("../migrations/sqlite/0012_fund_settings.sql"),
    ),
    (
        13,
        "register partitions",
        include_str!("../migrations/sqlite/0013_register_partitions.sql"),
    ),
    (
        14,
        "ledger chain",
        include_str!("../migrations/sqlite/0014_ledger_chain.sql"),
    ),
    (
        15,
        "job leases",
        include_str!("../migrations/sqlite/0015_job_leases.sql"),
    ),
    (
        16,
        "job files",
        include_str!("../migrations/sqlite/0016_job_files.sql"),
    ),
    (
        17,
        "change requests",
        include_str!("../migrations/sqlite/0017_changes.sql"),
    ),
];

const POSTGRES: Files = &[
    (
        1,
        "accounts",
        include_str!("../migrations/postgres/0001_accounts.sql"),
    ),
    (
        2,
        "register",
        include_str!("../migrations/postgres/0002_register.sql"),
    ),
    (
        3,
        "audit jobs",
        include_str!("../migrations/postgres/0003_audit_jobs.sql"),
    ),
    (
        4,
        "member search",
        include_str!("../migrations/postgres/0004_member_search.sql"),
    ),
    (
        5,
        "member id keys",
        include_str!("../migrations/postgres/0005_member_id_keys.sql"),
    ),
    (
        6,
        "jobs accounts",
        include_str!("../migrations/postgres/0006_jobs_accounts.sql"),
    ),
    (
        7,
        "plan gaps work",
        include_str!("../migrations/postgres/0007_plan_gaps_work.sql"),
    ),
    (
        8,
        "household gaps escalation",
        include_str!("../migrations/postgres/0008_household_gaps_escalation.sql"),
    ),
    (
        9,
        "projects funds",
        include_str!("../migrations/postgres/0009_projects_funds.sql"),
    ),
    (
        10,
        "inspections",
        include_str!("../migrations/postgres/0010_inspections.sql"),
    ),
    (
        11,
        "gap counts",
        include_str!("../migrations/postgres/0011_gap_counts.sql"),
    ),
    (
        12,
        "fund settings",
        include_str!("../migrations/postgres/0012_fund_settings.sql"),
    ),
    (
        13,
        "register partitions",
        include_str!("../migrations/postgres/0013_register_partitions.sql"),
    ),
    (
        14,
        "ledger chain",
        include_str!("../migrations/postgres/0014_ledger_chain.sql"),
    ),
    (
        15,
        "job leases",
        include_str!("../migrations/postgres/0015_job_leases.sql"),
    ),
    (
        16,
        "job files",
        include_str!("../migrations/postgres/0016_job_files.sql"),
    ),
    (
        17,
        "change requests",
        include_str!("../migrations/postgres/0017_changes.sql"),
    ),
];

/// Migrations compiled into the binary (sqlx's `migrate!` needs its `macros` feature).
#[derive(Debug)]
struct Embedded(Files);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

pub(crate) async fn sqlite() -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded(SQLITE)).await
}

pub(crate) async fn postgres() -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded(POSTGRES)).await
}

/// Whether every PostgreSQL migration is applied, and nothing else: read without the
/// migration lock and without creating sqlx's table (which a runtime role may not).
pub(crate) async fn postgres_up_to_date(pool: &sqlx::PgPool) -> Result<bool, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(false);
    }
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?;
    Ok(applied.iter().copied().eq(POSTGRES.iter().map(|m| m.0)))
}

/// The migrations of a backend up to and including version `last` (for tests of a
/// migration on data stored before it).
pub(crate) async fn through(postgres: bool, last: i64) -> Result<Migrator, MigrateError> {
    let files = if postgres { POSTGRES } else { SQLITE };
    let n = files.iter().take_while(|m| m.0 <= last).count();
    Migrator::new(Embedded(&files[..n])).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in a migration folder is embedded, under its own number, and the two
    /// backends have the same migrations.
    #[test]
    fn every_migration_file_is_embedded() {
        for (dir, files) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut names: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            names.sort();
            assert_eq!(names.len(), files.len(), "{dir}: {names:?}");
            for (name, (version, _, sql)) in names.iter().zip(files) {
                let number: i64 = name[..4].parse().unwrap();
                assert_eq!(number, *version, "{dir}/{name}");
                let on_disk = std::fs::read_to_string(path.join(name)).unwrap();
                assert_eq!(&on_disk, sql, "{dir}/{name}");
            }
        }
        let versions = |f: Files| f.iter().map(|m| (m.0, m.1)).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
    }
}
