//! Operational routes: liveness, readiness, the API description and metrics.

use actix_web::{web, HttpResponse};

use crate::state::AppState;

/// The process is alive and serving.
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Configuration is loaded and checked (the app cannot start otherwise), so we can take traffic.
pub(crate) async fn readyz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
}

pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(include_str!("../../openapi.yaml"))
}

pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.render_metrics())
}
