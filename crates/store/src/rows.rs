//! Reading columns from a row of either backend.

use chrono::{DateTime, NaiveDate, Utc};
use fupin_domain::figures::Tally;
use fupin_domain::id::Id;
use fupin_domain::Verdict;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Decode, Row, Type};

/// Typed column access by name, the same on a SQLite and a PostgreSQL row, so that
/// decoding is written once.
pub(crate) trait Get {
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn bool(&self, column: &str) -> Result<bool, sqlx::Error>;
    fn opt_bool(&self, column: &str) -> Result<Option<bool>, sqlx::Error>;
    fn time(&self, column: &str) -> Result<DateTime<Utc>, sqlx::Error>;
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error>;
    fn opt_date(&self, column: &str) -> Result<Option<NaiveDate>, sqlx::Error>;
    fn opt_json(&self, column: &str) -> Result<Option<serde_json::Value>, sqlx::Error>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, sqlx::Error>;

    /// An id column: the id of a `T`.
    fn id<T>(&self, column: &str) -> Result<Id<T>, sqlx::Error> {
        self.int(column).map(Id::new)
    }
    fn opt_id<T>(&self, column: &str) -> Result<Option<Id<T>>, sqlx::Error> {
        Ok(self.opt_int(column)?.map(Id::new))
    }
}

/// Every sqlx row whose driver decodes the column types the store reads: `SqliteRow` and
/// `PgRow`.
impl<R> Get for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> NaiveDate: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Json<serde_json::Value>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, c: &str) -> Result<i64, sqlx::Error> {
        self.try_get(c)
    }
    fn opt_int(&self, c: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(c)
    }
    fn text(&self, c: &str) -> Result<String, sqlx::Error> {
        self.try_get(c)
    }
    fn opt_text(&self, c: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(c)
    }
    fn bool(&self, c: &str) -> Result<bool, sqlx::Error> {
        self.try_get(c)
    }
    fn opt_bool(&self, c: &str) -> Result<Option<bool>, sqlx::Error> {
        self.try_get(c)
    }
    fn time(&self, c: &str) -> Result<DateTime<Utc>, sqlx::Error> {
        self.try_get(c)
    }
    fn opt_time(&self, c: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        self.try_get(c)
    }
    fn opt_date(&self, c: &str) -> Result<Option<NaiveDate>, sqlx::Error> {
        self.try_get(c)
    }
    fn opt_json(&self, c: &str) -> Result<Option<serde_json::Value>, sqlx::Error> {
        Ok(self
            .try_get::<Option<Json<serde_json::Value>>, _>(c)?
            .map(|j| j.0))
    }
    fn bytes(&self, c: &str) -> Result<Vec<u8>, sqlx::Error> {
        self.try_get(c)
    }
}

/// A non-negative count read from a BIGINT column.
pub(crate) fn count(r: &impl Get, column: &str) -> Result<u64, sqlx::Error> {
    Ok(r.int(column)?.max(0) as u64)
}

/// The tally columns of the summary tables, in table order.
pub(crate) const TALLY_COLUMNS: [&str; 18] = [
    "households",
    "members",
    "poor_now",
    "remaining",
    "exited_members",
    "wrong_exit_members",
    "ready",
    "not_ready",
    "stable",
    "wrong_exit",
    "data_error",
    "fail_income",
    "fail_food",
    "fail_clothing",
    "fail_education",
    "fail_medical",
    "fail_housing",
    "fail_water",
];

/// A tally's values in [`TALLY_COLUMNS`] order.
pub(crate) fn tally_values(t: &Tally) -> [u64; 18] {
    let mut v = [0u64; 18];
    v[..6].copy_from_slice(&[
        t.households,
        t.members,
        t.poor_now,
        t.remaining,
        t.exited_members,
        t.wrong_exit_members,
    ]);
    v[6..11].copy_from_slice(&t.by_verdict);
    v[11..].copy_from_slice(&t.by_criterion);
    v
}

/// Read a tally from a row with the [`TALLY_COLUMNS`].
pub(crate) fn tally(r: &impl Get) -> Result<Tally, sqlx::Error> {
    let mut by_verdict = [0u64; 5];
    for v in Verdict::ALL {
        by_verdict[v.index()] = count(r, v.word())?;
    }
    let mut by_criterion = [0u64; 7];
    for (i, column) in TALLY_COLUMNS[11..].iter().enumerate() {
        by_criterion[i] = count(r, column)?;
    }
    Ok(Tally {
        households: count(r, "households")?,
        members: count(r, "members")?,
        poor_now: count(r, "poor_now")?,
        remaining: count(r, "remaining")?,
        exited_members: count(r, "exited_members")?,
        wrong_exit_members: count(r, "wrong_exit_members")?,
        by_verdict,
        by_criterion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fupin_domain::Criterion;

    /// The summary columns follow `Verdict::ALL` and `Criterion::ALL`, which index a tally.
    #[test]
    fn tally_columns_follow_the_domain_order() {
        for (i, v) in Verdict::ALL.iter().enumerate() {
            assert_eq!(TALLY_COLUMNS[6 + i], v.word());
        }
        for (i, c) in Criterion::ALL.iter().enumerate() {
            assert_eq!(
                TALLY_COLUMNS[11 + i],
                format!("fail_{}", c.code().to_lowercase())
            );
        }
    }
}
