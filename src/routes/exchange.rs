//! `POST /v1/exchange`: trades a one-time OAuth code for a token on the server, so the app
//! secret never ships inside an app, and answers with authData ready for
//! `Parse.User.logInWith("instagram", authData)`; with `IGAUTH_PARSE__SESSIONS`, a Parse session
//! too, as `/v1/token`'s answer does. Public (apps call it), so rate limited per client IP. The
//! work is the exchange use case's (`src/exchange.rs`) and the sessions' (`src/sessions/`).

use actix_web::HttpResponse;

use super::answers::ExchangeAnswer;
use super::extract::{CodeExchange, Enabled, JsonOrForm};
use super::guards::WithinRateLimit;
use super::parse_session::{LinkTo, SignIn};
use crate::error::ApiError;
use crate::exchange::ExchangeRequest;
use crate::state::Worker;

pub(crate) async fn exchange(
    _: WithinRateLimit,
    worker: Worker,
    _: Enabled<CodeExchange>,
    link_to: LinkTo,
    JsonOrForm(mut body): JsonOrForm<SignIn<ExchangeRequest>>,
) -> Result<HttpResponse, ApiError> {
    let session = body.session(link_to);
    let (exchanged, signed_in) = worker.exchange_and_sign_in(body.request, &session).await?;
    Ok(HttpResponse::Ok().json(ExchangeAnswer::new(&exchanged, signed_in.as_ref())))
}
