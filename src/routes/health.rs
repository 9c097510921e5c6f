//! Operational routes: liveness, readiness, the API description and metrics.

use actix_web::{web, HttpResponse};

use crate::instagram::BreakerState;
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
    let m = &state.metrics;
    m.breaker_state.set(match state.upstream.breaker.state() {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
    });
    m.cache_entries.set(state.validator.cached_entries() as i64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(m.render())
}
