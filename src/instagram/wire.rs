//! The shapes of Instagram's answers to `/me`, and what each one means for us; the Graph API's
//! error shape, which the token endpoints share (see `grant.rs`).
//!
//! Instagram answers the same question in more than one shape (flat or wrapped in `data`, ids as
//! numbers or strings, permissions as an array or a comma string); every reader here accepts all
//! of them. Ids go through [`IgId`], which never rounds through `f64`.

use serde::Deserialize;

use super::UpstreamError;
use crate::domain::{IgId, Lookup, RejectReason, TokenOwner};

/// Graph API error codes that mean "slow down", not "this token is bad".
const THROTTLING_CODES: [i64; 4] = [4, 17, 32, 613];
/// Graph error for an invalid or expired access token.
pub(super) const INVALID_TOKEN: i64 = 190;
/// Subcode of 190 for a token past its lifetime.
pub(super) const EXPIRED_SUBCODE: i64 = 463;

#[derive(Deserialize)]
struct Me {
    id: Option<IgId>,
    /// The professional-account id (asked for with `fields=id,user_id,username`); kept so Meta's
    /// callbacks can find the user by it, never used to decide who owns the token.
    user_id: Option<IgId>,
    username: Option<String>,
}

/// `/me`'s answer in either shape, read in one pass: flat (`id` at the top) or wrapped in
/// `data`. (An untagged enum would buffer the whole document and parse it twice.)
#[derive(Deserialize)]
struct MeShape {
    id: Option<IgId>,
    user_id: Option<IgId>,
    username: Option<String>,
    data: Option<Vec<Me>>,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
pub(super) struct GraphError {
    pub(super) code: Option<i64>,
    pub(super) error_subcode: Option<i64>,
    /// For the operator's log only.
    pub(super) message: Option<String>,
}

/// The meaning of a Graph API error body, if it has one.
pub(super) fn graph_error(body: &[u8]) -> Option<GraphError> {
    serde_json::from_slice::<GraphErrorBody>(body)
        .ok()
        .map(|b| b.error)
}

pub(super) fn is_throttled(code: Option<i64>) -> bool {
    code.is_some_and(|c| THROTTLING_CODES.contains(&c))
}

/// Reads `/me`'s answer. Only a 200 with an id, or error 190, is a verdict; everything else is
/// upstream trouble.
pub(super) fn read_me(status: u16, body: &[u8]) -> Result<Lookup, UpstreamError> {
    if status == 200 {
        let me = match serde_json::from_slice::<MeShape>(body) {
            Ok(MeShape {
                id,
                user_id,
                username,
                data: None,
            }) => Me {
                id,
                user_id,
                username,
            },
            // Exactly one owner or none at all: a yes must never rest on picking one of several
            // (an id beside `data` would be a second answer).
            Ok(MeShape {
                id,
                data: Some(data),
                ..
            }) => match (<[Me; 1]>::try_from(data), id) {
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
}
