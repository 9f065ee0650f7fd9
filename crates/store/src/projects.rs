//! The project library edited by hand and read a page at a time (issue 7, the web pages):
//! a project created or changed by headquarters (revision + 1, the before and after in the
//! audit log, a budget never below what is disbursed from its source), a stage moved one
//! step forward with its actual date, the library and its ledger listed by filter and key
//! (never OFFSET), and the county's behind-schedule rule kept as a setting.
//!
//! Scopes are the same as everywhere in [`crate::funds`]: an [`ItemScope`] in SQL.

use crate::accounts::{Role, User};
use crate::audit::{Audit, Record};
use crate::funds::{
    benefit_row, entry_row, parse_code, project_json, project_row, project_scope, Benefit,
    FundEntry, FundRefusal, ProjectConn, ProjectId, StoredProject, NET, PROJECT_COLUMNS,
};
use crate::rows::{BeginWrite, Get};
use crate::work::{ActingUser, ItemScope};
use crate::{now, on_pool, Page, Result, Store};
use chrono::NaiveDate;
use fupin_domain::funds::{
    can_record, date_problems, Budget, FundSource, Project, ProjectType, ScheduleRule, Stage,
};
use fupin_domain::Fen;
use serde_json::json;
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
    if p.stage >= Stage::Approved && p.budget.total().0 == 0 {
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
    if user.role == Role::HqAdmin {
        Ok(())
    } else {
        Err(FundRefusal::NotAllowed(
            "只有指挥部管理员可以新建或修改项目库中的项目".into(),
        ))
    }
}

