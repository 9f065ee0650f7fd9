//! 责任落实: the responsibility plan and its work — the responsibility matrix, the "six in
//! place" (六个到位) panel, gaps and the headquarters' queue, work items (交办 → 整改 → 验收 →
//! 销号) with progress reports, attachments, reminders and escalation, plan imports, and
//! the ledgers (台账) as XLSX.
//!
//! Who sees what is the store's [`ItemScope`], applied in SQL: unit staff their unit's items
//! (their inbox) and the gaps routed to it, township and village staff their area's, the
//! others everything. Who may do what is `fupin_domain::work_item::can`; the pages only
//! offer the steps it allows, and the store asks it again before writing.
//!
//! A county leader's account maps to a post (常务副县长 …) set by the headquarters on the
//! matrix page; "我的任务" are the plan's tasks whose 责任领导 is that post.

use crate::auth::{PageUser, Viewer};
use crate::csrf::{CsrfForm, CsrfMultipart, NoFields, Part};
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use fupin_domain::plan::GapKind;
use fupin_domain::work_item::{can, can_edit, state_label, WorkAction, WorkState};
use fupin_domain::Criterion;
use fupin_store::{
    gap_kind_name, today, ActingUser, GapFilter, GapRow, ItemEdit, ItemFilter, ItemScope,
    MatrixRow, NewAttachment, NewWorkItem, PlanSource, Role, Step, StoredPlan, WorkItem,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub const PAGE: u32 = 100;

/// The acting user of a request: the account and, for a county leader, its post.
pub async fn acting_post(state: &AppState, v: &Viewer) -> Result<Option<String>, Error> {
    Ok(match v.user().role {
        Role::CountyLeader => state.store.plan().leader_post(v.user().id).await?,
        _ => None,
    })
}

pub fn item_scope(v: &Viewer) -> ItemScope {
    ItemScope::of(&v.user().role)
}

// ---------------------------------------------------------------------------------------
// The responsibility matrix.

#[derive(Template)]
#[template(path = "tasks_matrix.html")]
struct MatrixPage {
    layout: Layout,
    plan: Option<PlanHead>,
    rows: Vec<MatrixRow>,
    totals: [u64; 5],
    unrouted: u64,
    revisions: Vec<String>,
    leaders: Vec<LeaderLine>,
    post: Option<String>,
    is_leader: bool,
    year: i32,
}

pub struct PlanHead {
    pub name: String,
    pub year: i32,
    pub revision: i64,
    pub overall_post: String,
    pub commander_post: String,
    pub declared: String,
    pub listed: usize,
    pub file_name: String,
    pub imported_at: String,
}

impl PlanHead {
    fn of(p: &StoredPlan) -> PlanHead {
        PlanHead {
            name: p.plan.name.clone(),
            year: p.plan.year,
            revision: p.revision.revision,
            overall_post: p.plan.overall_post.clone(),
            commander_post: p.plan.commander_post.clone(),
            declared: p
                .plan
                .declared_tasks
                .map_or_else(|| "—".into(), |n| n.to_string()),
            listed: p.plan.tasks.len(),
            file_name: p.revision.file_name.clone(),
            imported_at: view::time(p.revision.imported_at),
        }
    }
}

pub struct LeaderLine {
    pub id: i64,
    pub username: String,
    pub post: String,
}

/// The plan in force for the current register's year (or the latest plan).
async fn plan_in_force(state: &AppState) -> Result<Option<StoredPlan>, Error> {
    let year = state
        .store
        .register()
        .current_version()
        .await?
        .map(|v| v.year);
    let plan = match year {
        Some(y) => state.store.plan().current_plan(Some(y)).await?,
        None => None,
    };
    Ok(match plan {
        Some(p) => Some(p),
        None => state.store.plan().current_plan(None).await?,
    })
}

#[derive(Deserialize, Default)]
pub struct MatrixQuery {
    /// Only the tasks of the leader's post ("我的任务").
    #[serde(default)]
    pub mine: Option<String>,
}

/// GET /tasks — the responsibility matrix; `?mine=1` for a leader's own tasks.
pub async fn matrix_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<MatrixQuery>,
) -> Result<Html<String>, PageError> {
    let plan = plan_in_force(&state).await?;
    let post = acting_post(&state, &v).await?;
    let mine = q.mine.is_some();
    let mut rows = match &plan {
        Some(p) => state.store.work().responsibility_matrix(p, today()).await?,
        None => Vec::new(),
    };
    if mine {
        rows.retain(|r| Some(&r.leader) == post.as_ref());
    }
    let mut totals = [0u64; 5];
    for r in &rows {
        for (t, n) in totals
            .iter_mut()
            .zip([r.open, r.overdue, r.done, r.closed, r.open_gaps])
        {
            *t += n;
        }
    }
    let counts = state.store.work().gap_counts(&ItemScope::All).await?;
    let leaders = if v.is_admin() {
        let mut out = Vec::new();
        for u in state.store.accounts().users().await? {
            if u.role == Role::CountyLeader {
                out.push(LeaderLine {
                    id: u.id,
                    post: state
                        .store
                        .plan()
                        .leader_post(u.id)
                        .await?
                        .unwrap_or_default(),
                    username: u.username,
                });
            }
        }
        out
    } else {
        Vec::new()
    };
    let year = match &plan {
        Some(p) => p.plan.year,
        None => state
            .store
            .register()
            .current_version()
            .await?
            .map_or(2018, |v| v.year),
    };
    let page = MatrixPage {
        layout: Layout::of(
            &v,
            if mine { "我的任务" } else { "责任矩阵" },
            if mine { "mytasks" } else { "tasks" },
        ),
        plan: plan.as_ref().map(PlanHead::of),
        rows,
        totals,
        unrouted: counts.unrouted,
        revisions: state
            .store
            .plan()
            .plan_revisions()
            .await?
            .iter()
            .map(|r| {
                format!(
                    "{} 年第 {} 版「{}」，{} 项，{}{} 导入",
                    r.year,
                    r.revision,
                    r.file_name,
                    r.tasks,
                    r.imported_by
                        .clone()
                        .map(|u| u + " 于 ")
                        .unwrap_or_default(),
                    view::time(r.imported_at)
                )
            })
            .collect(),
        leaders,
        is_leader: v.user().role == Role::CountyLeader,
        post,
        year,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct LeaderForm {
    pub user_id: i64,
    #[serde(default)]
    pub post: String,
}

/// POST /tasks/leaders — the headquarters gives a county leader's account its post.
pub async fn set_leader(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(f): CsrfForm<LeaderForm>,
) -> Result<Response, PageError> {
    v.require_admin()?;
    state
        .store
        .plan()
        .set_leader_post(f.user_id, Some(f.post.as_str()), Some(v.user().id))
        .await
        .map_err(|e| Error::BadRequest(e.to_string()))?;
    Ok(Redirect::to("/tasks").into_response())
}

// ---------------------------------------------------------------------------------------
// Plan import.

#[derive(Template)]
#[template(path = "tasks_plan.html")]
struct PlanResultPage {
    layout: Layout,
    file_name: String,
    /// The first [`crate::import::JOB_PROBLEMS_KEPT`] problems.
    problems: Vec<PlanProblem>,
    /// 「共 N 条，显示前 M 条」 when there are more.
    shown: Option<String>,
    accepted: bool,
}

impl PlanResultPage {
    /// The page for `problems`, listing the first [`crate::import::JOB_PROBLEMS_KEPT`]:
    /// a plan file of many bad rows makes no page of megabytes.
    fn new(layout: Layout, file_name: String, problems: Vec<PlanProblem>, accepted: bool) -> Self {
        let kept = crate::import::JOB_PROBLEMS_KEPT;
        let shown = crate::import::shown_note(problems.len() as u64, kept);
        let mut problems = problems;
        problems.truncate(kept);
        PlanResultPage {
            layout,
            file_name,
            problems,
            shown,
            accepted,
        }
    }
}

pub struct PlanProblem {
    pub line: u64,
    pub column: String,
    pub code: String,
    pub value: String,
    pub message: String,
    pub is_error: bool,
}

impl PlanProblem {
    fn of(p: &fupin_domain::Problem) -> PlanProblem {
        PlanProblem {
            line: p.line,
            column: p.column.to_string(),
            code: p.code.to_string(),
            value: p.value.clone(),
            message: p.message.clone(),
            is_error: p.code.is_error(),
        }
    }
}

/// What a plan upload carries.
#[derive(Default)]
pub struct PlanUpload {
    pub file_name: String,
    /// The plan file, saved to disk as it arrived (never held whole in memory).
    pub file: Option<crate::upload::Saved>,
    pub facts: fupin_io::plan_file::PlanFacts,
}

pub async fn read_plan_upload(
    state: &AppState,
    mut mp: CsrfMultipart,
) -> Result<PlanUpload, Error> {
    let mut up = PlanUpload::default();
    while let Some(part) = mp.next_field().await? {
        let Part::Field(field) = part else {
            continue;
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "plan" {
            let max = crate::upload::file_limit(state, fupin_io::limits::FileKind::Plan);
            let saved = crate::upload::save(state, field, "plan.csv", max, "方案文件").await?;
            up.file_name = saved.name.clone();
            up.file = Some(saved);
            continue;
        }
        let text = crate::upload::field_text(field).await?;
        let text = text.trim().to_string();
        let opt = || Some(text.clone()).filter(|t| !t.is_empty());
        match name.as_str() {
            "year" => {
                up.facts.year =
                    match opt() {
                        Some(t) => Some(t.parse().map_err(|_| {
                            Error::BadRequest(format!("年度「{t}」不是四位数的年份"))
                        })?),
                        None => None,
                    }
            }
            "name" => up.facts.name = opt(),
            "overall_post" => up.facts.overall_post = opt(),
            "commander_post" => up.facts.commander_post = opt(),
            "declared_tasks" => {
                up.facts.declared_tasks = match opt() {
                    Some(t) => Some(t.parse().map_err(|_| {
                        Error::BadRequest(format!("重点工作数量「{t}」不是正整数"))
                    })?),
                    None => None,
                }
            }
            _ => {}
        }
    }
    if up.file.as_ref().is_none_or(|f| f.size == 0) {
        return Err(Error::BadRequest(
            "请选择责任分解方案文件（CSV 或 XLSX）".into(),
        ));
    }
    Ok(up)
}

/// SHA-256 of bytes as 64 lower-case hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The outcome of a plan import: the revision, or every problem (nothing stored).
pub enum PlanImport {
    Stored {
        revision: fupin_store::PlanRevision,
        warnings: Vec<fupin_domain::Problem>,
    },
    Rejected(Vec<fupin_domain::Problem>, String),
}

/// Check a plan file and store it as the next revision of its year's plan, all or
/// nothing; then re-route the current register's open gaps by it.
pub async fn import_plan(
    state: &AppState,
    v: &Viewer,
    up: PlanUpload,
) -> Result<PlanImport, Error> {
    v.require_admin()?;
    let saved = up
        .file
        .as_ref()
        .ok_or_else(|| Error::BadRequest("请选择责任分解方案文件（CSV 或 XLSX）".into()))?;
    // The name the user gave, without folders (its extension says CSV or XLSX).
    let base = saved.name.clone();
    let path = saved.path.clone();
    let facts = up.facts.clone();
    let limits = state.config.limits.plan;
    let read = tokio::task::spawn_blocking(move || {
        let sha = crate::import::sha256_file(&path);
        let read = fupin_io::plan_file::read_plan_within(&path, None, &facts, &limits);
        (read, sha)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?;
    let (read, sha) = read;
    let sha = sha.map_err(|e| Error::Internal(format!("无法读取上传文件：{e}")))?;
    let file = match read {
        Ok(f) => f,
        Err(e) => {
            let problems = e.problems().to_vec();
            return Ok(PlanImport::Rejected(problems, e.to_string()));
        }
    };
    // Stored with the current register's gaps routed by it (when of its year), at once.
    let (revision, _) = state
        .store
        .plan()
        .import_plan_and_route(
            &file.plan,
            &PlanSource {
                file_name: base,
                sha256: sha,
                imported_by: Some(v.user().id),
            },
        )
        .await?;
    Ok(PlanImport::Stored {
        revision,
        warnings: file.warnings,
    })
}

/// POST /tasks/plan — import a plan file (headquarters).
pub async fn plan_upload(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let up = read_plan_upload(&state, mp).await?;
    let file_name = up.file_name.clone();
    match import_plan(&state, &v, up).await? {
        PlanImport::Stored { warnings, .. } if warnings.is_empty() => {
            Ok(Redirect::to("/tasks").into_response())
        }
        PlanImport::Stored { warnings, .. } => {
            let p = PlanResultPage::new(
                Layout::of(&v, "方案已导入", "tasks"),
                file_name,
                warnings.iter().map(PlanProblem::of).collect(),
                true,
            );
            Ok(Html(p.render()?).into_response())
        }
        PlanImport::Rejected(problems, reason) => {
            let mut list: Vec<PlanProblem> = problems.iter().map(PlanProblem::of).collect();
            if list.is_empty() {
                list.push(PlanProblem {
                    line: 0,
                    column: String::new(),
                    code: String::new(),
                    value: String::new(),
                    message: reason,
                    is_error: true,
                });
            }
            let p = PlanResultPage::new(
                Layout::of(&v, "方案未导入", "tasks"),
                file_name,
                list,
                false,
            );
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                Html(p.render()?),
            )
                .into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Six in place.

#[derive(Template)]
#[template(path = "tasks_six.html")]
struct SixPage {
    layout: Layout,
    six: Six,
}

/// The "six in place" (六个到位) figures for a viewer's scope.
pub struct Six {
    pub has_plan: bool,
    pub tasks: usize,
    pub staffed: usize,
    pub open_gaps: u64,
    pub unrouted: u64,
    pub households: u64,
    /// (standard, passing, share %) for 三保障 and water.
    pub policy: Vec<(String, u64, String)>,
    pub income_pass: (u64, String),
    pub bands: Vec<(String, u64)>,
    pub data_gaps: u64,
    pub problems_open: bool,
    /// (condition, villages with an open gap).
    pub village: Vec<(String, u64)>,
    pub overdue: u64,
    pub items: fupin_store::ItemCounts,
    /// 资金拨付到位: the projects in the viewer's scope and their disbursement.
    pub funds: fupin_store::FundsInPlace,
    /// The behind-schedule rule in words, empty while none is set.
    pub funds_rule: String,
}

fn share(n: u64, of: u64) -> String {
    if of == 0 {
        "—".into()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / of as f64)
    }
}

pub async fn six_in_place(state: &AppState, v: &Viewer) -> Result<Six, Error> {
    let plan = plan_in_force(state).await?;
    let scope = item_scope(v);
    let counts = state.store.work().gap_counts(&scope).await?;
    let summary = state.store.register().county_summary(&v.scope).await?;
    let (households, policy, income_pass) = match &summary {
        Some(s) => {
            let h = s.tally.households;
            let pass = |c: Criterion| h.saturating_sub(s.tally.criterion_count(c));
            (
                h,
                [
                    Criterion::Education,
                    Criterion::Medical,
                    Criterion::Housing,
                    Criterion::Water,
                ]
                .into_iter()
                .map(|c| (c.chinese().to_string(), pass(c), share(pass(c), h)))
                .collect(),
                (pass(Criterion::Income), share(pass(Criterion::Income), h)),
            )
        }
        None => (0, Vec::new(), (0, "—".into())),
    };
    let bands = match state.store.work().income_bands(&v.scope).await? {
        Some(b) => vec![
            ("低于贫困标准".to_string(), b.below),
            ("标准的1—1.5倍".to_string(), b.to_150),
            ("标准的1.5—2倍".to_string(), b.to_200),
            ("标准的2倍以上".to_string(), b.above_200),
            ("无法计算（数据有误）".to_string(), b.unknown),
        ],
        None => Vec::new(),
    };
    let of_kind = |k: GapKind| {
        counts
            .open_by_kind
            .iter()
            .find(|(c, _)| c == k.code())
            .map_or(0, |x| x.1)
    };
    let staffed = plan.as_ref().map_or(0, |p| {
        p.plan
            .tasks
            .iter()
            .filter(|t| {
                !t.leader.trim().is_empty()
                    && !t.lead_unit.trim().is_empty()
                    && !t.units.is_empty()
                    && t.units.iter().all(|u| !u.owner.trim().is_empty())
            })
            .count()
    });
    let items = state.store.work().work_item_counts(&scope, today()).await?;
    // The county's behind-schedule rule (set by headquarters on the funds page).
    let funds_rule = state.store.funds().schedule_rule().await?;
    let funds = state
        .store
        .funds()
        .funds_in_place(&scope, funds_rule, today())
        .await?;
    Ok(Six {
        has_plan: plan.is_some(),
        tasks: plan.as_ref().map_or(0, |p| p.plan.tasks.len()),
        staffed,
        open_gaps: counts.open,
        unrouted: counts.unrouted,
        households,
        policy,
        income_pass,
        bands,
        data_gaps: of_kind(GapKind::Data),
        problems_open: of_kind(GapKind::Data) > 0,
        village: [
            GapKind::Road,
            GapKind::Power,
            GapKind::Broadband,
            GapKind::Clinic,
            GapKind::Incidence,
        ]
        .into_iter()
        .map(|k| (k.chinese().to_string(), of_kind(k)))
        .collect(),
        overdue: items.overdue,
        items,
        funds,
        funds_rule: funds_rule
            .as_ref()
            .map(crate::funds::rule_text)
            .unwrap_or_default(),
    })
}

/// GET /tasks/six — the "six in place" panel.
pub async fn six_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Html<String>, PageError> {
    let six = six_in_place(&state, &v).await?;
    let p = SixPage {
        layout: Layout::of(&v, "六个到位", "six"),
        six,
    };
    Ok(Html(p.render()?))
}

// ---------------------------------------------------------------------------------------
// Gaps.

#[derive(Template)]
#[template(path = "tasks_gaps.html")]
struct GapsPage {
    layout: Layout,
    queue: bool,
    gaps: Vec<GapLine>,
    next_url: Option<String>,
    can_assign: bool,
    default_deadline: String,
}

pub struct GapLine {
    pub id: i64,
    pub kind: String,
    pub kind_name: &'static str,
    pub place: String,
    pub household_no: String,
    pub household_url: String,
    pub detail: String,
    pub open: bool,
    pub route: String,
    pub item_url: String,
    pub evidence: String,
    pub title: String,
}

impl GapLine {
    pub fn of(g: &GapRow) -> GapLine {
        let hh = g.household_no.clone().unwrap_or_default();
        GapLine {
            id: g.id,
            kind: g.kind.clone(),
            kind_name: gap_kind_name(&g.kind),
            place: format!("{} {}", g.township, g.village),
            household_url: if hh.is_empty() {
                String::new()
            } else {
                view::household_url(&hh)
            },
            household_no: hh.clone(),
            detail: g.detail.clone(),
            open: g.open,
            route: match (&g.task_no, &g.lead_unit) {
                (Some(n), Some(u)) => format!("第 {n} 项 · {u}"),
                _ => "指挥部待分派".into(),
            },
            item_url: g
                .work_item
                .map(|i| format!("/tasks/items/{i}"))
                .unwrap_or_default(),
            evidence: g.evidence.clone().unwrap_or_default(),
            title: match hh.is_empty() {
                false => format!("户 {hh}：{}", gap_kind_name(&g.kind)),
                true => format!("{} {}：{}", g.township, g.village, gap_kind_name(&g.kind)),
            },
        }
    }
}

#[derive(Deserialize, Default)]
pub struct GapsQuery {
    pub queue: Option<String>,
    pub all: Option<String>,
    pub after: Option<i64>,
    pub kind: Option<String>,
}

/// GET /tasks/gaps — open gaps in the viewer's scope; `?queue=1` the headquarters' queue;
/// `?all=1` closed ones too.
pub async fn gaps_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<GapsQuery>,
) -> Result<Html<String>, PageError> {
    let queue = q.queue.is_some();
    let filter = GapFilter {
        open: q.all.is_none(),
        unrouted: queue,
        kind: q.kind.clone().filter(|k| !k.is_empty()),
        task_no: None,
    };
    let page = state
        .store
        .work()
        .gaps(&item_scope(&v), &filter, q.after, PAGE)
        .await?;
    let base = format!(
        "/tasks/gaps?{}{}",
        if queue { "queue=1&" } else { "" },
        if q.all.is_some() { "all=1&" } else { "" }
    );
    let p = GapsPage {
        layout: Layout::of(
            &v,
            if queue {
                "指挥部待分派短板"
            } else {
                "短板清单"
            },
            if queue { "queue" } else { "gaps" },
        ),
        queue,
        gaps: page.items.iter().map(GapLine::of).collect(),
        next_url: page.next.map(|n| format!("{base}after={n}")),
        can_assign: v.is_admin(),
        default_deadline: (today() + chrono::Duration::days(30)).to_string(),
    };
    Ok(Html(p.render()?))
}

// ---------------------------------------------------------------------------------------
// Work items.

#[derive(Template)]
#[template(path = "tasks_items.html")]
struct ItemsPage {
    layout: Layout,
    heading: String,
    items: Vec<ItemLine>,
    next_url: Option<String>,
    filters: Vec<(String, String, bool)>,
    can_escalate: bool,
}

pub struct ItemLine {
    pub id: i64,
    pub url: String,
    pub title: String,
    pub task: String,
    pub unit: String,
    pub place: String,
    pub deadline: String,
    pub state: String,
    pub state_word: &'static str,
    pub overdue: bool,
    pub escalated: bool,
    pub progress: u8,
    pub reminders: u64,
}

impl ItemLine {
    pub fn of(i: &WorkItem, today: NaiveDate) -> ItemLine {
        ItemLine {
            id: i.id,
            url: format!("/tasks/items/{}", i.id),
            title: i.title.clone(),
            task: match (i.task_no, &i.task) {
                (Some(n), Some(t)) => format!("{n}. {t}"),
                (Some(n), None) => format!("第 {n} 项"),
                _ => "—".into(),
            },
            unit: i.unit.clone(),
            place: match (&i.township, &i.village) {
                (Some(t), Some(v)) => format!("{t} {v}"),
                _ => "全县".into(),
            },
            deadline: i.deadline.map_or_else(|| "—".into(), |d| d.to_string()),
            state: state_label(i.state, i.deadline, today),
            state_word: i.state.word(),
            overdue: i.overdue(today),
            escalated: i.escalated_at.is_some(),
            progress: i.progress,
            reminders: i.reminders,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ItemsQuery {
    pub state: Option<String>,
    pub overdue: Option<String>,
    pub mine: Option<String>,
    pub escalated: Option<String>,
    pub task: Option<u32>,
    pub before: Option<i64>,
}

impl ItemsQuery {
    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.state {
            parts.push(format!("state={}", view::enc(s)));
        }
        if self.overdue.is_some() {
            parts.push("overdue=1".into());
        }
        if self.mine.is_some() {
            parts.push("mine=1".into());
        }
        if self.escalated.is_some() {
            parts.push("escalated=1".into());
        }
        if let Some(t) = self.task {
            parts.push(format!("task={t}"));
        }
        parts.join("&")
    }
}

/// The filter of an item list: a leader's "mine" is the items of the tasks their post
/// leads.
pub async fn item_filter(
    state: &AppState,
    v: &Viewer,
    q: &ItemsQuery,
) -> Result<ItemFilter, Error> {
    let state_filter = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            WorkState::parse(s)
                .ok_or_else(|| Error::BadRequest(format!("未知的事项状态「{s}」")))?,
        ),
        None => None,
    };
    let leader = if q.mine.is_some() {
        Some(
            acting_post(state, v)
                .await?
                .ok_or_else(|| Error::BadRequest("您的账号尚未设置职务，请联系指挥部".into()))?,
        )
    } else {
        None
    };
    Ok(ItemFilter {
        state: state_filter,
        overdue_on: q.overdue.as_ref().map(|_| today()),
        task_no: q.task,
        leader,
        escalated: q.escalated.is_some(),
        ..ItemFilter::default()
    })
}

/// GET /tasks/items — work items in the viewer's scope: a unit's inbox, a leader's
/// items (`?mine=1`), overdue (`?overdue=1`), by state or task.
pub async fn items_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<ItemsQuery>,
) -> Result<Html<String>, PageError> {
    let filter = item_filter(&state, &v, &q).await?;
    let page = state
        .store
        .work()
        .work_items(&item_scope(&v), &filter, q.before, PAGE)
        .await?;
    let day = today();
    let heading = match &v.user().role {
        Role::UnitStaff { unit } => format!("{unit} 待办箱"),
        _ if q.mine.is_some() => "我的任务：交办事项".into(),
        _ => "交办事项".into(),
    };
    let qs = q.query_string();
    let mut filters = vec![(
        "全部".to_string(),
        "/tasks/items".to_string(),
        qs.is_empty(),
    )];
    for s in WorkState::ALL {
        filters.push((
            s.chinese().to_string(),
            format!("/tasks/items?state={}", s.word()),
            q.state.as_deref() == Some(s.word()) && q.overdue.is_none(),
        ));
    }
    filters.push((
        "逾期".into(),
        "/tasks/items?overdue=1".into(),
        q.overdue.is_some(),
    ));
    filters.push((
        "已升级督办".into(),
        "/tasks/items?escalated=1".into(),
        q.escalated.is_some(),
    ));
    let p = ItemsPage {
        layout: Layout::of(
            &v,
            heading.clone(),
            if q.mine.is_some() { "mytasks" } else { "items" },
        ),
        heading,
        items: page.items.iter().map(|i| ItemLine::of(i, day)).collect(),
        next_url: page.next.map(|n| {
            if qs.is_empty() {
                format!("/tasks/items?before={n}")
            } else {
                format!("/tasks/items?{qs}&before={n}")
            }
        }),
        filters,
        can_escalate: v.is_admin(),
    };
    Ok(Html(p.render()?))
}

#[derive(Template)]
#[template(path = "tasks_item.html")]
struct ItemPage {
    layout: Layout,
    item: ItemLine,
    detail: String,
    leader: String,
    gap: Option<GapLine>,
    /// The inspection finding the item was made for: link and text.
    finding: Option<(String, String)>,
    household_no: String,
    household_url: String,
    events: Vec<EventLine>,
    actions: Vec<(&'static str, &'static str)>,
    can_report: bool,
    /// The headquarters may change the deadline and unit (改期、改派).
    can_edit: bool,
    /// The deadline as the date field takes it ('' without one).
    deadline_value: String,
    /// Units of the plan in force, offered when reassigning.
    units: Vec<String>,
    message: String,
}

pub struct EventLine {
    pub at: String,
    pub who: String,
    pub action: String,
    pub change: String,
    pub note: String,
    pub percent: String,
    pub files: Vec<(String, String)>,
}

fn action_name(word: &str) -> String {
    match WorkAction::parse(word) {
        Some(a) => a.chinese().into(),
        None => match word {
            "assign" => "交办".into(),
            "edit" => "改期/改派".into(),
            "reroute" => "方案调整改派".into(),
            "reassessed" => "复核达标".into(),
            w => w.into(),
        },
    }
}

#[derive(Deserialize, Default)]
pub struct ItemQuery {
    pub msg: Option<String>,
}

/// GET /tasks/items/{id}
pub async fn item_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    Query(q): Query<ItemQuery>,
) -> Result<Html<String>, PageError> {
    let scope = item_scope(&v);
    let item = state
        .store
        .work()
        .work_item(&scope, id)
        .await?
        .ok_or(Error::NotFound)?;
    let post = acting_post(&state, &v).await?;
    let acting = ActingUser {
        user: v.user(),
        post,
    };
    let day = today();
    let facts = item.facts();
    let actions: Vec<(&'static str, &'static str)> = [
        WorkAction::Start,
        WorkAction::Complete,
        WorkAction::Close,
        WorkAction::Reopen,
        WorkAction::Remind,
        WorkAction::Escalate,
    ]
    .into_iter()
    .filter(|a| can(acting.actor(), &facts, *a, day).is_ok())
    .map(|a| (a.word(), a.chinese()))
    .collect();
    let can_report = can(acting.actor(), &facts, WorkAction::Report, day).is_ok();
    // Whether the actor may edit at all; the reason is the form's to give.
    let can_edit = can_edit(acting.actor(), item.state, "—").is_ok();
    let units = if can_edit {
        let mut u: Vec<String> = plan_in_force(&state)
            .await?
            .map(|p| {
                p.plan
                    .tasks
                    .iter()
                    .flat_map(|t| {
                        std::iter::once(t.lead_unit.clone())
                            .chain(t.units.iter().map(|u| u.unit.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        u.sort();
        u.dedup();
        u
    } else {
        Vec::new()
    };
    let gap = match item.gap_id {
        Some(g) => state
            .store
            .work()
            .gap(&ItemScope::All, g)
            .await?
            .map(|g| GapLine::of(&g)),
        None => None,
    };
    // An item made for an inspection's finding links back to it.
    let finding = match item.gap_id {
        Some(_) => None,
        None => state
            .store
            .inspections()
            .finding_of_item(&scope, id)
            .await?
            .map(|f| {
                (
                    format!("/inspections/{}/findings#item-{id}", f.inspection_id),
                    format!("{}：{}", f.inspection, f.description),
                )
            }),
    };
    let events = state
        .store
        .work()
        .work_events(id)
        .await?
        .into_iter()
        .map(|e| EventLine {
            at: view::time(e.at),
            who: e.username.unwrap_or_else(|| "系统".into()),
            action: action_name(&e.action),
            change: if e.from_state == e.to_state {
                String::new()
            } else {
                format!("{} → {}", e.from_state.chinese(), e.to_state.chinese())
            },
            note: e.note,
            percent: e.percent.map(|p| format!("{p}%")).unwrap_or_default(),
            files: e
                .attachments
                .iter()
                .map(|a| {
                    (
                        format!("/tasks/attachments/{}", a.id),
                        format!("{}（{} 字节）", a.file_name, view::count(a.size)),
                    )
                })
                .collect(),
        })
        .collect();
    let hh = item.household_no.clone().unwrap_or_default();
    let p = ItemPage {
        layout: Layout::of(&v, format!("事项 {id}"), "items"),
        item: ItemLine::of(&item, day),
        detail: item.detail.clone(),
        leader: item.leader.clone().unwrap_or_else(|| "—".into()),
        gap,
        finding,
        household_url: if hh.is_empty() {
            String::new()
        } else {
            view::household_url(&hh)
        },
        household_no: hh,
        events,
        actions,
        can_report,
        can_edit,
        deadline_value: item.deadline.map(|d| d.to_string()).unwrap_or_default(),
        units,
        message: q.msg.unwrap_or_default(),
    };
    Ok(Html(p.render()?))
}

/// A step read from a form or a multipart upload.
#[derive(Default)]
pub struct StepForm {
    pub action: String,
    pub note: String,
    pub percent: Option<i64>,
    pub attachments: Vec<NewAttachment>,
}

async fn read_step(mut mp: CsrfMultipart) -> Result<StepForm, Error> {
    let mut f = StepForm::default();
    let bad = crate::upload::multipart_error;
    while let Some(part) = mp.next_field().await? {
        let Part::Field(field) = part else {
            continue;
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "files" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            let data = field.bytes().await.map_err(bad)?.to_vec();
            if !file_name.is_empty() && !data.is_empty() {
                f.attachments.push(NewAttachment {
                    file_name,
                    content_type,
                    data,
                });
            }
            continue;
        }
        let text = crate::upload::field_text(field).await?;
        match name.as_str() {
            "action" => f.action = text,
            "note" => f.note = text,
            "percent" => {
                let t = text.trim();
                f.percent = if t.is_empty() {
                    None
                } else {
                    Some(t.parse().map_err(|_| {
                        Error::BadRequest(format!("进度「{t}」应为0到100之间的整数"))
                    })?)
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// Take a step on an item as the viewer. Err(NotFound) outside the scope; a refusal is a
/// BadRequest with the state machine's words (403 for "not allowed").
pub async fn take_step(
    state: &AppState,
    v: &Viewer,
    id: i64,
    f: StepForm,
) -> Result<WorkItem, Error> {
    let action = WorkAction::parse(&f.action)
        .ok_or_else(|| Error::BadRequest(format!("未知的操作「{}」", f.action)))?;
    let post = acting_post(state, v).await?;
    let acting = ActingUser {
        user: v.user(),
        post,
    };
    let step = Step {
        action,
        note: f.note,
        percent: f.percent,
        attachments: f.attachments,
    };
    match state
        .store
        .work()
        .act_on_work_item(&acting, id, &step, today())
        .await?
    {
        Ok(Some(item)) => Ok(item),
        Ok(None) => Err(Error::NotFound),
        Err(r) => Err(r.into()),
    }
}

/// POST /tasks/items/{id} — a step (multipart: action, note, percent, files, csrf).
pub async fn item_step(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let f = read_step(mp).await?;
    match take_step(&state, &v, id, f).await {
        Ok(_) => Ok(Redirect::to(&format!("/tasks/items/{id}")).into_response()),
        Err(Error::BadRequest(m) | Error::Invalid { message: m, .. }) => {
            Ok(Redirect::to(&format!("/tasks/items/{id}?msg={}", view::enc(&m))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Change an item's deadline and unit as the viewer (headquarters). Err(NotFound)
/// outside the scope; 403 for anyone else; 422 for a missing reason or no change, 409 for a
/// closed item.
pub async fn edit_item(
    state: &AppState,
    v: &Viewer,
    id: i64,
    edit: ItemEdit,
) -> Result<WorkItem, Error> {
    let acting = ActingUser {
        user: v.user(),
        post: None,
    };
    match state
        .store
        .work()
        .edit_work_item(&acting, id, &edit)
        .await?
    {
        Ok(Some(item)) => Ok(item),
        Ok(None) => Err(Error::NotFound),
        Err(r) => Err(r.into()),
    }
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    pub deadline: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub reason: String,
}

/// POST /tasks/items/{id}/edit — 改期、改派 (headquarters; reason required).
pub async fn item_edit(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<EditForm>,
) -> Result<Response, PageError> {
    let outcome = match parse_deadline(&f.deadline) {
        Ok(deadline) => {
            edit_item(
                &state,
                &v,
                id,
                ItemEdit {
                    deadline,
                    unit: f.unit,
                    reason: f.reason,
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/tasks/items/{id}")).into_response()),
        Err(Error::BadRequest(m) | Error::Invalid { message: m, .. }) => {
            Ok(Redirect::to(&format!("/tasks/items/{id}?msg={}", view::enc(&m))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct NewItemForm {
    pub gap_id: Option<i64>,
    pub task_no: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub deadline: String,
}

pub fn parse_deadline(text: &str) -> Result<Option<NaiveDate>, Error> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| Error::BadRequest(format!("完成时限「{t}」应为 2018-10-31 这样的日期")))
}

pub async fn create_item(
    state: &AppState,
    v: &Viewer,
    new: NewWorkItem,
) -> Result<WorkItem, Error> {
    let acting = ActingUser {
        user: v.user(),
        post: None,
    };
    match state.store.work().create_work_item(&acting, &new).await? {
        Ok(i) => Ok(i),
        Err(r) => Err(r.into()),
    }
}

/// POST /tasks/items — 交办 by hand (headquarters), from a queued gap or on its own.
pub async fn new_item(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(f): CsrfForm<NewItemForm>,
) -> Result<Response, PageError> {
    let task_no = match f
        .task_no
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) => Some(
            t.parse()
                .map_err(|_| Error::BadRequest(format!("任务序号「{t}」应为正整数")))?,
        ),
        None => None,
    };
    let item = create_item(
        &state,
        &v,
        NewWorkItem {
            gap_id: f.gap_id,
            task_no,
            title: f.title,
            detail: f.detail,
            unit: f.unit,
            deadline: parse_deadline(&f.deadline)?,
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/tasks/items/{}", item.id)).into_response())
}

/// POST /tasks/escalate — escalate every overdue item to its task's leader.
pub async fn escalate(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let acting = ActingUser {
        user: v.user(),
        post: None,
    };
    match state
        .store
        .work()
        .escalate_overdue(&acting, today())
        .await?
    {
        Ok(_) => Ok(Redirect::to("/tasks/items?escalated=1").into_response()),
        Err(r) => Err(Error::Forbidden(r.to_string()).into()),
    }
}

/// GET /tasks/attachments/{id}
pub async fn attachment(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let a = state
        .store
        .work()
        .attachment(&item_scope(&v), id)
        .await?
        .ok_or(Error::NotFound)?;
    let ascii: String = a
        .info
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                    view::enc(&a.info.file_name)
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        a.data,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------
// Ledgers.

/// The plan ledger's rows (one per task and implementing unit) and the open gaps' (one
/// per gap, by task and unit), as the pages show them.
pub struct Ledgers {
    pub plan: Vec<[String; 12]>,
    pub gaps: Vec<[String; 8]>,
}

pub const PLAN_LEDGER_HEADER: [&str; 12] = [
    "序号",
    "重点工作",
    "责任领导",
    "牵头单位",
    "落实单位",
    "落实单位责任人",
    "完成时限",
    "负责问题",
    "未办结",
    "逾期",
    "待核",
    "已销号",
];
pub const GAP_LEDGER_HEADER: [&str; 8] = [
    "任务序号",
    "承办单位",
    "问题类别",
    "乡镇",
    "行政村",
    "户编号",
    "短板",
    "交办事项",
];

pub async fn ledgers(state: &AppState, v: &Viewer) -> Result<Ledgers, Error> {
    let mut plan_rows = Vec::new();
    if let Some(plan) = plan_in_force(state).await? {
        for r in state
            .store
            .work()
            .responsibility_matrix(&plan, today())
            .await?
        {
            for (unit, owner) in &r.units {
                plan_rows.push([
                    r.task_no.to_string(),
                    r.task.clone(),
                    r.leader.clone(),
                    r.lead_unit.clone(),
                    unit.clone(),
                    owner.clone(),
                    r.deadline.clone(),
                    r.owns.join("、"),
                    r.open.to_string(),
                    r.overdue.to_string(),
                    r.done.to_string(),
                    r.closed.to_string(),
                ]);
            }
        }
    }
    let mut gaps = Vec::new();
    let mut after = None;
    let filter = GapFilter {
        open: true,
        ..GapFilter::default()
    };
    loop {
        let page = state
            .store
            .work()
            .gaps(&item_scope(v), &filter, after, 500)
            .await?;
        for g in &page.items {
            gaps.push([
                g.task_no.map(|n| n.to_string()).unwrap_or_default(),
                g.lead_unit.clone().unwrap_or_else(|| "指挥部待分派".into()),
                gap_kind_name(&g.kind).to_string(),
                g.township.clone(),
                g.village.clone(),
                g.household_no.clone().unwrap_or_default(),
                g.detail.clone(),
                g.work_item.map(|i| i.to_string()).unwrap_or_default(),
            ]);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    // By task, then unit (the headquarters' queue last), then place.
    gaps.sort_by(|a, b| {
        let key = |r: &[String; 8]| {
            (
                r[0].parse::<u32>().unwrap_or(u32::MAX),
                r[1].clone(),
                r[3].clone(),
                r[4].clone(),
                r[5].clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(Ledgers {
        plan: plan_rows,
        gaps,
    })
}

/// GET /tasks/ledger.xlsx — 责任分解台账 and 短板台账 in one workbook.
pub async fn ledger_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Response, PageError> {
    let l = ledgers(&state, &v).await?;
    let bytes = tokio::task::spawn_blocking(move || ledger_workbook(&l))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(crate::xlsx::download(bytes, "责任落实台账.xlsx"))
}

/// The ledgers as a workbook: every cell text (an ID number or 户编号 keeps its digits),
/// long lists split into further sheets.
pub fn ledger_workbook(l: &Ledgers) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    const ROWS_PER_SHEET: usize = 1_048_575;
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    fn sheets<const N: usize>(
        wb: &mut Workbook,
        bold: &Format,
        name: &str,
        header: &[&str; N],
        rows: &[[String; N]],
    ) -> Result<(), rust_xlsxwriter::XlsxError> {
        let chunks: Vec<&[[String; N]]> = if rows.is_empty() {
            vec![&[]]
        } else {
            rows.chunks(ROWS_PER_SHEET).collect()
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let ws = wb.add_worksheet();
            ws.set_name(if i == 0 {
                name.to_string()
            } else {
                format!("{name}{}", i + 1)
            })?;
            for (c, h) in header.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, *h, bold)?;
            }
            for (r, row) in chunk.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    crate::xlsx::put(ws, r as u32 + 1, c as u16, v)?;
                }
            }
        }
        Ok(())
    }
    sheets(&mut wb, &bold, "责任分解台账", &PLAN_LEDGER_HEADER, &l.plan)?;
    sheets(&mut wb, &bold, "短板台账", &GAP_LEDGER_HEADER, &l.gaps)?;
    wb.save_to_buffer()
}
