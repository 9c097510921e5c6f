//! `/__admin`: switch `/me`'s fault mode, read the call counters, reset; and the 404.

use std::sync::atomic::Ordering::Relaxed;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::answers::{bad_request, json};
use crate::graph::param;
use crate::state::{Mode, Shared};

pub(crate) async fn set_mode(req: HttpRequest, state: Shared) -> HttpResponse {
    let wanted = param(req.query_string(), "me").unwrap_or_default();
    match Mode::parse(&wanted) {
        Some(mode) => {
            state.mode.store(mode as u8, Relaxed);
            json(StatusCode::OK, format!(r#"{{"me":"{wanted}"}}"#))
        }
        None => bad_request(
            r#"{"error":"unknown mode; one of ok, 500, html, truncated, slow, hang, ratelimit, down"}"#,
        ),
    }
}

pub(crate) async fn stats(state: Shared) -> HttpResponse {
    json(
        StatusCode::OK,
        format!(
            r#"{{"me_calls":{},"exchange_calls":{},"long_lived_calls":{},"refresh_calls":{}}}"#,
            state.me_calls.load(Relaxed),
            state.exchange_calls.load(Relaxed),
            state.long_lived_calls.load(Relaxed),
            state.refresh_calls.load(Relaxed),
        ),
    )
}

pub(crate) async fn reset(state: Shared) -> HttpResponse {
    state.mode.store(Mode::Ok as u8, Relaxed);
    for counter in [
        &state.me_calls,
        &state.exchange_calls,
        &state.long_lived_calls,
        &state.refresh_calls,
    ] {
        counter.store(0, Relaxed);
    }
    state
        .used_codes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    json(StatusCode::OK, r#"{"reset":true}"#)
}

pub(crate) async fn not_found() -> HttpResponse {
    json(
        StatusCode::NOT_FOUND,
        r#"{"error":{"message":"Unknown path components","type":"OAuthException","code":2500,"fbtrace_id":"AbC"}}"#,
    )
}
