//! The shapes of Instagram's answers, and what each one means for us.
//!
//! Instagram answers the same question in more than one shape (flat or wrapped in `data`, ids as
//! numbers or strings, permissions as an array or a comma string); every reader here accepts all
//! of them. Ids go through [`IgId`], which never rounds through `f64`.

use serde::Deserialize;

use super::UpstreamError;
use crate::domain::{AccessToken, IgId, Lookup, RejectReason, TokenOwner};

/// Graph API error codes that mean "slow down", not "this token is bad".
const THROTTLING_CODES: [i64; 4] = [4, 17, 32, 613];
/// Graph error for an invalid or expired access token.
const INVALID_TOKEN: i64 = 190;
/// Subcode of 190 for a token past its lifetime.
const EXPIRED_SUBCODE: i64 = 463;

#[derive(Deserialize)]
struct Me {
    id: Option<IgId>,
    /// The professional-account id (asked for with `fields=id,user_id,username`); kept so Meta's
    /// callbacks can find the user by it, never used to decide who owns the token.
    user_id: Option<IgId>,
    username: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MeShape {
    Wrapped {
        data: Vec<Me>,
        /// An id beside `data` would be a second answer: seen only to refuse it.
        id: Option<serde::de::IgnoredAny>,
    },
    Flat(Me),
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    code: Option<i64>,
    error_subcode: Option<i64>,
    /// For the operator's log only.
    message: Option<String>,
}

/// The meaning of a Graph API error body, if it has one.
fn graph_error(body: &[u8]) -> Option<GraphError> {
    serde_json::from_slice::<GraphErrorBody>(body)
        .ok()
        .map(|b| b.error)
}

fn is_throttled(code: Option<i64>) -> bool {
    code.is_some_and(|c| THROTTLING_CODES.contains(&c))
}

/// Reads `/me`'s answer. Only a 200 with an id, or error 190, is a verdict; everything else is
/// upstream trouble.
pub(super) fn read_me(status: u16, body: &[u8]) -> Result<Lookup, UpstreamError> {
    if status == 200 {
        let me = match serde_json::from_slice::<MeShape>(body) {
            Ok(MeShape::Flat(me)) => me,
            // Exactly one owner or none at all: a yes must never rest on picking one of several.
            Ok(MeShape::Wrapped { data, id }) => match (<[Me; 1]>::try_from(data), id) {
                (Ok([me]), None) => me,
                _ => {
                    return Err(UpstreamError::Unusable(
                        "/me answered no single owner (empty or several entries)",
                    ))
                }
            },
            Err(_) => {
                return Err(UpstreamError::Unusable(
                    "/me answered 200 without valid JSON",
                ))
            }
        };
        let id = me.id.ok_or(UpstreamError::Unusable(
            "/me answered 200 without a user id",
        ))?;
        return Ok(Lookup::Owner(TokenOwner::new(
            &id,
            me.user_id.as_ref(),
            me.username.as_deref(),
        )));
    }
    match graph_error(body) {
        Some(e) if is_throttled(e.code) => Err(UpstreamError::RateLimited),
        Some(e) if status < 500 && e.code == Some(INVALID_TOKEN) => Ok(Lookup::Rejected(
            if e.error_subcode == Some(EXPIRED_SUBCODE) {
                RejectReason::ExpiredToken
            } else {
                RejectReason::InvalidToken
            },
        )),
        _ if status >= 500 => Err(UpstreamError::ServerError(status)),
        _ => Err(UpstreamError::Unexpected(
            "/me answered an error that is not about the token",
        )),
    }
}

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

/// Instagram's own text, for the operator's log: bounded, on one line. (The logger also
/// scrubs anything that looks like a credential.)
fn for_log(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
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
                        for_log(&e.message.unwrap_or_default())
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
                        for_log(&message)
                    );
                    UpstreamError::Misconfigured.into()
                }
                Some(OAuthMeaning::Refused(refusal)) => {
                    log::debug!("Instagram refused a code: {}", for_log(&message));
                    GrantError::Refused(refusal)
                }
                None => {
                    log::warn!(
                        "Instagram refused a code with an error igauth does not recognise \
                         ({kind}, code {code:?}, HTTP {status}): {}",
                        for_log(&message)
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
    fn me_naming_no_single_owner_is_not_a_verdict() {
        for body in [
            r#"{"data":[]}"#,
            r#"{"data":[{"id":"1"},{"id":"2"}]}"#,
            r#"{"data":[{"id":"1"}],"id":"2"}"#,
            r#"{"id":"2","data":[{"id":"1"}]}"#,
        ] {
            assert!(
                matches!(
                    read_me(200, body.as_bytes()),
                    Err(UpstreamError::Unusable(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn me_flat_and_wrapped_keep_ids_exact() {
        for body in [
            r#"{"id":"17841405793187219","username":"jay"}"#,
            r#"{"data":[{"id":17841405793187219,"username":"jay"}]}"#,
        ] {
            match read_me(200, body.as_bytes()).unwrap() {
                Lookup::Owner(o) => {
                    assert_eq!(o.id(), "17841405793187219");
                    assert_eq!(o.user_id(), None);
                    assert_eq!(o.username(), Some("jay"));
                }
                other => panic!("{other:?}"),
            }
        }
        // Both ids when Instagram gives both; the professional one may be a number above 2^53.
        for body in [
            r#"{"id":"17841405793187219","user_id":27640875392278831,"username":"jay"}"#,
            r#"{"data":[{"id":"17841405793187219","user_id":"27640875392278831"}]}"#,
        ] {
            match read_me(200, body.as_bytes()).unwrap() {
                Lookup::Owner(o) => {
                    assert_eq!(o.id(), "17841405793187219");
                    assert_eq!(o.user_id(), Some("27640875392278831"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn me_errors() {
        let invalid = br#"{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190}}"#;
        let expired = br#"{"error":{"code":190,"error_subcode":463}}"#;
        let throttled = br#"{"error":{"code":613}}"#;
        assert_eq!(
            read_me(400, invalid).unwrap(),
            Lookup::Rejected(RejectReason::InvalidToken)
        );
        assert_eq!(
            read_me(400, expired).unwrap(),
            Lookup::Rejected(RejectReason::ExpiredToken)
        );
        assert!(matches!(
            read_me(400, throttled),
            Err(UpstreamError::RateLimited)
        ));
        assert!(matches!(
            read_me(500, invalid),
            Err(UpstreamError::ServerError(500))
        ));
        assert!(read_me(200, b"<html>").is_err());
        assert!(read_me(200, br#"{"id":"12"#).is_err());
        assert!(read_me(200, br#"{"username":"x"}"#).is_err());
    }

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
