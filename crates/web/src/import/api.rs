//! The import's JSON: versions, an upload, its job and the job's problems.

use crate::api::{ok, version_json, ApiResult};
use crate::auth::ApiUser;
use crate::csrf::CsrfMultipart;
use crate::import::{self, import_job};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use fupin_store::JobId;
use serde_json::json;

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

pub fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/v1/versions", get(versions))
        .route(
            "/v1/imports",
            post(import_api).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/jobs/{id}/problems.csv", get(job_problems))
}
