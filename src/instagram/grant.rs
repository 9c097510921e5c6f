//! What Instagram's token endpoints answer: a code exchange, a long-lived or refreshed token, or
//! a refusal, classified in igauth's own terms ([`Refusal`]). Instagram's own words never leave
//! this file except in the operator's log.

use serde::Deserialize;

use super::wire::{graph_error, is_throttled, EXPIRED_SUBCODE, INVALID_TOKEN};
use super::UpstreamError;
use crate::domain::{AccessToken, IgId};
use crate::transport::operator_text;

/// A successful code exchange.
#[derive(Debug)]
pub(crate) struct CodeGrant {
    pub(crate) access_token: AccessToken,
    /// The user id as the exchange reported it (kept exact; `/me` stays the authority).
    pub(crate) user_id: IgId,
    pub(crate) permissions: Vec<String>,
}

/// A long-lived or refreshed token.
#[derive(Debug)]
pub(crate) struct TokenGrant {
    pub(crate) access_token: AccessToken,
    pub(crate) expires_in: Option<u64>,
}

/// Why Instagram refused to hand out a token.
#[derive(Debug)]
pub(crate) enum GrantError {
    /// The code (or token) is bad, expired or already used; which, in igauth's own terms.
    Refused(Refusal),
    Upstream(UpstreamError),
}

/// What a refusal from Instagram's token endpoints means. Callers are told this in igauth's own
/// words; Instagram's text goes to the log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The code was exchanged once already.
    CodeUsed,
    /// The code is unknown to Instagram (mistyped, for another app, or expired).
    CodeInvalid,
    /// The redirect_uri sent differs from the one the login was started with.
    RedirectMismatch,
    /// Instagram does not accept the token (Graph error 190).
    TokenInvalid,
    /// The token is past its lifetime (190 with subcode 463).
    TokenExpired,
    /// Instagram refused in terms igauth does not recognise; logged for the operator.
    Unrecognised,
}

