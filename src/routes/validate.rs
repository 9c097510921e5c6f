//! `POST /v1/validate`: does this Instagram token belong to this id? Plain JSON, for Cloud Code,
//! webhooks and backends. Only a 200 with `valid: true` means yes; upstream trouble is a 5xx.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::{body_kind, read_body, BodyKind, ServiceCaller};
use crate::domain::{AuthData, Verdict};
use crate::error::ApiError;
use crate::instagram::InstagramClient;
use crate::startup::AppState;

#[derive(Serialize)]
#[serde(untagged)]
pub enum ValidateAnswer<'a> {
    Valid {
        valid: bool,
        id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<&'a str>,
    },
    Invalid {
        valid: bool,
        reason: &'static str,
        message: &'static str,
    },
}

impl<'a> ValidateAnswer<'a> {
    pub fn from_verdict(verdict: &'a Verdict) -> ValidateAnswer<'a> {
        match verdict {
            Verdict::Valid(owner) => ValidateAnswer::Valid {
                valid: true,
                id: owner.id(),
                username: owner.username(),
            },
            Verdict::Rejected(reason) => ValidateAnswer::Invalid {
                valid: false,
                reason: reason.code(),
                message: reason.message(),
            },
        }
    }
}

pub async fn validate(
    _caller: ServiceCaller,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
) -> Result<HttpResponse, ApiError> {
    body_kind(&req, &[BodyKind::Json])?;
    let body = read_body(&req, payload, state.settings.limits.max_body_bytes).await?;
    let auth = AuthData::from_json(&body).map_err(|e| ApiError::InvalidRequest(e.0))?;
    let verdict = state.validator.validate(&client, &auth).await?;
    Ok(HttpResponse::Ok().json(ValidateAnswer::from_verdict(&verdict)))
}
