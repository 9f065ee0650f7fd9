//! What differs between SQLite and PostgreSQL, in one trait, and one way to run a
//! statement on either.
//!
//! The store's area code is written once, as ordinary functions generic over
//! `DB: Backend`, and compiled for both databases. A statement is built with [`sql`],
//! which holds the SQL text and its arguments as plain values ([`Arg`]); each backend's
//! connection binds them for its driver ([`Run`]), and rows are read by column name
//! through [`Get`]. sqlx's own generic `Query` cannot be used that way: its bounds
//! (`i64: Encode<'q, DB>`, `&mut DB::Connection: Executor`, …) are not implied by a trait
//! and would be written again on every function.
//!
//! Where the dialects differ, the difference is a named item of [`Backend`]: how a write
//! transaction begins, how rows are locked, how a transaction takes an advisory lock, how
//! an identity column is given its value. No SQL is assembled from a backend's name.

use crate::import::prepared::Prepared;
use crate::import::rows::Part;
use crate::rows::Get;
use crate::Result;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::types::Json;
use sqlx::{PgConnection, Pool, Postgres, Sqlite, SqliteConnection, Transaction};
use std::borrow::Cow;
use std::future::Future;

/// One of the two databases fupin runs on, with what differs between them.
pub(crate) trait Backend: sqlx::Database<Connection: Run> {
    /// What follows a `SELECT` that locks the rows it reads until the transaction ends:
    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, where a write transaction already
    /// holds the whole database ([`Backend::begin_write`]).
    const FOR_UPDATE: &'static str;
    /// [`Backend::FOR_UPDATE`] that passes over rows another transaction holds (a job
    /// queue's `SKIP LOCKED`: takers do not wait for each other).
    const FOR_UPDATE_SKIP_LOCKED: &'static str;
    /// What an INSERT says before `VALUES` to give an identity column its value
    /// (PostgreSQL's `OVERRIDING SYSTEM VALUE`; nothing on SQLite).
    const OVERRIDING_SYSTEM_VALUE: &'static str;

    /// Begin a transaction that will write. SQLite's `BEGIN IMMEDIATE` takes the write
    /// lock at once (waiting up to the busy timeout), so a transaction that reads before it
    /// writes cannot fail half-way when another connection wrote in between.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;

