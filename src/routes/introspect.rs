//! `POST /v1/introspect`: RFC 7662 token introspection, so Parse Server's built-in OAuth2 adapter
//! uses igauth with no custom code (`oauth2: true`, `useridField: "sub"`).
//!
//! Parse compares `sub` with `authData.id` itself. A token Instagram refuses is
//! `{"active": false}`; upstream trouble is a 5xx, which Parse reports as "introspection request
//! failed" instead of "invalid token": it fails closed and says why.

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::body::UNDECODABLE_FORM;
use super::extract::{Form, FromForm};
use super::guards::ServiceCaller;
use crate::domain::{AccessToken, Lookup};
use crate::error::ApiError;
use crate::state::Worker;

#[derive(Deserialize)]
struct IntrospectForm {
    token: Option<String>,
    // `token_type_hint` is allowed by RFC 7662 and ignored: there is one kind of token here.
}

#[derive(Serialize)]
#[serde(untagged)]
enum Introspection<'a> {
    Active {
        active: bool,
        sub: &'a str,
        /// The professional-account id, when Instagram gave one (`sub` stays `/me`'s `id`).
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<&'a str>,
        token_type: &'static str,
    },
    Inactive {
        active: bool,
    },
}

const INACTIVE: Introspection<'static> = Introspection::Inactive { active: false };

/// What is asked about: a token, or something that cannot be one (simply not an active token;
/// Instagram need not be asked).
pub(crate) enum Asked {
    Token(AccessToken),
    NotAToken,
}

impl FromForm for Asked {
    fn from_form(body: &[u8]) -> Result<Self, ApiError> {
        let form: IntrospectForm = serde_urlencoded::from_bytes(body)
            .map_err(|_| ApiError::InvalidRequest(UNDECODABLE_FORM.into()))?;
        let raw = form
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::InvalidRequest("token is required".into()))?;
        Ok(AccessToken::parse(&raw).map_or(Asked::NotAToken, Asked::Token))
    }
}

pub(crate) async fn introspect(
    _caller: ServiceCaller,
    worker: Worker,
    Form(asked): Form<Asked>,
) -> Result<HttpResponse, ApiError> {
    let Asked::Token(token) = asked else {
        return Ok(HttpResponse::Ok().json(INACTIVE));
    };
    let lookup = worker.lookup(&token).await?;
    Ok(match &lookup {
        Lookup::Owner(owner) => HttpResponse::Ok().json(Introspection::Active {
            active: true,
            sub: owner.id(),
            user_id: owner.user_id(),
            username: owner.username(),
            // An RFC 6749 token type, as RFC 7662 asks: what the token is used as.
            token_type: "bearer",
        }),
        Lookup::Rejected(_) => HttpResponse::Ok().json(INACTIVE),
    })
}
