//! Six in place (六个到位): the six shares computed from the plan, the gaps, the work
//! items and the funds.

use super::matrix::plan_in_force;
use crate::auth::{PageUser, Viewer};
use crate::error::{Error, PageError};
use crate::view::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use fupin_domain::plan::GapKind;
use fupin_domain::Criterion;
use fupin_store::today;

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
    let scope = v.item_scope();
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