    /// Be the only transaction holding `key` until this one ends: PostgreSQL's
    /// `pg_advisory_xact_lock`. On SQLite the write transaction already is alone.
    fn lock_in_transaction(
        conn: &mut Self::Connection,
        key: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The statement (`$1`: the chain's table) that reads the end of a hash chain: its
    /// last id and hash. Migration 0014 moves SQLite's head with each row and
    /// PostgreSQL's once per transaction (crate::chain).
    fn chain_end(chain: crate::chain::Chain) -> String;

    // import
    /// Whether an import's transaction holds the database's only write lock until it
    /// commits, so that no other connection (a job's heartbeat) can write meanwhile:
    /// SQLite's; PostgreSQL locks rows.
    const IMPORT_HOLDS_WRITE_LOCK: bool;

    /// Begin a write transaction ([`Backend::begin_write`]) on a connection already
    /// taken from the pool, which an import keeps for its session settings.
    fn begin_write_on(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<Transaction<'_, Self>, sqlx::Error>> + Send;

    /// Set `conn`'s session for an import's load (`loading`), or back after it: SQLite
    /// takes a bigger page cache; PostgreSQL changes nothing.
    fn import_session(
        conn: &mut Self::Connection,
        loading: bool,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Be the only import in the transaction on `conn`: PostgreSQL takes the import lock
    /// and drops the staging tables an earlier, failed import left; SQLite's write
    /// transaction already is alone and stages nothing.
    fn lock_imports(conn: &mut Self::Connection) -> impl Future<Output = Result<()>> + Send;

    /// The bulk load of one table of an import (`part`'s rows of version `version`, into
    /// `target`), in the transaction on `conn`: PostgreSQL's `COPY … FROM STDIN` in text
    /// format, SQLite's multi-row `INSERT`s with bound values (it has no COPY).
    fn load_table(
        conn: &mut Self::Connection,
        target: &str,
        part: Part,
        version: crate::VersionId,
        p: &Prepared<'_>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Load the tables an import writes outside its transaction, and make them part of
    /// it on `tx`; the parts so written. PostgreSQL stages the per-household tables
    /// (partitioned by version) on two connections at once and attaches them as the
    /// version's partitions, `done` called as each is written; SQLite's tables are not
    /// partitioned and every table is loaded in the transaction (none here).
    fn stage_partitions(
        pool: &Pool<Self>,
        tx: &mut Self::Connection,
        version: crate::VersionId,
        p: &Prepared<'_>,
        done: &(dyn Fn() + Sync),
    ) -> impl Future<Output = Result<Vec<Part>>> + Send;

    /// Drop the staging tables that no import attached (PostgreSQL; SQLite stages
    /// nothing: 0), waiting for a running import (`wait`) or None at once if one runs.
    fn drop_orphan_staging(
        pool: &Pool<Self>,
        wait: bool,
    ) -> impl Future<Output = Result<Option<usize>>> + Send;

    /// The planner's statistics of an import's tables gathered on `conn` as it ends:
    /// SQLite's sampled ANALYZE (milliseconds); nothing on PostgreSQL, where it takes
    /// seconds and is left to [`Backend::analyze_register`].
    fn analyze_imported(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The planner's statistics of the register tables after an import is committed:
    /// PostgreSQL's ANALYZE of the partitioned tables; nothing on SQLite, whose import
    /// gathered them itself ([`Backend::analyze_imported`]).
    fn analyze_register(pool: &Pool<Self>) -> impl Future<Output = Result<()>> + Send;

    // work
    /// The placeholder of the `i`-th value (from 1) of a statement of many rows, such as a
    /// gap refresh's batches: `$i` on PostgreSQL; on SQLite the anonymous `?`, bound in
    /// order (every statement built with it uses each value once, in bind order). SQLite
    /// keeps `$N` (and `?N`) parameters in a list that it searches linearly for each bind,
    /// so a statement of 6,000 numbered parameters costs 18 million steps to bind: 64% of a
    /// gap refresh's time at 10^6 households (perf); the register import uses `?` for this.
    fn bulk_mark(i: usize) -> String;

    /// What follows a `SELECT` that locks the rows of the table aliased `alias` (not those
    /// of the tables it joins) and passes over rows another transaction holds: PostgreSQL's
    /// ` FOR UPDATE OF alias SKIP LOCKED`; nothing on SQLite, whose write transaction
    /// already holds the whole database.
    fn for_update_of_skip_locked(alias: &str) -> String;

    /// Try to be the only transaction holding `key` until this one ends, without waiting:
    /// PostgreSQL's `pg_try_advisory_xact_lock` (false: another transaction holds it). On
    /// SQLite the write transaction already is alone: always true.
    fn try_lock_in_transaction(
        conn: &mut Self::Connection,
        key: i64,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
}

impl Backend for Sqlite {
    const FOR_UPDATE: &'static str = "";
    const FOR_UPDATE_SKIP_LOCKED: &'static str = "";
    const OVERRIDING_SYSTEM_VALUE: &'static str = "";

    async fn begin_write(pool: &Pool<Sqlite>) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    async fn lock_in_transaction(_: &mut SqliteConnection, _: i64) -> Result<(), sqlx::Error> {
        Ok(())
    }

    fn chain_end(chain: crate::chain::Chain) -> String {
        crate::chain::head_per_row_end(chain)
    }

    // import
    const IMPORT_HOLDS_WRITE_LOCK: bool = true;

    async fn begin_write_on(
        conn: &mut SqliteConnection,
    ) -> Result<Transaction<'_, Sqlite>, sqlx::Error> {
        sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await
    }

    async fn import_session(conn: &mut SqliteConnection, loading: bool) -> Result<(), sqlx::Error> {
        crate::import::batched::import_session(conn, loading).await
    }

    async fn lock_imports(_: &mut SqliteConnection) -> Result<()> {
        Ok(())
    }

    async fn load_table(
        conn: &mut SqliteConnection,
        target: &str,
        part: Part,
        version: crate::VersionId,
        p: &Prepared<'_>,
    ) -> Result<(), sqlx::Error> {
        crate::import::batched::load_table(conn, target, part, version, p).await
    }

    async fn stage_partitions(
        _: &Pool<Sqlite>,
        _: &mut SqliteConnection,
        _: crate::VersionId,
        _: &Prepared<'_>,
        _: &(dyn Fn() + Sync),
    ) -> Result<Vec<Part>> {
        Ok(Vec::new())
    }

    async fn drop_orphan_staging(_: &Pool<Sqlite>, _: bool) -> Result<Option<usize>> {
        Ok(Some(0))
    }

    async fn analyze_imported(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        crate::import::batched::analyze_imported(conn).await
    }

    async fn analyze_register(_: &Pool<Sqlite>) -> Result<()> {
        Ok(())
    }

    // work
    fn bulk_mark(_: usize) -> String {
        "?".to_string()
    }

    fn for_update_of_skip_locked(_: &str) -> String {
        String::new()
    }

    async fn try_lock_in_transaction(
        _: &mut SqliteConnection,
        _: i64,
    ) -> Result<bool, sqlx::Error> {
        Ok(true)
    }
}

impl Backend for Postgres {
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const FOR_UPDATE_SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const OVERRIDING_SYSTEM_VALUE: &'static str = " OVERRIDING SYSTEM VALUE";

    async fn begin_write(
        pool: &Pool<Postgres>,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        pool.begin().await
    }

    async fn lock_in_transaction(conn: &mut PgConnection, key: i64) -> Result<(), sqlx::Error> {
        sql("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(conn)
            .await
            .map(drop)
    }

    fn chain_end(chain: crate::chain::Chain) -> String {
        crate::chain::head_per_transaction_end(chain)
    }

    // import
    const IMPORT_HOLDS_WRITE_LOCK: bool = false;

    async fn begin_write_on(
        conn: &mut PgConnection,
    ) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
        sqlx::Connection::begin(conn).await
    }

    async fn import_session(_: &mut PgConnection, _: bool) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn lock_imports(conn: &mut PgConnection) -> Result<()> {
        crate::import::copy::lock_imports(conn).await
    }

    async fn load_table(
        conn: &mut PgConnection,
        target: &str,
        part: Part,
        version: crate::VersionId,
        p: &Prepared<'_>,
    ) -> Result<(), sqlx::Error> {
        crate::import::copy::load_table(conn, target, part, version, p).await
    }

    async fn stage_partitions(
        pool: &Pool<Postgres>,
        tx: &mut PgConnection,
        version: crate::VersionId,
        p: &Prepared<'_>,
        done: &(dyn Fn() + Sync),
    ) -> Result<Vec<Part>> {
        crate::import::copy::stage_partitions(pool, tx, version, p, done).await
    }

    async fn drop_orphan_staging(pool: &Pool<Postgres>, wait: bool) -> Result<Option<usize>> {
        crate::import::copy::drop_unattached(pool, wait).await
    }

    async fn analyze_imported(_: &mut PgConnection) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn analyze_register(pool: &Pool<Postgres>) -> Result<()> {
        crate::import::copy::analyze(pool).await
    }

    // work
    fn bulk_mark(i: usize) -> String {
        format!("${i}")
    }

    fn for_update_of_skip_locked(alias: &str) -> String {
        format!(" FOR UPDATE OF {alias} SKIP LOCKED")
    }

    async fn try_lock_in_transaction(
        conn: &mut PgConnection,
        key: i64,
    ) -> Result<bool, sqlx::Error> {
        sql("SELECT pg_try_advisory_xact_lock($1) AS locked")
            .bind(key)
            .fetch_one(conn)
            .await?
            .bool("locked")
    }
}

/// One argument of a statement, as a plain value. `None` binds SQL NULL of that type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arg<'q> {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<Cow<'q, str>>),
    Bool(Option<bool>),
    Time(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
    Json(Option<Cow<'q, serde_json::Value>>),
    Bytes(Option<Cow<'q, [u8]>>),
}

/// A statement and its arguments, in `$1, $2, …` order (both backends read `$n`).
#[derive(Clone, Debug)]
#[must_use = "a statement does nothing until it is run on a connection"]
pub(crate) struct Sql<'q> {
    text: Cow<'q, str>,
    args: Vec<Arg<'q>>,
}

/// A statement to run with [`Sql::execute`], [`Sql::fetch_all`], [`Sql::fetch_one`] or
/// [`Sql::fetch_optional`] on either backend's connection.
pub(crate) fn sql<'q>(text: impl Into<Cow<'q, str>>) -> Sql<'q> {
    Sql {
        text: text.into(),
        args: Vec::new(),
    }
}

/// What an `INSERT`, `UPDATE` or `DELETE` did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl<'q> Sql<'q> {
    /// Add the next argument (`$n` for the n-th call).
    pub fn bind(mut self, value: impl Into<Arg<'q>>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Add an argument in place (for statements built in a loop).
    pub fn push(&mut self, value: impl Into<Arg<'q>>) {
        self.args.push(value.into());
    }

    pub async fn execute<C: Run + ?Sized>(self, conn: &mut C) -> Result<Done, sqlx::Error> {
        conn.run_execute(self).await
    }

    pub async fn fetch_all<C: Run + ?Sized>(
        self,
        conn: &mut C,
    ) -> Result<Vec<C::Row>, sqlx::Error> {
        conn.run_fetch_all(self).await
    }

    pub async fn fetch_optional<C: Run + ?Sized>(
        self,
        conn: &mut C,
    ) -> Result<Option<C::Row>, sqlx::Error> {
        conn.run_fetch_optional(self).await
    }

    /// The first row; `sqlx::Error::RowNotFound` when there is none.
    pub async fn fetch_one<C: Run + ?Sized>(self, conn: &mut C) -> Result<C::Row, sqlx::Error> {
        conn.run_fetch_optional(self)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

/// A connection of one backend that runs a [`Sql`] statement. Implemented for
/// `SqliteConnection` and `PgConnection`; reached through `&mut *tx` (a transaction) or
/// `&mut *conn` (a pooled connection).
pub(crate) trait Run: Send {
    type Row: Get + Send + Sync + 'static;

    fn run_execute<'a>(
        &'a mut self,
        q: Sql<'a>,
    ) -> impl Future<Output = Result<Done, sqlx::Error>> + Send + 'a;

    fn run_fetch_all<'a>(
        &'a mut self,
        q: Sql<'a>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'a;

    fn run_fetch_optional<'a>(
        &'a mut self,
        q: Sql<'a>,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'a;
}

impl Run for SqliteConnection {
    type Row = SqliteRow;

    async fn run_execute<'a>(&'a mut self, q: Sql<'a>) -> Result<Done, sqlx::Error> {
        let r = sqlx::query_with(&q.text, sqlite_args(q.args)?)
            .execute(self)
            .await?;
        Ok(Done {
            rows_affected: r.rows_affected(),
        })
    }

    async fn run_fetch_all<'a>(&'a mut self, q: Sql<'a>) -> Result<Vec<SqliteRow>, sqlx::Error> {
        sqlx::query_with(&q.text, sqlite_args(q.args)?)
            .fetch_all(self)
            .await
    }

    async fn run_fetch_optional<'a>(
        &'a mut self,
        q: Sql<'a>,
    ) -> Result<Option<SqliteRow>, sqlx::Error> {
        sqlx::query_with(&q.text, sqlite_args(q.args)?)
            .fetch_optional(self)
            .await
    }
}

impl Run for PgConnection {
    type Row = PgRow;

    async fn run_execute<'a>(&'a mut self, q: Sql<'a>) -> Result<Done, sqlx::Error> {
        let r = sqlx::query_with(&q.text, pg_args(q.args)?)
            .execute(self)
            .await?;
        Ok(Done {
            rows_affected: r.rows_affected(),
        })
    }

    async fn run_fetch_all<'a>(&'a mut self, q: Sql<'a>) -> Result<Vec<PgRow>, sqlx::Error> {
        sqlx::query_with(&q.text, pg_args(q.args)?)
            .fetch_all(self)
            .await
    }

    async fn run_fetch_optional<'a>(
        &'a mut self,
        q: Sql<'a>,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        sqlx::query_with(&q.text, pg_args(q.args)?)
            .fetch_optional(self)
            .await
    }
}

