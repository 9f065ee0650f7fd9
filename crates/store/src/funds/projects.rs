//! The project library written: a checked library file imported (new projects created,
//! changed ones raised a revision), a project created or changed by hand by headquarters,
//! and a stage moved one step forward with its actual date. Every change is audited with
//! the project before and after; a budget never falls below what is disbursed from its
//! source.

use super::rows::{parse_code, project_json, project_row, source};
use super::rows::{NET, PROJECT_COLUMNS};
use super::write::ProjectWrite;
use super::{FundRefusal, ProjectId, ProjectImport};
use crate::accounts::{User, UserId};
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend, Run};
use crate::rows::Get;
use crate::{now, on_pool, Result, Store};
use chrono::{DateTime, NaiveDate, Utc};
use fupin_domain::access::{may, Action};
use fupin_domain::funds::{date_problems, Budget, FundSource, Project, Stage};
use fupin_domain::funds_rows::{RowRefusal, Why};
use fupin_domain::Fen;
use serde_json::json;
use sqlx::Pool;
use std::collections::HashMap;

/// [`Store::import_projects`]: the library written in one transaction, then the warnings
/// of the 序号 that the year's plan in force does not list.
pub(super) async fn import_projects(
    store: &Store,
    file_name: &str,
    projects: &[(u64, Project)],
    by: Option<UserId>,
) -> Result<std::result::Result<ProjectImport, Vec<RowRefusal>>> {
    let imported = on_pool!(store, pool => write_library(pool, file_name, projects, by).await)?;
    let Ok(mut done) = imported else {
        return Ok(imported);
    };
    let mut plans: HashMap<i32, Option<Vec<u32>>> = HashMap::new();
    for (line, p) in projects {
        let Some(no) = p.task_no else { continue };
        if let std::collections::hash_map::Entry::Vacant(e) = plans.entry(p.year) {
            let tasks = store.plan().current_plan(Some(p.year)).await?;
            e.insert(tasks.map(|s| s.plan.tasks.iter().map(|t| t.no).collect()));
        }
        let (year, project, task_no) = (p.year, p.name.clone(), no);
        let why = match plans.get(&p.year) {
            Some(Some(nos)) if nos.contains(&no) => continue,
            Some(Some(_)) => Why::TaskNotInPlan {
                year,
                project,
                task_no,
            },
            _ => Why::NoPlanForTask {
                year,
                project,
                task_no,
            },
        };
        done.warnings.push(RowRefusal { line: *line, why });
    }
    Ok(Ok(done))
}

/// The library's projects created, updated or left alone in one transaction; every
/// problem of a budget below what is disbursed, and nothing stored, when there is one.
async fn write_library<DB: Backend>(
    pool: &Pool<DB>,
    file_name: &str,
    projects: &[(u64, Project)],
    by: Option<UserId>,
) -> Result<std::result::Result<ProjectImport, Vec<RowRefusal>>> {
    let at = now();
    let existing_sql =
        format!("SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.year = $1 AND p.name = $2");
    let mut tx = DB::begin_write(pool).await?;
    let mut done = ProjectImport::default();
    let mut problems = Vec::new();
    for (line, p) in projects {
        let existing = sql(existing_sql.as_str())
            .bind(p.year)
            .bind(&p.name)
            .fetch_optional(&mut *tx)
            .await?;
        match existing {
            None => {
                let id = insert_project(&mut *tx, p, at).await?;
                tx.audit(Record {
                    at,
                    user: by,
                    action: "create_project",
                    entity: "project",
                    entity_id: id.to_string(),
                    before: None,
                    after: Some(json!({"file_name": file_name, "project": project_json(p)})),
                })
                .await?;
                done.created += 1;
            }
            Some(r) => {
                let (id, revision, mut old) = project_row(&r)?;
                old.budget = budget(&mut *tx, id).await?;
                if old == *p {
                    done.unchanged += 1;
                    continue;
                }
                // A budget may not fall below what is disbursed from its source.
                for (s, net) in disbursed_by_source(&mut *tx, id).await? {
                    if p.budget.get(s) < net {
                        problems.push(RowRefusal {
                            line: *line,
                            why: Why::BudgetBelowDisbursed {
                                year: p.year,
                                project: p.name.clone(),
                                source: s,
                                budget: p.budget.get(s),
                                disbursed: net,
                            },
                        });
                    }
                }
                rewrite_project(&mut *tx, id, p, at).await?;
                tx.audit(Record {
                    at,
                    user: by,
                    action: "update_project",
                    entity: "project",
                    entity_id: id.to_string(),
                    before: Some(json!({"revision": revision, "project": project_json(&old)})),
                    after: Some(
                        json!({"revision": revision + 1, "file_name": file_name, "project": project_json(p)}),
                    ),
                })
                .await?;
                done.updated += 1;
            }
        }
    }
    if !problems.is_empty() {
        tx.rollback().await?;
        Ok(Err(problems))
    } else {
        tx.commit().await?;
        Ok(Ok(done))
    }
}

