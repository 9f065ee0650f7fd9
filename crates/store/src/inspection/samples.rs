//! The sample of an inspection: the frame read from a register version, the draw
//! recorded with its plan and seed, and the sampled households a scope may read.

use super::InspectionId;
use crate::accounts::UserId;
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend};
use crate::register::{with_labor_labels, VersionId};
use crate::rows::Get;
use crate::scope::Scope;
use crate::scope::ScopeSql;
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use fupin_domain::sampling::{
    CountyTotals, Frame, FrameHousehold, FrameVillage, NonRegistered, Sample, SamplingPlan,
};
use fupin_domain::values::PovertyStatus;
use fupin_domain::Verdict;
use serde::Serialize;
use serde_json::json;
use sqlx::Pool;
use std::collections::HashMap;

/// The villages (areas) of a register version and their registered households in
/// register order, with the county's totals; non-registered households unknown.
pub(super) async fn frame<DB: Backend>(
    pool: &Pool<DB>,
    version: VersionId,
) -> Result<(Frame, CountyTotals)> {
    let areas = "SELECT seq, township, village, population, poor_village FROM areas \
                 WHERE version_id = $1 ORDER BY seq";
    let households = "SELECT h.household_no, h.area_seq, h.members, h.status, a.verdict, \
         EXISTS (SELECT 1 FROM members m WHERE m.version_id = h.version_id \
                 AND m.household_seq = h.seq AND m.labor IN ($2, $3, $4)) AS able \
         FROM households h JOIN assessments a \
         ON a.version_id = h.version_id AND a.household_seq = h.seq \
         WHERE h.version_id = $1 ORDER BY h.seq";
    let exited = PovertyStatus::Exited.label();
    let remaining = PovertyStatus::NotExited.label();
    let mut conn = pool.acquire().await?;
    let mut frame = Frame::default();
    let mut index = HashMap::new();
    let mut totals = CountyTotals::default();
    for r in sql(areas).bind(version).fetch_all(&mut *conn).await? {
        index.insert(r.int("seq")?, frame.villages.len());
        totals.rural_population += r.opt_int("population")?.unwrap_or(0).max(0) as u64;
        frame.villages.push(FrameVillage {
            township: r.text("township")?,
            village: r.text("village")?,
            poor: r.opt_bool("poor_village")? == Some(true),
            registered: Vec::new(),
            non_registered: NonRegistered::Unknown,
        });
    }
    for r in with_labor_labels(households, version)
        .fetch_all(&mut *conn)
        .await?
    {
        let people = r.int("members")?.max(0) as u32;
        let status = r.opt_text("status")?;
        totals.registered_people += u64::from(people);
        totals.registered_households += 1;
        let is_exited = status.as_deref() == Some(exited);
        if is_exited {
            totals.exited_people += u64::from(people);
        } else if status.as_deref() == Some(remaining) {
            totals.remaining_poor += u64::from(people);
        }
        let Some(&vi) = index.get(&r.int("area_seq")?) else {
            return Err(StoreError::corrupt("农户所在村不在村列表中"));
        };
        let verdict = r.text("verdict")?;
        frame.villages[vi].registered.push(FrameHousehold {
            id: r.text("household_no")?,
            able: r.bool("able")?,
            people,
            exited: is_exited,
            wrong_exit: is_exited && verdict != Verdict::Stable.word(),
        });
    }
    Ok((frame, totals))
}

/// A draw to record: what is needed to redraw it, and the sample drawn.
pub(super) struct Draw<'a, R: Serialize + ?Sized> {
    pub id: InspectionId,
    pub version: VersionId,
    pub plan: &'a SamplingPlan,
    pub rural: &'a R,
    pub rural_villages: usize,
    pub totals: &'a CountyTotals,
    pub sample: &'a Sample,
    pub at: DateTime<Utc>,
    pub by: UserId,
}

/// Record a draw and its sampled households, audited (`draw_sample`). False (nothing
/// written) when the inspection already has its sample.
pub(super) async fn record<DB: Backend, R: Serialize + ?Sized>(
    pool: &Pool<DB>,
    d: Draw<'_, R>,
) -> Result<bool> {
    let (id, plan, sample) = (d.id, d.plan, d.sample);
    let mut tx = DB::begin_write(pool).await?;
    let exists = sql("SELECT 1 AS x FROM inspection_samples WHERE inspection_id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    sql(
        "INSERT INTO inspection_samples (inspection_id, version_id, seed, plan_json, \
         rural_json, totals_json, sample_json, drawn_at, drawn_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(d.version)
    .bind(plan.seed.to_string())
    .bind(to_json(plan))
    .bind(to_json(d.rural))
    .bind(to_json(d.totals))
    .bind(to_json(sample))
    .bind(d.at)
    .bind(d.by)
    .execute(&mut *tx)
    .await?;
    for chunk in sample.households.chunks(500) {
        let text = format!(
            "INSERT INTO sampled_households (inspection_id, no, township, village, grp, household_no) VALUES {}",
            (0..chunk.len())
                .map(|i| {
                    let p = 6 * i;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5,
                        p + 6
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut q = sql(text);
        for h in chunk {
            let v = &sample.villages[h.village as usize];
            q.push(id);
            q.push(i64::from(h.no));
            q.push(&v.township);
            q.push(&v.village);
            q.push(
                serde_json::to_value(h.group)
                    .ok()
                    .and_then(|g| g.as_str().map(str::to_string))
                    .unwrap_or_default(),
            );
            q.push(h.household_id.as_deref());
        }
        q.execute(&mut *tx).await?;
    }
    tx.audit(Record {
        at: d.at,
        user: Some(d.by),
        action: "draw_sample",
        entity: "inspection",
        entity_id: id.to_string(),
        before: None,
        after: Some(json!({
            "version_id": d.version, "seed": plan.seed.to_string(), "plan": plan,
            "villages": sample.villages.len(), "households": sample.households.len(),
            "rural_villages": d.rural_villages,
        })),
    })
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A recorded draw's columns: version, plan, rural, totals and sample JSON, when and by
/// whom.
pub(super) type DrawRow = (
    VersionId,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<String>,
);

/// The recorded draw of an inspection, as stored.
pub(super) async fn stored<DB: Backend>(
    pool: &Pool<DB>,
    id: InspectionId,
) -> Result<Option<DrawRow>> {
    let text = "SELECT s.inspection_id, s.version_id, s.plan_json, s.rural_json, s.totals_json, \
                s.sample_json, s.drawn_at, u.username FROM inspection_samples s \
                LEFT JOIN users u ON u.id = s.drawn_by WHERE s.inspection_id = $1";
    match sql(text)
        .bind(id)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?
    {
        Some(r) => Ok(Some((
            r.id("version_id")?,
            r.text("plan_json")?,
            r.text("rural_json")?,
            r.text("totals_json")?,
            r.text("sample_json")?,
            r.time("drawn_at")?,
            r.opt_text("username")?,
        ))),
        None => Ok(None),
    }
}

/// The 样本编号 of the sampled households the scope may read, in order.
pub(super) async fn visible<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    id: InspectionId,
) -> Result<Vec<i64>> {
    let (cond, values) = scope.sql("s", 2);
    let text = format!(
        "SELECT s.no FROM sampled_households s WHERE s.inspection_id = $1{cond} ORDER BY s.no"
    );
    let mut q = sql(text).bind(id);
    for v in values {
        q.push(v);
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    Ok(rows
        .iter()
        .map(|r| r.int("no"))
        .collect::<Result<Vec<_>, _>>()?)
}

/// A JSON column's text.
fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}
