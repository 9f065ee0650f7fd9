//! The JSON API under `/api/v1/`: everything a page shows, with the same sessions (the
//! `fupin_session` cookie) and the same access rules — the user's scope goes to every
//! store read, what lies outside it is 404. POSTs carry the session's CSRF token in the
//! `X-CSRF-Token` header. The OpenAPI 3 document is at `/api/openapi.json`.

use crate::auth::{self, ApiUser};
use crate::csrf::CsrfMultipart;
use crate::dashboard::{area_view, incidence, AreaPage};
use crate::error::{ApiError, Error};
use crate::household::{criteria, failure_reason};
use crate::import::{self, import_job};
use crate::registry;
use crate::search::{self, SearchQuery};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fupin_domain::figures::{village_exit_ready, Region};
use fupin_domain::household::Entry;
use fupin_domain::{Criterion, Fen, Verdict};
use fupin_store::{HouseholdRow, JobId, RegisterVersion, Scope, Search, Summary};
use serde::Deserialize;
use serde_json::{json, Map, Value};

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

pub fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/v1/session", post(login))
        .route("/v1/logout", post(logout))
        .route("/v1/me", get(me))
        .route("/v1/summary", get(summary))
        .route("/v1/townships", get(townships))
        .route("/v1/townships/{township}", get(township))
        .route("/v1/townships/{township}/villages", get(villages))
        .route("/v1/townships/{township}/villages/{village}", get(village))
        .route(
            "/v1/townships/{township}/villages/{village}/households",
            get(households),
        )
        .route("/v1/households/{household_no}", get(household))
        .route("/v1/search", get(search_api))
        .route("/v1/problems", get(problems))
        .route("/v1/versions", get(versions))
        .route(
            "/v1/imports",
            post(import_api).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/jobs/{id}/problems.csv", get(job_problems))
        .route("/v1/audit", get(audit))
        .route("/v1/users", get(users))
}

// ---------------------------------------------------------------------------------------
// JSON shapes.

fn money(f: Option<Fen>) -> Value {
    f.map_or(Value::Null, |f| json!(f.plain()))
}

pub fn summary_json(s: &Summary, region: Region) -> Value {
    let t = &s.tally;
    let (now, after) = incidence(s);
    let mut verdicts = Map::new();
    for v in Verdict::ALL {
        verdicts.insert(v.word().into(), t.verdict_count(v).into());
    }
    let mut failed = Map::new();
    for c in Criterion::ALL {
        failed.insert(c.code().into(), t.criterion_count(c).into());
    }
    let exit_ready = match (&s.village, after) {
        (Some(_), Some(_)) => Some(village_exit_ready(
            after,
            region.threshold_bp(),
            &s.conditions,
        )),
        (None, Some(a)) => Some(a.below_bp(region.threshold_bp())),
        _ => None,
    };
    let mut o = json!({
        "township": s.township,
        "village": s.village,
        "households": t.households,
        "members": t.members,
        "poor_now": t.poor_now,
        "remaining": t.remaining,
        "exited_members": t.exited_members,
        "wrong_exit_members": t.wrong_exit_members,
        "population": s.population,
        "verdicts": verdicts,
        "failed": failed,
        "incidence_now_percent": now.map(fupin_domain::figures::Rate::percent),
        "incidence_after_percent": after.map(fupin_domain::figures::Rate::percent),
        "threshold_percent": fupin_domain::figures::Rate { num: region.threshold_bp(), den: 10_000 }.percent(),
        "exit_ready": exit_ready,
        "internal_wrong_exit_rate_percent": t.wrong_exit_rate().map(fupin_domain::figures::Rate::percent),
    });
    if s.village.is_some() {
        o["poor_village"] = json!(s.poor_village);
        o["conditions"] = json!(s.conditions);
        o["collective_income"] = money(s.collective_income);
    }
    o
}

pub fn household_row_json(h: &HouseholdRow) -> Value {
    json!({
        "household_no": h.household_no,
        "township": h.township,
        "village": h.village,
        "members": h.members,
        "status": h.status.map(fupin_domain::values::PovertyStatus::label),
        "verdict": h.verdict.word(),
        "verdict_label": h.verdict.chinese(),
        "per_capita_income": money(h.per_capita),
        "failed": h.failed.iter().map(Criterion::code).collect::<Vec<_>>(),
    })
}

