//! What the app may send for the Parse session that `/v1/token` and `/v1/exchange` add to their
//! answer when igauth signs people into Parse (`IGAUTH_PARSE__SESSIONS`): the session token of
//! a logged-in user to link to (`X-Parse-Session-Token`), and its installation id (a body field
//! beside the code).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use super::body::{Fields, FromFields};
use crate::error::ApiError;
use crate::sessions::SessionRequest;

/// Parse's installation ids are UUIDs; this bounds what is passed on.
const MAX_INSTALLATION_ID: usize = 64;

/// `X-Parse-Session-Token`, when sent: link the Instagram account to that user.
pub(crate) struct LinkTo(Option<String>);

impl FromRequest for LinkTo {
    type Error = ApiError;
    type Future = Ready<Result<LinkTo, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get("x-parse-session-token") else {
            return ready(Ok(LinkTo(None)));
        };
        ready(
            value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.len() <= 256)
                .map(|t| LinkTo(Some(t.to_string())))
                .ok_or_else(|| {
                    ApiError::InvalidRequest(
                        "X-Parse-Session-Token must be a Parse session token".into(),
                    )
                }),
        )
    }
}

/// A body that ends a login (`T`: the code, or the code and its verifier), with the app's
/// optional `installation_id` beside it.
pub(crate) struct SignIn<T> {
    pub(crate) request: T,
    installation_id: Option<String>,
}

impl<T> SignIn<T> {
    /// What the session needs, with the link target from the header.
    pub(crate) fn session(&mut self, LinkTo(link_to): LinkTo) -> SessionRequest {
        SessionRequest {
            link_to,
            installation_id: self.installation_id.take(),
        }
    }
}

impl<T: FromFields> FromFields for SignIn<T> {
    const NEEDS: &'static str = T::NEEDS;

    fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        let request = T::from_fields(fields)?;
        let installation_id = fields.string("installation_id")?;
        if let Some(id) = &installation_id {
            if id.is_empty()
                || id.len() > MAX_INSTALLATION_ID
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(ApiError::InvalidRequest(
                    "installation_id must be the app's Parse installation id (letters, digits \
                     and -, at most 64)"
                        .into(),
                ));
            }
        }
        Ok(SignIn {
            request,
            installation_id,
        })
    }
}
