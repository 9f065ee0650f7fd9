//! The review queue (变更审核): the requests in the viewer's area, waiting ones first by
//! default, each with its cells in words, the visit, the evidence, and — for whoever may
//! review it — approve and send back.

use crate::auth::{PageUser, Viewer};
use crate::csrf::CsrfForm;
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_domain::access::{may, Action};
use fupin_domain::change::ChangeState;
use fupin_store::{ActingUser, ChangeFileId, ChangeFilter, ChangeId, ChangeRequest};
use serde::Deserialize;

/// A request as the queue and the household page show it.
pub struct ChangeLine {
    pub id: ChangeId,
    pub household_no: String,
    pub household_url: String,
    pub place: String,
    pub state: &'static str,
    pub state_word: &'static str,
    pub cells: Vec<String>,
    pub visit: String,
    pub reason: String,
    pub submitted: String,
    pub reviewed: String,
    pub verdicts: String,
    /// (url, file name, size).
    pub files: Vec<(String, String, String)>,
    pub can_review: bool,
}

impl ChangeLine {
    pub fn of(r: &ChangeRequest, v: &Viewer) -> ChangeLine {
        let can_review = r.state == ChangeState::Submitted
            && may(
                v.user().role.actor(None),
                Action::ReviewChange {
                    township: &r.township,
                    own: r.submitted_by == v.user().id,
                },
            )
            .is_ok();
        let mut visit = format!("{} 走访", r.visit_date);
        if let Some(d) = r.done_on {
            visit.push_str(&format!("，{d} 竣工"));
        }
        ChangeLine {
            id: r.id,
            household_no: r.household_no.clone(),
            household_url: view::household_url(&r.household_no),
            place: format!("{} {}", r.township, r.village),
            state: r.state.chinese(),
            state_word: r.state.word(),
            cells: r.cells.iter().map(fupin_store::ChangeCell::words).collect(),
            visit,
            reason: r.reason.clone(),
            submitted: format!("{} {}", r.submitted_by_name, view::time(r.submitted_at)),
            reviewed: match (&r.reviewed_by_name, r.reviewed_at) {
                (Some(n), Some(at)) => {
                    let note = r
                        .review_note
                        .as_deref()
                        .map(|n| format!("：{n}"))
                        .unwrap_or_default();
                    format!("{n} {}{note}", view::time(at))
                }
                _ => "—".into(),
            },
            verdicts: match (r.verdict_before, r.verdict_after) {
                (Some(b), Some(a)) if a == b => format!("仍为{}", a.chinese()),
                (Some(b), Some(a)) => format!("{} → {}", b.chinese(), a.chinese()),
                _ => "—".into(),
            },
            files: r
                .files
                .iter()
                .map(|f| {
                    (
                        format!("/changes/files/{}", f.id),
                        f.file_name.clone(),
                        view::count(f.size),
                    )
                })
                .collect(),
            can_review,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    pub state: Option<String>,
    pub before: Option<ChangeId>,
    pub msg: Option<String>,
}

#[derive(Template)]
#[template(path = "changes.html")]
struct QueuePage {
    layout: Layout,
    message: String,
    /// (word, name, lit) of the state filter.
    states: Vec<(&'static str, &'static str, bool)>,
    changes: Vec<ChangeLine>,
    next: Option<String>,
}

/// GET /changes
pub async fn page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<QueueQuery>,
) -> Result<Html<String>, PageError> {
    let word = q.state.as_deref().unwrap_or("submitted");
    let filter = ChangeFilter {
        state: match word {
            "all" => None,
            w => Some(w.parse::<ChangeState>().map_err(Error::from)?),
        },
    };
    let page = state
        .store
        .changes()
        .list(&v.scope, &filter, q.before, 50)
        .await?;
    let mut states: Vec<(&'static str, &'static str, bool)> = ChangeState::ALL
        .iter()
        .map(|s| (s.word(), s.chinese(), s.word() == word))
        .collect();
    states.push(("all", "全部", word == "all"));
    let p = QueuePage {
        layout: Layout::of(&v, "变更审核", "changes"),
        message: q.msg.unwrap_or_default(),
        states,
        changes: page.items.iter().map(|r| ChangeLine::of(r, &v)).collect(),
        next: page
            .next
            .map(|id| format!("/changes?state={word}&before={id}")),
    };
    Ok(Html(p.render()?))
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    pub note: String,
}

/// POST /changes/{id}/approve, /changes/{id}/return — the reviewer's decision.
pub async fn review(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path((id, decision)): Path<(ChangeId, String)>,
    CsrfForm(f): CsrfForm<ReviewForm>,
) -> Result<Response, PageError> {
    let acting = ActingUser {
        user: v.user(),
        post: None,
    };
    let changes = state.store.changes();
    let outcome = match decision.as_str() {
        "approve" => changes.approve(&acting, id, &f.note).await?,
        "return" => changes.send_back(&acting, id, &f.note).await?,
        _ => return Err(Error::NotFound.into()),
    };
    let msg = match outcome {
        Ok(r) if r.state == ChangeState::Approved => format!(
            "已批准变更申请第 {id} 号：户 {} {}",
            r.household_no,
            match (r.verdict_before, r.verdict_after) {
                (Some(b), Some(a)) if a != b =>
                    format!("由「{}」变为「{}」", b.chinese(), a.chinese()),
                (_, Some(a)) => format!("评估结论仍为「{}」", a.chinese()),
                _ => String::new(),
            }
        ),
        Ok(r) => format!("已退回变更申请第 {id} 号（户 {}）", r.household_no),
        Err(r) => format!("未能处理第 {id} 号：{}", r.message()),
    };
    Ok(Redirect::to(&format!("/changes?msg={}", view::enc(&msg))).into_response())
}

/// GET /changes/files/{id}
pub async fn file(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<ChangeFileId>,
) -> Result<Response, PageError> {
    let (f, data) = state
        .store
        .changes()
        .file(&v.scope, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(view::download(&f.file_name, data))
}
