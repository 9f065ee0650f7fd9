//! The responsibility matrix (责任矩阵): the plan in force, its tasks with their leader,
//! units and figures, and the leader's post set by headquarters.

use super::acting_post;
use crate::auth::PageUser;
use crate::csrf::CsrfForm;
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_store::{today, ItemScope, MatrixRow, Role, StoredPlan, UserId};
use serde::Deserialize;

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
    pub id: UserId,
    pub username: String,
    pub post: String,
}

/// The plan in force for the current register's year (or the latest plan).
pub(crate) async fn plan_in_force(state: &AppState) -> Result<Option<StoredPlan>, Error> {
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
    pub user_id: UserId,
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
