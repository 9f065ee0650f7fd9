//! The register versions: who imported which file when, and its counts.

use super::{RegisterVersion, VersionId};
use crate::backend::{sql, Backend};
use crate::rows::{count, Get};
use crate::Result;
use fupin_domain::standards::PovertyLine;
use fupin_domain::Fen;
use sqlx::Pool;

fn register_version(r: &impl Get, current: Option<VersionId>) -> Result<RegisterVersion> {
    let id = r.id("id")?;
    Ok(RegisterVersion {
        id,
        current: current == Some(id),
        imported_at: r.time("imported_at")?,
        imported_by: r.opt_id("imported_by")?,
        imported_by_name: r.opt_text("username")?,
        file_name: r.text("file_name")?,
        sha256: r.text("sha256")?,
        format: r.text("format")?,
        with_villages_file: r.opt_text("villages_file")?.is_some(),
        year: r.int("year")? as i32,
        line: PovertyLine {
            year: r.int("line_year")? as i32,
            place: r.opt_text("line_place")?,
            amount: Fen::new(r.int("line_fen")?),
            source: r.text("line_source")?,
            verified: r.bool("line_verified")?,
        },
        rows: count(r, "row_count")?,
        households: count(r, "household_count")?,
        members: count(r, "member_count")?,
        villages: count(r, "village_count")?,
        errors: count(r, "error_count")?,
        warnings: count(r, "warning_count")?,
    })
}

/// [`crate::Store::versions`]: two statements on one pooled connection.
pub(super) async fn all<DB: Backend>(pool: &Pool<DB>) -> Result<Vec<RegisterVersion>> {
    let mut conn = pool.acquire().await?;
    let current = sql("SELECT version_id FROM current_register WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.id("version_id"))
        .transpose()?;
    let rows = sql("SELECT v.*, u.username FROM register_versions v \
         LEFT JOIN users u ON u.id = v.imported_by ORDER BY v.id DESC")
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| register_version(r, current)).collect()
}

/// [`crate::Store::current_version`].
pub(super) async fn current<DB: Backend>(pool: &Pool<DB>) -> Result<Option<RegisterVersion>> {
    let row = sql("SELECT v.*, u.username FROM current_register c \
         JOIN register_versions v ON v.id = c.version_id \
         LEFT JOIN users u ON u.id = v.imported_by WHERE c.id = 1")
    .fetch_optional(&mut *pool.acquire().await?)
    .await?;
    match row {
        Some(r) => Ok(Some(register_version(&r, Some(r.id("id")?))?)),
        None => Ok(None),
    }
}
