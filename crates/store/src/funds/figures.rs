//! The figures of the funds: disbursed against budget grouped by project, source, key
//! task, unit, township or month; the projects behind schedule by the county's rule (a
//! setting headquarters keeps); and the funds part of the "six in place" panel. All are
//! worked out from one [`Rollup`] of the projects in a scope.

use super::rows::{bind_all, project_row, project_scope, source, NET, PROJECT_COLUMNS};
use super::{FundRefusal, ProjectId};
use crate::accounts::User;
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::work::ItemScope;
use crate::{now, on_pool, Result, Store, StoreError};
use chrono::{Datelike, NaiveDate};
use fupin_domain::access::{may, Action};
use fupin_domain::figures::Rate;
use fupin_domain::funds::{is_behind, rate, FundSource, Project, ScheduleRule, Stage};
use fupin_domain::Fen;
use serde::Serialize;
use serde_json::json;
use sqlx::Pool;
use std::collections::{BTreeMap, HashMap};

/// What the figures are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FundsBy {
    Project,
    Source,
    /// The plan's key task (year and 序号).
    Task,
    Unit,
    Township,
    /// The month of the entries' dates: the month's net sum, and the cumulative rate.
    Month,
}

impl FundsBy {
    /// Every grouping, in the order the pages show them.
    pub const ALL: [FundsBy; 6] = [
        FundsBy::Project,
        FundsBy::Source,
        FundsBy::Task,
        FundsBy::Unit,
        FundsBy::Township,
        FundsBy::Month,
    ];

    /// The word in URLs and on the command line: `source`.
    pub fn code(self) -> &'static str {
        match self {
            FundsBy::Project => "project",
            FundsBy::Source => "source",
            FundsBy::Task => "task",
            FundsBy::Unit => "unit",
            FundsBy::Township => "township",
            FundsBy::Month => "month",
        }
    }

    /// The tab users read: 按资金来源.
    pub fn chinese(self) -> &'static str {
        match self {
            FundsBy::Project => "按项目",
            FundsBy::Source => "按资金来源",
            FundsBy::Task => "按重点工作",
            FundsBy::Unit => "按实施单位",
            FundsBy::Township => "按乡镇",
            FundsBy::Month => "按月份",
        }
    }
}

impl std::str::FromStr for FundsBy {
    type Err = fupin_domain::words::Unrecognized;

    fn from_str(word: &str) -> Result<FundsBy, Self::Err> {
        FundsBy::ALL
            .into_iter()
            .find(|g| g.code() == word)
            .ok_or_else(|| {
                let allowed = FundsBy::ALL.map(FundsBy::code).join("、");
                fupin_domain::words::Unrecognized::new("统计口径", word, allowed)
            })
    }
}

/// One line of the figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FundFigure {
    /// A machine key: the project id, source code, `2018-3` (year-序号), unit, township,
    /// `2018-03`.
    pub key: String,
    /// What people read.
    pub label: String,
    pub projects: u64,
    pub budget: Fen,
    /// Net disbursed (by month: cumulative up to the month's end).
    pub disbursed: Fen,
    /// For months: the month's own net sum; otherwise equal to `disbursed`.
    pub in_period: Fen,
    /// Disbursed ÷ budget, exactly; None without a budget.
    #[serde(serialize_with = "ser_rate")]
    pub rate: Option<Rate>,
}

fn ser_rate<S: serde::Serializer>(r: &Option<Rate>, s: S) -> Result<S::Ok, S::Error> {
    r.map(fupin_domain::figures::Rate::percent).serialize(s)
}

/// A project behind schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Behind {
    pub id: ProjectId,
    pub year: i32,
    pub name: String,
    pub unit: String,
    pub township: String,
    pub village: Option<String>,
    pub stage: Stage,
    pub budget: Fen,
    /// Net disbursed up to the rule's date.
    pub disbursed_by_date: Fen,
    #[serde(serialize_with = "ser_rate")]
    pub rate: Option<Rate>,
}

/// The funds part of the "six in place" (资金到位) panel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FundsInPlace {
    pub projects: u64,
    /// Projects with a budget.
    pub funded: u64,
    pub budget: Fen,
    pub disbursed: Fen,
    #[serde(serialize_with = "ser_rate")]
    pub rate: Option<Rate>,
    /// Projects behind schedule by the rule given, if any.
    pub behind: u64,
    /// Entries recorded over budget by an override.
    pub overrides: u64,
}