impl Store {
    /// A page of the projects in `scope` narrowed by `filter`: by year (newest first), then
    /// id (newest first), after the key of the previous page; each with its budget and net
    /// disbursed sums.
    pub async fn project_page(
        &self,
        scope: &ItemScope,
        filter: &ProjectFilter,
        after: Option<ProjectKey>,
        limit: i64,
    ) -> Result<Page<StoredProject, ProjectKey>> {
        let (scond, mut binds) = project_scope(scope, 1);
        let (fcond, more) = filter_sql(filter, 1 + binds.len());
        binds.extend(more);
        let after_sql = after
            .map(|(y, id)| format!(" AND (p.year < {y} OR (p.year = {y} AND p.id < {id}))"))
            .unwrap_or_default();
        let sql = format!(
            "SELECT {PROJECT_COLUMNS} FROM projects p WHERE 1 = 1{scond}{fcond}{after_sql} \
             ORDER BY p.year DESC, p.id DESC LIMIT {}",
            limit + 1
        );
        let rows = on_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(pool)
                .await?
                .iter()
                .map(project_row)
                .collect::<Result<Vec<_>>>()?
        });
        let items = self.with_sums(rows).await?;
        Ok(Page::of(items, limit, |p| (p.project.year, p.id)))
    }

    /// Every project in `scope` narrowed by `filter`, in the list's order (for the ledger).
    pub async fn projects_filtered(
        &self,
        scope: &ItemScope,
        filter: &ProjectFilter,
    ) -> Result<Vec<StoredProject>> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.project_page(scope, filter, after, 500).await?;
            out.extend(page.items);
            match page.next {
                Some(k) => after = Some(k),
                None => return Ok(out),
            }
        }
    }

    /// Budgets and net disbursed sums of the projects read.
    async fn with_sums(&self, rows: Vec<(ProjectId, i64, Project)>) -> Result<Vec<StoredProject>> {
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
        let (budgets, nets) = on_pool!(self, pool => {
            let mut budgets: HashMap<ProjectId, Budget> = HashMap::new();
            for r in sqlx::query(&budgets_sql).fetch_all(pool).await? {
                let s = parse_code(&r.text("source")?, FundSource::parse, "资金来源")?;
                budgets.entry(r.int("project_id")?).or_default().set(s, Fen(r.int("amount")?));
            }
            let mut nets: HashMap<ProjectId, Budget> = HashMap::new();
            for r in sqlx::query(&net_sql).fetch_all(pool).await? {
                let s = parse_code(&r.text("source")?, FundSource::parse, "资金来源")?;
                nets.entry(r.int("project_id")?).or_default().set(s, Fen(r.int("net")?));
            }
            (budgets, nets)
        });
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

    /// The years (newest first) and townships of the projects in a scope.
    pub async fn project_facets(&self, scope: &ItemScope) -> Result<ProjectFacets> {
        let (cond, binds) = project_scope(scope, 1);
        let years_sql = format!(
            "SELECT DISTINCT p.year FROM projects p WHERE 1 = 1{cond} ORDER BY p.year DESC"
        );
        let towns_sql = format!(
            "SELECT DISTINCT p.township FROM projects p WHERE 1 = 1{cond} ORDER BY p.township"
        );
        Ok(on_pool!(self, pool => {
            let mut q = sqlx::query(&years_sql);
            for b in &binds {
                q = q.bind(b);
            }
            let years = q
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok(r.int("year")? as i32))
                .collect::<Result<Vec<_>>>()?;
            let mut q = sqlx::query(&towns_sql);
            for b in &binds {
                q = q.bind(b);
            }
            let townships = q
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok(r.text("township")?))
                .collect::<Result<Vec<_>>>()?;
            ProjectFacets { years, townships }
        }))
    }

    /// The ledger entries of the projects in `scope` narrowed by `filter`, by project in the
    /// list's order, then as recorded (for the 资金拨付台账).
    pub async fn ledger_lines(
        &self,
        scope: &ItemScope,
        filter: &ProjectFilter,
    ) -> Result<Vec<LedgerLine>> {
        let (scond, mut binds) = project_scope(scope, 1);
        let (fcond, more) = filter_sql(filter, 1 + binds.len());
        binds.extend(more);
        let sql = format!(
            "SELECT e.id, e.project_id, e.source, e.entry_date, e.amount, e.kind, e.reverses, \
             e.voucher, e.payee, e.note, e.override_reason, e.recorded_at, \
             u.username AS recorded_by_name, p.year, p.name, p.unit, p.township, p.village \
             FROM fund_entries e JOIN projects p ON p.id = e.project_id \
             LEFT JOIN users u ON u.id = e.recorded_by WHERE 1 = 1{scond}{fcond} \
             ORDER BY p.year DESC, p.id DESC, e.id"
        );
        Ok(on_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(pool)
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
                .collect::<Result<Vec<_>>>()?
        }))
    }

    /// Create a project by hand (headquarters): checked as the library file is, refused when
    /// its year already has a project of that name. Audited (`create_project`).
    pub async fn create_project(
        &self,
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
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM projects WHERE year = $1 AND name = $2")
                    .bind(i64::from(p.year))
                    .bind(&p.name)
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.is_some() {
                return Ok(Err(FundRefusal::Invalid(format!(
                    "{}年度已有项目「{}」：同一年度的项目名称不能重复",
                    p.year, p.name
                ))));
            }
            let id: i64 = tx.insert_project(&p, at).await?;
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
        })
    }

    /// Change a project by hand (headquarters), from the revision the editor read: refused
    /// when someone changed it since, when it fails the library's checks, when its new
    /// year and name are another project's, or when a budget would fall below what is
    /// disbursed from its source. An unchanged project is left alone; a changed one gets
    /// revision + 1 and an audit row `update_project` with the whole project before and
    /// after.
    pub async fn update_project(
        &self,
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
        let lock = match self {
            Store::Postgres(_) => " FOR UPDATE",
            Store::Sqlite(_) => "",
        };
        let select = format!("SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.id = $1{lock}");
        let at = now();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(r) = sqlx::query(&select).bind(id).fetch_optional(&mut *tx).await? else {
                return Ok(Err(FundRefusal::NoProject(id)));
            };
            let (_, revision, mut old) = project_row(&r)?;
            if revision != read_revision {
                return Ok(Err(FundRefusal::Invalid(format!(
                    "项目已被他人修改（当前为第 {revision} 版，您编辑的是第 {read_revision} 版）：请重新打开编辑页面再改"
                ))));
            }
            old.budget = tx.budget(id).await?;
            if old == p {
                return Ok(Ok(()));
            }
            let other: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM projects WHERE year = $1 AND name = $2 AND id <> $3",
            )
            .bind(i64::from(p.year))
            .bind(&p.name)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if other.is_some() {
                return Ok(Err(FundRefusal::Invalid(format!(
                    "{}年度已有项目「{}」：同一年度的项目名称不能重复",
                    p.year, p.name
                ))));
            }
            let mut below = Vec::new();
            for d in sqlx::query(&format!(
                "SELECT e.source, {NET} AS net FROM fund_entries e WHERE e.project_id = $1 GROUP BY e.source"
            ))
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            {
                let s = parse_code(&d.text("source")?, FundSource::parse, "资金来源")?;
                let net = Fen(d.int("net")?);
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
            tx.rewrite_project(id, &p, at).await?;
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
        })
    }

    /// Move a project one stage forward (headquarters or its unit) and record the actual
    /// date of the step when given: 实施 sets the actual start, 完工 the actual end (not
    /// before the start). Audited (`set_project_stage`, with the date), revision + 1.
    pub async fn advance_project_stage(
        &self,
        user: &User,
        project: ProjectId,
        to: Stage,
        on: Option<NaiveDate>,
    ) -> Result<std::result::Result<(), FundRefusal>> {
        let scope = ItemScope::of(&user.role);
        let (cond, binds) = project_scope(&scope, 2);
        let lock = match self {
            Store::Postgres(_) => " FOR UPDATE",
            Store::Sqlite(_) => "",
        };
        let at = now();
        let sql = format!(
            "SELECT p.unit, p.stage, p.revision, p.actual_start, p.actual_end FROM projects p \
             WHERE p.id = $1{cond}{lock}"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut q = sqlx::query(&sql).bind(project);
            for b in &binds {
                q = q.bind(b);
            }
            let Some(r) = q.fetch_optional(&mut *tx).await? else {
                return Ok(Err(FundRefusal::NoProject(project)));
            };
            let unit = r.text("unit")?;
            let from = parse_code(&r.text("stage")?, Stage::parse, "项目阶段")?;
            let revision = r.int("revision")?;
            let actual_start = r.opt_date("actual_start")?;
            if let Err(m) = can_record(ActingUser { user, post: None }.actor(), &unit, false) {
                return Ok(Err(FundRefusal::NotAllowed(m.replace("登记资金拨付", "推进项目阶段"))));
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
            sqlx::query("UPDATE projects SET stage = $2, revision = revision + 1, updated_at = $3 WHERE id = $1")
                .bind(project)
                .bind(to.code())
                .bind(at)
                .execute(&mut *tx)
                .await?;
            if let (Some(c), Some(d)) = (column, on) {
                sqlx::query(&format!("UPDATE projects SET {c} = $2 WHERE id = $1"))
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
        })
    }

    /// The households that benefit from a project in the scope, by 户编号 and kind.
    pub async fn project_beneficiaries(
        &self,
        scope: &ItemScope,
        project: ProjectId,
    ) -> Result<Vec<Benefit>> {
        let (cond, binds) = project_scope(scope, 2);
        let sql = format!(
            "SELECT b.project_id, p.name, p.year, b.household_no, b.kind, b.yearly \
             FROM project_beneficiaries b JOIN projects p ON p.id = b.project_id \
             WHERE b.project_id = $1{cond} ORDER BY b.household_no, b.kind"
        );
        on_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(project);
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(pool).await?.iter().map(benefit_row).collect()
        })
    }

    /// The county's behind-schedule rule, if headquarters has set one.
    pub async fn schedule_rule(&self) -> Result<Option<ScheduleRule>> {
        Ok(on_pool!(self, pool => {
            let r = sqlx::query("SELECT behind_by, behind_min_bp FROM fund_settings WHERE id = 1")
                .fetch_optional(pool)
                .await?;
            match r {
                Some(r) => match (r.opt_date("behind_by")?, r.opt_int("behind_min_bp")?) {
                    (Some(by), Some(bp)) => Some(ScheduleRule { by, min_bp: bp.max(0) as u64 }),
                    _ => None,
                },
                None => None,
            }
        }))
    }

    /// Set (or clear, with None) the county's behind-schedule rule: headquarters only, a
    /// share of at most 100%. Audited (`set_schedule_rule`) when it changes.
    pub async fn set_schedule_rule(
        &self,
        user: &User,
        rule: Option<ScheduleRule>,
    ) -> Result<std::result::Result<(), FundRefusal>> {
        if user.role != Role::HqAdmin {
            return Ok(Err(FundRefusal::NotAllowed(
                "只有指挥部管理员可以设置进度滞后规则".into(),
            )));
        }
        if rule.is_some_and(|r| r.min_bp > 10_000) {
            return Ok(Err(FundRefusal::Invalid(
                "拨付比例应在 0 到 100% 之间".into(),
            )));
        }
        let before = self.schedule_rule().await?;
        if before == rule {
            return Ok(Ok(()));
        }
        let as_json = |r: Option<ScheduleRule>| match r {
            Some(r) => json!({"by": r.by, "min_bp": r.min_bp}),
            None => serde_json::Value::Null,
        };
        let at = now();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE fund_settings SET behind_by = $1, behind_min_bp = $2 WHERE id = 1")
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
        });
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        approved.budget = Budget::default().with(FundSource::Central, Fen(100));
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
