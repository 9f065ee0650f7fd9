//! PostgreSQL's bulk load of an import: `COPY` in text format, the per-household tables
//! staged on connections of their own and attached as the version's partitions.

use super::prepared::Prepared;
use super::rows::{Part, Sink};
use crate::backend::{sql, Backend};
use crate::register::VersionId;
use crate::rows::Get;
use crate::{Result, StoreError};
use chrono::{Datelike, NaiveDate};
use sqlx::{Connection, PgConnection, Postgres};

/// COPY text format: tab between columns, `\N` for NULL, backslash escapes.
pub(super) struct CopyText {
    pub(super) buf: Vec<u8>,
    pub(super) row_start: bool,
}

impl CopyText {
    fn sep(&mut self) {
        if !self.row_start {
            self.buf.push(b'\t');
        }
        self.row_start = false;
    }

    fn null(&mut self) {
        self.sep();
        self.buf.extend_from_slice(b"\\N");
    }

    fn escaped(&mut self, v: &str) {
        self.sep();
        for &b in v.as_bytes() {
            match b {
                b'\\' => self.buf.extend_from_slice(b"\\\\"),
                b'\t' => self.buf.extend_from_slice(b"\\t"),
                b'\n' => self.buf.extend_from_slice(b"\\n"),
                b'\r' => self.buf.extend_from_slice(b"\\r"),
                _ => self.buf.push(b),
            }
        }
    }
}

impl Sink<'_> for CopyText {
    fn int(&mut self, v: i64) {
        self.sep();
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
    fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }
    fn text(&mut self, v: &str) {
        self.escaped(v);
    }
    fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.escaped(v),
            None => self.null(),
        }
    }
    fn string(&mut self, v: String) {
        self.escaped(&v);
    }
    fn bool(&mut self, v: bool) {
        self.sep();
        self.buf.push(if v { b't' } else { b'f' });
    }
    fn opt_bool(&mut self, v: Option<bool>) {
        match v {
            Some(v) => self.bool(v),
            None => self.null(),
        }
    }
    fn opt_date(&mut self, v: Option<NaiveDate>) {
        match v {
            Some(d) => {
                self.sep();
                let text = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
                self.buf.extend_from_slice(text.as_bytes());
            }
            None => self.null(),
        }
    }
    fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.row_start = true;
    }
}

/// Bytes sent to the server at a time.
const COPY_CHUNK: usize = 1 << 20;

/// COPY a part's rows of version `v` into table `target` (the part's table or its
/// staging table).
pub(crate) async fn load_table(
    conn: &mut PgConnection,
    target: &str,
    part: Part,
    v: crate::VersionId,
    p: &Prepared<'_>,
) -> Result<(), sqlx::Error> {
    let statement = format!(
        "COPY {target} ({}) FROM STDIN",
        part.table().columns.join(", ")
    );
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut text = CopyText {
        buf: Vec::with_capacity(COPY_CHUNK + (64 << 10)),
        row_start: true,
    };
    for i in 0..part.items(p) {
        part.write(&mut text, v, p, i);
        if text.buf.len() >= COPY_CHUNK {
            copy.send(text.buf.as_slice()).await?;
            text.buf.clear();
        }
    }
    if !text.buf.is_empty() {
        copy.send(text.buf.as_slice()).await?;
    }
    copy.finish().await?;
    Ok(())
}

/// The per-household tables, partitioned by version on PostgreSQL (migration 0013), in
/// two groups of about equal load: each group is written on a connection of its own, so
/// that the server works on both cores.
const STAGED: [&[Part]; 2] = [
    &[Part::Households, Part::MemberIds, Part::MemberNames],
    &[Part::Members, Part::Assessments, Part::Problems],
];

/// The staging table of a partitioned table for a version: `households_v7`. It becomes
/// the version's partition when the import's transaction attaches it.
fn staged_name(part: Part, version: VersionId) -> String {
    format!("{}_v{version}", part.table().name)
}

/// Imports take this advisory lock (in their transaction) one at a time, so that staging
/// tables not attached are an earlier, failed import's, and can be dropped.
const IMPORT_LOCK: i64 = 0x6675_7069_6e09;

/// Load a group of partitioned tables' rows for `version` into staging tables, on a
/// connection of its own: each created with the partition's check, filled by COPY into a
/// table without indexes, then given the parent's indexes (a sorted build, several times
/// faster than inserting 10^6 entries one by one into each). Committed, but nobody sees
/// them until the import's transaction attaches them.
async fn stage(
    pool: &sqlx::PgPool,
    version: VersionId,
    parts: &[Part],
    p: &Prepared<'_>,
    done: &(dyn Fn() + Sync),
) -> Result<()> {
    // Not from the pool: the pages keep their connections while an import loads.
    let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut *tx)
        .await?;
    for &part in parts {
        let parent = part.table().name;
        let staged = staged_name(part, version);
        sqlx::query(&format!(
            "CREATE TABLE {staged} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, \
             CHECK (version_id = {version}))"
        ))
        .execute(&mut *tx)
        .await?;
        load_table(&mut tx, &staged, part, version, p).await?;
        for statement in index_statements(&mut tx, parent, &staged).await? {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        done();
    }
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}

