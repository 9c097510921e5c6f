//! Answer shapes that more than one face writes: a verdict as `/v1/validate` and the Parse
//! validate webhook say it, and an exchange as `/v1/exchange` and the Parse exchange webhook say
//! it (authData ready for `Parse.User.logInWith("instagram", authData)`).

use serde::Serialize;

use crate::domain::Verdict;
use crate::exchange::Exchanged;

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
}

impl<'a> ExchangeAnswer<'a> {
    pub(crate) fn new(exchanged: &'a Exchanged) -> ExchangeAnswer<'a> {
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
                },
            },
        }
    }
}
