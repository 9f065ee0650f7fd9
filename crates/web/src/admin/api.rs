//! The admin JSON: the audit log and the accounts (headquarters).

use crate::api::{ok, ApiResult};
use crate::auth::ApiUser;
use crate::AppState;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;

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

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/audit", get(audit))
        .route("/v1/users", get(users))
}