/// SQLite's arguments for `args`.
fn sqlite_args(args: Vec<Arg<'_>>) -> Result<SqliteArguments<'_>, sqlx::Error> {
    let mut out = SqliteArguments::default();
    for arg in args {
        bind_into(&mut out, arg)?;
    }
    Ok(out)
}

/// PostgreSQL's arguments for `args`.
fn pg_args(args: Vec<Arg<'_>>) -> Result<PgArguments, sqlx::Error> {
    let mut out = PgArguments::default();
    for arg in args {
        bind_into(&mut out, arg)?;
    }
    Ok(out)
}

/// Add `arg` to either driver's argument buffer.
fn bind_into<'q, A>(out: &mut A, arg: Arg<'q>) -> Result<(), sqlx::Error>
where
    A: sqlx::Arguments<'q>,
    Option<i64>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    Option<f64>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    Option<Cow<'q, str>>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    Option<bool>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    Option<DateTime<Utc>>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    Option<NaiveDate>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    Option<Json<Cow<'q, serde_json::Value>>>:
        sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    Option<Vec<u8>>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
{
    let added = match arg {
        Arg::Int(v) => out.add(v),
        Arg::Real(v) => out.add(v),
        Arg::Text(v) => out.add(v),
        Arg::Bool(v) => out.add(v),
        Arg::Time(v) => out.add(v),
        Arg::Date(v) => out.add(v),
        Arg::Json(v) => out.add(v.map(Json)),
        Arg::Bytes(v) => out.add(v.map(Cow::into_owned)),
    };
    added.map_err(sqlx::Error::Encode)
}

