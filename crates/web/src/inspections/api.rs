//! The JSON API of 考核评估 under `/api/v1/`: inspections, the recorded draw and its
//! sampled households, verification results, the four indicators, the forecast and
//! findings — what the `/inspections` pages show, with the same sessions, scopes and rules
//! (POSTs carry `X-CSRF-Token`).

use crate::auth::ApiUser;
use crate::error::{ApiError, Error};
use crate::inspections::{
    self, inspection_of, refusal, require_county, run_forecast, FindingForm, ForecastQuery,
    NewInspectionForm,
};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fupin_domain::estimates::Verification;
use fupin_domain::sampling::SamplingPlan;
use fupin_store::{FindingRow, Inspection, InspectionId, RuralVillage};
use serde::Deserialize;
use serde_json::{json, Value};

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/inspections", get(list).post(create))
        .route("/v1/inspections/{id}", get(one))
        .route(
            "/v1/inspections/{id}/sample",
            get(sample)
                .post(draw)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::upload::RESULTS_LIMIT,
                )),
        )
        .route(
            "/v1/inspections/{id}/results",
            axum::routing::post(results).layer(axum::extract::DefaultBodyLimit::max(
                crate::upload::RESULTS_LIMIT,
            )),
        )
        .route("/v1/inspections/{id}/estimates", get(estimates))
        .route("/v1/inspections/{id}/findings", get(findings).post(finding))
        .route("/v1/forecast", get(forecast))
}

fn inspection_json(i: &Inspection) -> Value {
    json!({
        "id": i.id, "name": i.name, "level": i.level.word(), "level_label": i.level.chinese(),
        "starts_on": i.starts_on, "ends_on": i.ends_on, "team": i.team,
        "created_at": i.created_at, "created_by": i.created_by,
        "sampled": i.sampled, "verified": i.verified, "findings": i.findings,
    })
}

fn finding_json(f: &FindingRow) -> Value {
    json!({
        "id": f.id, "inspection_id": f.inspection_id, "description": f.description,
        "category": f.category, "severity": f.severity.word(),
        "severity_label": f.severity.chinese(), "household_no": f.household_no,
        "township": f.township, "village": f.village, "task_no": f.task_no,
        "measure": f.measure, "owner": f.owner, "work_item": f.work_item, "unit": f.unit,
        "deadline": f.deadline, "state": f.state.word(), "state_label": f.state.chinese(),
        "progress": f.progress, "latest_note": f.latest_note, "closed_at": f.closed_at,
        "created_at": f.created_at,
    })
}

/// GET /api/v1/inspections
async fn list(State(state): State<AppState>, ApiUser(_v): ApiUser) -> ApiResult {
    let all = state.store.inspections().all().await.map_err(Error::from)?;
    ok(json!({ "inspections": all.iter().map(inspection_json).collect::<Vec<_>>() }))
}

/// POST /api/v1/inspections {name, level, starts_on, ends_on, team}
async fn create(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Json(b): Json<Value>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    let s = |k: &str| b[k].as_str().unwrap_or_default().to_string();
    let form = NewInspectionForm {
        name: s("name"),
        level: s("level"),
        starts_on: s("starts_on"),
        ends_on: s("ends_on"),
        team: s("team"),
    };
    let i = inspections::create(&state, &v, &form).await?;
    Ok((StatusCode::CREATED, Json(inspection_json(&i))).into_response())
}

/// GET /api/v1/inspections/{id} — with its recorded draw (plan, seed, version, totals).
///
/// Policy: the draw in the reader's scope, as the page shows it — the county sees every
/// sampled village, the rural counts and the county totals; a township or village reader
/// sees only the sampled villages and rural counts of its own area and no totals (null).
async fn one(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(id): Path<InspectionId>,
) -> ApiResult {
    let i = inspection_of(&state, id).await?;
    let s = state
        .store
        .inspections()
        .sample(id)
        .await
        .map_err(Error::from)?;
    let mut out = inspection_json(&i);
    out["draw"] = match s {
        Some(s) => {
            let county = v.scope.is_county();
            let villages: Vec<_> = s
                .sample
                .villages
                .iter()
                .filter(|x| v.scope.contains(&x.township, &x.village))
                .collect();
            let rural: Vec<_> = s
                .rural
                .iter()
                .filter(|x| v.scope.contains(&x.township, &x.village))
                .collect();
            json!({
                "version_id": s.version_id, "seed": s.plan.seed.to_string(), "plan": s.plan,
                "rural": rural, "totals": if county { json!(s.totals) } else { Value::Null },
                "villages": villages, "households": s.sample.households.len(),
                "drawn_at": s.drawn_at, "drawn_by": s.drawn_by,
            })
        }
        None => Value::Null,
    };
    ok(out)
}

