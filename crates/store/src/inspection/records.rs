//! The inspections themselves: recorded by headquarters or an inspector, listed with
//! their progress.

use super::{Inspection, InspectionId, InspectionLevel, NewInspection};
use crate::accounts::UserId;
use crate::audit::{Audit, Created};
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Pool;

const INSPECTION_SELECT: &str = "SELECT i.id, i.name, i.level, i.starts_on, i.ends_on, i.team, \
     i.created_at, u.username AS created_by, \
     (SELECT COUNT(*) FROM sampled_households s WHERE s.inspection_id = i.id) AS sampled, \
     (SELECT COUNT(*) FROM verification_results r WHERE r.inspection_id = i.id) AS verified, \
     (SELECT COUNT(*) FROM findings f WHERE f.inspection_id = i.id) AS findings \
     FROM inspections i LEFT JOIN users u ON u.id = i.created_by";

fn inspection(r: &impl Get) -> Result<Inspection> {
    let level = r.text("level")?;
    Ok(Inspection {
        id: r.id("id")?,
        name: r.text("name")?,
        level: InspectionLevel::parse(&level)
            .ok_or_else(|| StoreError::corrupt(format!("考核类别「{level}」")))?,
        starts_on: r
            .opt_date("starts_on")?
            .ok_or_else(|| StoreError::corrupt("考核开始日期为空"))?,
        ends_on: r.opt_date("ends_on")?,
        team: r.text("team")?,
        created_at: r.time("created_at")?,
        created_by: r.opt_text("created_by")?,
        sampled: crate::rows::count(r, "sampled")?,
        verified: crate::rows::count(r, "verified")?,
        findings: crate::rows::count(r, "findings")?,
    })
}

/// Insert a checked inspection (its name and team trimmed) and audit it
/// (`create_inspection`). Its id.
pub(super) async fn create<DB: Backend>(
    pool: &Pool<DB>,
    new: &NewInspection,
    (name, team): (&str, &str),
    at: DateTime<Utc>,
    by: UserId,
) -> Result<InspectionId> {
    let mut tx = DB::begin_write(pool).await?;
    let insert = sql(
        "INSERT INTO inspections (name, level, starts_on, ends_on, team, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(name)
    .bind(new.level.word())
    .bind(new.starts_on)
    .bind(new.ends_on)
    .bind(team)
    .bind(at)
    .bind(by);
    let created = Created {
        at,
        by,
        action: "create_inspection",
        entity: "inspection",
    };
    let after = json!({
        "name": name, "level": new.level.word(), "starts_on": new.starts_on,
        "ends_on": new.ends_on, "team": team,
    });
    let id = tx.insert_audited(insert, created, after).await?;
    tx.commit().await?;
    Ok(id)
}

/// Every inspection, newest first.
pub(super) async fn all<DB: Backend>(pool: &Pool<DB>) -> Result<Vec<Inspection>> {
    let text = format!("{INSPECTION_SELECT} ORDER BY i.id DESC");
    let rows = sql(text).fetch_all(&mut *pool.acquire().await?).await?;
    rows.iter().map(inspection).collect()
}

/// An inspection by id.
pub(super) async fn by_id<DB: Backend>(
    pool: &Pool<DB>,
    id: InspectionId,
) -> Result<Option<Inspection>> {
    let text = format!("{INSPECTION_SELECT} WHERE i.id = $1");
    match sql(text)
        .bind(id)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?
    {
        Some(r) => Ok(Some(inspection(&r)?)),
        None => Ok(None),
    }
}
