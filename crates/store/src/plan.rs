//! The responsibility plan (责任分解方案) in the database: one plan per year, every import a
//! new revision of it (the highest is in force, earlier ones stay), and the posts that
//! county leaders' accounts hold.
//!
//! The plan is checked by `fupin_io::plan_file` before it gets here (all or nothing: a
//! plan with errors never reaches the store); the store writes it in one transaction.

use crate::accounts::UserId;
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::work::{GapRefresh, RefreshOn, REFRESH_LOCK};
use crate::{now, on_pool, Result, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use fupin_domain::plan::{Deadline, GapKind, KeyTask, Plan, UnitAssignment};
use serde::Serialize;
use serde_json::json;
use sqlx::Pool;

pub type PlanId = fupin_domain::id::Id<StoredPlan>;

/// A plan revision as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanRevision {
    pub id: PlanId,
    pub year: i32,
    pub revision: i64,
    pub file_name: String,
    pub sha256: String,
    pub imported_at: DateTime<Utc>,
    pub imported_by: Option<String>,
    pub tasks: u64,
}

/// A stored plan: its revision and its content.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPlan {
    pub revision: PlanRevision,
    pub plan: Plan,
}

/// Where a plan comes from.
#[derive(Clone, Debug)]
pub struct PlanSource {
    pub file_name: String,
    pub sha256: String,
    pub imported_by: Option<UserId>,
}

const REVISION_COLUMNS: &str = "p.id, p.year, p.revision, p.file_name, p.sha256, p.imported_at, \
     u.username AS imported_by_name, \
     (SELECT COUNT(*) FROM plan_tasks t WHERE t.plan_id = p.id) AS task_count";

fn revision(r: &impl Get) -> Result<PlanRevision> {
    Ok(PlanRevision {
        id: r.id("id")?,
        year: r.int("year")? as i32,
        revision: r.int("revision")?,
        file_name: r.text("file_name")?,
        sha256: r.text("sha256")?,
        imported_at: r.time("imported_at")?,
        imported_by: r.opt_text("imported_by_name")?,
        tasks: crate::rows::count(r, "task_count")?,
    })
}

fn deadline_of(task: &KeyTask) -> (Option<NaiveDate>, bool) {
    match task.deadline {
        Deadline::Date(d) => (Some(d), false),
        Deadline::Ongoing => (None, true),
        Deadline::None => (None, false),
    }
}

fn owns_text(task: &KeyTask) -> String {
    task.owns
        .iter()
        .map(|k| k.code())
        .collect::<Vec<_>>()
        .join(",")
}

/// The store's the responsibility plan and its revisions: `store.plan()`.
#[derive(Clone, Copy, Debug)]
pub struct Plans<'s>(pub(crate) &'s Store);

impl Plans<'_> {
    /// [`Store::import_plan_and_route`] without what the routing did.
    pub async fn import_plan(self, plan: &Plan, source: &PlanSource) -> Result<PlanRevision> {
        Ok(self.import_plan_and_route(plan, source).await?.0)
    }

    /// Store a checked plan as the next revision of its year's plan, audited
    /// (`import_plan`, with the revision, file and tasks), and — when the current register
    /// is of the plan's year — route that register's gaps by it ([`Store::refresh_gaps`]),
    /// all in one transaction: the plan is stored with its routing or not at all. Returns
    /// the revision and, if the register was routed, what the refresh did.
    pub async fn import_plan_and_route(
        self,
        plan: &Plan,
        source: &PlanSource,
    ) -> Result<(PlanRevision, Option<GapRefresh>)> {
        on_pool!(self.0, pool => import(pool, self.0, plan, source).await)
    }

    /// Every plan revision, newest year and revision first.
    pub async fn plan_revisions(self) -> Result<Vec<PlanRevision>> {
        on_pool!(self.0, pool => revisions(pool).await)
    }

    /// The plan in force: the highest revision of `year`'s plan, or with None of the
    /// latest year that has one.
    pub async fn current_plan(self, year: Option<i32>) -> Result<Option<StoredPlan>> {
        on_pool!(self.0, pool => current(pool, year).await)
    }

    /// A stored plan by its id (plans are never changed once stored).
    pub(crate) async fn plan_with_id(self, id: PlanId) -> Result<StoredPlan> {
        on_pool!(self.0, pool => with_id(pool, id).await)
    }

    /// Give a county leader's account its post (the 责任领导 of the plan's tasks, e.g.
    /// 常务副县长), or take it away with None. Audited (`set_leader_post`).
    pub async fn set_leader_post(
        self,
        user: UserId,
        post: Option<&str>,
        by: Option<UserId>,
    ) -> Result<()> {
        on_pool!(self.0, pool => set_post(pool, user, post, by).await)
    }

    /// The post a county leader's account holds, if any.
    pub async fn leader_post(self, user: UserId) -> Result<Option<String>> {
        on_pool!(self.0, pool => post_of(pool, user).await)
    }
}

