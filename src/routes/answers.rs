//! Answer shapes that more than one face writes: a verdict as `/v1/validate` and the Parse
//! validate webhook say it, and an exchange as `/v1/exchange` and the Parse exchange webhook say
//! it (authData ready for `Parse.User.logInWith("instagram", authData)`).

use serde::Serialize;

use crate::clock::unix_ms;
use crate::domain::{iso8601, Handoff, Verdict};
use crate::exchange::Exchanged;
use crate::sessions::SignedIn;

#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum ValidateAnswer<'a> {
    Valid {
        valid: bool,
        id: &'a str,
        /// The professional-account id, when Instagram gave one.
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<&'a str>,
    },
    Invalid {
        valid: bool,
        reason: &'static str,
        message: &'static str,
    },
}

impl<'a> ValidateAnswer<'a> {
    pub(crate) fn from_verdict(verdict: &'a Verdict) -> ValidateAnswer<'a> {
        match verdict {
            Verdict::Valid(owner) => ValidateAnswer::Valid {
                valid: true,
                id: owner.id(),
                user_id: owner.user_id(),
                username: owner.username(),
            },
            Verdict::Rejected(reason) => ValidateAnswer::Invalid {
                valid: false,
                reason: reason.code(),
                message: reason.message(),
            },
        }
    }
}

#[derive(Serialize)]
pub(crate) struct ExchangeAnswer<'a> {
    access_token: &'a str,
    user_id: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    permissions: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    #[serde(rename = "authData")]
    auth_data: AuthDataOut<'a>,
    /// With `IGAUTH_PARSE__SESSIONS`: `sessionToken`, `objectId`, `isNew`.
    #[serde(flatten)]
    session: Option<SessionOut<'a>>,
}

#[derive(Serialize)]
struct AuthDataOut<'a> {
    instagram: InstagramAuthData<'a>,
}

/// `authData.instagram`. Parse stores it as sent, so `user_id` (the professional-account id,
/// when `/me` gave one) is kept beside `id`; igauth's checks refuse a `user_id` that is not
/// `/me`'s, and Meta's compliance callbacks match on `id` alone.
#[derive(Serialize)]
pub(crate) struct InstagramAuthData<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    access_token: &'a str,
    /// When a long-lived token expires (ISO 8601): stored with the user, it tells the app when
    /// to refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_date: Option<String>,
}

/// ISO 8601 of `secs` from now.
fn expiry(secs: Option<u64>) -> Option<String> {
    secs.map(|s| iso8601(unix_ms().saturating_add(s.saturating_mul(1000))))
}

/// `/v1/token`'s answer: what the login's callback used to put in the URL, and the session.
#[derive(Serialize)]
pub(crate) struct TokenAnswer<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    #[serde(rename = "authData")]
    auth_data: AuthDataOut<'a>,
    #[serde(flatten)]
    session: Option<SessionOut<'a>>,
}

impl<'a> TokenAnswer<'a> {
    pub(crate) fn new(handoff: &'a Handoff, session: Option<&'a SignedIn>) -> TokenAnswer<'a> {
        let (id, user_id) = (handoff.owner.id(), handoff.owner.user_id());
        let access_token = handoff.access_token.expose();
        TokenAnswer {
            id,
            user_id,
            username: handoff.owner.username(),
            access_token,
            expires_in: handoff.expires_in,
            auth_data: AuthDataOut {
                instagram: InstagramAuthData {
                    id,
                    user_id,
                    access_token,
                    expiration_date: expiry(handoff.expires_in),
                },
            },
            session: session.map(SessionOut::from),
        }
    }
}

impl<'a> ExchangeAnswer<'a> {
    pub(crate) fn new(
        exchanged: &'a Exchanged,
        session: Option<&'a SignedIn>,
    ) -> ExchangeAnswer<'a> {
        let access_token = exchanged.access_token.expose();
        let id = exchanged.owner.id();
        ExchangeAnswer {
            access_token,
            user_id: &exchanged.user_id,
            id,
            username: exchanged.owner.username(),
            permissions: &exchanged.permissions,
            expires_in: exchanged.expires_in,
            auth_data: AuthDataOut {
                instagram: InstagramAuthData {
                    id,
                    user_id: exchanged.owner.user_id(),
                    access_token,
                    expiration_date: expiry(exchanged.expires_in),
                },
            },
            session: session.map(SessionOut::from),
        }
    }
}

/// The session fields of an answer, for `become(sessionToken)`.
#[derive(Serialize)]
pub(crate) struct SessionOut<'a> {
    #[serde(rename = "sessionToken")]
    session_token: &'a str,
    #[serde(rename = "objectId")]
    object_id: &'a str,
    #[serde(rename = "isNew")]
    is_new: bool,
}

impl<'a> From<&'a SignedIn> for SessionOut<'a> {
    fn from(signed_in: &'a SignedIn) -> Self {
        SessionOut {
            session_token: &signed_in.session_token,
            object_id: &signed_in.object_id,
            is_new: signed_in.is_new,
        }
    }
}