// ---------------------------------------------------------------------------------------
// Plain values as arguments.

/// A value bound as itself (its `Arg` variant), or as SQL NULL of its type when `None`.
pub(crate) trait Plain: Sized {
    fn arg<'q>(v: Option<Self>) -> Arg<'q>;
}

impl Plain for i64 {
    fn arg<'q>(v: Option<i64>) -> Arg<'q> {
        Arg::Int(v)
    }
}
impl Plain for i32 {
    fn arg<'q>(v: Option<i32>) -> Arg<'q> {
        Arg::Int(v.map(i64::from))
    }
}
impl Plain for u32 {
    fn arg<'q>(v: Option<u32>) -> Arg<'q> {
        Arg::Int(v.map(i64::from))
    }
}
impl Plain for u16 {
    fn arg<'q>(v: Option<u16>) -> Arg<'q> {
        Arg::Int(v.map(i64::from))
    }
}
impl Plain for u8 {
    fn arg<'q>(v: Option<u8>) -> Arg<'q> {
        Arg::Int(v.map(i64::from))
    }
}
impl Plain for f64 {
    fn arg<'q>(v: Option<f64>) -> Arg<'q> {
        Arg::Real(v)
    }
}
impl Plain for bool {
    fn arg<'q>(v: Option<bool>) -> Arg<'q> {
        Arg::Bool(v)
    }
}
impl Plain for DateTime<Utc> {
    fn arg<'q>(v: Option<DateTime<Utc>>) -> Arg<'q> {
        Arg::Time(v)
    }
}
impl Plain for NaiveDate {
    fn arg<'q>(v: Option<NaiveDate>) -> Arg<'q> {
        Arg::Date(v)
    }
}

