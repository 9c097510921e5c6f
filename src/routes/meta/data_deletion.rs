//! `POST /v1/meta/data-deletion`: Meta's "Data deletion request URL". A verified request is
//! recorded and carried out (see [`crate::meta_callbacks`]) and answered with Meta's
//! `{"url": "<status page>", "confirmation_code": "<code>"}`, also when a step failed (the status
//! page says so, and Meta's retry runs it again). A replay gets the same code.

use actix_web::HttpResponse;
use serde::Serialize;

use super::super::extract::{DataDeletion, Enabled, Form};
use super::SignedRequestField;
use crate::error::ApiError;
use crate::state::Worker;

#[derive(Serialize)]
struct DeletionAnswer<'a> {
    url: &'a str,
    confirmation_code: &'a str,
}

pub(crate) async fn data_deletion(
    worker: Worker,
    _: Enabled<DataDeletion>,
    Form(SignedRequestField(raw)): Form<SignedRequestField>,
) -> Result<HttpResponse, ApiError> {
    let (record, url) = worker.data_deletion(&raw).await?;
    Ok(HttpResponse::Ok().json(DeletionAnswer {
        url: &url,
        confirmation_code: &record.confirmation_code,
    }))
}
