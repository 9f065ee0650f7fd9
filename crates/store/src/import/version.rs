//! The version row, the current pointer and the audit row of an import: the same SQL on
//! both backends.

use super::prepared::Prepared;
use super::{ImportRun, RegisterMeta};
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend};
use crate::register::VersionId;
use crate::rows::Get;
use crate::work::RefreshOn;
use crate::Result;
use chrono::{DateTime, Utc};
use serde_json::json;

const INSERT_VERSION: &str = "INSERT INTO register_versions \
    (imported_at, imported_by, file_name, sha256, format, villages_file, year, line_fen, \
     line_year, line_place, line_source, line_verified, row_count, household_count, \
     member_count, village_count, error_count, warning_count) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
    RETURNING id, (SELECT version_id FROM current_register WHERE id = 1) AS previous";

/// Insert the version row; its id and the version current before it.
pub(super) async fn insert_version<DB: Backend>(
    conn: &mut DB::Connection,
    meta: &RegisterMeta,
    sha256: &str,
    at: DateTime<Utc>,
    p: &Prepared<'_>,
) -> Result<(VersionId, Option<VersionId>)> {
    let errors = p
        .register
        .problems
        .iter()
        .filter(|x| x.code.is_error())
        .count();
    let villages_file = p
        .villages
        .iter()
        .flatten()
        .next()
        .map(|_| "villages".to_string());
    let row = sql(INSERT_VERSION)
        .bind(at)
        .bind(meta.imported_by)
        .bind(&meta.file_name)
        .bind(sha256)
        .bind(&p.register.format)
        .bind(villages_file)
        .bind(i64::from(meta.year))
        .bind(meta.line.amount.fen())
        .bind(i64::from(meta.line.year))
        .bind(meta.line.place.as_deref())
        .bind(&meta.line.source)
        .bind(meta.line.verified)
        .bind(p.register.rows as i64)
        .bind(p.households() as i64)
        .bind(p.members() as i64)
        .bind(p.register.areas.len() as i64)
        .bind(errors as i64)
        .bind((p.register.problems.len() - errors) as i64)
        .fetch_one(conn)
        .await?;
    Ok((row.id("id")?, row.opt_id("previous")?))
}

/// The end of an import's transaction, before the commit: point `current_register` at
/// the new version, write the audit row, then derive, route and reconcile the version's
/// gaps.
pub(super) async fn finish<DB: Backend>(
    conn: &mut DB::Connection,
    run: &ImportRun<'_>,
    version: VersionId,
    previous: Option<VersionId>,
) -> Result<()>
where
    DB::Connection: RefreshOn,
{
    let ImportRun {
        store,
        meta,
        sha256,
        at,
        p,
        ..
    } = *run;
    sql(
        "INSERT INTO current_register (id, version_id) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET version_id = excluded.version_id",
    )
    .bind(version)
    .execute(&mut *conn)
    .await?;
    let county = &p.tallies.county;
    conn.audit(Record {
        at,
        user: meta.imported_by,
        action: "import_register",
        entity: "register_version",
        entity_id: version.to_string(),
        before: previous.map(|v| json!({ "current_version": v })),
        after: Some(json!({
            "current_version": version,
            "file_name": meta.file_name,
            "sha256": sha256,
            "year": meta.year,
            "line": meta.line.describe(),
            "households": p.households(),
            "members": p.members(),
            "villages": p.register.areas.len(),
            "problems": p.register.problems.len(),
            "verdicts": fupin_domain::Verdict::ALL
                .iter()
                .map(|v| (v.word().to_string(), json!(county.verdict_count(*v))))
                .collect::<serde_json::Map<String, serde_json::Value>>()
        })),
    })
    .await?;
    conn.refresh_on(store, version, meta.imported_by, None)
        .await?;
    Ok(())
}
