//! Meta's compliance callbacks, as Meta's App Dashboard names them:
//!
//! - `POST /v1/meta/deauthorize` ([`deauthorize`]): a person removed the app; 200 once done.
//! - `POST /v1/meta/data-deletion` ([`data_deletion`]): a person asked for their data to be
//!   deleted; answers Meta's `{"url", "confirmation_code"}`.
//! - `GET /v1/meta/data-deletion/{code}` ([`status`]): the page (or JSON) that URL shows.
//!
//! They are public: Meta's signature over the request is the authentication, so there is no API
//! key and no protected mode here. What they share (reading `signed_request`, mapping the use
//! case's refusals to our envelope) lives in this file.

pub(crate) mod data_deletion;
pub(crate) mod deauthorize;
pub(crate) mod status;

use actix_web::{web, HttpRequest};

use super::body::{body_kind, read_body, BodyKind};
use crate::error::ApiError;
use crate::meta_callbacks::MetaError;
use crate::state::AppState;

/// The `signed_request` field of Meta's form body (bounded, form only).
async fn signed_request(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<String, ApiError> {
    body_kind(req, &[BodyKind::Form])?;
    let body = read_body(req, payload, &state.settings.limits).await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| ApiError::InvalidRequest("The form body could not be decoded.".into()))?;
    let raw = pairs
        .into_iter()
        .find(|(key, _)| key == "signed_request")
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| ApiError::InvalidRequest("signed_request is required".into()))?;
    // Its length is bounded by the body limit here and by the parser.
    Ok(raw)
}

impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> ApiError {
        match e {
            MetaError::NotConfigured(setting) => ApiError::MetaCallbacksNotConfigured(setting),
            MetaError::Invalid(e) => ApiError::InvalidSignedRequest(e),
            MetaError::Parse(_) => ApiError::ParseUnavailable,
        }
    }
}
