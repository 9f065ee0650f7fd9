//! The figures of the county, its townships and villages, from the summary tables (an
//! import writes them, so that no page scans the register), and the areas' names.

use super::{clamp_limit, Page, Summary, CURRENT};
use crate::backend::{sql, Backend};
use crate::rows::{count, tally, Get};
use crate::scope::ScopeSql;
use crate::{Result, Scope};
use fupin_domain::figures::VillageConditions;
use fupin_domain::Fen;
use sqlx::Pool;
use std::collections::HashMap;

const TALLY_SELECT: &str = "households, members, poor_now, remaining, exited_members, \
    wrong_exit_members, ready, not_ready, stable, wrong_exit, data_error, fail_income, \
    fail_food, fail_clothing, fail_education, fail_medical, fail_housing, fail_water";

fn summary(r: &impl Get, township: bool, village: bool) -> Result<Summary> {
    let village_info = |c: &str| {
        if village {
            r.opt_bool(c)
        } else {
            Ok(None)
        }
    };
    Ok(Summary {
        township: if township {
            Some(r.text("township")?)
        } else {
            None
        },
        village: if village {
            Some(r.text("village")?)
        } else {
            None
        },
        tally: tally(r)?,
        population: r.opt_int("population")?.map(|p| p.max(0) as u64),
        poor_village: village_info("poor_village")?,
        conditions: VillageConditions {
            road: village_info("road")?,
            power: village_info("power")?,
            broadband: village_info("broadband")?,
            clinic: village_info("clinic")?,
        },
        collective_income: if village {
            r.opt_int("collective_income")?.map(Fen::new)
        } else {
            None
        },
    })
}

/// [`crate::Store::county_summary`].
pub(super) async fn county<DB: Backend>(pool: &Pool<DB>, scope: &Scope) -> Result<Option<Summary>> {
    if !scope.is_county() {
        return Ok(None);
    }
    let text = format!(
        "SELECT population, {TALLY_SELECT} FROM county_summaries WHERE version_id = {CURRENT}"
    );
    let row = sql(text)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?;
    row.map(|r| summary(&r, false, false)).transpose()
}

/// [`crate::Store::townships`].
pub(super) async fn townships<DB: Backend>(pool: &Pool<DB>, scope: &Scope) -> Result<Vec<Summary>> {
    if matches!(scope, Scope::Village { .. }) {
        return Ok(Vec::new());
    }
    let (filter, binds) = scope.sql("t", 1);
    let text = format!(
        "SELECT t.township, t.population, {TALLY_SELECT} FROM township_summaries t \
         WHERE t.version_id = {CURRENT}{filter} ORDER BY t.seq"
    );
    let mut q = sql(text);
    for b in binds {
        q.push(b);
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    rows.iter().map(|r| summary(r, true, false)).collect()
}

/// [`crate::Store::townships_page`].
pub(super) async fn townships_page<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    after: Option<u64>,
    limit: u32,
) -> Result<Page<Summary, u64>> {
    if matches!(scope, Scope::Village { .. }) {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    }
    let limit = clamp_limit(limit);
    let (filter, binds) = scope.sql("t", 3);
    let text = format!(
        "SELECT t.seq, t.township, t.population, {TALLY_SELECT} FROM township_summaries t \
         WHERE t.version_id = {CURRENT} AND t.seq > $1{filter} ORDER BY t.seq LIMIT $2"
    );
    let mut q = sql(text)
        .bind(after.map_or(-1, |a| a.min(i64::MAX as u64) as i64))
        .bind(limit + 1);
    for b in binds {
        q.push(b);
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    let items = rows
        .iter()
        .map(|r| Ok((count(r, "seq")?, summary(r, true, false)?)))
        .collect::<Result<Vec<_>>>()?;
    let page = Page::of(items, limit, |(seq, _)| *seq);
    Ok(Page {
        items: page.items.into_iter().map(|(_, s)| s).collect(),
        next: page.next,
    })
}

/// [`crate::Store::township`].
pub(super) async fn township<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    name: &str,
) -> Result<Option<Summary>> {
    if matches!(scope, Scope::Village { .. }) {
        return Ok(None);
    }
    let (filter, binds) = scope.sql("t", 2);
    let text = format!(
        "SELECT t.township, t.population, {TALLY_SELECT} FROM township_summaries t \
         WHERE t.version_id = {CURRENT} AND t.township = $1{filter}"
    );
    let mut q = sql(text).bind(name);
    for b in binds {
        q.push(b);
    }
    match q.fetch_optional(&mut *pool.acquire().await?).await? {
        Some(r) => Ok(Some(summary(&r, true, false)?)),
        None => Ok(None),
    }
}

/// [`crate::Store::area_names`].
pub(super) async fn area_names<DB: Backend>(pool: &Pool<DB>) -> Result<Vec<(String, Vec<String>)>> {
    let text =
        format!("SELECT township, village FROM areas WHERE version_id = {CURRENT} ORDER BY seq");
    let rows = sql(text).fetch_all(&mut *pool.acquire().await?).await?;
    let mut townships: Vec<(String, Vec<String>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        let (township, village) = (r.text("township")?, r.text("village")?);
        let i = *index.entry(township.clone()).or_insert_with(|| {
            townships.push((township, Vec::new()));
            townships.len() - 1
        });
        townships[i].1.push(village);
    }
    Ok(townships)
}

/// [`crate::Store::villages`].
pub(super) async fn villages<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    township: &str,
) -> Result<Vec<Summary>> {
    let (filter, binds) = scope.sql("a", 2);
    let text = format!(
        "SELECT a.township, a.village, a.population, a.poor_village, a.road, a.power, \
         a.broadband, a.clinic, a.collective_income, {TALLY_SELECT} \
         FROM village_summaries v \
         JOIN areas a ON a.version_id = v.version_id AND a.seq = v.area_seq \
         WHERE v.version_id = {CURRENT} AND a.township = $1{filter} ORDER BY a.seq"
    );
    let mut q = sql(text).bind(township);
    for b in binds {
        q.push(b);
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    rows.iter().map(|r| summary(r, true, true)).collect()
}
