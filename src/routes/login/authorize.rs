//! `GET /v1/authorize?return_to=URL&code_challenge=..&code_challenge_method=S256`: to
//! Instagram's consent window with a signed state (carrying the app's PKCE challenge), and a
//! cookie that binds that state to this browser.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::{cookie, first, query_pairs};
use crate::domain::login_state::STATE_TTL;
use crate::domain::pkce::CodeChallenge;
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
    // PKCE first: without it no login may start, whatever else the request says.
    let challenge = CodeChallenge::parse(
        first(&pairs, "code_challenge"),
        first(&pairs, "code_challenge_method"),
    )
    .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let return_to = ReturnTo::parse(
        first(&pairs, "return_to").unwrap_or(""),
        &settings.instagram.return_urls,
    )
    .map_err(|e| match e {
        ReturnToError::NotAllowed => ApiError::ReturnToNotAllowed,
        e => ApiError::InvalidRequest(e.to_string()),
    })?;
    let (issued, consent_url) = worker
        .start_login(&return_to, &challenge)
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
