//! The income bands (收入分布) of the current version's households.

use super::IncomeBands;
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::scope::Scope;
use crate::Result;
use sqlx::Pool;

/// The income distribution of the current version's households in the scope; None
/// without a register.
pub(super) async fn bands<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
) -> Result<Option<IncomeBands>> {
    let (cond, values) = scope.sql("ar", 1);
    let text = format!(
        "SELECT v.line_fen, \
         COALESCE(SUM(CASE WHEN a.per_capita IS NULL THEN 1 ELSE 0 END), 0) AS unknown, \
         COALESCE(SUM(CASE WHEN a.per_capita < v.line_fen THEN 1 ELSE 0 END), 0) AS below, \
         COALESCE(SUM(CASE WHEN a.per_capita >= v.line_fen AND 2 * a.per_capita < 3 * v.line_fen THEN 1 ELSE 0 END), 0) AS to_150, \
         COALESCE(SUM(CASE WHEN 2 * a.per_capita >= 3 * v.line_fen AND a.per_capita < 2 * v.line_fen THEN 1 ELSE 0 END), 0) AS to_200, \
         COALESCE(SUM(CASE WHEN a.per_capita >= 2 * v.line_fen THEN 1 ELSE 0 END), 0) AS above_200 \
         FROM current_register c \
         JOIN register_versions v ON v.id = c.version_id \
         JOIN households h ON h.version_id = c.version_id \
         JOIN areas ar ON ar.version_id = h.version_id AND ar.seq = h.area_seq \
         JOIN assessments a ON a.version_id = h.version_id AND a.household_seq = h.seq \
         WHERE c.id = 1{cond} GROUP BY v.line_fen"
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