/// A project as typed in a form, trimmed: an empty village is none.
fn tidy(p: &Project) -> Project {
    let mut p = p.clone();
    p.name = p.name.trim().to_string();
    p.township = p.township.trim().to_string();
    p.unit = p.unit.trim().to_string();
    p.village = p
        .village
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    p
}

/// Policy (issue 7, the library's checks, as the file's F502/F507/F508/F509): a name,
/// township and unit; a year in 2000–2100; dates in order and matching the stage; a budget
/// once approved. Every problem, in Chinese, joined.
fn check_project(p: &Project) -> std::result::Result<(), String> {
    let mut out = Vec::new();
    if p.name.is_empty() {
        out.push("项目名称不能为空".to_string());
    }
    if p.township.is_empty() {
        out.push("乡镇不能为空（全县性项目填 全县）".to_string());
    }
    if p.unit.is_empty() {
        out.push("实施单位不能为空".to_string());
    }
    if !(2000..=2100).contains(&p.year) {
        out.push(format!("年度 {} 应为 2000—2100 之间的四位数", p.year));
    }
    if p.task_no == Some(0) {
        out.push("服务重点工作(序号)应为正整数".to_string());
    }
    out.extend(date_problems(p));
    if p.stage >= Stage::Approved && p.budget.total().fen() == 0 {
        out.push(format!(
            "项目阶段为「{}」但没有任何预算：已批复的项目须填写预算；尚未批复的项目阶段选 入库",
            p.stage.chinese()
        ));
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out.join("；"))
    }
}

fn hq_only(user: &User) -> std::result::Result<(), FundRefusal> {
    may(user.role.actor(None), Action::EditProject)
        .map_err(|r| FundRefusal::NotAllowed(r.into_message()))
}

/// The refusal of a year and name that another project (not `but`) already has. Ids
/// start at 1, so `None` compares with 0, which no project has.
async fn name_taken(
    conn: &mut impl Run,
    p: &Project,
    but: Option<ProjectId>,
) -> Result<Option<FundRefusal>> {
    let taken = sql("SELECT id FROM projects WHERE year = $1 AND name = $2 AND id <> $3")
        .bind(p.year)
        .bind(&p.name)
        .bind(but.map_or(0, fupin_domain::id::Id::get))
        .fetch_optional(conn)
        .await?
        .is_some();
    Ok(taken.then(|| {
        FundRefusal::Invalid(format!(
            "{}年度已有项目「{}」：同一年度的项目名称不能重复",
            p.year, p.name
        ))
    }))
}

