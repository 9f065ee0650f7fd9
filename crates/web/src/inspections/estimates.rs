//! The estimates (wrong-exit and missed-poor rates with their intervals) and the
//! forecast of a plan's precision.

use super::workbook::plan_text;
use super::{inspection_of, require_county, PlanFields};
use crate::auth::PageUser;
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use fupin_domain::estimates::{percent, Estimates, IndicatorEstimate};
use fupin_domain::forecast::Forecast;
use fupin_domain::sampling::SamplingPlan;
use fupin_store::InspectionId;
use serde::Deserialize;

pub struct IndicatorLine {
    pub name: &'static str,
    pub estimate: String,
    pub ci: String,
    pub sample: String,
    pub threshold: String,
    pub verdict: &'static str,
    pub pass: bool,
    pub probability: String,
    pub reason: String,
}

pub fn indicator_lines(e: &Estimates) -> Vec<IndicatorLine> {
    e.indicators
        .iter()
        .map(|r| match r {
            Ok(i) => line(i),
            Err(n) => IndicatorLine {
                name: n.indicator.chinese(),
                estimate: "—".into(),
                ci: "—".into(),
                sample: "—".into(),
                threshold: "—".into(),
                verdict: "无法估计",
                pass: false,
                probability: "—".into(),
                reason: n.reason.clone(),
            },
        })
        .collect()
}

fn line(i: &IndicatorEstimate) -> IndicatorLine {
    IndicatorLine {
        name: i.indicator.chinese(),
        estimate: format!("{}%", percent(i.estimate)),
        ci: format!("{}% – {}%", percent(i.ci_low), percent(i.ci_high)),
        sample: format!(
            "{} / {}{}",
            view::count(i.found),
            view::count(i.base),
            i.sample_rate()
                .map(|r| format!("（{}%）", r.percent()))
                .unwrap_or_default()
        ),
        threshold: format!(
            "{} {}%",
            if i.below { "<" } else { ">" },
            percent(i.threshold_bp as f64 / 10_000.0)
        ),
        verdict: if i.pass { "达标" } else { "未达标" },
        pass: i.pass,
        probability: format!("{}%", percent(i.p_within)),
        reason: String::new(),
    }
}

#[derive(Template)]
#[template(path = "inspection_estimates.html")]
struct EstimatesPage {
    layout: Layout,
    id: InspectionId,
    name: String,
    sampled: usize,
    verified: usize,
    lines: Vec<IndicatorLine>,
    villages: usize,
    all_pass: bool,
    estimated: bool,
    region: &'static str,
}

/// GET /inspections/{id}/estimates — the four indicators (county scope).
pub async fn estimates_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<InspectionId>,
) -> Result<Html<String>, PageError> {
    require_county(&v)?;
    let insp = inspection_of(&state, id).await?;
    let st = state
        .store
        .inspections()
        .inspection_estimates(id, state.config.region)
        .await?
        .ok_or(Error::NotFound)?;
    let page = EstimatesPage {
        layout: Layout::of(&v, format!("{} · 考核指标", insp.name), "inspections"),
        id,
        name: insp.name,
        sampled: st.sampled,
        verified: st.verified,
        lines: st
            .estimates
            .as_ref()
            .map(indicator_lines)
            .unwrap_or_default(),
        villages: st.estimates.as_ref().map_or(0, |e| e.villages),
        all_pass: st.estimates.as_ref().is_some_and(Estimates::all_pass),
        estimated: st.estimates.is_some(),
        region: state.config.region.chinese(),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

#[derive(Deserialize, Default)]
pub struct ForecastQuery {
    #[serde(flatten)]
    pub plan: PlanFields,
    #[serde(default)]
    pub runs: String,
}

pub struct ForecastView {
    pub register_rate: String,
    pub mean: String,
    pub quantiles: Vec<(u32, String)>,
    pub p_fail: String,
    pub runs: u32,
    pub without: u32,
    pub exited_households: String,
    pub plan: String,
}

pub fn forecast_view(f: &Forecast, plan: &SamplingPlan) -> ForecastView {
    let rate = |(num, den): (u64, u64)| fupin_domain::figures::Rate { num, den }.percent() + "%";
    ForecastView {
        register_rate: f.register_rate.map_or_else(|| "—".into(), rate),
        mean: format!("{}%", percent(f.mean)),
        quantiles: f.quantiles.iter().map(|(l, r)| (*l, rate(*r))).collect(),
        p_fail: format!("{}%", percent(f.p_fail())),
        runs: f.runs,
        without: f.runs_without_exited,
        exited_households: format!("{:.1}", f.mean_exited_households),
        plan: plan_text(plan),
    }
}

pub fn forecast_runs(text: &str) -> Result<u32, Error> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(1000);
    }
    t.parse::<u32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| Error::BadRequest(format!("模拟次数「{t}」应为 1 到 10,000 的整数")))
}

/// The 错退率 forecast the query asks for: its plan drawn its runs times on the current
/// register; the reason instead when there is no register or the plan cannot be drawn.
pub async fn run_forecast(
    state: &AppState,
    q: &ForecastQuery,
) -> Result<(SamplingPlan, Result<Forecast, String>), Error> {
    let plan = q.plan.plan()?;
    let runs = forecast_runs(&q.runs)?;
    let forecast = match state
        .store
        .inspections()
        .register_forecast(&plan, runs)
        .await?
    {
        None => Err("还没有导入登记表".to_string()),
        Some(Err(e)) => Err(e.to_string()),
        Some(Ok(f)) => Ok(f),
    };
    Ok((plan, forecast))
}

#[derive(Template)]
#[template(path = "inspection_forecast.html")]
struct ForecastPage {
    layout: Layout,
    q: ForecastQuery,
    result: Option<ForecastView>,
    message: String,
}

/// GET /inspections/forecast — the 错退率 forecast from the current register (county
/// scope): the plan drawn `runs` times.
pub async fn forecast_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<ForecastQuery>,
) -> Result<Html<String>, PageError> {
    require_county(&v)?;
    let (result, message) = if q.plan.seed.trim().is_empty() {
        (None, String::new())
    } else {
        match run_forecast(&state, &q).await? {
            (plan, Ok(f)) => (Some(forecast_view(&f, &plan)), String::new()),
            (_, Err(m)) => (None, m),
        }
    };
    let page = ForecastPage {
        layout: Layout::of(&v, "错退率预测", "inspections"),
        q,
        result,
        message,
    };
    Ok(Html(page.render().map_err(Error::from)?))
}
