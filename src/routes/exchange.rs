//! `POST /v1/exchange`: trades a one-time OAuth code for a token on the server, so the app
//! secret never ships inside an app, and answers with authData ready for
//! `Parse.User.logInWith("instagram", authData)`. Public (apps call it), so rate limited per
//! client IP. The work is the exchange use case's (`src/exchange.rs`).

use actix_web::HttpResponse;

use super::answers::ExchangeAnswer;
use super::extract::{CodeExchange, Enabled, JsonOrForm};
use super::guards::WithinRateLimit;
use crate::error::ApiError;
use crate::exchange::ExchangeRequest;
use crate::state::Worker;

pub(crate) async fn exchange(
    _: WithinRateLimit,
    worker: Worker,
    _: Enabled<CodeExchange>,
    JsonOrForm(request): JsonOrForm<ExchangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let exchanged = worker.exchange(request).await?;
    Ok(HttpResponse::Ok().json(ExchangeAnswer::new(&exchanged)))
}
