//! `POST /v1/token`: the end of a login. The app trades the one-time code the callback put in
//! its URL (`#code=...`) and the PKCE `code_verifier` it kept for the login's result: authData
//! for `Parse.User.logInWith("instagram", ...)`, and with `IGAUTH_PARSE__SESSIONS` a Parse
//! session for `become`. JSON or a form. Public like `/v1/exchange` (it shares that per-client
//! limit); like every answer, never cached.

use actix_web::HttpResponse;

use super::answers::TokenAnswer;
use super::body::{Fields, FromFields};
use super::extract::{Enabled, JsonOrForm, LoginFlow};
use super::guards::WithinRateLimit;
use super::parse_session::{LinkTo, SignIn};
use crate::error::ApiError;
use crate::state::Worker;

/// The handoff code and the verifier of the challenge the login was started with.
pub(crate) struct TokenRequest {
    code: String,
    verifier: String,
}

impl FromFields for TokenRequest {
    const NEEDS: &'static str = "a code and a code_verifier";

    fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        let required = |name: &str| {
            fields.string(name)?.ok_or_else(|| {
                ApiError::InvalidRequest(format!(
                    "{name} is required: send the code from the login's redirect and the \
                     code_verifier the login was started with"
                ))
            })
        };
        Ok(TokenRequest {
            code: required("code")?,
            verifier: required("code_verifier")?,
        })
    }
}

pub(crate) async fn token(
    _: WithinRateLimit,
    worker: Worker,
    _: Enabled<LoginFlow>,
    link_to: LinkTo,
    JsonOrForm(mut body): JsonOrForm<SignIn<TokenRequest>>,
) -> Result<HttpResponse, ApiError> {
    let session = body.session(link_to);
    let TokenRequest { code, verifier } = &body.request;
    let (handoff, signed_in) = worker.redeem(code, verifier, &session).await?;
    Ok(HttpResponse::Ok().json(TokenAnswer::new(&handoff, signed_in.as_ref())))
}
