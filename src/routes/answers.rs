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
    #[serde(flatten)]
    handover: Handover<'a>,
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

/// How every answer that hands a token over ends: the token's lifetime, the authData for
/// Parse, and, with `IGAUTH_PARSE__SESSIONS`, the session (`sessionToken`, `objectId`, `isNew`).
#[derive(Serialize)]
struct Handover<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    #[serde(rename = "authData")]
    auth_data: AuthDataOut<'a>,
    #[serde(flatten)]
    session: Option<SessionOut<'a>>,
}

impl<'a> Handover<'a> {
    fn new(
        (id, user_id): (&'a str, Option<&'a str>),
        access_token: &'a str,
        expires_in: Option<u64>,
        session: Option<&'a SignedIn>,
    ) -> Handover<'a> {
        // ISO 8601, so the app can store it with the user and knows when to refresh.
        let expiration_date =
            expires_in.map(|s| iso8601(unix_ms().saturating_add(s.saturating_mul(1000))));
        Handover {
            expires_in,
            auth_data: AuthDataOut {
                instagram: InstagramAuthData {
                    id,
                    user_id,
                    access_token,
                    expiration_date,
                },
            },
            session: session.map(SessionOut::from),
        }
    }
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
    #[serde(flatten)]
    handover: Handover<'a>,
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
            handover: Handover::new((id, user_id), access_token, handoff.expires_in, session),
        }
    }
}

impl<'a> ExchangeAnswer<'a> {
    pub(crate) fn new(
        exchanged: &'a Exchanged,
        session: Option<&'a SignedIn>,
    ) -> ExchangeAnswer<'a> {
        let access_token = exchanged.access_token.expose();
        let (id, user_id) = (exchanged.owner.id(), exchanged.owner.user_id());
        ExchangeAnswer {
            access_token,
            user_id: &exchanged.user_id,
            id,
            username: exchanged.owner.username(),
            permissions: &exchanged.permissions,
            handover: Handover::new((id, user_id), access_token, exchanged.expires_in, session),
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
