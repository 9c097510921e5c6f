//! `POST /v1/meta/deauthorize`: Meta's "Deauthorize callback URL". A verified request runs
//! `IGAUTH_PARSE__ON_DEAUTHORIZE` on the matched users and answers 200; a forged or malformed
//! one is 400 and changes nothing; Parse trouble is 502, so Meta retries.

use actix_web::HttpResponse;
use serde_json::json;

use super::super::extract::{Deauthorize, Enabled, Form};
use super::SignedRequestField;
use crate::error::ApiError;
use crate::state::Worker;

pub(crate) async fn deauthorize(
    worker: Worker,
    _: Enabled<Deauthorize>,
    Form(SignedRequestField(raw)): Form<SignedRequestField>,
) -> Result<HttpResponse, ApiError> {
    let done = worker.deauthorize(&raw).await?;
    Ok(HttpResponse::Ok().json(json!({ "users": done.users })))
}
