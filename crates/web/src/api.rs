//! The JSON API under `/api/v1/`: everything a page shows, with the same sessions (the
//! `fupin_session` cookie) and the same access rules — the user's scope goes to every
//! store read, what lies outside it is 404. POSTs carry the session's CSRF token in the
//! `X-CSRF-Token` header. The OpenAPI 3 document is at `/api/openapi.json`.

use crate::auth::{self, ApiUser};
use crate::error::ApiError;
use crate::registry::dashboard::incidence;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fupin_domain::figures::{village_exit_ready, Region};
use fupin_domain::household::Entry;
use fupin_domain::{Criterion, Fen, Verdict};
use fupin_store::{HouseholdRow, RegisterVersion, Scope, Summary};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/v1/session", post(login))
        .route("/v1/logout", post(logout))
        .route("/v1/me", get(me))
}

pub(crate) fn money(f: Option<Fen>) -> Value {
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

pub(crate) fn scope_json(s: &Scope) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

pub(crate) fn entry<T: Copy>(e: Entry<T>, f: impl Fn(T) -> Value) -> Value {
    match e {
        Entry::Value(v) => f(v),
        Entry::Empty => Value::Null,
        Entry::Invalid => json!("invalid"),
    }
}

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

/// The OpenAPI 3 document, written by hand.
const OPENAPI: &str = include_str!("../static/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
