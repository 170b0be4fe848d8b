//! Health, readiness and metrics for operators.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::Hub;

/// 200 while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200)))]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// 200 when the database answers (and, with `--redis`, Redis does and the subscriber
/// listens), 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "service", responses((status = 200), (status = 503)))]
pub async fn readyz(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    if let Err(err) = hub.store.ping().await {
        tracing::warn!(error = %err, "not ready: database does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "database unavailable"})));
    }
    if let Some(cluster) = &hub.cluster {
        if let Err(err) = cluster.ready().await {
            tracing::warn!(error = %err, "not ready: Redis does not answer");
            return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "redis unavailable"})));
        }
    }
    (StatusCode::OK, Json(json!({"status": "ready"})))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        hub.metrics.render(),
    )
}