/// GET /api/v1/inspections/{id}/sample — the sampled households of the reader's area,
/// with their results.
async fn sample(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(id): Path<InspectionId>,
) -> ApiResult {
    inspection_of(&state, id).await?;
    let rows = state
        .store
        .inspections()
        .sample_rows(&v.scope, id)
        .await
        .map_err(Error::from)?;
    ok(json!({ "households": rows }))
}

#[derive(Deserialize)]
struct DrawBody {
    plan: SamplingPlan,
    #[serde(default)]
    rural: Vec<RuralVillage>,
}

/// POST /api/v1/inspections/{id}/sample {plan, rural} — draw over the current register
/// and record.
async fn draw(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Path(id): Path<InspectionId>,
    Json(b): Json<DrawBody>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    inspection_of(&state, id).await?;
    let s = state
        .store
        .inspections()
        .draw_sample(v.user(), id, &b.plan, &b.rural)
        .await
        .map_err(Error::from)?
        .map_err(refusal)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "seed": s.plan.seed.to_string(), "version_id": s.version_id,
            "villages": s.sample.villages.len(), "households": s.sample.households,
        })),
    )
        .into_response())
}

/// POST /api/v1/inspections/{id}/results [{no, people, checks, missed, approval}] — all or
/// nothing.
async fn results(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Path(id): Path<InspectionId>,
    Json(b): Json<Vec<Verification>>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    inspection_of(&state, id).await?;
    let n = state
        .store
        .inspections()
        .record_results(v.user(), id, &b)
        .await
        .map_err(Error::from)?
        .map_err(refusal)?;
    ok(json!({ "recorded": n }))
}

/// GET /api/v1/inspections/{id}/estimates (county scope)
async fn estimates(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(id): Path<InspectionId>,
) -> ApiResult {
    require_county(&v)?;
    inspection_of(&state, id).await?;
    let st = state
        .store
        .inspections()
        .inspection_estimates(id, state.config.region)
        .await
        .map_err(Error::from)?
        .ok_or(Error::NotFound)?;
    ok(serde_json::to_value(&st).map_err(|e| Error::Internal(e.to_string()))?)
}

/// GET /api/v1/inspections/{id}/findings — those the reader may see.
async fn findings(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(id): Path<InspectionId>,
) -> ApiResult {
    inspection_of(&state, id).await?;
    let all = state
        .store
        .inspections()
        .findings(&v.item_scope(), Some(id))
        .await
        .map_err(Error::from)?;
    ok(json!({ "findings": all.iter().map(finding_json).collect::<Vec<_>>() }))
}

/// POST /api/v1/inspections/{id}/findings — a finding and its work item.
async fn finding(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Path(id): Path<InspectionId>,
    Json(b): Json<Value>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    let s = |k: &str| match &b[k] {
        Value::String(t) => t.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let form = FindingForm {
        description: s("description"),
        category: s("category"),
        severity: s("severity"),
        household_no: s("household_no"),
        township: s("township"),
        village: s("village"),
        task_no: s("task_no"),
        unit: s("unit"),
        owner: s("owner"),
        measure: s("measure"),
        deadline: s("deadline"),
    };
    let f = inspections::create_finding(&state, &v, id, &form).await?;
    Ok((StatusCode::CREATED, Json(finding_json(&f))).into_response())
}

/// GET /api/v1/forecast?seed=…&runs=… (county scope)
async fn forecast(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<ForecastQuery>,
) -> ApiResult {
    require_county(&v)?;
    let (plan, forecast) = run_forecast(&state, &q).await?;
    let f = forecast.map_err(Error::BadRequest)?;
    ok(json!({
        "plan": plan, "runs": f.runs, "runs_without_exited": f.runs_without_exited,
        "register_rate": f.register_rate, "mean": f.mean, "quantiles": f.quantiles,
        "runs_failing": f.runs_failing, "p_fail": f.p_fail(),
        "threshold_bp": f.threshold_bp, "mean_exited_households": f.mean_exited_households,
    }))
}
