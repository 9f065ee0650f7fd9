//! The gaps (短板) found by the assessment, each routed to its task and unit.

use super::PAGE;
use crate::auth::PageUser;
use crate::error::PageError;
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use fupin_store::{gap_kind_name, today, GapFilter, GapId, GapRow};
use serde::Deserialize;

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
    pub id: GapId,
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
    pub after: Option<GapId>,
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
        .gaps(&v.item_scope(), &filter, q.after, PAGE)
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
