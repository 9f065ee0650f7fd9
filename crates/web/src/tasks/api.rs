//! The JSON API of 责任落实 under `/api/v1/`: the plan and its responsibility matrix, the
//! six-in-place figures, gaps, work items and their steps — what the `/tasks` pages show,
//! with the same sessions, scopes and rules (POSTs carry `X-CSRF-Token`).

use crate::auth::ApiUser;
use crate::csrf::CsrfMultipart;
use crate::error::{ApiError, Error};
use crate::tasks::{self, GapsQuery, ItemsQuery, NewItemForm, StepForm};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fupin_domain::work_item::state_label;
use fupin_store::{gap_kind_name, today, GapFilter, GapRow, ItemEdit, WorkItem, WorkItemId};
use serde::Deserialize;
use serde_json::{json, Value};

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

pub fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/v1/plan",
            get(plan)
                .post(import_plan)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/v1/six-in-place", get(six))
        .route("/v1/gaps", get(gaps))
        .route("/v1/work-items", get(items).post(create))
        .route("/v1/work-items/{id}", get(item))
        .route("/v1/work-items/{id}/steps", post(step))
        .route("/v1/work-items/{id}/edit", post(edit))
}

pub fn gap_json(g: &GapRow) -> Value {
    json!({
        "id": g.id, "key": g.key, "kind": g.kind, "kind_label": gap_kind_name(&g.kind),
        "township": g.township, "village": g.village, "household_no": g.household_no,
        "detail": g.detail, "open": g.open, "task_no": g.task_no, "lead_unit": g.lead_unit,
        "first_version": g.first_version, "last_version": g.last_version,
        "opened_at": g.opened_at, "closed_at": g.closed_at, "evidence": g.evidence,
        "work_item": g.work_item,
    })
}

pub fn item_json(i: &WorkItem) -> Value {
    let day = today();
    json!({
        "id": i.id, "gap_id": i.gap_id, "task_no": i.task_no, "task": i.task,
        "leader": i.leader, "title": i.title, "detail": i.detail, "unit": i.unit,
        "township": i.township, "village": i.village, "household_no": i.household_no,
        "deadline": i.deadline, "state": i.state.word(),
        "state_label": state_label(i.state, i.deadline, day), "overdue": i.overdue(day),
        "progress": i.progress, "reminders": i.reminders, "escalated_at": i.escalated_at,
        "created_at": i.created_at, "updated_at": i.updated_at,
    })
}

/// GET /api/v1/plan — the plan in force and its responsibility matrix.
async fn plan(State(state): State<AppState>, ApiUser(v): ApiUser) -> ApiResult {
    let _ = &v;
    let Some(p) = tasks::plan_in_force(&state).await? else {
        return ok(json!({ "plan": null, "matrix": [] }));
    };
    let rows = state
        .store
        .work()
        .responsibility_matrix(&p, today())
        .await
        .map_err(Error::from)?;
    ok(json!({
        "plan": {
            "id": p.revision.id, "year": p.plan.year, "revision": p.revision.revision,
            "name": p.plan.name, "overall_post": p.plan.overall_post,
            "commander_post": p.plan.commander_post, "declared_tasks": p.plan.declared_tasks,
            "file_name": p.revision.file_name, "imported_at": p.revision.imported_at,
        },
        "matrix": rows.iter().map(|r| json!({
            "task_no": r.task_no, "task": r.task, "leader": r.leader, "lead_unit": r.lead_unit,
            "units": r.units.iter().map(|(u, o)| json!({"unit": u, "owner": o})).collect::<Vec<_>>(),
            "deadline": r.deadline, "owns": r.owns, "open": r.open, "overdue": r.overdue,
            "done": r.done, "closed": r.closed, "open_gaps": r.open_gaps,
        })).collect::<Vec<_>>(),
    }))
}

/// POST /api/v1/plan — import a plan file (multipart, as the page's form).
async fn import_plan(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    mp: Multipart,
) -> ApiResult {
    let mp = CsrfMultipart::by_header(&v, &headers, mp)?;
    let up = tasks::read_plan_upload(&state, mp).await?;
    match tasks::import_plan(&state, &v, up).await? {
        tasks::PlanImport::Stored { revision, warnings } => Ok((
            StatusCode::CREATED,
            Json(json!({
                "id": revision.id, "year": revision.year, "revision": revision.revision,
                "tasks": revision.tasks,
                "warnings": warnings.iter().map(problem_json).collect::<Vec<_>>(),
            })),
        )
            .into_response()),
        tasks::PlanImport::Rejected(problems, reason) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "plan_rejected", "message": reason,
                "problems": problems.iter().map(problem_json).collect::<Vec<_>>(),
            })),
        )
            .into_response()),
    }
}

fn problem_json(p: &fupin_domain::Problem) -> Value {
    json!({ "line": p.line, "column": p.column, "code": p.code.to_string(), "value": p.value, "message": p.message })
}

