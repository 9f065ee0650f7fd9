//! Reading gaps: lists, a household's, one, and the dashboard's counts.

use super::items::{item, ITEM_COLUMNS, ITEM_FROM};
use super::ItemScopeSql;
use super::{GapCounts, GapFilter, GapId, GapRow, ItemScope, WorkItem};
use crate::backend::{sql, Backend};
use crate::register::{clamp_limit, Page};
use crate::rows::Get;
use crate::scope::Scope;
use crate::Result;
use sqlx::Pool;

pub(super) const GAP_COLUMNS: &str =
    "g.id, g.gap_key, g.kind, g.township, g.village, g.household_no, \
     g.detail, g.open, g.task_no, g.lead_unit, g.first_version, g.last_version, g.opened_at, \
     g.closed_at, g.evidence, (SELECT w.id FROM work_items w WHERE w.gap_id = g.id) AS item_id";

pub(super) fn gap_row(r: &impl Get) -> Result<GapRow> {
    Ok(GapRow {
        id: r.id("id")?,
        key: r.text("gap_key")?,
        kind: r.text("kind")?,
        township: r.text("township")?,
        village: r.text("village")?,
        household_no: r.opt_text("household_no")?,
        detail: r.text("detail")?,
        open: r.bool("open")?,
        task_no: r.opt_int("task_no")?.map(|n| n as u32),
        lead_unit: r.opt_text("lead_unit")?,
        first_version: r.id("first_version")?,
        last_version: r.id("last_version")?,
        opened_at: r.time("opened_at")?,
        closed_at: r.opt_time("closed_at")?,
        evidence: r.opt_text("evidence")?,
        work_item: r.opt_id("item_id")?,
    })
}

/// Gaps the scope may read, by id, paged by key.
pub(super) async fn list<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    filter: &GapFilter,
    after: Option<GapId>,
    limit: u32,
) -> Result<Page<GapRow, GapId>> {
    let limit = clamp_limit(limit);
    let (cond, values) = scope.sql("g", "lead_unit", 3);
    let mut text = format!("SELECT {GAP_COLUMNS} FROM gaps g WHERE g.id > $1{cond}");
    if filter.open {
        text.push_str(" AND g.open");
    }
    if filter.unrouted {
        text.push_str(" AND g.task_no IS NULL");
    }
    let mut n = 3 + values.len();
    if filter.kind.is_some() {
        text.push_str(&format!(" AND g.kind = ${n}"));
        n += 1;
    }
    if filter.task_no.is_some() {
        text.push_str(&format!(" AND g.task_no = ${n}"));
    }
    text.push_str(" ORDER BY g.id LIMIT $2");
    let mut q = sql(&text)
        .bind(after.map_or(0, fupin_domain::id::Id::get))
        .bind(limit + 1);
    for v in &values {
        q.push(v);
    }
    if let Some(k) = &filter.kind {
        q.push(k);
    }
    if let Some(t) = filter.task_no {
        q.push(i64::from(t));
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    let items = rows.iter().map(gap_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::of(items, limit, |g| g.id))
}

/// A household's gaps, open first, then by id, each with its work item when the scope
/// may read it ([`crate::Store::household_gaps`]).
pub(super) async fn of_household<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    household_no: &str,
) -> Result<Vec<(GapRow, Option<WorkItem>)>> {
    let (cond, values) = match scope {
        ItemScope::Unit(u) => (
            " AND (g.lead_unit = $2 OR EXISTS (SELECT 1 FROM work_items x \
              WHERE x.gap_id = g.id AND x.unit = $2))"
                .to_string(),
            vec![u.clone()],
        ),
        s => s.sql("g", "lead_unit", 2),
    };
    let text = format!(
        "SELECT {GAP_COLUMNS} FROM gaps g WHERE g.household_no = $1{cond} \
         ORDER BY g.open DESC, g.id"
    );
    // The items of all its gaps in one statement (not one per gap), in the scope as
    // `work_item` reads one; on the same connection.
    let (item_cond, item_values) = scope.sql("w", "unit", 2);
    let items_sql = format!(
        "SELECT {ITEM_COLUMNS} {ITEM_FROM} WHERE w.gap_id IN \
         (SELECT x.id FROM gaps x WHERE x.household_no = $1){item_cond}"
    );
    let mut conn = pool.acquire().await?;
    let mut q = sql(&text).bind(household_no);
    for v in &values {
        q.push(v);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let gaps = rows.iter().map(gap_row).collect::<Result<Vec<_>>>()?;
    let mut items = Vec::new();
    if gaps.iter().any(|g| g.work_item.is_some()) {
        let mut q = sql(&items_sql).bind(household_no);
        for v in &item_values {
            q.push(v);
        }
        for r in q.fetch_all(&mut *conn).await? {
            items.push(item(&r)?);
        }
    }
    Ok(gaps
        .into_iter()
        .map(|g| {
            let i = g
                .work_item
                .and_then(|id| items.iter().position(|i| i.id == id))
                .map(|at| items.swap_remove(at));
            (g, i)
        })
        .collect())
}

/// A gap the scope may read.
pub(super) async fn one<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    id: GapId,
) -> Result<Option<GapRow>> {
    let (cond, values) = scope.sql("g", "lead_unit", 2);
    let text = format!("SELECT {GAP_COLUMNS} FROM gaps g WHERE g.id = $1{cond}");
    let mut q = sql(&text).bind(id);
    for v in &values {
        q.push(v);
    }
    match q.fetch_optional(&mut *pool.acquire().await?).await? {
        Some(r) => Ok(Some(gap_row(&r)?)),
        None => Ok(None),
    }
}

