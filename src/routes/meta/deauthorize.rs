//! `POST /v1/meta/deauthorize`: Meta's "Deauthorize callback URL". A verified request runs
//! `IGAUTH_PARSE__ON_DEAUTHORIZE` on the matched users and answers 200; a forged or malformed
//! one is 400 and changes nothing; Parse trouble is 502, so Meta retries.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::signed_request;
use crate::error::ApiError;
use crate::parse_api::ParseClient;
use crate::state::AppState;

pub(crate) async fn deauthorize(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    parse: web::Data<Option<ParseClient>>,
) -> Result<HttpResponse, ApiError> {
    state
        .meta
        .ready(crate::meta_callbacks::Callback::Deauthorize)?;
    let raw = signed_request(&req, payload, &state).await?;
    let done = state
        .meta
        .deauthorize(parse.as_ref().as_ref(), &raw)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "users": done.users })))
}
