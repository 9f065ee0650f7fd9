//! The problems found in the current version's file, in report order.

use super::{clamp_limit, corrupt, Page, ProblemRow, CURRENT};
use crate::backend::{sql, Backend};
use crate::rows::{count, Get};
use crate::scope::ScopeSql;
use crate::{Result, Scope};
use fupin_domain::ProblemCode;
use sqlx::Pool;

pub(super) fn problem_row(r: &impl Get) -> Result<ProblemRow> {
    let code = r.text("code")?;
    Ok(ProblemRow {
        seq: count(r, "seq")?,
        line: count(r, "line")?,
        column: r.text("column_name")?,
        code: ProblemCode::of_code(&code).ok_or_else(|| corrupt("problem code", &code))?,
        message: r.text("message")?,
        value: r.text("value")?,
        household_no: r.opt_text("household_no")?,
    })
}

/// [`crate::Store::problems`].
pub(super) async fn page<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    after: Option<u64>,
    limit: u32,
) -> Result<Page<ProblemRow, u64>> {
    let limit = clamp_limit(limit);
    // Problems carry their household's township and village: a township's are one
    // range of `problems_by_township`.
    let (filter, binds) = scope.sql("p", 3);
    let text = format!(
        "SELECT p.seq, p.line, p.column_name, p.code, p.message, p.value, p.household_no \
         FROM problems p \
         WHERE p.version_id = {CURRENT} AND p.seq > $1{filter} ORDER BY p.seq LIMIT $2"
    );
    let mut q = sql(text)
        .bind(after.map_or(-1, |a| a as i64))
        .bind(limit + 1);
    for b in binds {
        q.push(b);
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    let items = rows.iter().map(problem_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::of(items, limit, |p| p.seq))
}