/// [`Store::create_project`].
pub(super) async fn create_project<DB: Backend>(
    pool: &Pool<DB>,
    user: &User,
    project: &Project,
) -> Result<std::result::Result<ProjectId, FundRefusal>> {
    if let Err(r) = hq_only(user) {
        return Ok(Err(r));
    }
    let p = tidy(project);
    if let Err(m) = check_project(&p) {
        return Ok(Err(FundRefusal::Invalid(m)));
    }
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    if let Some(refusal) = name_taken(&mut *tx, &p, None).await? {
        return Ok(Err(refusal));
    }
    let id = insert_project(&mut *tx, &p, at).await?;
    tx.audit(Record {
        at,
        user: Some(user.id),
        action: "create_project",
        entity: "project",
        entity_id: id.to_string(),
        before: None,
        after: Some(json!({"revision": 1, "project": project_json(&p)})),
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// [`Store::update_project`].
pub(super) async fn update_project<DB: Backend>(
    pool: &Pool<DB>,
    user: &User,
    id: ProjectId,
    read_revision: i64,
    project: &Project,
) -> Result<std::result::Result<(), FundRefusal>> {
    if let Err(r) = hq_only(user) {
        return Ok(Err(r));
    }
    let p = tidy(project);
    if let Err(m) = check_project(&p) {
        return Ok(Err(FundRefusal::Invalid(m)));
    }
    let select = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.id = $1{}",
        DB::FOR_UPDATE
    );
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    let Some(r) = sql(select).bind(id).fetch_optional(&mut *tx).await? else {
        return Ok(Err(FundRefusal::NoProject(id)));
    };
    let (_, revision, mut old) = project_row(&r)?;
    if revision != read_revision {
        return Ok(Err(FundRefusal::Invalid(format!(
            "项目已被他人修改（当前为第 {revision} 版，您编辑的是第 {read_revision} 版）：请重新打开编辑页面再改"
        ))));
    }
    old.budget = budget(&mut *tx, id).await?;
    if old == p {
        return Ok(Ok(()));
    }
    if let Some(refusal) = name_taken(&mut *tx, &p, Some(id)).await? {
        return Ok(Err(refusal));
    }
    let mut below = Vec::new();
    for (s, net) in disbursed_by_source(&mut *tx, id).await? {
        if p.budget.get(s) < net {
            below.push(format!(
                "{}预算 {} 元低于已拨付的 {} 元",
                s.chinese(),
                p.budget.get(s).grouped(),
                net.grouped()
            ));
        }
    }
    if !below.is_empty() {
        return Ok(Err(FundRefusal::Invalid(format!(
            "{}：预算不能低于已拨付金额（多拨的资金请先冲销）",
            below.join("；")
        ))));
    }
    rewrite_project(&mut *tx, id, &p, at).await?;
    tx.audit(Record {
        at,
        user: Some(user.id),
        action: "update_project",
        entity: "project",
        entity_id: id.to_string(),
        before: Some(json!({"revision": revision, "project": project_json(&old)})),
        after: Some(json!({"revision": revision + 1, "project": project_json(&p)})),
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// [`Store::advance_project_stage`].
pub(super) async fn advance_project_stage<DB: Backend>(
    pool: &Pool<DB>,
    write: ProjectWrite<'_>,
    to: Stage,
    on: Option<NaiveDate>,
) -> Result<std::result::Result<(), FundRefusal>> {
    let ProjectWrite { user, project } = write;
    let at = now();
    let columns = "p.unit, p.stage, p.revision, p.actual_start, p.actual_end";
    let Some((mut tx, r)) = write.begin(pool, columns, true).await? else {
        return Ok(Err(FundRefusal::NoProject(project)));
    };
    let unit = r.text("unit")?;
    let from = parse_code(&r.text("stage")?, Stage::parse, "项目阶段")?;
    let revision = r.int("revision")?;
    let actual_start = r.opt_date("actual_start")?;
    let record = Action::RecordEntry {
        unit: &unit,
        overriding: false,
    };
    if let Err(r) = may(user.role.actor(None), record) {
        return Ok(Err(FundRefusal::NotAllowed(
            r.into_message().replace("登记资金拨付", "推进项目阶段"),
        )));
    }
    if !from.can_move_to(to) {
        return Ok(Err(FundRefusal::Stage { from, to }));
    }
    let column = match (to, on) {
        (Stage::Implementing, Some(_)) => Some("actual_start"),
        (Stage::Completed, Some(d)) => {
            if let Some(s) = actual_start.filter(|s| d < *s) {
                return Ok(Err(FundRefusal::Invalid(format!(
                    "实际完工日期 {d} 早于实际开工日期 {s}"
                ))));
            }
            Some("actual_end")
        }
        _ => None,
    };
    sql("UPDATE projects SET stage = $2, revision = revision + 1, updated_at = $3 WHERE id = $1")
        .bind(project)
        .bind(to.code())
        .bind(at)
        .execute(&mut *tx)
        .await?;
    if let (Some(c), Some(d)) = (column, on) {
        sql(format!("UPDATE projects SET {c} = $2 WHERE id = $1"))
            .bind(project)
            .bind(d)
            .execute(&mut *tx)
            .await?;
    }
    let mut after = json!({"stage": to.code(), "revision": revision + 1});
    if let (Some(c), Some(d)) = (column, on) {
        after[c] = json!(d);
    }
    tx.audit(Record {
        at,
        user: Some(user.id),
        action: "set_project_stage",
        entity: "project",
        entity_id: project.to_string(),
        before: Some(json!({"stage": from.code(), "revision": revision})),
        after: Some(after),
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A new project (revision 1) with its budget by source; its id.
async fn insert_project(conn: &mut impl Run, p: &Project, at: DateTime<Utc>) -> Result<ProjectId> {
    let q = sql(
        "INSERT INTO projects (year, name, kind, township, village, task_no, \
         unit, stage, planned_start, planned_end, actual_start, actual_end, \
         revision, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13) \
         RETURNING id",
    );
    let id = with_project(q, p)
        .bind(at)
        .fetch_one(&mut *conn)
        .await?
        .id("id")?;
    insert_budget(conn, id, &p.budget).await?;
    Ok(id)
}

/// Project `id` rewritten to `p` (revision + 1), its budget lines replaced.
async fn rewrite_project(
    conn: &mut impl Run,
    id: ProjectId,
    p: &Project,
    at: DateTime<Utc>,
) -> Result<()> {
    let q = sql(
        "UPDATE projects SET year = $2, name = $3, kind = $4, township = $5, \
         village = $6, task_no = $7, unit = $8, stage = $9, planned_start = $10, \
         planned_end = $11, actual_start = $12, actual_end = $13, \
         revision = revision + 1, updated_at = $14 WHERE id = $1",
    )
    .bind(id);
    with_project(q, p).bind(at).execute(&mut *conn).await?;
    sql("DELETE FROM project_budgets WHERE project_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    insert_budget(conn, id, &p.budget).await
}

/// `q` with a project's twelve columns from `year` to `actual_end` bound in that order
/// after what it holds.
fn with_project<'q>(q: crate::backend::Sql<'q>, p: &'q Project) -> crate::backend::Sql<'q> {
    q.bind(p.year)
        .bind(&p.name)
        .bind(p.kind.code())
        .bind(&p.township)
        .bind(&p.village)
        .bind(p.task_no)
        .bind(&p.unit)
        .bind(p.stage.code())
        .bind(p.planned_start)
        .bind(p.planned_end)
        .bind(p.actual_start)
        .bind(p.actual_end)
}

/// A budget's lines written for a project (one row per source with an amount).
async fn insert_budget(conn: &mut impl Run, id: ProjectId, budget: &Budget) -> Result<()> {
    for (s, amount) in budget.sources() {
        sql("INSERT INTO project_budgets (project_id, source, amount) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(s.code())
            .bind(amount.fen())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Project `id`'s budget by source.
pub(super) async fn budget(conn: &mut impl Run, id: ProjectId) -> Result<Budget> {
    let mut budget = Budget::default();
    for b in sql("SELECT source, amount FROM project_budgets WHERE project_id = $1")
        .bind(id)
        .fetch_all(conn)
        .await?
    {
        budget.set(source(&b, "source")?, Fen::new(b.int("amount")?));
    }
    Ok(budget)
}

/// Project `id`'s net disbursed sum by source, for the sources it has entries of.
async fn disbursed_by_source(conn: &mut impl Run, id: ProjectId) -> Result<Vec<(FundSource, Fen)>> {
    sql(format!(
        "SELECT e.source, {NET} AS net FROM fund_entries e \
         WHERE e.project_id = $1 GROUP BY e.source"
    ))
    .bind(id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|d| Ok((source(d, "source")?, Fen::new(d.int("net")?))))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fupin_domain::funds::ProjectType;

    fn project() -> Project {
        Project {
            name: " 一乡光伏电站 ".into(),
            year: 2018,
            kind: ProjectType::Photovoltaic,
            township: "示例一乡".into(),
            village: Some("  ".into()),
            task_no: None,
            unit: "县能源局".into(),
            budget: Budget::default(),
            stage: Stage::Registered,
            planned_start: None,
            planned_end: None,
            actual_start: None,
            actual_end: None,
        }
    }

    /// The library's checks (F502, F507, F508, F509) hold for a project typed in a form.
    #[test]
    fn a_project_from_a_form_is_checked_as_the_file_is() {
        let p = tidy(&project());
        assert_eq!((p.name.as_str(), p.village.clone()), ("一乡光伏电站", None));
        assert!(check_project(&p).is_ok());
        let mut approved = p.clone();
        approved.stage = Stage::Approved;
        assert!(check_project(&approved)
            .unwrap_err()
            .contains("没有任何预算"));
        approved.budget = Budget::default().with(FundSource::Central, Fen::new(100));
        assert!(check_project(&approved).is_ok());
        let mut bad = p.clone();
        bad.year = 18;
        bad.unit = String::new();
        bad.actual_start = NaiveDate::from_ymd_opt(2018, 3, 1);
        let m = check_project(&bad).unwrap_err();
        assert!(
            m.contains("实施单位不能为空") && m.contains("年度 18") && m.contains("实际开工"),
            "{m}"
        );
    }
}