/// The projects of a scope with their budgets, and the net sums of their entries per
/// project, source and date.
pub(super) struct Rollup {
    pub projects: Vec<(ProjectId, Project)>,
    /// (project, source, date, net).
    pub entries: Vec<(ProjectId, FundSource, NaiveDate, i64)>,
}

/// The [`Rollup`] of the projects in `scope`, by year (newest first) and name.
pub(super) async fn rollup<DB: Backend>(pool: &Pool<DB>, scope: &ItemScope) -> Result<Rollup> {
    let (cond, binds) = project_scope(scope, 1);
    let projects_sql = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p WHERE 1 = 1{cond} ORDER BY p.year DESC, p.name"
    );
    let budgets_sql = format!(
        "SELECT b.project_id, b.source, b.amount FROM project_budgets b \
         JOIN projects p ON p.id = b.project_id WHERE 1 = 1{cond}"
    );
    let entries_sql = format!(
        "SELECT e.project_id, e.source, e.entry_date, {NET} AS net FROM fund_entries e \
         JOIN projects p ON p.id = e.project_id WHERE 1 = 1{cond} \
         GROUP BY e.project_id, e.source, e.entry_date"
    );
    let mut conn = pool.acquire().await?;
    let mut projects = Vec::new();
    for r in bind_all(sql(projects_sql), &binds)
        .fetch_all(&mut *conn)
        .await?
    {
        let (id, _, p) = project_row(&r)?;
        projects.push((id, p));
    }
    let index: HashMap<ProjectId, usize> = projects
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    for r in bind_all(sql(budgets_sql), &binds)
        .fetch_all(&mut *conn)
        .await?
    {
        let id = r.id("project_id")?;
        let s = source(&r, "source")?;
        if let Some(i) = index.get(&id) {
            projects[*i].1.budget.set(s, Fen::new(r.int("amount")?));
        }
    }
    let mut entries = Vec::new();
    for r in bind_all(sql(entries_sql), &binds)
        .fetch_all(&mut *conn)
        .await?
    {
        entries.push((
            r.id("project_id")?,
            source(&r, "source")?,
            r.opt_date("entry_date")?
                .ok_or_else(|| StoreError::corrupt("拨付日期为空"))?,
            r.int("net")?,
        ));
    }
    Ok(Rollup { projects, entries })
}

/// [`Store::fund_figures`]: the rollup, and the plan's task titles when grouped by task.
pub(super) async fn fund_figures(
    store: &Store,
    scope: &ItemScope,
    by: FundsBy,
) -> Result<Vec<FundFigure>> {
    let rollup = on_pool!(store, pool => rollup(pool, scope).await)?;
    let mut task_titles: HashMap<(i32, u32), String> = HashMap::new();
    if by == FundsBy::Task {
        let mut years: Vec<i32> = rollup.projects.iter().map(|(_, p)| p.year).collect();
        years.sort_unstable();
        years.dedup();
        for y in years {
            if let Some(plan) = store.plan().current_plan(Some(y)).await? {
                for t in plan.plan.tasks {
                    task_titles.insert((y, t.no), t.name);
                }
            }
        }
    }
    Ok(figures(&rollup, by, &task_titles))
}

