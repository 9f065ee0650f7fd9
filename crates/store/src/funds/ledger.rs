//! The project library and its ledger read: every project of a scope with its sums, a page
//! of projects by filter and key (never OFFSET), the years and townships to filter by, and
//! the ledger's lines with their projects (the 资金拨付台账).

use super::figures::rollup;
use super::rows::PROJECT_COLUMNS;
use super::rows::{bind_all, entry_row, project_row, project_scope, source, NET};
use super::{FundEntry, ProjectId, StoredProject};
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::work::ItemScope;
use crate::{Page, Result};
use fupin_domain::funds::{Budget, Project, ProjectType, Stage};
use fupin_domain::Fen;
use sqlx::Pool;
use std::collections::HashMap;

/// What a list of projects is narrowed to (besides the reader's scope).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    pub year: Option<i32>,
    pub kind: Option<ProjectType>,
    pub stage: Option<Stage>,
    pub township: Option<String>,
}

/// The key of a page of projects: the (year, id) of the last one shown. Lists run by year,
/// newest first, then by id, newest first.
pub type ProjectKey = (i32, ProjectId);

/// An entry of the ledger with its project, for the 资金拨付台账.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerLine {
    pub year: i32,
    pub project: String,
    pub unit: String,
    pub township: String,
    pub village: Option<String>,
    pub entry: FundEntry,
}

/// The years and townships of the projects in a scope, for the filters of the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectFacets {
    pub years: Vec<i32>,
    pub townships: Vec<String>,
}

/// SQL conditions of a filter on `projects p`: the year, type and stage are numbers and
/// fixed codes written in; the township is bound, placeholders from `first`.
fn filter_sql(f: &ProjectFilter, first: usize) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut binds = Vec::new();
    if let Some(y) = f.year {
        sql.push_str(&format!(" AND p.year = {y}"));
    }
    if let Some(k) = f.kind {
        sql.push_str(&format!(" AND p.kind = '{}'", k.code()));
    }
    if let Some(s) = f.stage {
        sql.push_str(&format!(" AND p.stage = '{}'", s.code()));
    }
    if let Some(t) = &f.township {
        sql.push_str(&format!(" AND p.township = ${first}"));
        binds.push(t.clone());
    }
    (sql, binds)
}

/// The conditions of a scope and a filter on `projects p`, placeholders from `$1`, and
/// their values.
fn scope_and_filter(scope: &ItemScope, filter: &ProjectFilter) -> (String, Vec<String>) {
    let (scond, mut binds) = project_scope(scope, 1);
    let (fcond, more) = filter_sql(filter, 1 + binds.len());
    binds.extend(more);
    (scond + &fcond, binds)
}

/// [`Store::projects`](crate::Store::projects).
pub(super) async fn projects<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
) -> Result<Vec<StoredProject>> {
    let rollup = rollup(pool, scope).await?;
    let mut disbursed: HashMap<ProjectId, Budget> = HashMap::new();
    for (id, s, _, net) in &rollup.entries {
        let b = disbursed.entry(*id).or_default();
        b.set(*s, b.get(*s) + Fen::new(*net));
    }
    let revisions = revisions(pool, scope).await?;
    Ok(rollup
        .projects
        .into_iter()
        .map(|(id, project)| StoredProject {
            id,
            revision: revisions.get(&id).copied().unwrap_or(1),
            disbursed: disbursed.remove(&id).unwrap_or_default(),
            project,
        })
        .collect())
}

/// The revision of each project in `scope`.
async fn revisions<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
) -> Result<HashMap<ProjectId, i64>> {
    let (cond, binds) = project_scope(scope, 1);
    let select = format!("SELECT p.id, p.revision FROM projects p WHERE 1 = 1{cond}");
    bind_all(sql(select), &binds)
        .fetch_all(&mut *pool.acquire().await?)
        .await?
        .iter()
        .map(|r| Ok((r.id("id")?, r.int("revision")?)))
        .collect()
}

/// [`Store::project_page`](crate::Store::project_page).
pub(super) async fn project_page<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    filter: &ProjectFilter,
    after: Option<ProjectKey>,
    limit: i64,
) -> Result<Page<StoredProject, ProjectKey>> {
    let (cond, binds) = scope_and_filter(scope, filter);
    let after_sql = after
        .map(|(y, id)| format!(" AND (p.year < {y} OR (p.year = {y} AND p.id < {id}))"))
        .unwrap_or_default();
    let select = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p WHERE 1 = 1{cond}{after_sql} \
         ORDER BY p.year DESC, p.id DESC LIMIT {}",
        limit + 1
    );
    let rows = bind_all(sql(select), &binds)
        .fetch_all(&mut *pool.acquire().await?)
        .await?
        .iter()
        .map(project_row)
        .collect::<Result<Vec<_>>>()?;
    let items = with_sums(pool, rows).await?;
    Ok(Page::of(items, limit, |p| (p.project.year, p.id)))
}

