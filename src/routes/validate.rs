//! `POST /v1/validate`: does this Instagram token belong to this id? Plain JSON, for Cloud Code,
//! webhooks and backends. Only a 200 with `valid: true` means yes; upstream trouble is a 5xx.

use actix_web::HttpResponse;

use super::answers::ValidateAnswer;
use super::extract::{FromJson, Json};
use super::guards::ServiceCaller;
use crate::domain::AuthData;
use crate::error::ApiError;
use crate::state::Worker;

impl FromJson for AuthData {
    fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        AuthData::from_json(body).map_err(|e| ApiError::InvalidRequest(e.0))
    }
}

pub(crate) async fn validate(
    _caller: ServiceCaller,
    worker: Worker,
    Json(auth): Json<AuthData>,
) -> Result<HttpResponse, ApiError> {
    let verdict = worker.validate(&auth).await?;
    Ok(HttpResponse::Ok().json(ValidateAnswer::from_verdict(&verdict)))
}
