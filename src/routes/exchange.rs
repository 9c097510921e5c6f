//! `POST /v1/exchange`: trades a one-time OAuth code for a token on the server, so the app
//! secret never ships inside an app, and answers with authData ready for
//! `Parse.User.logInWith("instagram", authData)`. Public (apps call it), so rate limited per
//! client IP. The work is [`crate::exchange::perform`]'s. With `IGAUTH_PARSE__SESSIONS` the
//! answer carries a Parse session too, as `/v1/token`'s does.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::answers::ExchangeAnswer;
use super::body::{body_kind, exchange_request, read_body, BodyKind, Fields};
use super::guards::WithinRateLimit;
use super::parse_session::{sign_in, SessionRequest};
use crate::error::ApiError;
use crate::exchange::{self, RedirectUri};
use crate::instagram::InstagramClient;
use crate::parse_api::ParseClient;
use crate::state::AppState;

pub(crate) async fn exchange(
    _: WithinRateLimit,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
    parse: web::Data<Option<ParseClient>>,
) -> Result<HttpResponse, ApiError> {
    // Say so before judging the body: no body can make an unconfigured exchange work.
    if !state.settings.features.exchange {
        return Err(ApiError::ExchangeNotConfigured);
    }
    let kind = body_kind(&req, &[BodyKind::Json, BodyKind::Form])?;
    let body = read_body(&req, payload, &state.settings.limits).await?;
    let fields = Fields::decode(kind, &body, "a code")?;
    let request = exchange_request(&fields)?;
    let session = SessionRequest::read(&req, &fields)?;
    let exchanged = exchange::perform(
        &state.settings,
        &state.validator,
        &client,
        request,
        RedirectUri::Requested,
    )
    .await?;
    let signed_in = sign_in(&state, &parse, &exchanged.owner, &session).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ExchangeAnswer::new(&exchanged, signed_in)))
}