/// [`Store::projects_filtered`](crate::Store::projects_filtered).
pub(super) async fn projects_filtered<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    filter: &ProjectFilter,
) -> Result<Vec<StoredProject>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = project_page(pool, scope, filter, after, 500).await?;
        out.extend(page.items);
        match page.next {
            Some(k) => after = Some(k),
            None => return Ok(out),
        }
    }
}

/// Budgets and net disbursed sums of the projects read.
async fn with_sums<DB: Backend>(
    pool: &Pool<DB>,
    rows: Vec<(ProjectId, i64, Project)>,
) -> Result<Vec<StoredProject>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers from the database: written into the statement.
    let ids = rows
        .iter()
        .map(|r| r.0.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let budgets_sql = format!(
        "SELECT project_id, source, amount FROM project_budgets WHERE project_id IN ({ids})"
    );
    let net_sql = format!(
        "SELECT e.project_id, e.source, {NET} AS net FROM fund_entries e \
         WHERE e.project_id IN ({ids}) GROUP BY e.project_id, e.source"
    );
    let mut conn = pool.acquire().await?;
    let mut budgets: HashMap<ProjectId, Budget> = HashMap::new();
    for r in sql(budgets_sql).fetch_all(&mut *conn).await? {
        budgets
            .entry(r.id("project_id")?)
            .or_default()
            .set(source(&r, "source")?, Fen::new(r.int("amount")?));
    }
    let mut nets: HashMap<ProjectId, Budget> = HashMap::new();
    for r in sql(net_sql).fetch_all(&mut *conn).await? {
        nets.entry(r.id("project_id")?)
            .or_default()
            .set(source(&r, "source")?, Fen::new(r.int("net")?));
    }
    Ok(rows
        .into_iter()
        .map(|(id, revision, mut project)| {
            project.budget = budgets.get(&id).copied().unwrap_or_default();
            StoredProject {
                id,
                revision,
                project,
                disbursed: nets.get(&id).copied().unwrap_or_default(),
            }
        })
        .collect())
}

/// [`Store::project_facets`](crate::Store::project_facets).
pub(super) async fn project_facets<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
) -> Result<ProjectFacets> {
    let (cond, binds) = project_scope(scope, 1);
    let years_sql =
        format!("SELECT DISTINCT p.year FROM projects p WHERE 1 = 1{cond} ORDER BY p.year DESC");
    let towns_sql =
        format!("SELECT DISTINCT p.township FROM projects p WHERE 1 = 1{cond} ORDER BY p.township");
    let mut conn = pool.acquire().await?;
    let years = bind_all(sql(years_sql), &binds)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.int("year")? as i32))
        .collect::<Result<Vec<_>>>()?;
    let townships = bind_all(sql(towns_sql), &binds)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.text("township")?))
        .collect::<Result<Vec<_>>>()?;
    Ok(ProjectFacets { years, townships })
}

/// [`Store::ledger_lines`](crate::Store::ledger_lines).
pub(super) async fn ledger_lines<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    filter: &ProjectFilter,
) -> Result<Vec<LedgerLine>> {
    let (cond, binds) = scope_and_filter(scope, filter);
    let select = format!(
        "SELECT e.id, e.project_id, e.source, e.entry_date, e.amount, e.kind, e.reverses, \
         e.voucher, e.payee, e.note, e.override_reason, e.recorded_at, \
         u.username AS recorded_by_name, p.year, p.name, p.unit, p.township, p.village \
         FROM fund_entries e JOIN projects p ON p.id = e.project_id \
         LEFT JOIN users u ON u.id = e.recorded_by WHERE 1 = 1{cond} \
         ORDER BY p.year DESC, p.id DESC, e.id"
    );
    bind_all(sql(select), &binds)
        .fetch_all(&mut *pool.acquire().await?)
        .await?
        .iter()
        .map(|r| {
            Ok(LedgerLine {
                year: r.int("year")? as i32,
                project: r.text("name")?,
                unit: r.text("unit")?,
                township: r.text("township")?,
                village: r.opt_text("village")?,
                entry: entry_row(r)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_binds_only_the_township() {
        let f = ProjectFilter {
            year: Some(2018),
            kind: Some(ProjectType::Water),
            stage: Some(Stage::Approved),
            township: Some("示例一乡' OR 1=1".into()),
        };
        let (sql, binds) = filter_sql(&f, 3);
        assert_eq!(
            sql,
            " AND p.year = 2018 AND p.kind = 'water' AND p.stage = 'approved' AND p.township = $3"
        );
        assert_eq!(binds, ["示例一乡' OR 1=1"]);
    }
}