pub fn version_json(v: &RegisterVersion) -> Value {
    json!({
        "id": v.id,
        "current": v.current,
        "imported_at": v.imported_at,
        "imported_by": v.imported_by_name,
        "file_name": v.file_name,
        "sha256": v.sha256,
        "format": v.format,
        "with_villages_file": v.with_villages_file,
        "year": v.year,
        "line": { "year": v.line.year, "place": v.line.place, "amount": v.line.amount.plain(), "source": v.line.source, "verified": v.line.verified },
        "rows": v.rows,
        "households": v.households,
        "members": v.members,
        "villages": v.villages,
        "errors": v.errors,
        "warnings": v.warnings,
    })
}

fn scope_json(s: &Scope) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

fn entry<T: Copy>(e: Entry<T>, f: impl Fn(T) -> Value) -> Value {
    match e {
        Entry::Value(v) => f(v),
        Entry::Empty => Value::Null,
        Entry::Invalid => json!("invalid"),
    }
}

// ---------------------------------------------------------------------------------------
// Handlers.

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

/// POST /api/v1/session — log in with JSON; the session cookie is set, and the CSRF
/// token for later POSTs is returned.
async fn login(State(state): State<AppState>, Json(body): Json<LoginBody>) -> ApiResult {
    match auth::attempt_login(&state, &body.username, &body.password).await? {
        Err(refusal) => Ok((
            refusal.status(),
            Json(json!({ "error": "login_refused", "message": refusal.message() })),
        )
            .into_response()),
        Ok((user, session)) => {
            let mut r = Json(json!({
                "username": user.username,
                "role": user.role.word(),
                "csrf_token": session.csrf_token,
                "expires_at": session.expires_at,
            }))
            .into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                auth::session_cookie(
                    &state,
                    &session.token,
                    state.config.session_ttl.num_seconds(),
                ),
            );
            Ok(r)
        }
    }
}

/// POST /api/v1/logout
async fn logout(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
) -> ApiResult {
    v.check_csrf_header(&headers)?;
    state.store.accounts().delete_session(&v.token).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, auth::session_cookie(&state, "", 0));
    Ok(r)
}

async fn me(ApiUser(v): ApiUser) -> ApiResult {
    let u = v.user();
    let (township, village, unit) = u.role.names();
    ok(json!({
        "username": u.username,
        "role": u.role.word(),
        "role_label": u.role.chinese(),
        "township": township,
        "village": village,
        "unit": unit,
        "scope": scope_json(&v.scope),
        "read_only": u.role.read_only(),
        "csrf_token": v.session.csrf_token,
    }))
}

/// GET /api/v1/summary?after=key&limit=n — the figures of the user's whole area and one
/// page of the areas one level down (`children`, 50 by default; `next` is the `after`
/// of the following page, or null), as on the dashboard.
async fn summary(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<AreaPage>,
) -> ApiResult {
    let region = state.config.region;
    let area = area_view(&state.store, &v.scope, &q).await?;
    let version = state.store.register().current_version().await?;
    ok(json!({
        "scope": scope_json(&v.scope),
        "version": version.as_ref().map(version_json),
        "area": area.as_ref().map(|a| summary_json(&a.summary, region)),
        "children": area.as_ref().map(|a| a.children.iter().map(|s| summary_json(s, region)).collect::<Vec<_>>()).unwrap_or_default(),
        "next": area.as_ref().and_then(|a| a.next),
    }))
}

/// GET /api/v1/townships?after=key&limit=n — the townships in scope, in register order,
/// by key: `{items, next}`, `next` the `after` of the following page (null at the end).
async fn townships(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<AreaPage>,
) -> ApiResult {
    let region = state.config.region;
    let page = state
        .store
        .register()
        .townships_page(&v.scope, q.after()?, q.limit())
        .await?;
    ok(json!({
        "items": page.items.iter().map(|s| summary_json(s, region)).collect::<Vec<_>>(),
        "next": page.next,
    }))
}

async fn township(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(name): Path<String>,
) -> ApiResult {
    let s = registry::township(&state.store, &v.scope, &name).await?;
    ok(summary_json(&s, state.config.region))
}

async fn villages(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(name): Path<String>,
) -> ApiResult {
    let region = state.config.region;
    // The township's villages are its page's: not for a reader who may not see the
    // township itself (village staff), as on the page.
    registry::township(&state.store, &v.scope, &name).await?;
    let list = state.store.register().villages(&v.scope, &name).await?;
    if list.is_empty() {
        return Err(Error::NotFound.into());
    }
    ok(json!(list
        .iter()
        .map(|s| summary_json(s, region))
        .collect::<Vec<_>>()))
}

async fn village(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path((t, name)): Path<(String, String)>,
) -> ApiResult {
    let s = registry::village(&state.store, &v.scope, &t, &name).await?;
    ok(summary_json(&s, state.config.region))
}

