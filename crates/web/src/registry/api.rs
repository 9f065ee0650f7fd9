//! The register's JSON: the summary, the drill-down, households, search and problems.

use crate::api::{
    entry, household_row_json, money, ok, scope_json, summary_json, version_json, ApiResult,
};
use crate::auth::ApiUser;
use crate::error::Error;
use crate::registry::areas;
use crate::registry::dashboard::{area_view, AreaPage};
use crate::registry::household::{criteria, failure_reason};
use crate::registry::search::{self, SearchQuery};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use fupin_domain::household::Entry;
use fupin_domain::{Criterion, Fen};
use fupin_store::Search;
use serde::Deserialize;
use serde_json::{json, Map, Value};

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
    let s = areas::township(&state.store, &v.scope, &name).await?;
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
    areas::township(&state.store, &v.scope, &name).await?;
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
    let s = areas::village(&state.store, &v.scope, &t, &name).await?;
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
    areas::village(&state.store, &v.scope, &t, &name).await?;
    let page = state
        .store
        .register()
        .households(
            &v.scope,
            &t,
            &name,
            q.after.as_deref().filter(|a| !a.is_empty()),
            q.limit.unwrap_or(areas::PAGE),
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
    let line = d.line();
    let gaps = state
        .store
        .work()
        .household_gaps(&v.item_scope(), &no)
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
            let mut o = crate::tasks::api::gap_json(g);
            o["item"] = i.as_ref().map_or(Value::Null, crate::tasks::api::item_json);
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
        .problems(
            &v.scope,
            q.after,
            q.limit.unwrap_or(crate::registry::problems::PAGE),
        )
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

pub fn routes() -> Router<AppState> {
    Router::new()
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
}
