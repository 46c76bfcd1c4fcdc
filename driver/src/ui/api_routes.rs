//! The routes of the JSON API (`/api/v1/…`): each looks the application up
//! by id, reads its state once, and answers JSON or a 404 that says what was
//! not found. What each answer holds is in [`super::api`].

use super::api;
use super::server::{AppCatalog, json_or_404};
use super::state::AppStore;
use super::task_list::{TaskQuery, select};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ember_rdd::ids::{JobId, RddId, StageId};
use serde::Deserialize;
use std::sync::Arc;

type Catalog = Arc<dyn AppCatalog>;

pub fn routes() -> Router<Catalog> {
    let app = "/api/v1/applications/{app_id}";
    Router::new()
        .route("/api/v1/version", get(version))
        .route("/api/v1/applications", get(applications))
        .route(app, get(application))
        .route(&format!("{app}/jobs"), get(jobs))
        .route(&format!("{app}/jobs/{{job}}"), get(job))
        .route(&format!("{app}/stages"), get(stages))
        .route(&format!("{app}/stages/{{stage}}"), get(stage))
        .route(&format!("{app}/stages/{{stage}}/{{attempt}}"), get(stage_attempt))
        .route(&format!("{app}/stages/{{stage}}/{{attempt}}/taskSummary"), get(task_summary))
        .route(&format!("{app}/stages/{{stage}}/{{attempt}}/taskList"), get(task_list))
        .route(&format!("{app}/executors"), get(executors))
        .route(&format!("{app}/allexecutors"), get(all_executors))
        .route(&format!("{app}/storage"), get(storage))
        .route(&format!("{app}/storage/rdd"), get(storage))
        .route(&format!("{app}/storage/rdd/{{rdd}}"), get(rdd))
        .route(&format!("{app}/environment"), get(environment))
}

fn unknown_app(id: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("unknown app: {id}")).into_response()
}

/// Runs `f` on the state of application `id`, or answers 404.
fn with_app(catalog: &Catalog, id: &str, f: impl FnOnce(&AppStore) -> Response) -> Response {
    match catalog.find(id) {
        Some(store) => f(&store),
        None => unknown_app(id),
    }
}

#[derive(Deserialize)]
struct StatusQuery {
    status: Option<String>,
}

#[derive(Deserialize)]
struct QuantilesQuery {
    /// Comma-separated quantiles in [0, 1].
    quantiles: Option<String>,
}

async fn version() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "emberVersion": env!("CARGO_PKG_VERSION") }))
}

async fn applications(State(catalog): State<Catalog>) -> Json<Vec<api::ApplicationInfo>> {
    Json(catalog.apps().iter().rev().map(|a| api::application(a)).collect())
}

async fn application(State(catalog): State<Catalog>, Path(app_id): Path<String>) -> Response {
    with_app(&catalog, &app_id, |a| Json(api::application(a)).into_response())
}

async fn jobs(State(c): State<Catalog>, Path(app_id): Path<String>, Query(q): Query<StatusQuery>) -> Response {
    with_app(&c, &app_id, |a| Json(a.read(|s| api::jobs(s, q.status.as_deref()))).into_response())
}

async fn job(State(c): State<Catalog>, Path((app_id, job)): Path<(String, u64)>) -> Response {
    with_app(&c, &app_id, |a| json_or_404(a.read(|s| api::job_data(s, JobId(job))), || format!("unknown job: {job}")))
}

async fn stages(State(c): State<Catalog>, Path(app_id): Path<String>, Query(q): Query<StatusQuery>) -> Response {
    with_app(&c, &app_id, |a| Json(a.read(|s| api::stages(s, q.status.as_deref()))).into_response())
}

async fn stage(State(c): State<Catalog>, Path((app_id, stage)): Path<(String, u64)>) -> Response {
    with_app(&c, &app_id, |a| {
        let attempts = a.read(|s| api::stage_attempts(s, StageId(stage)));
        json_or_404((!attempts.is_empty()).then_some(attempts), || format!("unknown stage: {stage}"))
    })
}

async fn stage_attempt(State(c): State<Catalog>, Path((app_id, stage, attempt)): Path<(String, u64, u32)>) -> Response {
    with_app(&c, &app_id, |a| {
        let data = a.read(|s| s.attempts.get(&(StageId(stage), attempt)).map(|at| api::stage_data(s, at, true)));
        json_or_404(data, || format!("unknown attempt {attempt} of stage {stage}"))
    })
}

async fn task_summary(
    State(c): State<Catalog>,
    Path((app_id, stage, attempt)): Path<(String, u64, u32)>,
    Query(q): Query<QuantilesQuery>,
) -> Response {
    let quantiles: Result<Vec<f64>, _> = match q.quantiles.as_deref() {
        None => Ok(vec![0.05, 0.25, 0.5, 0.75, 0.95]),
        Some(list) => list.split(',').map(|x| x.trim().parse::<f64>()).collect(),
    };
    let quantiles = match quantiles {
        Ok(qs) if qs.iter().all(|q| (0.0..=1.0).contains(q)) => qs,
        _ => return (StatusCode::BAD_REQUEST, "quantiles must be numbers in [0, 1], comma-separated").into_response(),
    };
    with_app(&c, &app_id, |a| {
        let data = a.read(|s| s.attempts.get(&(StageId(stage), attempt)).map(|at| api::task_summary(at, &quantiles)));
        json_or_404(data, || format!("unknown attempt {attempt} of stage {stage}"))
    })
}

/// Spark's `taskList` parameters.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskListQuery {
    offset: Option<usize>,
    length: Option<usize>,
    /// `ID`, `runtime`, `-runtime`, or a column key, `-` first for descending.
    sort_by: Option<String>,
}

async fn task_list(
    State(c): State<Catalog>,
    Path((app_id, stage, attempt)): Path<(String, u64, u32)>,
    Query(q): Query<TaskListQuery>,
) -> Response {
    let query = match TaskQuery::from_api(q.offset, q.length, q.sort_by.as_deref()) {
        Ok(query) => query,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    with_app(&c, &app_id, |a| {
        let data = a.read(|s| {
            s.attempts
                .get(&(StageId(stage), attempt))
                .map(|at| select(at, &query).0.into_iter().map(api::task_data).collect::<Vec<_>>())
        });
        json_or_404(data, || format!("unknown attempt {attempt} of stage {stage}"))
    })
}

async fn executors(State(c): State<Catalog>, Path(app_id): Path<String>) -> Response {
    with_app(&c, &app_id, |a| Json(a.read(|s| api::executors(s, false))).into_response())
}

async fn all_executors(State(c): State<Catalog>, Path(app_id): Path<String>) -> Response {
    with_app(&c, &app_id, |a| Json(a.read(|s| api::executors(s, true))).into_response())
}

async fn storage(State(c): State<Catalog>, Path(app_id): Path<String>) -> Response {
    with_app(&c, &app_id, |a| Json(a.read(api::storage)).into_response())
}

async fn rdd(State(c): State<Catalog>, Path((app_id, rdd)): Path<(String, u64)>) -> Response {
    with_app(&c, &app_id, |a| json_or_404(a.read(|s| api::rdd_detail(s, RddId(rdd))), || format!("unknown rdd: {rdd}")))
}

async fn environment(State(c): State<Catalog>, Path(app_id): Path<String>) -> Response {
    with_app(&c, &app_id, |a| Json(a.read(api::environment)).into_response())
}