#[derive(Deserialize)]
struct PageQuery {
    after: Option<String>,
    limit: Option<u32>,
}

/// GET …/households?after=户编号&limit=n — a village's households by key.
async fn households(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path((t, name)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    registry::village(&state.store, &v.scope, &t, &name).await?;
    let page = state
        .store
        .register()
        .households(
            &v.scope,
            &t,
            &name,
            q.after.as_deref().filter(|a| !a.is_empty()),
            q.limit.unwrap_or(registry::PAGE),
        )
        .await?;
    ok(json!({
        "items": page.items.iter().map(household_row_json).collect::<Vec<_>>(),
        "next": page.next,
    }))
}

/// GET /api/v1/households/{no} — as the household page shows it.
async fn household(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(no): Path<String>,
) -> ApiResult {
    let d = state
        .store
        .register()
        .household(&v.scope, &no)
        .await?
        .ok_or(Error::NotFound)?;
    let line = d
        .history
        .iter()
        .find(|h| h.version == d.version)
        .map(|h| h.line);
    let gaps = state
        .store
        .work()
        .household_gaps(&crate::tasks::item_scope(&v), &no)
        .await?;
    let vals = &d.values;
    let m = |e: Entry<Fen>| entry(e, |f| json!(f.plain()));
    let b = |e: Entry<bool>| entry(e, |x| json!(x));
    ok(json!({
        "version": d.version,
        "household": household_row_json(&d.row),
        "first_line": d.first_line,
        "line": money(line),
        "values": {
            "status": entry(vals.status, |s| json!(s.label())),
            "household_type": entry(vals.household_type, |s| json!(s.label())),
            "main_cause": entry(vals.main_cause, |s| json!(s.label())),
            "wage_income": m(vals.wage_income),
            "operating_income": m(vals.operating_income),
            "operating_expense": m(vals.operating_expense),
            "property_income": m(vals.property_income),
            "transfer_income": m(vals.transfer_income),
            "per_capita_declared": m(vals.per_capita_declared),
            "food_secure": b(vals.food_secure),
            "clothing_secure": b(vals.clothing_secure),
            "housing_grade": entry(vals.housing_grade, |s| json!(s.label())),
            "renovation": entry(vals.renovation, |s| json!(s.label())),
            "relocation": entry(vals.relocation, |s| json!(s.label())),
            "safe_water": b(vals.safe_water),
        },
        "members": d.members.iter().map(|sm| {
            let x = &sm.member;
            json!({
                "line": x.line,
                "name": sm.name,
                "id_number": x.id.map(|i| i.to_string()),
                "birth": x.birth,
                "is_head": x.is_head,
                "sex": x.sex.map(fupin_domain::values::Sex::label),
                "schooling": x.schooling.map(fupin_domain::values::Schooling::label),
                "health": x.health.map(fupin_domain::values::Health::label),
                "labor": x.labor.map(fupin_domain::values::Labor::label),
                "medical_insurance": x.medical_insurance,
                "active_military": x.active_military,
            })
        }).collect::<Vec<_>>(),
        "assessment": {
            "verdict": d.assessment.verdict.word(),
            "verdict_label": d.assessment.verdict.chinese(),
            "per_capita_income": money(d.assessment.per_capita),
            "failed": d.assessment.failed.iter().map(Criterion::code).collect::<Vec<_>>(),
            "explanation": d.assessment.explanation,
            "criteria": criteria(&d, line).iter().map(|c| json!({
                "code": c.code,
                "name": c.name,
                "passed": c.passed,
                "detail": c.detail,
            })).collect::<Vec<_>>(),
        },
        "failure_reasons": Criterion::ALL.iter().filter_map(|c| failure_reason(&d.assessment.explanation, *c).map(|r| (c.code().to_string(), json!(r)))).collect::<Map<String, Value>>(),
        "problems": d.problems.iter().map(|p| json!({
            "line": p.line, "column": p.column, "code": p.code.as_str(), "value": p.value, "message": p.message,
        })).collect::<Vec<_>>(),
        // The household's gaps and their work items, in the reader's scope for items.
        "gaps": gaps.iter().map(|(g, i)| {
            let mut o = crate::work_api::gap_json(g);
            o["item"] = i.as_ref().map_or(Value::Null, crate::work_api::item_json);
            o
        }).collect::<Vec<_>>(),
        "history": d.history.iter().map(|h| json!({
            "version": h.version,
            "imported_at": h.imported_at,
            "file_name": h.file_name,
            "year": h.year,
            "line": h.line.plain(),
            "township": h.township,
            "village": h.village,
            "status": h.status.map(fupin_domain::values::PovertyStatus::label),
            "verdict": h.verdict.word(),
            "per_capita_income": money(h.per_capita),
            "failed": h.failed.iter().map(Criterion::code).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
}

/// GET /api/v1/search?q=…&after_text=…&after_line=…&limit=n
async fn search_api(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<SearchQuery>,
) -> ApiResult {
    let Some(s) = Search::parse(&q.q) else {
        return Err(Error::BadRequest("请输入姓名、证件号码或户编号".into()).into());
    };
    let page = state
        .store
        .register()
        .search(
            &v.scope,
            &s,
            q.after().as_ref(),
            q.limit.unwrap_or(search::PAGE),
        )
        .await?;
    ok(json!({
        "kind": match s { Search::HouseholdNo(_) => "household_no", Search::IdNumber(_) => "id_number", Search::Name(_) => "name" },
        "kind_label": search::kind(&s),
        "items": page.items.iter().map(|h| json!({
            "household": household_row_json(&h.household),
            "member": h.member.as_ref().map(|m| json!({ "line": m.line, "name": m.name, "id_number": m.id_number })),
        })).collect::<Vec<_>>(),
        "next": page.next.map(|k| json!({ "after_text": k.text, "after_line": k.line })),
    }))
}

#[derive(Deserialize)]
struct SeqQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

/// GET /api/v1/problems?after=seq&limit=n
async fn problems(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<SeqQuery>,
) -> ApiResult {
    let page = state
        .store
        .register()
        .problems(&v.scope, q.after, q.limit.unwrap_or(crate::problems::PAGE))
        .await?;
    ok(json!({
        "items": page.items.iter().map(|p| json!({
            "seq": p.seq, "line": p.line, "column": p.column, "code": p.code.as_str(),
            "is_error": p.code.is_error(), "value": p.value, "message": p.message,
            "household_no": p.household_no,
        })).collect::<Vec<_>>(),
        "next": page.next,
    }))
}

async fn versions(State(state): State<AppState>, ApiUser(_): ApiUser) -> ApiResult {
    let list = state.store.register().versions().await?;
    ok(json!(list.iter().map(version_json).collect::<Vec<_>>()))
}

/// POST /api/v1/imports — multipart (members, villages, year, line); 202 with the job.
async fn import_api(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    headers: HeaderMap,
    form: Multipart,
) -> ApiResult {
    // Checked before the body is read, so a refused request stores nothing.
    v.require_admin()?;
    let form = CsrfMultipart::by_header(&v, &headers, form)?;
    let id = import::start_upload(&state, &v, form).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "job": id, "url": format!("/api/v1/jobs/{id}") })),
    )
        .into_response())
}

/// GET /api/v1/jobs/{id}
async fn job(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(id): Path<JobId>,
) -> ApiResult {
    let j = import_job(&state, &v, id).await?;
    ok(json!({
        "id": j.id,
        "kind": j.kind,
        "state": j.state,
        "created_at": j.created_at,
        "finished_at": j.finished_at,
        "error": j.error,
        "stage": j.payload["stage"],
        "progress": import::job_percent(&state, &j),
        "file_name": j.payload["file_name"],
        "result": import::api_result(j.id, &j.payload["result"]),
    }))
}

/// GET /api/v1/jobs/{id}/problems.csv — every problem of a refused import.
async fn job_problems(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Path(id): Path<JobId>,
) -> ApiResult {
    Ok(import::problems_file(&state, &v, id).await?)
}

#[derive(Deserialize)]
struct BeforeQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

async fn audit(
    State(state): State<AppState>,
    ApiUser(v): ApiUser,
    Query(q): Query<BeforeQuery>,
) -> ApiResult {
    v.require_admin()?;
    let page = state
        .store
        .audit_log()
        .audit_entries(q.before, q.limit.unwrap_or(crate::admin::PAGE))
        .await?;
    ok(json!({ "items": page.items, "next": page.next }))
}

async fn users(State(state): State<AppState>, ApiUser(v): ApiUser) -> ApiResult {
    v.require_admin()?;
    let list = state.store.accounts().users().await?;
    ok(json!(list
        .iter()
        .map(|u| {
            let (t, vi, unit) = u.role.names();
            json!({ "id": u.id, "username": u.username, "role": u.role.word(), "township": t, "village": vi, "unit": unit, "created_at": u.created_at })
        })
        .collect::<Vec<_>>()))
}

/// The OpenAPI 3 document, written by hand.
const OPENAPI: &str = include_str!("../static/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
