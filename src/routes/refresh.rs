//! `POST /v1/refresh` `{"access_token": LONG_LIVED}`: a fresh long-lived token (60 more days).
//! Public like the exchange (apps call it), so rate limited per client IP.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::body::{body_kind, read_body, BodyKind, Fields};
use super::guards::WithinRateLimit;
use crate::domain::AccessToken;
use crate::error::ApiError;
use crate::instagram::InstagramClient;
use crate::state::AppState;

#[derive(Serialize)]
struct RefreshAnswer<'a> {
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    token_type: &'static str,
}

pub(crate) async fn refresh(
    _: WithinRateLimit,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
) -> Result<HttpResponse, ApiError> {
    let kind = body_kind(&req, &[BodyKind::Json, BodyKind::Form])?;
    let body = read_body(&req, payload, &state.settings.limits).await?;
    let raw = Fields::decode(kind, &body, "an access_token")?
        .string("access_token")?
        .ok_or_else(|| ApiError::InvalidRequest("access_token is required".into()))?;
    let token = AccessToken::parse(raw.trim())
        .map_err(|e| ApiError::InvalidRequest(format!("access_token {e}")))?;
    let grant = client
        .refresh(&token)
        .await
        .map_err(|e| ApiError::from_grant(e, ApiError::InvalidToken))?;
    Ok(HttpResponse::Ok().json(RefreshAnswer {
        access_token: grant.access_token.expose(),
        expires_in: grant.expires_in,
        token_type: "bearer",
    }))
}
