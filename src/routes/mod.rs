//! The protocol faces. Each module reads one API surface's requests into domain types, asks the
//! validator or the Instagram client, and writes that surface's answer. Shared here: reading a
//! bounded body, checking its media type, and the service API key.

pub mod exchange;
pub mod health;
pub mod introspect;
// Login flow (issue 7): authorize, callback, refresh, demo.
pub mod oauth_flow;
pub mod parse_hooks;
pub mod validate;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::startup::AppState;

/// Reads the whole body (chunked or not), refusing it past `limit` bytes without buffering more.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(512).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::InvalidRequest("The request body could not be read.".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The body encodings our routes accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
}

/// The media type of the body, or 415 when it is not one of `accepted`.
/// A missing Content-Type is read as JSON, which is what JSON callers mean by it.
pub fn body_kind(req: &HttpRequest, accepted: &[BodyKind]) -> Result<BodyKind, ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let kind = match mime.as_deref() {
        None | Some("") => Some(BodyKind::Json),
        Some("application/json") => Some(BodyKind::Json),
        Some(m) if m.starts_with("application/") && m.ends_with("+json") => Some(BodyKind::Json),
        Some("application/x-www-form-urlencoded") => Some(BodyKind::Form),
        _ => None,
    };
    match kind {
        Some(kind) if accepted.contains(&kind) => Ok(kind),
        _ => Err(ApiError::UnsupportedMediaType(match accepted {
            [BodyKind::Json] => "application/json",
            [BodyKind::Form] => "application/x-www-form-urlencoded",
            _ => "application/json or application/x-www-form-urlencoded",
        })),
    }
}

/// Constant-time equality for keys; lengths may leak, contents do not.
pub fn keys_match(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

/// Proof that the caller sent the service API key (or that none is configured).
/// Extracting it is the check: a handler that takes `ServiceCaller` cannot forget it.
pub struct ServiceCaller;

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