impl<T> Plain for fupin_domain::id::Id<T> {
    fn arg<'q>(v: Option<Self>) -> Arg<'q> {
        Arg::Int(v.map(fupin_domain::id::Id::get))
    }
}

impl<'q, T: Plain> From<T> for Arg<'q> {
    fn from(v: T) -> Self {
        T::arg(Some(v))
    }
}
impl<'q, T: Plain> From<Option<T>> for Arg<'q> {
    fn from(v: Option<T>) -> Self {
        T::arg(v)
    }
}
impl<'q> From<&i64> for Arg<'q> {
    fn from(v: &i64) -> Self {
        Arg::Int(Some(*v))
    }
}
impl<'q> From<&DateTime<Utc>> for Arg<'q> {
    fn from(v: &DateTime<Utc>) -> Self {
        Arg::Time(Some(*v))
    }
}
impl<'q> From<&NaiveDate> for Arg<'q> {
    fn from(v: &NaiveDate) -> Self {
        Arg::Date(Some(*v))
    }
}
impl<'q> From<serde_json::Value> for Arg<'q> {
    fn from(v: serde_json::Value) -> Self {
        Arg::Json(Some(Cow::Owned(v)))
    }
}
impl<'q> From<Option<serde_json::Value>> for Arg<'q> {
    fn from(v: Option<serde_json::Value>) -> Self {
        Arg::Json(v.map(Cow::Owned))
    }
}
impl<'q> From<Vec<u8>> for Arg<'q> {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(Some(Cow::Owned(v)))
    }
}

impl<'q> From<&'q str> for Arg<'q> {
    fn from(v: &'q str) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'q> From<&'q String> for Arg<'q> {
    fn from(v: &'q String) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'q> From<String> for Arg<'q> {
    fn from(v: String) -> Self {
        Arg::Text(Some(Cow::Owned(v)))
    }
}
impl<'q> From<Option<&'q str>> for Arg<'q> {
    fn from(v: Option<&'q str>) -> Self {
        Arg::Text(v.map(Cow::Borrowed))
    }
}
impl<'q> From<Option<String>> for Arg<'q> {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v.map(Cow::Owned))
    }
}
impl<'q> From<&'q Option<String>> for Arg<'q> {
    fn from(v: &'q Option<String>) -> Self {
        Arg::Text(v.as_deref().map(Cow::Borrowed))
    }
}
impl<'q> From<&'q serde_json::Value> for Arg<'q> {
    fn from(v: &'q serde_json::Value) -> Self {
        Arg::Json(Some(Cow::Borrowed(v)))
    }
}
impl<'q> From<Option<&'q serde_json::Value>> for Arg<'q> {
    fn from(v: Option<&'q serde_json::Value>) -> Self {
        Arg::Json(v.map(Cow::Borrowed))
    }
}
impl<'q> From<&'q [u8]> for Arg<'q> {
    fn from(v: &'q [u8]) -> Self {
        Arg::Bytes(Some(Cow::Borrowed(v)))
    }
}
