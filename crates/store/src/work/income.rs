//! The income bands (收入分布) of the current version's households.

use super::IncomeBands;
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::scope::Scope;
use crate::scope::ScopeSql;
use crate::Result;
use fupin_domain::income::IncomeBand;
use sqlx::Pool;

/// Each band: its column, the domain's band, and its condition on a household's
/// per-capita income `a.per_capita` against the line `v.line_fen` (both fen). They must
/// say what `IncomeBand::of` says (domain::income); `income_bands_in_sql_match_the_domain`
/// in the store's tests checks it on both databases.
const BANDS: [(&str, IncomeBand, &str); 5] = [
    ("unknown", IncomeBand::Unknown, "a.per_capita IS NULL"),
    ("below", IncomeBand::Below, "a.per_capita < v.line_fen"),
    (
        "to_150",
        IncomeBand::To150,
        "a.per_capita >= v.line_fen AND 2 * a.per_capita < 3 * v.line_fen",
    ),
    (
        "to_200",
        IncomeBand::To200,
        "2 * a.per_capita >= 3 * v.line_fen AND a.per_capita < 2 * v.line_fen",
    ),
    (
        "above_200",
        IncomeBand::Above200,
        "a.per_capita >= 2 * v.line_fen",
    ),
];

/// `CASE WHEN … THEN 1 ELSE 0 END` per band, each wrapped by `wrap` (e.g. a sum).
fn band_columns(wrap: impl Fn(String) -> String) -> String {
    BANDS
        .iter()
        .map(|(column, _, when)| {
            let case = format!("CASE WHEN {when} THEN 1 ELSE 0 END");
            format!("{} AS {column}", wrap(case))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The income distribution of the current version's households in the scope; None
/// without a register.
pub(super) async fn bands<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
) -> Result<Option<IncomeBands>> {
    let (cond, values) = scope.sql("ar", 1);
    let text = format!(
        "SELECT v.line_fen, {} \
         FROM current_register c \
         JOIN register_versions v ON v.id = c.version_id \
         JOIN households h ON h.version_id = c.version_id \
         JOIN areas ar ON ar.version_id = h.version_id AND ar.seq = h.area_seq \
         JOIN assessments a ON a.version_id = h.version_id AND a.household_seq = h.seq \
         WHERE c.id = 1{cond} GROUP BY v.line_fen",
        band_columns(|case| format!("COALESCE(SUM({case}), 0)"))
    );
    let mut q = sql(&text);
    for v in &values {
        q.push(*v);
    }
    let Some(r) = q.fetch_optional(&mut *pool.acquire().await?).await? else {
        return Ok(None);
    };
    Ok(Some(IncomeBands {
        line_fen: r.int("line_fen")?,
        below: crate::rows::count(&r, "below")?,
        to_150: crate::rows::count(&r, "to_150")?,
        to_200: crate::rows::count(&r, "to_200")?,
        above_200: crate::rows::count(&r, "above_200")?,
        unknown: crate::rows::count(&r, "unknown")?,
    }))
}

/// The bands whose SQL condition holds for one income against one line, evaluated by the
/// database (exactly one, when the conditions are right).
pub(super) async fn bands_in_sql<DB: Backend>(
    pool: &Pool<DB>,
    per_capita: Option<i64>,
    line_fen: i64,
) -> Result<Vec<IncomeBand>> {
    let text = format!(
        "SELECT {} FROM (SELECT CAST($1 AS BIGINT) AS per_capita) a \
         CROSS JOIN (SELECT CAST($2 AS BIGINT) AS line_fen) v",
        band_columns(|case| format!("CAST({case} AS BIGINT)"))
    );
    let r = sql(&text)
        .bind(per_capita)
        .bind(line_fen)
        .fetch_one(&mut *pool.acquire().await?)
        .await?;
    let mut held = Vec::new();
    for (column, band, _) in BANDS {
        if r.int(column)? == 1 {
            held.push(band);
        }
    }
    Ok(held)
}
