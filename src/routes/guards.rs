//! Who may call, as extractors: a handler that takes [`ServiceCaller`] cannot forget the API key,
//! and one that takes [`WithinRateLimit`] cannot forget the per-client limit. Extractors run in
//! the order of the handler's arguments, before the body is read.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Constant-time equality for keys; lengths may leak, contents do not.
pub(crate) fn keys_match(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

/// Proof that the caller sent the service API key (or that none is configured).
pub(crate) struct ServiceCaller;

impl FromRequest for ServiceCaller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<ServiceCaller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(check_api_key(req))
    }
}

fn check_api_key(req: &HttpRequest) -> Result<ServiceCaller, ApiError> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::Unauthorized);
    };
    let expected = &state.settings.server.api_key;
    if !expected.is_set() {
        return Ok(ServiceCaller);
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or("");
    if keys_match(given.as_bytes(), expected.expose().as_bytes()) {
        Ok(ServiceCaller)
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Proof that this client is within the per-client rate limit of the public routes (those apps
/// and browsers call, where codes could be guessed at). Refusals are counted per route, labelled
/// with the route's last path segment (`exchange`, `authorize`, ...).
pub(crate) struct WithinRateLimit;

impl FromRequest for WithinRateLimit {
    type Error = ApiError;
    type Future = std::future::Ready<Result<WithinRateLimit, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(check_rate(req))
    }
}

fn check_rate(req: &HttpRequest) -> Result<WithinRateLimit, ApiError> {
    // Only our own app builds these routes, always with the state; without it, refuse.
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::TooManyRequests(1));
    };
    state.limiter.check(req).map_err(|secs| {
        let pattern = req.match_pattern();
        let route = pattern
            .as_deref()
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or("unmatched");
        state.metrics.rate_limited.with_label_values(&[route]).inc();
        ApiError::TooManyRequests(secs)
    })?;
    Ok(WithinRateLimit)
}