/// GET /api/v1/six-in-place
async fn six(State(state): State<AppState>, ApiUser(v): ApiUser) -> ApiResult {
    let s = tasks::six_in_place(&state, &v).await?;
    ok(json!({
        "responsibility": { "has_plan": s.has_plan, "tasks": s.tasks, "fully_staffed": s.staffed,
            "open_gaps": s.open_gaps, "unrouted_gaps": s.unrouted, "overdue_items": s.overdue,
            "pending_items": s.items.pending, "done_items": s.items.done, "closed_items": s.items.closed },
        "policy": s.policy.iter().map(|(n, pass, share)| json!({"standard": n, "passing": pass, "share": share})).collect::<Vec<_>>(),
        "households": s.households,
        "industry": { "income_passing": s.income_pass.0, "share": s.income_pass.1,
            "bands": s.bands.iter().map(|(b, n)| json!({"band": b, "households": n})).collect::<Vec<_>>() },
        "basic_records": { "open_data_gaps": s.data_gaps },
        "exit_guarantees": s.village.iter().map(|(c, n)| json!({"condition": c, "villages": n})).collect::<Vec<_>>(),
        "funds": s.funds,
    }))
}

/// GET /api/v1/gaps?queue=1&all=1&kind=HOUSING&after=ID
async fn gaps(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<GapsQuery>,
) -> ApiResult {
    let filter = GapFilter {
        open: q.all.is_none(),
        unrouted: q.queue.is_some(),
        kind: q.kind.clone().filter(|k| !k.is_empty()),
        task_no: None,
    };
    let page = state
        .store
        .work()
        .gaps(&v.item_scope(), &filter, q.after, tasks::PAGE)
        .await
        .map_err(Error::from)?;
    ok(json!({ "items": page.items.iter().map(gap_json).collect::<Vec<_>>(), "next": page.next }))
}

/// GET /api/v1/work-items?state=&overdue=1&mine=1&task=&before=ID
async fn items(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<ItemsQuery>,
) -> ApiResult {
    let filter = tasks::item_filter(&state, &v, &q).await?;
    let page = state
        .store
        .work()
        .work_items(&v.item_scope(), &filter, q.before, tasks::PAGE)
        .await
        .map_err(Error::from)?;
    ok(json!({ "items": page.items.iter().map(item_json).collect::<Vec<_>>(), "next": page.next }))
}

/// GET /api/v1/work-items/{id} — with its history.
async fn item(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(id): Path<WorkItemId>,
) -> ApiResult {
    let i = state
        .store
        .work()
        .work_item(&v.item_scope(), id)
        .await
        .map_err(Error::from)?
        .ok_or(Error::NotFound)?;
    let events = state
        .store
        .work()
        .work_events(id)
        .await
        .map_err(Error::from)?;
    let mut o = item_json(&i);
    o["events"] = json!(events
        .iter()
        .map(|e| json!({
            "at": e.at, "user": e.username, "action": e.action,
            "from": e.from_state.word(), "to": e.to_state.word(), "note": e.note,
            "percent": e.percent,
            "attachments": e.attachments.iter().map(|a| json!({
                "id": a.id, "file_name": a.file_name, "size": a.size,
                "url": format!("/tasks/attachments/{}", a.id),
            })).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>());
    ok(o)
}

#[derive(Deserialize)]
pub struct StepBody {
    pub action: String,
    #[serde(default)]
    pub note: String,
    pub percent: Option<i64>,
    /// 强制销号: "cannot_rectify" (无法整改) or "not_applicable" (政策不适用).
    #[serde(default, rename = "override")]
    pub close_override: String,
}

/// POST /api/v1/work-items/{id}/steps — `{"action": "complete", "note": "…"}`.
async fn step(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Path(id): Path<WorkItemId>,
    Json(b): Json<StepBody>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    let i = tasks::take_step(
        &state,
        &v,
        id,
        StepForm {
            action: b.action,
            note: b.note,
            percent: b.percent,
            attachments: Vec::new(),
            close_override: b.close_override,
        },
    )
    .await?;
    ok(item_json(&i))
}

#[derive(Deserialize)]
pub struct EditBody {
    /// "2018-12-15"; null or "" for no deadline.
    pub deadline: Option<String>,
    pub unit: String,
    #[serde(default)]
    pub reason: String,
}

/// POST /api/v1/work-items/{id}/edit — 改期、改派 (headquarters):
/// `{"deadline": "2018-12-15", "unit": "县扶贫办", "reason": "…"}`.
async fn edit(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Path(id): Path<WorkItemId>,
    Json(b): Json<EditBody>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    let i = tasks::edit_item(
        &state,
        &v,
        id,
        ItemEdit {
            deadline: tasks::parse_deadline(b.deadline.as_deref().unwrap_or_default())?,
            unit: b.unit,
            reason: b.reason,
        },
    )
    .await?;
    ok(item_json(&i))
}

/// POST /api/v1/work-items — 交办 by hand (headquarters).
async fn create(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Json(b): Json<NewItemForm<u32>>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    let task_no = b.task_no;
    let i = tasks::create_item(&state, &v, b.item(task_no)?).await?;
    Ok((StatusCode::CREATED, Json(item_json(&i))).into_response())
}
