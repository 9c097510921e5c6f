//! `POST /v1/meta/data-deletion`: Meta's "Data deletion request URL". A verified request is
//! recorded and carried out (see [`crate::meta_callbacks`]) and answered with Meta's
//! `{"url": "<status page>", "confirmation_code": "<code>"}`, also when a step failed (the status
//! page says so, and Meta's retry runs it again). A replay gets the same code.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::signed_request;
use crate::error::ApiError;
use crate::meta_callbacks::Callback;
use crate::parse_api::ParseClient;
use crate::state::AppState;

#[derive(Serialize)]
struct DeletionAnswer<'a> {
    url: &'a str,
    confirmation_code: &'a str,
}

pub(crate) async fn data_deletion(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    parse: web::Data<Option<ParseClient>>,
) -> Result<HttpResponse, ApiError> {
    state.meta.ready(Callback::DataDeletion)?;
    let raw = signed_request(&req, payload, &state).await?;
    let (record, url) = state
        .meta
        .data_deletion(parse.as_ref().as_ref(), &raw)
        .await?;
    Ok(HttpResponse::Ok().json(DeletionAnswer {
        url: &url,
        confirmation_code: &record.confirmation_code,
    }))
}
