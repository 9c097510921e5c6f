//! `GET /v1/authorize?return_to=URL`: to Instagram's consent window with a signed state, and a
//! cookie that binds that state to this browser.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::{cookie, first, query_pairs};
use crate::domain::login_state::STATE_TTL;
use crate::domain::{ReturnTo, ReturnToError};
use crate::error::ApiError;
use crate::routes::extract::{Enabled, LoginFlow};
use crate::routes::guards::WithinRateLimit;
use crate::state::Worker;

pub(crate) async fn authorize(
    _: WithinRateLimit,
    worker: Worker,
    _: Enabled<LoginFlow>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let settings = worker.settings();
    let pairs = query_pairs(&req)?;
    let return_to = ReturnTo::parse(
        first(&pairs, "return_to").unwrap_or(""),
        &settings.instagram.return_urls,
    )
    .map_err(|e| match e {
        ReturnToError::NotAllowed => ApiError::ReturnToNotAllowed,
        e => ApiError::InvalidRequest(e.to_string()),
    })?;
    let (issued, consent_url) = worker
        .start_login(&return_to)
        .map_err(|_| ApiError::LoginFlowNotConfigured)?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, consent_url))
        .cookie(cookie::binding(
            settings,
            &issued.nonce,
            STATE_TTL.as_secs(),
        ))
        .finish())
}
