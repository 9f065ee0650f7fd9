//! SQLite's bulk load of an import: multi-row `INSERT`s with bound values, in the
//! import's transaction.

use super::prepared::Prepared;
use super::rows::{Part, Sink, Table};
use chrono::NaiveDate;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, SqliteConnection};

/// The bound values of one multi-row INSERT.
struct Batch<'q> {
    args: SqliteArguments<'q>,
    rows: usize,
    /// The first value that could not be encoded (none can, for these types).
    error: Option<String>,
}

impl<'q> Batch<'q> {
    fn add<T: sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + 'q>(&mut self, v: T) {
        if let Err(e) = self.args.add(v) {
            self.error.get_or_insert(e.to_string());
        }
    }
}

impl<'q> Sink<'q> for Batch<'q> {
    fn int(&mut self, v: i64) {
        self.add(v);
    }
    fn opt_int(&mut self, v: Option<i64>) {
        self.add(v);
    }
    fn text(&mut self, v: &'q str) {
        self.add(v);
    }
    fn opt_text(&mut self, v: Option<&'q str>) {
        self.add(v);
    }
    fn string(&mut self, v: String) {
        self.add(v);
    }
    fn bool(&mut self, v: bool) {
        self.add(v);
    }
    fn opt_bool(&mut self, v: Option<bool>) {
        self.add(v);
    }
    fn opt_date(&mut self, v: Option<NaiveDate>) {
        self.add(v);
    }
    fn end_row(&mut self) {
        self.rows += 1;
    }
}

/// Rows per INSERT: many, to save round trips, and within SQLite's 32,766 bound values
/// (a household's members may overshoot by a few rows).
fn rows_per_insert(table: &Table) -> usize {
    (32_766 / table.columns.len() - 64).min(1000)
}

/// `INSERT INTO target (columns) VALUES (?, …), …` for `rows` rows.
fn insert_sql(target: &str, table: &Table, rows: usize) -> String {
    let one = format!("({})", vec!["?"; table.columns.len()].join(", "));
    let mut sql = format!(
        "INSERT INTO {target} ({}) VALUES ",
        table.columns.join(", ")
    );
    sql.reserve(rows * (one.len() + 1));
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&one);
    }
    sql
}

async fn execute_batch<'q>(
    conn: &mut SqliteConnection,
    target: &str,
    table: &Table,
    full_sql: &str,
    batch: &mut Batch<'q>,
) -> Result<(), sqlx::Error> {
    if let Some(e) = batch.error.take() {
        return Err(sqlx::Error::Encode(e.into()));
    }
    let args = std::mem::take(&mut batch.args);
    let rows = std::mem::take(&mut batch.rows);
    if rows == rows_per_insert(table) {
        sqlx::query_with(full_sql, args).execute(conn).await?;
    } else {
        // The last, shorter batch of a table, or one that overshot: not worth caching.
        let sql = insert_sql(target, table, rows);
        sqlx::query_with(&sql, args)
            .persistent(false)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// INSERT a part's rows of version `v` into table `target` (the part's table), a batch
/// of rows at a time.
pub(crate) async fn load_table<'q>(
    conn: &mut SqliteConnection,
    target: &str,
    part: Part,
    v: crate::VersionId,
    p: &Prepared<'q>,
) -> Result<(), sqlx::Error> {
    let table = part.table();
    let per = rows_per_insert(table);
    let full_sql = insert_sql(target, table, per);
    let mut batch = Batch {
        args: SqliteArguments::default(),
        rows: 0,
        error: None,
    };
    for i in 0..part.items(p) {
        part.write(&mut batch, v, p, i);
        if batch.rows >= per {
            execute_batch(conn, target, table, &full_sql, &mut batch).await?;
        }
    }
    if batch.rows > 0 {
        execute_batch(conn, target, table, &full_sql, &mut batch).await?;
    }
    Ok(())
}

/// SQLite's page cache while an import loads: 512 MiB.
const IMPORT_CACHE: &str = "PRAGMA cache_size = -524288";

/// `ANALYZE` reading at most about 1,000 rows of each index, on SQLite.
const ANALYZE_SAMPLED: &str = "PRAGMA analysis_limit = 1000; ANALYZE";

/// A bigger page cache on `conn` while it loads (`loading`), so that the indexes that
/// grow in the middle (a register not sorted by 户编号 or village) stay in memory; the
/// connection's usual cache after.
pub(crate) async fn import_session(
    conn: &mut SqliteConnection,
    loading: bool,
) -> Result<(), sqlx::Error> {
    let pragma = if loading {
        IMPORT_CACHE
    } else {
        crate::SQLITE_CACHE
    };
    sqlx::query(pragma).execute(conn).await?;
    Ok(())
}

/// Statistics for the planner (SQLite has none otherwise, and then picks poor plans for
/// searches); sampled, so it takes milliseconds.
pub(crate) async fn analyze_imported(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query(ANALYZE_SAMPLED).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::rows::*;
    use super::*;

    #[test]
    fn summary_tables_have_key_and_tally_columns() {
        assert_eq!(VILLAGE_SUMMARIES.columns[2], "households");
        assert_eq!(TOWNSHIP_SUMMARIES.columns[21], "fail_water");
        assert_eq!(COUNTY_SUMMARIES.columns.len(), 20);
        for t in [&AREAS, &HOUSEHOLDS, &MEMBERS, &ASSESSMENTS, &PROBLEMS] {
            assert!(rows_per_insert(t) * (t.columns.len() + 1) < 32_766);
        }
    }
}
