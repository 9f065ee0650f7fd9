//! The field teams' verification results, one per sampled household, recorded or
//! corrected all at once.

use super::InspectionId;
use crate::accounts::UserId;
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use fupin_domain::estimates::{Approval, Verification};
use fupin_domain::sampling::SampledHousehold;
use serde_json::json;
use sqlx::Pool;
use std::collections::HashMap;

fn verification(r: &impl Get, registered: bool) -> Result<Verification> {
    let a = r.text("approval")?;
    let approval = match a.as_str() {
        "yes" => Approval::Yes,
        "no" => Approval::No,
        "unsure" => Approval::Unsure,
        _ => return Err(StoreError::corrupt(format!("是否认可「{a}」"))),
    };
    let mut checks = Vec::new();
    if registered {
        for c in [
            "income",
            "food",
            "clothing",
            "education",
            "medical",
            "housing",
        ] {
            checks.push(
                r.opt_bool(c)?
                    .ok_or_else(|| StoreError::corrupt(format!("核验结果缺少 {c}")))?,
            );
        }
        if let Some(w) = r.opt_bool("water")? {
            checks.push(w);
        }
    }
    Ok(Verification {
        no: r.int("no")? as u32,
        people: r.opt_int("people")?.map(|p| p as u32),
        checks,
        missed: r.opt_bool("missed")?,
        approval,
    })
}

fn approval_word(a: Approval) -> &'static str {
    match a {
        Approval::Yes => "yes",
        Approval::No => "no",
        Approval::Unsure => "unsure",
    }
}

/// A result checked against its sampled household: what a registered or non-registered
/// household needs (`docs/inspections.md`, Verification results).
pub(super) fn check_result(
    h: &SampledHousehold,
    v: &Verification,
) -> std::result::Result<(), String> {
    let no = h.no;
    if h.group.is_registered() {
        if !(6..=7).contains(&v.checks.len()) {
            return Err(format!(
                "样本 {no} 是建档立卡户：收入及两不愁三保障六项核验结果都要填写（饮水安全可空）"
            ));
        }
        if v.missed.is_some() {
            return Err(format!("样本 {no} 是建档立卡户，不填是否漏评"));
        }
    } else {
        if !v.checks.is_empty() {
            return Err(format!("样本 {no} 是非建档立卡户，不填两不愁三保障核验"));
        }
        if v.missed.is_none() {
            return Err(format!("样本 {no} 是非建档立卡户：要填写是否漏评"));
        }
        if v.people.is_none_or(|p| p == 0) {
            return Err(format!("样本 {no} 是非建档立卡户：家庭人口应为大于0的整数"));
        }
    }
    Ok(())
}

/// Every recorded result of an inspection, by 样本编号.
pub(super) async fn by_no<DB: Backend>(
    pool: &Pool<DB>,
    id: InspectionId,
) -> Result<HashMap<u32, Verification>> {
    let text = "SELECT r.no, r.people, r.income, r.food, r.clothing, r.education, r.medical, \
                r.housing, r.water, r.missed, r.approval, s.grp FROM verification_results r \
                JOIN sampled_households s ON s.inspection_id = r.inspection_id AND s.no = r.no \
                WHERE r.inspection_id = $1";
    let mut out = HashMap::new();
    for r in sql(text)
        .bind(id)
        .fetch_all(&mut *pool.acquire().await?)
        .await?
    {
        let registered = r.text("grp")? != "non_registered";
        let v = verification(&r, registered)?;
        out.insert(v.no, v);
    }
    Ok(out)
}

/// Write checked results (replacing those of the same households) with one audit row
/// (`record_verification`) naming those replaced.
pub(super) async fn record<DB: Backend>(
    pool: &Pool<DB>,
    id: InspectionId,
    results: &[Verification],
    replaced: &[&Verification],
    at: DateTime<Utc>,
    by: UserId,
) -> Result<()> {
    let mut tx = DB::begin_write(pool).await?;
    for v in results {
        let c = |i: usize| v.checks.get(i).copied();
        sql(
            "INSERT INTO verification_results (inspection_id, no, people, income, food, \
             clothing, education, medical, housing, water, missed, approval, recorded_at, \
             recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (inspection_id, no) DO UPDATE SET people = excluded.people, \
             income = excluded.income, food = excluded.food, clothing = excluded.clothing, \
             education = excluded.education, medical = excluded.medical, \
             housing = excluded.housing, water = excluded.water, missed = excluded.missed, \
             approval = excluded.approval, recorded_at = excluded.recorded_at, \
             recorded_by = excluded.recorded_by",
        )
        .bind(id)
        .bind(i64::from(v.no))
        .bind(v.people.map(i64::from))
        .bind(c(0))
        .bind(c(1))
        .bind(c(2))
        .bind(c(3))
        .bind(c(4))
        .bind(c(5))
        .bind(c(6))
        .bind(v.missed)
        .bind(approval_word(v.approval))
        .bind(at)
        .bind(by)
        .execute(&mut *tx)
        .await?;
    }
    tx.audit(Record {
        at,
        user: Some(by),
        action: "record_verification",
        entity: "inspection",
        entity_id: id.to_string(),
        before: (!replaced.is_empty()).then(|| json!(replaced)),
        after: Some(json!(results)),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}