impl From<UpstreamError> for GrantError {
    fn from(e: UpstreamError) -> Self {
        GrantError::Upstream(e)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Permissions {
    List(Vec<String>),
    Comma(String),
}

impl Permissions {
    fn into_vec(self) -> Vec<String> {
        match self {
            Permissions::List(list) => list,
            Permissions::Comma(s) => s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct RawGrant {
    access_token: String,
    user_id: IgId,
    permissions: Option<Permissions>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum GrantShape {
    Wrapped { data: Vec<RawGrant> },
    Flat(RawGrant),
}

/// The OAuth host's error shape: `{"error_type":"OAuthException","code":400,"error_message":...}`.
#[derive(Deserialize)]
struct OAuthError {
    code: Option<i64>,
    error_type: Option<String>,
    error_message: Option<String>,
}

/// Graph error for a wrong app id or secret ("Error validating client secret").
const INVALID_CLIENT: i64 = 101;

/// How Instagram's OAuth host words what its one error code (400) does not say, lower-cased.
/// It gives no finer code, so the wording is all there is; anything else is `Unrecognised`.
const OAUTH_WORDINGS: [(&str, OAuthMeaning); 7] = [
    ("invalid platform app", OAuthMeaning::Misconfigured),
    ("client secret", OAuthMeaning::Misconfigured),
    ("invalid client", OAuthMeaning::Misconfigured),
    (
        "redirect_uri",
        OAuthMeaning::Refused(Refusal::RedirectMismatch),
    ),
    ("has been used", OAuthMeaning::Refused(Refusal::CodeUsed)),
    ("already used", OAuthMeaning::Refused(Refusal::CodeUsed)),
    ("code", OAuthMeaning::Refused(Refusal::CodeInvalid)),
];

#[derive(Clone, Copy)]
enum OAuthMeaning {
    Misconfigured,
    Refused(Refusal),
}

pub(super) fn read_code_grant(status: u16, body: &[u8]) -> Result<CodeGrant, GrantError> {
    if status == 200 {
        let raw = match serde_json::from_slice::<GrantShape>(body) {
            Ok(GrantShape::Flat(g)) => g,
            Ok(GrantShape::Wrapped { data }) => data.into_iter().next().ok_or(
                UpstreamError::Unusable("the code exchange answered an empty data list"),
            )?,
            Err(_) => {
                return Err(UpstreamError::Unusable(
                    "the code exchange answered 200 without a token",
                )
                .into())
            }
        };
        let access_token = AccessToken::parse(&raw.access_token)
            .map_err(|_| UpstreamError::Unusable("the code exchange answered an unusable token"))?;
        return Ok(CodeGrant {
            access_token,
            user_id: raw.user_id,
            permissions: raw
                .permissions
                .map(Permissions::into_vec)
                .unwrap_or_default(),
        });
    }
    Err(read_grant_error(status, body))
}

/// A 4xx/5xx from the token endpoints, classified by error code and status where Instagram
/// gives them (Graph errors), else by the OAuth host's wording.
fn read_grant_error(status: u16, body: &[u8]) -> GrantError {
    if let Some(e) = graph_error(body) {
        if is_throttled(e.code) {
            return UpstreamError::RateLimited.into();
        }
        if status < 500 {
            return match e.code {
                Some(INVALID_TOKEN) if e.error_subcode == Some(EXPIRED_SUBCODE) => {
                    GrantError::Refused(Refusal::TokenExpired)
                }
                Some(INVALID_TOKEN) => GrantError::Refused(Refusal::TokenInvalid),
                Some(INVALID_CLIENT) => UpstreamError::Misconfigured.into(),
                code => {
                    log::warn!(
                        "Instagram refused a token request with Graph error {code:?} (HTTP \
                         {status}), which igauth does not recognise: {}",
                        operator_text(&e.message.unwrap_or_default())
                    );
                    GrantError::Refused(Refusal::Unrecognised)
                }
            };
        }
    }
    if status >= 500 {
        return UpstreamError::ServerError(status).into();
    }
    match serde_json::from_slice::<OAuthError>(body) {
        // Throttling in the OAuth host's flat shape is still not a verdict on the code.
        Ok(OAuthError { code, .. }) if is_throttled(code) => UpstreamError::RateLimited.into(),
        Ok(OAuthError {
            error_type: Some(kind),
            error_message: Some(message),
            code,
        }) => {
            let lower = message.to_lowercase();
            let meaning = OAUTH_WORDINGS
                .iter()
                .find(|(words, _)| lower.contains(words))
                .map(|(_, meaning)| *meaning);
            match meaning {
                Some(OAuthMeaning::Misconfigured) => {
                    log::warn!(
                        "Instagram's token endpoint says: {} (HTTP {status})",
                        operator_text(&message)
                    );
                    UpstreamError::Misconfigured.into()
                }
                Some(OAuthMeaning::Refused(refusal)) => {
                    log::debug!("Instagram refused a code: {}", operator_text(&message));
                    GrantError::Refused(refusal)
                }
                None => {
                    log::warn!(
                        "Instagram refused a code with an error igauth does not recognise \
                         ({kind}, code {code:?}, HTTP {status}): {}",
                        operator_text(&message)
                    );
                    GrantError::Refused(Refusal::Unrecognised)
                }
            }
        }
        _ => UpstreamError::Unexpected("Instagram answered an error it did not explain").into(),
    }
}

#[derive(Deserialize)]
struct RawTokenGrant {
    access_token: String,
    expires_in: Option<u64>,
}

pub(super) fn read_token_grant(status: u16, body: &[u8]) -> Result<TokenGrant, GrantError> {
    if status == 200 {
        let raw: RawTokenGrant = serde_json::from_slice(body)
            .map_err(|_| UpstreamError::Unusable("Instagram answered 200 without a token"))?;
        let access_token = AccessToken::parse(&raw.access_token)
            .map_err(|_| UpstreamError::Unusable("Instagram answered an unusable token"))?;
        return Ok(TokenGrant {
            access_token,
            expires_in: raw.expires_in,
        });
    }
    Err(read_grant_error(status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_grant_both_shapes() {
        let flat = br#"{"access_token":"IGAA1","user_id":27640875392278831,"permissions":["instagram_business_basic"]}"#;
        let wrapped = br#"{"data":[{"access_token":"IGAA1","user_id":"27640875392278831","permissions":"instagram_business_basic,instagram_business_content_publish"}]}"#;
        let g = read_code_grant(200, flat).unwrap();
        assert_eq!(g.user_id.as_str(), "27640875392278831");
        assert_eq!(g.permissions, vec!["instagram_business_basic"]);
        let g = read_code_grant(200, wrapped).unwrap();
        assert_eq!(g.user_id.as_str(), "27640875392278831");
        assert_eq!(g.permissions.len(), 2);
    }

    #[test]
    fn throttling_in_the_flat_oauth_shape_is_not_a_refused_code() {
        let throttled = br#"{"error_type":"OAuthException","code":4,"error_message":"Application request limit reached"}"#;
        assert!(matches!(
            read_code_grant(400, throttled),
            Err(GrantError::Upstream(UpstreamError::RateLimited))
        ));
    }

    fn oauth(message: &str) -> Vec<u8> {
        serde_json::json!({"error_type": "OAuthException", "code": 400, "error_message": message})
            .to_string()
            .into_bytes()
    }

    fn refusal(result: Result<CodeGrant, GrantError>) -> Option<Refusal> {
        match result {
            Err(GrantError::Refused(refusal)) => Some(refusal),
            _ => None,
        }
    }

    #[test]
    fn code_grant_errors() {
        for (message, expected) in [
            ("This authorization code has been used", Refusal::CodeUsed),
            (
                "Matching code was not found or was already used",
                Refusal::CodeUsed,
            ),
            ("Invalid authorization code", Refusal::CodeInvalid),
            (
                "Error validating verification code. Please make sure your redirect_uri is \
                 identical to the one you used in the OAuth dialog request",
                Refusal::RedirectMismatch,
            ),
            ("Invalid grant_type", Refusal::Unrecognised),
            (&"x".repeat(64 * 1024), Refusal::Unrecognised),
        ] {
            assert_eq!(
                refusal(read_code_grant(400, &oauth(message))),
                Some(expected),
                "{}",
                &message[..message.len().min(40)]
            );
        }
        for wrong_app in ["Invalid platform app", "Error validating client secret"] {
            assert!(matches!(
                read_code_grant(400, &oauth(wrong_app)),
                Err(GrantError::Upstream(UpstreamError::Misconfigured))
            ));
        }
        assert!(matches!(
            read_code_grant(502, b"<html>"),
            Err(GrantError::Upstream(UpstreamError::ServerError(502)))
        ));
    }

    #[test]
    fn token_grant_errors_go_by_graph_code() {
        let graph = |code: i64, subcode: Option<i64>| {
            serde_json::json!({"error": {"message": "words", "type": "OAuthException",
                "code": code, "error_subcode": subcode}})
            .to_string()
        };
        let read = |body: String| match read_token_grant(400, body.as_bytes()) {
            Err(GrantError::Refused(refusal)) => Ok(refusal),
            Err(GrantError::Upstream(e)) => Err(e),
            Ok(_) => panic!("not a grant"),
        };
        assert_eq!(read(graph(190, None)), Ok(Refusal::TokenInvalid));
        assert_eq!(read(graph(190, Some(463))), Ok(Refusal::TokenExpired));
        assert_eq!(read(graph(100, None)), Ok(Refusal::Unrecognised));
        assert_eq!(read(graph(101, None)), Err(UpstreamError::Misconfigured));
        assert_eq!(read(graph(17, None)), Err(UpstreamError::RateLimited));
    }
}
