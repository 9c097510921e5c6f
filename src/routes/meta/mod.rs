//! Meta's compliance callbacks, as Meta's App Dashboard names them:
//!
//! - `POST /v1/meta/deauthorize` ([`deauthorize`]): a person removed the app; 200 once done.
//! - `POST /v1/meta/data-deletion` ([`data_deletion`]): a person asked for their data to be
//!   deleted; answers Meta's `{"url", "confirmation_code"}`.
//! - `GET /v1/meta/data-deletion/{code}` ([`status`]): the page (or JSON) that URL shows.
//!
//! They are public: Meta's signature over the request is the authentication, so there is no API
//! key and no protected mode here. What they share (reading `signed_request`) lives in this file.

pub(crate) mod data_deletion;
pub(crate) mod deauthorize;
pub(crate) mod status;

use super::body::UNDECODABLE_FORM;
use super::extract::FromForm;
use crate::error::ApiError;

/// The `signed_request` field of Meta's form body (bounded by the body limit here, and by the
/// parser).
pub(crate) struct SignedRequestField(String);

impl FromForm for SignedRequestField {
    fn from_form(body: &[u8]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| ApiError::InvalidRequest(UNDECODABLE_FORM.into()))?;
        pairs
            .into_iter()
            .find(|(key, _)| key == "signed_request")
            .map(|(_, value)| value)
            .filter(|value| !value.is_empty())
            .map(SignedRequestField)
            .ok_or_else(|| ApiError::InvalidRequest("signed_request is required".into()))
    }
}
