//! Storage of fupin: one [`Store`] over SQLite (one file, for one person) and PostgreSQL
//! (several `fupin serve` processes sharing one database).
//!
//! The store is an enum over two concrete pools, not sqlx's `Any` driver, which loses
//! types. Each area (`accounts/`, `funds/`, `import/`, `inspection/`, `work/`, …) is
//! written once, as ordinary functions generic over `DB: backend::Backend`: the SQL is the
//! same text on both databases wherever the two dialects agree (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`, row-value comparisons), and where they differ — bulk load
//! (COPY against batched INSERTs), row locks, advisory locks, how a write transaction
//! begins — the difference is a named item of the `Backend` trait. A public `Store` method
//! is one line: `on_pool!` calls the area's function with the concrete pool. Each backend
//! has its own migration folder (`migrations/sqlite`, `migrations/postgres`).
//!
//! What the store holds:
//! - register versions ([`Store::import_register`]): households, members, the engine's
//!   assessment of each household, problems, and summaries per village, township and
//!   county, so that no page scans the register;
//! - accounts, sessions and login throttling ([`Store::create_user`],
//!   [`Store::create_session`], [`Store::record_failed_login`]);
//! - an append-only audit log written in the same transaction as every write;
//! - a jobs table taken with `FOR UPDATE SKIP LOCKED`.
//!
//! Every read of the register takes a [`Scope`] and filters in SQL: what is outside the
//! scope is absent (`None`, not in a list), never an error that would tell it exists.

mod accounts;
mod audit;
mod backend;
mod chain;
mod changes;
mod error;
mod funds;
mod import;
mod inspection;
mod jobs;
mod migrations;
mod plan;
mod register;
mod roles;
mod rows;
mod scope;
mod work;

pub use accounts::{
    check_password, Accounts, NewSession, NewUser, Role, Session, User, UserId, PASSWORD_RULES,
};
pub use audit::{AuditEntry, AuditLog};
pub use chain::{BrokenLink, ChainReport};
pub use changes::{
    ChangeCell, ChangeFile, ChangeFileId, ChangeFilter, ChangeId, ChangeRequest, Changes, NewChange,
};
pub use error::StoreError;
pub use funds::{
    Behind, Benefit, BenefitFlag, FundEntry, FundFigure, FundRefusal, Funds, FundsBy, FundsInPlace,
    NewFundEntry, ProjectId, ProjectImport, StoredProject,
};
pub use funds::{LedgerLine, ProjectFacets, ProjectFilter, ProjectKey};
pub use import::{Imported, Imports, RegisterMeta, IMPORT_STEPS};
pub use inspection::{
    may_record, EstimateState, FindingId, FindingRow, Inspection, InspectionId, InspectionLevel,
    Inspections, NewFinding, NewInspection, RuralVillage, SampleRow, Severity, StoredSample,
    FINDING_CATEGORIES,
};
pub use jobs::{
    Job, JobFile, JobId, JobLease, JobState, Jobs, JOB_HEARTBEAT, JOB_LEASE, MAX_JOB_FILE_BYTES,
};
pub use plan::{PlanId, PlanRevision, PlanSource, Plans, StoredPlan};
pub use register::{
    HistoryEntry, HouseholdDetail, HouseholdRow, MemberHit, Page, ProblemRow, Register,
    RegisterVersion, Search, SearchHit, SearchKey, StoredMember, Summary, VersionId,
};
pub use scope::Scope;
/// The sqlx version the store is built on, for callers (and tests) that need a pool.
pub use sqlx;
pub use work::{
    gap_kind_name, today, ActingUser, Attachment, AttachmentId, AttachmentInfo, GapCounts,
    GapFilter, GapId, GapRefresh, GapRow, IncomeBands, ItemCounts, ItemEdit, ItemFilter, ItemScope,
    MatrixRow, NewAttachment, NewWorkItem, Step, Work, WorkEvent, WorkItem, WorkItemId,
    MAX_ATTACHMENT_BYTES,
};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database of fupin: an SQLite file or a PostgreSQL database.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the store's concrete pool, once per backend: the
/// body is compiled twice, against `SqlitePool` and against `PgPool`.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::Store::Sqlite($pool) => $body,
            $crate::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The page cache of each SQLite connection, restored after an import.
pub(crate) const SQLITE_CACHE: &str = "PRAGMA cache_size = -65536";

/// A pooled PostgreSQL connection idle longer than this is pinged before it is used.
const PG_PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// How long a writer waits for SQLite's write lock before giving up. An import of a large
/// register holds it for its whole transaction.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

