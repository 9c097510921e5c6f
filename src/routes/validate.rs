//! `POST /v1/validate`: does this Instagram token belong to this id? Plain JSON, for Cloud Code,
//! webhooks and backends. Only a 200 with `valid: true` means yes; upstream trouble is a 5xx.

use actix_web::{web, HttpRequest, HttpResponse};

use super::answers::ValidateAnswer;
use super::body::{body_kind, read_body, BodyKind};
use super::guards::ServiceCaller;
use crate::domain::AuthData;
use crate::error::ApiError;
use crate::instagram::InstagramClient;
use crate::state::AppState;

pub(crate) async fn validate(
    _caller: ServiceCaller,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
) -> Result<HttpResponse, ApiError> {
    body_kind(&req, &[BodyKind::Json])?;
    let body = read_body(&req, payload, &state.settings.limits).await?;
    let auth = AuthData::from_json(&body).map_err(|e| ApiError::InvalidRequest(e.0))?;
    let verdict = state.validator.validate(&client, &auth).await?;
    Ok(HttpResponse::Ok().json(ValidateAnswer::from_verdict(&verdict)))
}