/// Open gaps by kind, the headquarters' queue and closed gaps, in the scope.
pub(super) async fn counts<DB: Backend>(pool: &Pool<DB>, scope: &ItemScope) -> Result<GapCounts> {
    let (cond, values) = scope.sql("g", "lead_unit", 1);
    // The county and a unit read the few rows of `gap_counts` (kept by every refresh);
    // a township or village counts its own gaps through the area index.
    let whole_county = matches!(
        scope,
        ItemScope::All | ItemScope::Unit(_) | ItemScope::Area(Scope::County)
    );
    // One statement: counts by kind, open or closed, and routed or not.
    let text = if whole_county {
        format!(
            "SELECT g.kind, CAST(CASE WHEN g.open THEN 1 ELSE 0 END AS BIGINT) AS open_gap, \
             CAST(CASE WHEN g.unrouted THEN 1 ELSE 0 END AS BIGINT) AS unrouted, \
             CAST(SUM(g.n) AS BIGINT) AS n \
             FROM gap_counts g WHERE 1 = 1{cond} GROUP BY 1, 2, 3"
        )
    } else {
        format!(
            "SELECT g.kind, CAST(CASE WHEN g.open THEN 1 ELSE 0 END AS BIGINT) AS open_gap, \
             CAST(CASE WHEN g.task_no IS NULL THEN 1 ELSE 0 END AS BIGINT) AS unrouted, \
             COUNT(*) AS n FROM gaps g WHERE 1 = 1{cond} GROUP BY 1, 2, 3"
        )
    };
    let mut q = sql(&text);
    for v in &values {
        q.push(v);
    }
    let mut rows: Vec<(String, bool, bool, u64)> = Vec::new();
    for r in q.fetch_all(&mut *pool.acquire().await?).await? {
        rows.push((
            r.text("kind")?,
            r.int("open_gap")? == 1,
            r.int("unrouted")? == 1,
            crate::rows::count(&r, "n")?,
        ));
    }
    let mut by_kind: std::collections::BTreeMap<String, u64> = Default::default();
    let mut counts = GapCounts {
        open_by_kind: Vec::new(),
        open: 0,
        unrouted: 0,
        closed: 0,
    };
    for (kind, open, unrouted, n) in rows {
        if !open {
            counts.closed += n;
            continue;
        }
        counts.open += n;
        if unrouted {
            counts.unrouted += n;
        }
        *by_kind.entry(kind).or_default() += n;
    }
    counts.open_by_kind = by_kind.into_iter().filter(|(_, n)| *n > 0).collect();
    Ok(counts)
}