/// The statements that give `staged` the indexes and key constraints of the partitioned
/// table `parent`, as the catalog defines them (so the migrations stay their one source):
/// ATTACH PARTITION then takes them as the partition's instead of building its own.
async fn index_statements(
    conn: &mut PgConnection,
    parent: &str,
    staged: &str,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT pg_get_indexdef(i.indexrelid) AS def, \
                (SELECT c.contype::text FROM pg_constraint c WHERE c.conindid = i.indexrelid \
                   AND c.conrelid = i.indrelid) AS constraint_type \
         FROM pg_index i WHERE i.indrelid = $1::regclass ORDER BY i.indexrelid",
    )
    .bind(parent)
    .fetch_all(&mut *conn)
    .await?;
    let mut statements = Vec::new();
    for row in rows {
        let def: String = row.text("def")?;
        let constraint: Option<String> = row.opt_text("constraint_type")?;
        // "CREATE [UNIQUE] INDEX name ON [ONLY] parent USING btree (columns) [WHERE …]"
        let Some((head, method)) = def.split_once(" USING ") else {
            return Err(StoreError::Corrupt(format!(
                "index definition of {parent} not understood: {def}"
            )));
        };
        let unique = head.starts_with("CREATE UNIQUE ");
        statements.push(match (constraint.as_deref(), method.split_once(' ')) {
            (Some("p"), Some((_, columns))) => {
                format!("ALTER TABLE {staged} ADD PRIMARY KEY {columns}")
            }
            (Some("u"), Some((_, columns))) => format!("ALTER TABLE {staged} ADD UNIQUE {columns}"),
            (None, _) if unique => format!("CREATE UNIQUE INDEX ON {staged} USING {method}"),
            (None, _) => format!("CREATE INDEX ON {staged} USING {method}"),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "index of {parent} not understood: {def}"
                )))
            }
        });
    }
    Ok(statements)
}

/// Take [`IMPORT_LOCK`] for the transaction, then drop the staging tables that no import
/// attached: what an import that failed between staging and committing left (the process
/// killed, the server gone).
pub(crate) async fn lock_imports(conn: &mut PgConnection) -> Result<()> {
    Postgres::lock_in_transaction(conn, IMPORT_LOCK).await?;
    drop_unattached_locked(conn).await?;
    Ok(())
}

/// The staging tables no import attached, dropped while this connection's transaction
/// holds [`IMPORT_LOCK`] (no import runs): how many.
async fn drop_unattached_locked(conn: &mut PgConnection) -> Result<usize> {
    let names = sql(
        "SELECT c.relname::text AS name FROM pg_class c \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' \
           AND NOT c.relispartition \
           AND c.relname ~ '^(households|members|member_ids|member_names|assessments|problems)_v[0-9]+$'",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.text("name"))
    .collect::<Result<Vec<String>, sqlx::Error>>()?;
    for name in &names {
        sql(format!("DROP TABLE IF EXISTS {name}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(names.len())
}

/// Drop the staging tables no import attached, in a transaction of their own under the
/// import lock: waiting for it (`wait`), or None at once if an import holds it.
pub(crate) async fn drop_unattached(pool: &sqlx::PgPool, wait: bool) -> Result<Option<usize>> {
    let mut tx = pool.begin().await?;
    if wait {
        Postgres::lock_in_transaction(&mut tx, IMPORT_LOCK).await?;
    } else {
        let locked = sql("SELECT pg_try_advisory_xact_lock($1) AS locked")
            .bind(IMPORT_LOCK)
            .fetch_one(&mut *tx)
            .await?
            .bool("locked")?;
        if !locked {
            return Ok(None);
        }
    }
    let dropped = drop_unattached_locked(&mut tx).await?;
    tx.commit().await?;
    Ok(Some(dropped))
}

/// Write version `version`'s per-household tables on PostgreSQL: staged on two
/// connections at once, then, in the import's transaction `tx`, attached as the version's
/// partitions. Returns the parts written; the small tables are left to the transaction.
pub(crate) async fn stage_partitions(
    pool: &sqlx::PgPool,
    tx: &mut PgConnection,
    version: VersionId,
    p: &Prepared<'_>,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<Part>> {
    tokio::try_join!(
        stage(pool, version, STAGED[0], p, done),
        stage(pool, version, STAGED[1], p, done),
    )?;
    let staged = STAGED.concat();
    for &part in &staged {
        sqlx::query(&format!(
            "ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({version})",
            part.table().name,
            staged_name(part, version)
        ))
        .execute(&mut *tx)
        .await?;
    }
    Ok(staged)
}

/// Statistics of the tables an import writes, on PostgreSQL (of a partitioned table: its
/// own, over every version, and each partition's). See [`crate::Store::analyze_register`].
const ANALYZE_PG: &str =
    "ANALYZE areas, households, members, member_ids, member_names, assessments, problems";

/// Gather the planner's statistics of the register tables (ANALYZE_PG).
pub(crate) async fn analyze(pool: &sqlx::PgPool) -> Result<()> {
    sqlx::query(ANALYZE_PG).execute(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_and_marks_nulls() {
        let mut t = CopyText {
            buf: Vec::new(),
            row_start: true,
        };
        t.int(-5);
        t.text("a\tb\\c\nd");
        t.opt_text(None);
        t.opt_bool(Some(true));
        t.opt_date(NaiveDate::from_ymd_opt(2008, 2, 9));
        t.end_row();
        t.int(1);
        t.end_row();
        assert_eq!(
            String::from_utf8(t.buf).unwrap(),
            "-5\ta\\tb\\\\c\\nd\t\\N\tt\t2008-02-09\n1\n"
        );
    }
}
