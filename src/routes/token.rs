//! `POST /v1/token`: the end of a login. The app trades the one-time code the callback put in
//! its URL (`#code=...`) and the PKCE `code_verifier` it kept for the login's result: authData
//! for `Parse.User.logInWith("instagram", ...)`, and with `IGAUTH_PARSE__SESSIONS` a Parse
//! session for `become`. JSON or a form. Public like `/v1/exchange` (it shares that per-client
//! limit), never cached.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use super::answers::TokenAnswer;
use super::body::{body_kind, read_body, BodyKind, Fields};
use super::guards::WithinRateLimit;
use super::parse_session::{sign_in, SessionRequest};
use crate::error::ApiError;
use crate::parse_api::ParseClient;
use crate::state::AppState;

pub(crate) async fn token(
    limit: Result<WithinRateLimit, ApiError>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    parse: web::Data<Option<ParseClient>>,
) -> HttpResponse {
    let outcome = match limit {
        Ok(_) => answer(&req, payload, &state, &parse).await,
        Err(e) => Err(e),
    };
    let mut response = outcome.unwrap_or_else(|e| e.error_response());
    // Tokens and sessions: no cache, shared or private, may keep this.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn answer(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    parse: &web::Data<Option<ParseClient>>,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.features.login_flow {
        return Err(ApiError::LoginFlowNotConfigured);
    }
    let kind = body_kind(req, &[BodyKind::Json, BodyKind::Form])?;
    let body = read_body(req, payload, &state.settings.limits).await?;
    let fields = Fields::decode(kind, &body, "a code and a code_verifier")?;
    let required = |name: &str| {
        fields.string(name)?.ok_or_else(|| {
            ApiError::InvalidRequest(format!(
                "{name} is required: send the code from the login's redirect and the \
                 code_verifier the login was started with"
            ))
        })
    };
    let (code, verifier) = (required("code")?, required("code_verifier")?);
    let session = SessionRequest::read(req, &fields)?;
    let handoff = state
        .handoffs
        .redeem(&code, &verifier)
        .await
        .map_err(|_| ApiError::InvalidGrant)?;
    let signed_in = sign_in(state, parse, &handoff.owner, &session).await?;
    Ok(HttpResponse::Ok().json(TokenAnswer::new(&handoff, signed_in)))
}