/// Store a plan and route the current register by it ([`Store::import_plan_and_route`]).
async fn import<DB: Backend>(
    pool: &Pool<DB>,
    store: &Store,
    plan: &Plan,
    source: &PlanSource,
) -> Result<(PlanRevision, Option<GapRefresh>)> {
    if plan.tasks.is_empty() {
        return Err(StoreError::refused("责任分解方案中没有任何重点工作"));
    }
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    // The refresh's lock before the current register is read: a register import
    // committing meanwhile is routed by this plan or waited for.
    DB::lock_in_transaction(&mut *tx, REFRESH_LOCK).await?;
    let r = sql(
        "INSERT INTO plans (year, revision, name, overall_post, commander_post, \
         declared_tasks, file_name, sha256, imported_at, imported_by) \
         VALUES ($1, (SELECT COALESCE(MAX(revision), 0) + 1 FROM plans WHERE year = $1), \
         $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, revision",
    )
    .bind(i64::from(plan.year))
    .bind(&plan.name)
    .bind(Some(plan.overall_post.as_str()).filter(|s| !s.is_empty()))
    .bind(Some(plan.commander_post.as_str()).filter(|s| !s.is_empty()))
    .bind(plan.declared_tasks.map(i64::from))
    .bind(&source.file_name)
    .bind(&source.sha256)
    .bind(at)
    .bind(source.imported_by)
    .fetch_one(&mut *tx)
    .await?;
    let id: PlanId = r.id("id")?;
    let rev: i64 = r.int("revision")?;
    for t in &plan.tasks {
        let (date, long_term) = deadline_of(t);
        sql(
            "INSERT INTO plan_tasks (plan_id, task_no, title, leader, lead_unit, deadline, \
             long_term, owns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(i64::from(t.no))
        .bind(&t.name)
        .bind(&t.leader)
        .bind(&t.lead_unit)
        .bind(date)
        .bind(long_term)
        .bind(owns_text(t))
        .execute(&mut *tx)
        .await?;
        for (seq, u) in t.units.iter().enumerate() {
            sql(
                "INSERT INTO plan_units (plan_id, task_no, seq, unit, owner) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(i64::from(t.no))
            .bind(seq as i64)
            .bind(&u.unit)
            .bind(&u.owner)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.audit(Record {
        at,
        user: source.imported_by,
        action: "import_plan",
        entity: "plan",
        entity_id: id.to_string(),
        before: None,
        after: Some(json!({
            "year": plan.year,
            "revision": rev,
            "name": plan.name,
            "file_name": source.file_name,
            "sha256": source.sha256,
            "tasks": plan.tasks.iter().map(|t| json!({
                "no": t.no, "task": t.name, "leader": t.leader, "lead_unit": t.lead_unit,
                "units": t.units.iter().map(|u| &u.unit).collect::<Vec<_>>(),
                "deadline": t.deadline.iso(), "owns": owns_text(t),
            })).collect::<Vec<_>>(),
        })),
    })
    .await?;
    let current = sql("SELECT v.id, v.year FROM current_register c \
         JOIN register_versions v ON v.id = c.version_id WHERE c.id = 1")
    .fetch_optional(&mut *tx)
    .await?;
    let routed = match current {
        Some(r) if r.int("year")? == i64::from(plan.year) => {
            let stored = StoredPlan {
                revision: PlanRevision {
                    id,
                    year: plan.year,
                    revision: rev,
                    file_name: source.file_name.clone(),
                    sha256: source.sha256.clone(),
                    imported_at: at,
                    imported_by: None,
                    tasks: plan.tasks.len() as u64,
                },
                plan: plan.clone(),
            };
            let version = r.id("id")?;
            Some(
                (*tx)
                    .refresh_on(store, version, source.imported_by, Some(&stored))
                    .await?,
            )
        }
        _ => None,
    };
    tx.commit().await?;
    let revision = revisions(pool)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| StoreError::corrupt("刚导入的方案找不到了"))?;
    Ok((revision, routed))
}

/// Every plan revision, newest year and revision first.
async fn revisions<DB: Backend>(pool: &Pool<DB>) -> Result<Vec<PlanRevision>> {
    let text = format!(
        "SELECT {REVISION_COLUMNS} FROM plans p LEFT JOIN users u ON u.id = p.imported_by \
         ORDER BY p.year DESC, p.revision DESC"
    );
    let rows = sql(&text).fetch_all(&mut *pool.acquire().await?).await?;
    rows.iter().map(revision).collect()
}

/// The plan in force ([`Store::current_plan`]).
async fn current<DB: Backend>(pool: &Pool<DB>, year: Option<i32>) -> Result<Option<StoredPlan>> {
    let Some(rev) = revisions(pool)
        .await?
        .into_iter()
        .find(|r| year.is_none_or(|y| r.year == y))
    else {
        return Ok(None);
    };
    Ok(Some(by_id(pool, rev).await?))
}

/// A stored plan by its id.
async fn with_id<DB: Backend>(pool: &Pool<DB>, id: PlanId) -> Result<StoredPlan> {
    let text = format!(
        "SELECT {REVISION_COLUMNS} FROM plans p LEFT JOIN users u ON u.id = p.imported_by \
         WHERE p.id = $1"
    );
    let r = sql(&text)
        .bind(id)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?;
    let rev = match r {
        Some(r) => revision(&r)?,
        None => return Err(StoreError::corrupt(format!("方案 {id} 不存在"))),
    };
    by_id(pool, rev).await
}

/// The content of the plan of revision `rev`.
async fn by_id<DB: Backend>(pool: &Pool<DB>, rev: PlanRevision) -> Result<StoredPlan> {
    let id = rev.id;
    let mut conn = pool.acquire().await?;
    let head =
        sql("SELECT name, overall_post, commander_post, declared_tasks FROM plans WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    let head = (
        head.text("name")?,
        head.opt_text("overall_post")?.unwrap_or_default(),
        head.opt_text("commander_post")?.unwrap_or_default(),
        head.opt_int("declared_tasks")?,
    );
    let mut tasks = Vec::new();
    for r in sql(
        "SELECT task_no, title, leader, lead_unit, deadline, long_term, owns \
         FROM plan_tasks WHERE plan_id = $1 ORDER BY task_no",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    {
        let deadline = match (r.opt_date("deadline")?, r.bool("long_term")?) {
            (Some(d), _) => Deadline::Date(d),
            (None, true) => Deadline::Ongoing,
            (None, false) => Deadline::None,
        };
        let owns = r
            .text("owns")?
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| {
                GapKind::parse(c).ok_or_else(|| StoreError::corrupt(format!("问题代码「{c}」")))
            })
            .collect::<Result<Vec<_>>>()?;
        tasks.push(KeyTask {
            no: r.int("task_no")? as u32,
            name: r.text("title")?,
            leader: r.text("leader")?,
            lead_unit: r.text("lead_unit")?,
            units: Vec::new(),
            deadline,
            owns,
        });
    }
    for r in
        sql("SELECT task_no, unit, owner FROM plan_units WHERE plan_id = $1 ORDER BY task_no, seq")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
    {
        let no = r.int("task_no")? as u32;
        if let Some(t) = tasks.iter_mut().find(|t| t.no == no) {
            t.units.push(UnitAssignment {
                unit: r.text("unit")?,
                owner: r.text("owner")?,
            });
        }
    }
    Ok(StoredPlan {
        plan: Plan {
            year: rev.year,
            name: head.0,
            overall_post: head.1,
            commander_post: head.2,
            declared_tasks: head.3.map(|n| n as u32),
            tasks,
        },
        revision: rev,
    })
}

/// Give a county leader's account its post ([`Store::set_leader_post`]).
async fn set_post<DB: Backend>(
    pool: &Pool<DB>,
    user: UserId,
    post: Option<&str>,
    by: Option<UserId>,
) -> Result<()> {
    let post = post.map(str::trim).filter(|p| !p.is_empty());
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    let role = sql("SELECT role FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
    match role {
        Some(r) if r.text("role")? == "county_leader" => {}
        _ => {
            return Err(StoreError::InvalidAccount(
                "只有县领导账号可以设置职务".into(),
            ))
        }
    }
    let before = sql("SELECT post FROM leader_posts WHERE user_id = $1")
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.text("post"))
        .transpose()?;
    sql("DELETE FROM leader_posts WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    if let Some(p) = post {
        sql("INSERT INTO leader_posts (user_id, post) VALUES ($1, $2)")
            .bind(user)
            .bind(p)
            .execute(&mut *tx)
            .await?;
    }
    tx.audit(Record {
        at,
        user: by,
        action: "set_leader_post",
        entity: "user",
        entity_id: user.to_string(),
        before: Some(json!({ "post": before })),
        after: Some(json!({ "post": post })),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The post a county leader's account holds, if any.
async fn post_of<DB: Backend>(pool: &Pool<DB>, user: UserId) -> Result<Option<String>> {
    Ok(sql("SELECT post FROM leader_posts WHERE user_id = $1")
        .bind(user)
        .fetch_optional(&mut *pool.acquire().await?)
        .await?
        .map(|r| r.text("post"))
        .transpose()?)
}