impl Store {
    /// Accounts, sessions and login throttling.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts(self)
    }

    /// The project library, the funds ledger, beneficiaries and fund figures.
    pub fn funds(&self) -> Funds<'_> {
        Funds(self)
    }

    /// Imports of the register.
    pub fn import(&self) -> Imports<'_> {
        Imports(self)
    }

    /// Inspections: samples, results, estimates and findings.
    pub fn inspections(&self) -> Inspections<'_> {
        Inspections(self)
    }

    /// The jobs table (imports run in the background, with leases).
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs(self)
    }

    /// The responsibility plan and its revisions.
    pub fn plan(&self) -> Plans<'_> {
        Plans(self)
    }

    /// The register: versions, summaries, households, search and problems.
    pub fn register(&self) -> Register<'_> {
        Register(self)
    }

    /// Change requests (变更申请): the register changed from the field, with review.
    pub fn changes(&self) -> Changes<'_> {
        Changes(self)
    }

    /// Gaps, work items, escalation, attachments, settings and the matrix.
    pub fn work(&self) -> Work<'_> {
        Work(self)
    }

    /// The audit log and the hash chains of the log and the ledger.
    pub fn audit_log(&self) -> AuditLog<'_> {
        AuditLog(self)
    }

    /// Connect to `sqlite://FILE` (created if missing; WAL, foreign keys on, busy timeout)
    /// or `postgres://…` / `postgresql://…`. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, 10).await
    }

    /// [`Store::connect`] with at most `max_connections` pooled connections.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Store> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // In WAL mode NORMAL loses no committed transaction on a process crash,
                // only on power loss, and does not sync on every commit.
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                // 64 MiB of page cache per connection (an import takes more for itself).
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory")
                // REPLACE deletes the row it conflicts with: with this on, that delete
                // fires the DELETE triggers (the append-only tables refuse it; migration
                // 0014 also refuses the insert itself, on any connection).
                .pragma("recursive_triggers", "ON");
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                // No ping before each use: an SQLite connection is a file handle that does
                // not drop, and the ping is one more round trip to the connection's thread
                // on every statement a page runs.
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Ok(Store::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?.application_name("fupin");
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                // Ping only a connection that sat idle (a restarted server or a dropped
                // link shows there), not one in steady use: a ping before every statement
                // is a round trip to the server on each of a page's statements.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for > PG_PING_AFTER_IDLE {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(options)
                .await?;
            Ok(Store::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }

    /// Bring the schema up to date. Safe to run from several processes at once on
    /// PostgreSQL (sqlx takes an advisory lock) and again and again.
    ///
    /// Then chains the append-only tables' rows stored before migration 0014 (once).
    /// On PostgreSQL a schema already up to date is left alone without taking the
    /// migration lock or creating anything, so that a runtime role that owns nothing of
    /// the schema ([`Store::grant_runtime_role`]) can start the server.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Store::Sqlite(pool) => migrations::sqlite().await?.run(pool).await?,
            Store::Postgres(pool) => {
                if !migrations::postgres_up_to_date(pool).await? {
                    migrations::postgres().await?.run(pool).await?;
                }
            }
        }
        chain::seal(self).await
    }

    /// PostgreSQL: let `role` (which must exist) run fupin without owning what it must
    /// not change — see [`roles::grant_runtime_role`]. Run as the role that owns the
    /// schema (the one that migrates), after [`Store::migrate`]; again after each upgrade.
    pub async fn grant_runtime_role(&self, role: &str) -> Result<()> {
        match self {
            Store::Sqlite(_) => Err(StoreError::InvalidAccount(
                "SQLite 数据库没有数据库角色：--runtime-role 只用于 PostgreSQL".into(),
            )),
            Store::Postgres(pool) => roles::grant_runtime_role(pool, role).await,
        }
    }

    /// Apply the migrations up to and including version `last` only: for tests of a
    /// migration on data stored before it.
    #[doc(hidden)]
    pub async fn migrate_through(&self, last: i64) -> Result<()> {
        match self {
            Store::Sqlite(pool) => migrations::through(false, last).await?.run(pool).await?,
            Store::Postgres(pool) => migrations::through(true, last).await?.run(pool).await?,
        }
        Ok(())
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Close every pooled connection (waits for those in use).
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}

/// A URL for messages: the password, if any, replaced by `***`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &userinfo[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Now, to the microsecond (PostgreSQL's precision), so that a time written and read back
/// compares equal on both backends.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            super::redact("mysql://fupin:secret@db/x"),
            "mysql://fupin:***@db/x"
        );
        assert_eq!(super::redact("mysql://db/x"), "mysql://db/x");
    }
}
