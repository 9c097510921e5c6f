//! `POST /v1/refresh` `{"access_token": LONG_LIVED}`: a fresh long-lived token (60 more days).
//! Public like the exchange (apps call it), so rate limited per client IP.

use actix_web::HttpResponse;
use serde::Serialize;

use super::body::{Fields, FromFields};
use super::extract::JsonOrForm;
use super::guards::WithinRateLimit;
use crate::domain::AccessToken;
use crate::error::ApiError;
use crate::state::Worker;

/// The long-lived token to refresh.
pub(crate) struct RefreshRequest(AccessToken);

impl FromFields for RefreshRequest {
    const NEEDS: &'static str = "an access_token";

    fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        let raw = fields
            .string("access_token")?
            .ok_or_else(|| ApiError::InvalidRequest("access_token is required".into()))?;
        AccessToken::parse(raw.trim())
            .map(RefreshRequest)
            .map_err(|e| ApiError::InvalidRequest(format!("access_token {e}")))
    }
}

#[derive(Serialize)]
struct RefreshAnswer<'a> {
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    token_type: &'static str,
}

pub(crate) async fn refresh(
    _: WithinRateLimit,
    worker: Worker,
    JsonOrForm(RefreshRequest(token)): JsonOrForm<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let grant = worker.refresh(&token).await?;
    Ok(HttpResponse::Ok().json(RefreshAnswer {
        access_token: grant.access_token.expose(),
        expires_in: grant.expires_in,
        token_type: "bearer",
    }))
}