/// The figures of a rollup grouped by `by`, in key order; a task's title from
/// `task_titles` by year and 序号.
fn figures(
    rollup: &Rollup,
    by: FundsBy,
    task_titles: &HashMap<(i32, u32), String>,
) -> Vec<FundFigure> {
    let by_id: HashMap<ProjectId, &Project> =
        rollup.projects.iter().map(|(id, p)| (*id, p)).collect();
    // (key, label) → (projects, budget, net).
    let mut groups: BTreeMap<String, (String, u64, i64, i64)> = BTreeMap::new();
    let key_of = |id: ProjectId, p: &Project| -> (String, String) {
        match by {
            FundsBy::Project => (format!("{id:010}"), format!("{}年 {}", p.year, p.name)),
            FundsBy::Unit => (p.unit.clone(), p.unit.clone()),
            FundsBy::Township => (p.township.clone(), p.township.clone()),
            FundsBy::Task => match p.task_no {
                Some(no) => (
                    format!("{}-{no:03}", p.year),
                    match task_titles.get(&(p.year, no)) {
                        Some(t) => format!("{}年 序号{no}「{t}」", p.year),
                        None => format!("{}年 序号{no}", p.year),
                    },
                ),
                None => (
                    format!("{}-zzz", p.year),
                    format!("{}年 未关联重点工作", p.year),
                ),
            },
            FundsBy::Source | FundsBy::Month => (String::new(), String::new()),
        }
    };
    match by {
        FundsBy::Source => {
            for s in FundSource::ALL {
                let budget: i64 = rollup
                    .projects
                    .iter()
                    .map(|(_, p)| p.budget.get(*s).fen())
                    .sum();
                let n = rollup
                    .projects
                    .iter()
                    .filter(|(_, p)| p.budget.get(*s).fen() > 0)
                    .count();
                let net: i64 = rollup
                    .entries
                    .iter()
                    .filter(|e| e.1 == *s)
                    .map(|e| e.3)
                    .sum();
                if budget > 0 || net != 0 {
                    groups.insert(
                        format!("{}{}", *s as u8, s.code()),
                        (s.chinese().to_string(), n as u64, budget, net),
                    );
                }
            }
        }
        FundsBy::Month => return months(rollup),
        _ => {
            for (id, p) in &rollup.projects {
                let (key, label) = key_of(*id, p);
                let g = groups.entry(key).or_insert((label, 0, 0, 0));
                g.1 += 1;
                g.2 += p.budget.total().fen();
            }
            for (id, _, _, net) in &rollup.entries {
                if let Some(p) = by_id.get(id) {
                    let (key, _) = key_of(*id, p);
                    if let Some(g) = groups.get_mut(&key) {
                        g.3 += net;
                    }
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|(key, (label, projects, budget, net))| FundFigure {
            key: match by {
                FundsBy::Project => key.trim_start_matches('0').to_string(),
                FundsBy::Source => key.trim_start_matches(char::is_numeric).to_string(),
                _ => key,
            },
            label,
            projects,
            budget: Fen::new(budget),
            disbursed: Fen::new(net),
            in_period: Fen::new(net),
            rate: rate(Fen::new(budget), Fen::new(net)),
        })
        .collect()
}

/// The figures by month: each month's net sum, and the cumulative sum against the whole
/// budget.
fn months(rollup: &Rollup) -> Vec<FundFigure> {
    let total: i64 = rollup
        .projects
        .iter()
        .map(|(_, p)| p.budget.total().fen())
        .sum();
    let mut months: BTreeMap<(i32, u32), (HashMap<ProjectId, ()>, i64)> = BTreeMap::new();
    for (id, _, d, net) in &rollup.entries {
        let m = months.entry((d.year(), d.month())).or_default();
        m.0.insert(*id, ());
        m.1 += net;
    }
    let mut cumulative = 0i64;
    let mut out = Vec::new();
    for ((y, m), (ids, net)) in months {
        cumulative += net;
        out.push(FundFigure {
            key: format!("{y}-{m:02}"),
            label: format!("{y}年{m}月"),
            projects: ids.len() as u64,
            budget: Fen::new(total),
            disbursed: Fen::new(cumulative),
            in_period: Fen::new(net),
            rate: rate(Fen::new(total), Fen::new(cumulative)),
        });
    }
    out
}

/// [`Store::behind_schedule`].
pub(super) async fn behind_schedule<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    rule: ScheduleRule,
    today: NaiveDate,
) -> Result<Vec<Behind>> {
    Ok(behind(rollup(pool, scope).await?, rule, today))
}

/// The projects of a rollup behind schedule by `rule` as of `today`, lowest share first.
fn behind(rollup: Rollup, rule: ScheduleRule, today: NaiveDate) -> Vec<Behind> {
    let mut by_date: HashMap<ProjectId, i64> = HashMap::new();
    for (id, _, d, net) in &rollup.entries {
        if *d <= rule.by {
            *by_date.entry(*id).or_default() += net;
        }
    }
    let mut out: Vec<Behind> = rollup
        .projects
        .into_iter()
        .filter_map(|(id, p)| {
            let paid = Fen::new(by_date.get(&id).copied().unwrap_or(0));
            let budget = p.budget.total();
            is_behind(rule, today, budget, paid).then(|| Behind {
                id,
                year: p.year,
                name: p.name,
                unit: p.unit,
                township: p.township,
                village: p.village,
                stage: p.stage,
                budget,
                disbursed_by_date: paid,
                rate: rate(budget, paid),
            })
        })
        .collect();
    // Lowest share first: a.paid / a.budget < b.paid / b.budget, exactly.
    out.sort_by(|a, b| {
        let share = |x: &Behind, y: &Behind| {
            i128::from(x.disbursed_by_date.fen()) * i128::from(y.budget.fen())
        };
        share(a, b).cmp(&share(b, a)).then(a.id.cmp(&b.id))
    });
    out
}

/// [`Store::funds_in_place`].
pub(super) async fn funds_in_place<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    rule: Option<ScheduleRule>,
    today: NaiveDate,
) -> Result<FundsInPlace> {
    let (cond, binds) = project_scope(scope, 1);
    let count_sql = format!(
        "SELECT COUNT(*) AS n FROM fund_entries e JOIN projects p ON p.id = e.project_id \
         WHERE e.override_reason IS NOT NULL{cond}"
    );
    let overrides = crate::rows::count(
        &bind_all(sql(count_sql), &binds)
            .fetch_one(&mut *pool.acquire().await?)
            .await?,
        "n",
    )?;
    let rollup = rollup(pool, scope).await?;
    let budget = Fen::new(
        rollup
            .projects
            .iter()
            .map(|(_, p)| p.budget.total().fen())
            .sum(),
    );
    let disbursed = Fen::new(rollup.entries.iter().map(|e| e.3).sum());
    let projects = rollup.projects.len() as u64;
    let funded = rollup
        .projects
        .iter()
        .filter(|(_, p)| p.budget.total().fen() > 0)
        .count() as u64;
    let behind = match rule {
        Some(r) => behind(rollup, r, today).len() as u64,
        None => 0,
    };
    Ok(FundsInPlace {
        projects,
        funded,
        budget,
        disbursed,
        rate: rate(budget, disbursed),
        behind,
        overrides,
    })
}

/// [`Store::schedule_rule`].
pub(super) async fn schedule_rule<DB: Backend>(pool: &Pool<DB>) -> Result<Option<ScheduleRule>> {
    let r = sql("SELECT behind_by, behind_min_bp FROM fund_settings WHERE id = 1")
        .fetch_optional(&mut *pool.acquire().await?)
        .await?;
    Ok(match r {
        Some(r) => match (r.opt_date("behind_by")?, r.opt_int("behind_min_bp")?) {
            (Some(by), Some(bp)) => Some(ScheduleRule {
                by,
                min_bp: bp.max(0) as u64,
            }),
            _ => None,
        },
        None => None,
    })
}

/// [`Store::set_schedule_rule`].
pub(super) async fn set_schedule_rule<DB: Backend>(
    pool: &Pool<DB>,
    user: &User,
    rule: Option<ScheduleRule>,
) -> Result<std::result::Result<(), FundRefusal>> {
    if let Err(r) = may(user.role.actor(None), Action::SetScheduleRule) {
        return Ok(Err(FundRefusal::NotAllowed(r.into_message())));
    }
    if rule.is_some_and(|r| r.min_bp > 10_000) {
        return Ok(Err(FundRefusal::Invalid(
            "拨付比例应在 0 到 100% 之间".into(),
        )));
    }
    let before = schedule_rule(pool).await?;
    if before == rule {
        return Ok(Ok(()));
    }
    let as_json = |r: Option<ScheduleRule>| match r {
        Some(r) => json!({"by": r.by, "min_bp": r.min_bp}),
        None => serde_json::Value::Null,
    };
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    sql("UPDATE fund_settings SET behind_by = $1, behind_min_bp = $2 WHERE id = 1")
        .bind(rule.map(|r| r.by))
        .bind(rule.map(|r| r.min_bp as i64))
        .execute(&mut *tx)
        .await?;
    tx.audit(Record {
        at,
        user: Some(user.id),
        action: "set_schedule_rule",
        entity: "fund_settings",
        entity_id: "1".into(),
        before: Some(as_json(before)),
        after: Some(as_json(rule)),
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}
