//! The JSON API of projects and funds under `/api/v1/` (issue 7, docs
//! `projects-and-funds.md`): the project library, each project's ledger, recording
//! disbursements and reversals, stages and beneficiaries, and the figures — with the
//! store's rules and scopes (unit staff their unit's projects, township and village staff
//! their area's, the others all). A project outside the scope is 404, like one that does
//! not exist. POSTs carry `X-CSRF-Token`.

use crate::auth::{ApiUser, Viewer};
use crate::error::{ApiError, Error};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fupin_domain::funds::{
    BenefitKind, EntryId, EntryKind, FundSource, Override, ScheduleRule, Stage,
};
use fupin_domain::plan::Deadline;
use fupin_domain::Fen;
use fupin_store::{today, FundEntry, FundRefusal, FundsBy, NewFundEntry, ProjectId, StoredProject};
use serde::Deserialize;
use serde_json::{json, Value};

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/projects", get(projects))
        .route("/v1/projects/{id}", get(project))
        .route("/v1/projects/{id}/entries", post(add_entry))
        .route("/v1/projects/{id}/stage", post(set_stage))
        .route("/v1/projects/{id}/beneficiaries", post(set_beneficiary))
        .route("/v1/funds/figures", get(figures))
        .route("/v1/funds/behind", get(behind))
        .route("/v1/funds/six-in-place", get(six))
        .route("/v1/funds/benefit-flags", get(benefit_flags))
        .route("/v1/funds/benefits/{household_no}", get(benefits))
}

fn rate(r: Option<fupin_domain::figures::Rate>) -> Value {
    r.map_or(Value::Null, |r| Value::String(r.percent()))
}

fn budget_json(b: &fupin_domain::funds::Budget) -> Value {
    Value::Object(
        b.sources()
            .into_iter()
            .map(|(s, f)| (s.code().to_string(), Value::String(f.plain())))
            .collect(),
    )
}

fn project_json(p: &StoredProject) -> Value {
    let x = &p.project;
    json!({
        "id": p.id, "revision": p.revision, "year": x.year, "name": x.name,
        "type": x.kind.code(), "type_label": x.kind.chinese(),
        "township": x.township, "village": x.village, "task_no": x.task_no, "unit": x.unit,
        "stage": x.stage.code(), "stage_label": x.stage.chinese(),
        "planned_start": x.planned_start, "planned_end": x.planned_end,
        "actual_start": x.actual_start, "actual_end": x.actual_end,
        "budget": budget_json(&x.budget), "budget_total": x.budget.total(),
        "disbursed": budget_json(&p.disbursed), "disbursed_total": p.disbursed.total(),
        "rate": rate(p.rate()),
    })
}

fn entry_json(e: &FundEntry) -> Value {
    let (kind, of) = match e.kind {
        EntryKind::Disbursement => ("disbursement", None),
        EntryKind::Reversal { of } => ("reversal", Some(of)),
    };
    json!({
        "id": e.id, "project_id": e.project_id, "date": e.date, "source": e.source.code(),
        "source_label": e.source.chinese(), "amount": e.amount, "kind": kind, "reverses": of,
        "voucher": e.voucher, "payee": e.payee, "note": e.note,
        "override_reason": e.override_reason, "recorded_at": e.recorded_at,
        "recorded_by": e.recorded_by,
    })
}

