//! The funds figures by grouping, the projects behind schedule, and the county's
//! behind-schedule rule.

use super::project::refusal_error;
use super::{parse_date, place, rate_text};
use crate::auth::{PageUser, Viewer};
use crate::csrf::CsrfForm;
use crate::error::{Error, PageError};
use crate::view::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_domain::funds::ScheduleRule;
use fupin_domain::Fen;
use fupin_store::{today, FundsBy};
use serde::Deserialize;

pub struct FigureLine {
    pub label: String,
    pub url: String,
    pub projects: u64,
    pub budget: String,
    pub disbursed: String,
    pub in_period: String,
    pub rate: String,
}

pub struct BehindLine {
    pub url: String,
    pub name: String,
    pub unit: String,
    pub place: String,
    pub stage: &'static str,
    pub budget: String,
    pub paid: String,
    pub rate: String,
}

#[derive(Template)]
#[template(path = "funds_figures.html")]
struct FiguresPage {
    layout: Layout,
    tabs: Vec<(String, String, bool)>,
    by_label: &'static str,
    month: bool,
    rows: Vec<FigureLine>,
    rule: String,
    rule_by: String,
    rule_percent: String,
    behind: Vec<BehindLine>,
    is_admin: bool,
    rule_error: String,
}

#[derive(Deserialize, Default)]
pub struct FiguresQuery {
    #[serde(default)]
    pub by: String,
}

/// The rule as people read it: `2018-06-30 前拨付不低于预算的 50.00%`.
pub fn rule_text(r: &ScheduleRule) -> String {
    format!(
        "{} 前拨付不低于预算的 {}%",
        r.by,
        fupin_domain::figures::Rate {
            num: r.min_bp,
            den: 10_000
        }
        .percent()
    )
}

async fn figures_page(
    state: &AppState,
    v: &Viewer,
    by: &str,
    rule_form: Option<(String, String, String)>,
) -> Result<String, Error> {
    let group: FundsBy = by.parse()?;
    let s = v.item_scope();
    let rows = state.store.funds().fund_figures(&s, group).await?;
    let rule = state.store.funds().schedule_rule().await?;
    let behind = match rule {
        Some(r) => state.store.funds().behind_schedule(&s, r, today()).await?,
        None => Vec::new(),
    };
    let (rule_by, rule_percent, rule_error) = match rule_form {
        Some(f) => f,
        None => (
            rule.map(|r| r.by.to_string()).unwrap_or_default(),
            rule.map(|r| {
                fupin_domain::figures::Rate {
                    num: r.min_bp,
                    den: 10_000,
                }
                .percent()
            })
            .unwrap_or_default(),
            String::new(),
        ),
    };
    let page = FiguresPage {
        layout: Layout::of(v, "资金拨付统计", "funds"),
        tabs: FundsBy::ALL
            .iter()
            .map(|&g| {
                let url = format!("/funds?by={}", g.code());
                (url, g.chinese().to_string(), g == group)
            })
            .collect(),
        by_label: group.chinese(),
        month: group == FundsBy::Month,
        rows: rows
            .iter()
            .map(|f| FigureLine {
                label: f.label.clone(),
                url: if group == FundsBy::Project {
                    format!("/projects/{}", f.key)
                } else {
                    String::new()
                },
                projects: f.projects,
                budget: f.budget.grouped(),
                disbursed: f.disbursed.grouped(),
                in_period: f.in_period.grouped(),
                rate: rate_text(f.rate),
            })
            .collect(),
        rule: rule.as_ref().map(rule_text).unwrap_or_default(),
        rule_by,
        rule_percent,
        behind: behind
            .iter()
            .map(|b| BehindLine {
                url: format!("/projects/{}", b.id),
                name: format!("{}年 {}", b.year, b.name),
                unit: b.unit.clone(),
                place: place(&b.township, &b.village),
                stage: b.stage.chinese(),
                budget: b.budget.grouped(),
                paid: b.disbursed_by_date.grouped(),
                rate: rate_text(b.rate),
            })
            .collect(),
        is_admin: v.is_admin(),
        rule_error,
    };
    Ok(page.render()?)
}

/// GET /funds?by=project|source|task|unit|township|month — budget, net disbursed and rate
/// by a grouping in the viewer's scope, and the projects behind the county's schedule.
pub async fn figures(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<FiguresQuery>,
) -> Result<Html<String>, PageError> {
    let by = if q.by.is_empty() { "project" } else { &q.by };
    Ok(Html(figures_page(&state, &v, by, None).await?))
}

#[derive(Deserialize, Default)]
pub struct RuleForm {
    #[serde(default)]
    pub by: String,
    #[serde(default)]
    pub min_percent: String,
    /// Present: clear the rule.
    #[serde(default)]
    pub clear: Option<String>,
}

/// POST /funds/rule — headquarters sets (or clears) the county's behind-schedule rule.
pub async fn set_rule(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(f): CsrfForm<RuleForm>,
) -> Result<Response, PageError> {
    v.require_admin()?;
    let parsed: Result<Option<ScheduleRule>, String> = if f.clear.is_some() {
        Ok(None)
    } else {
        (|| {
            let by = parse_date("日期", &f.by)?.ok_or("请填写日期")?;
            let t = f.min_percent.trim().trim_end_matches('%');
            let bp = Fen::parse_yuan(t)
                .ok()
                .filter(|b| (0..=10_000).contains(&b.fen()))
                .ok_or_else(|| {
                    format!(
                        "拨付比例「{}」应为 0 到 100 之间的百分数，最多两位小数",
                        f.min_percent
                    )
                })?;
            Ok(Some(ScheduleRule {
                by,
                min_bp: bp.fen() as u64,
            }))
        })()
    };
    let outcome = match parsed {
        Ok(rule) => match state
            .store
            .funds()
            .set_schedule_rule(v.user(), rule)
            .await?
        {
            Ok(()) => Ok(()),
            Err(r) => Err(refusal_error(r)?),
        },
        Err(m) => Err(m),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/funds").into_response()),
        Err(m) => Ok((
            StatusCode::BAD_REQUEST,
            Html(figures_page(&state, &v, "project", Some((f.by, f.min_percent, m))).await?),
        )
            .into_response()),
    }
}