fn refusal(r: FundRefusal) -> ApiError {
    ApiError(match r {
        FundRefusal::NoProject(_) => Error::NotFound,
        FundRefusal::NotAllowed(m) => Error::Forbidden(m),
        FundRefusal::Field(r) => Error::Invalid {
            status: StatusCode::BAD_REQUEST,
            field: Some(r.field.json().into()),
            message: r.message,
        },
        other => Error::BadRequest(other.to_string()),
    })
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, ApiError> {
    Deadline::parse(text)
        .ok()
        .and_then(Deadline::date)
        .ok_or_else(|| {
            ApiError(Error::BadRequest(format!(
                "日期「{text}」应为 2018-04-01、2018/4/1 或 2018年4月1日"
            )))
        })
}

fn parse_amount(text: &str) -> Result<Fen, ApiError> {
    Fen::parse_yuan(text.trim())
        .map_err(|e| ApiError(Error::BadRequest(format!("金额「{text}」有误：{e}"))))
}

/// GET /api/v1/projects — the projects in the viewer's scope.
async fn projects(State(state): State<AppState>, ApiUser(v): ApiUser) -> ApiResult {
    let list = state.store.funds().projects(&v.item_scope()).await?;
    ok(json!({ "projects": list.iter().map(project_json).collect::<Vec<_>>() }))
}

/// GET /api/v1/projects/{id} — a project, its ledger and its beneficiaries.
async fn project(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(id): Path<ProjectId>,
) -> ApiResult {
    let p = super::project_in_scope(&state, &v, id).await?;
    let entries = state
        .store
        .funds()
        .fund_entries(&v.item_scope(), id)
        .await?;
    let mut out = project_json(&p);
    out["entries"] = entries.iter().map(entry_json).collect();
    ok(out)
}

/// The project's entry `of`, which a reversal reverses, if the project has it.
async fn reversed_entry(
    state: &AppState,
    v: &Viewer,
    id: ProjectId,
    of: EntryId,
) -> Result<Option<FundEntry>, Error> {
    let entries = state
        .store
        .funds()
        .fund_entries(&v.item_scope(), id)
        .await?;
    Ok(entries.into_iter().find(|e| e.id == of))
}

#[derive(Deserialize)]
pub struct EntryBody {
    /// Absent or null: a disbursement; the id of a disbursement: a reversal of it.
    pub reverses: Option<EntryId>,
    pub date: String,
    /// For a reversal, absent: the source of the entry it reverses.
    pub source: Option<String>,
    /// Yuan as text, "1200.50".
    pub amount: String,
    #[serde(default)]
    pub voucher: String,
    #[serde(default)]
    pub payee: String,
    #[serde(default)]
    pub note: String,
    /// Headquarters: record over the budget, with this reason.
    pub override_reason: Option<String>,
}

/// POST /api/v1/projects/{id}/entries — record a disbursement or a reversal: 201 with the
/// entry; 400 with the rule's message when refused (over budget, a reversal too large …);
/// 403 for a role that may not record; 404 outside the scope.
async fn add_entry(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Path(id): Path<ProjectId>,
    Json(b): Json<EntryBody>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    let kind = match b.reverses {
        Some(of) => EntryKind::Reversal { of },
        None => EntryKind::Disbursement,
    };
    let source = match (&b.source, kind) {
        (Some(s), _) => s.parse::<FundSource>().map_err(Error::from)?,
        (None, EntryKind::Reversal { of }) => reversed_entry(&state, &v, id, of)
            .await?
            .map(|e| e.source)
            .ok_or_else(|| {
                ApiError(Error::BadRequest(format!(
                    "本项目没有编号为 {of} 的拨付记录"
                )))
            })?,
        (None, EntryKind::Disbursement) => {
            return Err(ApiError(Error::BadRequest("请填写资金来源 source".into())))
        }
    };
    if matches!(kind, EntryKind::Reversal { .. }) && b.note.trim().is_empty() {
        return Err(ApiError(Error::BadRequest(
            "冲销须在 note 中写明原因".into(),
        )));
    }
    // A reversal's payee, left empty, is the reversed entry's (as the form does).
    let payee = match kind {
        EntryKind::Reversal { of } if b.payee.trim().is_empty() => {
            reversed_entry(&state, &v, id, of)
                .await?
                .map(|e| e.payee)
                .unwrap_or_default()
        }
        _ => b.payee,
    };
    let entry = NewFundEntry {
        date: parse_date(&b.date)?,
        source,
        amount: parse_amount(&b.amount)?,
        voucher: b.voucher,
        payee,
        note: b.note,
    };
    let over = b.override_reason.map(|reason| Override { reason });
    let e = state
        .store
        .funds()
        .add_fund_entry(v.user(), id, kind, &entry, over.as_ref())
        .await?
        .map_err(refusal)?;
    Ok((StatusCode::CREATED, Json(entry_json(&e))).into_response())
}

#[derive(Deserialize)]
pub struct StageBody {
    pub stage: String,
}

/// POST /api/v1/projects/{id}/stage — `{"stage": "完工"}`: one stage forward.
async fn set_stage(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Path(id): Path<ProjectId>,
    Json(b): Json<StageBody>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    let to = b.stage.parse::<Stage>().map_err(Error::from)?;
    state
        .store
        .funds()
        .set_project_stage(v.user(), id, to)
        .await?
        .map_err(refusal)?;
    let p = super::project_in_scope(&state, &v, id).await?;
    ok(project_json(&p))
}

#[derive(Deserialize)]
pub struct BeneficiaryBody {
    pub household_no: String,
    /// 分红、务工、土地流转、服务 (or dividend, wage, land_rent, service).
    pub kind: String,
    /// Yuan per year as text.
    pub yearly: String,
}

/// POST /api/v1/projects/{id}/beneficiaries — record a household's yearly benefit.
async fn set_beneficiary(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    Path(id): Path<ProjectId>,
    Json(b): Json<BeneficiaryBody>,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    let kind = b.kind.parse::<BenefitKind>().map_err(Error::from)?;
    let yearly = parse_amount(&b.yearly)?;
    state
        .store
        .funds()
        .set_beneficiary(v.user(), id, &b.household_no, kind, yearly)
        .await?
        .map_err(refusal)?;
    ok(
        json!({ "project_id": id, "household_no": b.household_no.trim(), "kind": kind.code(), "yearly": yearly }),
    )
}

#[derive(Deserialize)]
pub struct FiguresQuery {
    /// project, source, task, unit, township or month (default project).
    pub by: Option<String>,
}

/// GET /api/v1/funds/figures?by=source — budget, disbursed and rate by a grouping.
async fn figures(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<FiguresQuery>,
) -> ApiResult {
    let by = match q.by.as_deref().unwrap_or("project") {
        "project" => FundsBy::Project,
        "source" => FundsBy::Source,
        "task" => FundsBy::Task,
        "unit" => FundsBy::Unit,
        "township" => FundsBy::Township,
        "month" => FundsBy::Month,
        other => {
            return Err(ApiError(Error::BadRequest(format!(
                "by「{other}」无法识别；可填 project、source、task、unit、township、month"
            ))))
        }
    };
    let rows = state
        .store
        .funds()
        .fund_figures(&v.item_scope(), by)
        .await?;
    ok(json!({ "figures": rows }))
}

#[derive(Deserialize)]
pub struct BehindQuery {
    /// The rule's date: 2018-06-30.
    pub by: String,
    /// The least share disbursed by then, in percent with up to two decimals ("50").
    pub min_percent: String,
}

fn rule(q: &BehindQuery) -> Result<ScheduleRule, ApiError> {
    let bp = Fen::parse_yuan(q.min_percent.trim())
        .ok()
        .filter(|f| f.fen() <= 10_000)
        .ok_or_else(|| {
            ApiError(Error::BadRequest(format!(
                "min_percent「{}」应为 0 到 100 之间的百分数，最多两位小数",
                q.min_percent
            )))
        })?;
    Ok(ScheduleRule {
        by: parse_date(&q.by)?,
        min_bp: bp.fen() as u64,
    })
}

/// GET /api/v1/funds/behind?by=2018-06-30&min_percent=50 — projects behind schedule.
async fn behind(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<BehindQuery>,
) -> ApiResult {
    let rows = state
        .store
        .funds()
        .behind_schedule(&v.item_scope(), rule(&q)?, today())
        .await?;
    ok(json!({ "projects": rows }))
}

#[derive(Deserialize)]
pub struct SixQuery {
    pub by: Option<String>,
    pub min_percent: Option<String>,
}

/// GET /api/v1/funds/six-in-place[?by=…&min_percent=…] — the funds part of 六个到位, behind
/// schedule by the rule given, else by the county's rule (as the panel shows it).
async fn six(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<SixQuery>,
) -> ApiResult {
    let r = match (q.by, q.min_percent) {
        (Some(by), Some(min_percent)) => Some(rule(&BehindQuery { by, min_percent })?),
        _ => state.store.funds().schedule_rule().await?,
    };
    let f = state
        .store
        .funds()
        .funds_in_place(&v.item_scope(), r, today())
        .await?;
    ok(json!(f))
}

/// GET /api/v1/funds/benefit-flags — households of the viewer's area whose declared income
/// does not account for their project benefits.
async fn benefit_flags(State(state): State<AppState>, ApiUser(v): ApiUser) -> ApiResult {
    let flags = state.store.funds().benefit_flags(&v.scope).await?;
    ok(json!({ "households": flags }))
}

/// GET /api/v1/funds/benefits/{household_no} — a household's benefits from the projects in
/// the viewer's scope.
async fn benefits(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(no): Path<String>,
) -> ApiResult {
    let list = state
        .store
        .funds()
        .household_benefits(&v.item_scope(), &no)
        .await?;
    ok(json!({ "household_no": no, "benefits": list }))
}
