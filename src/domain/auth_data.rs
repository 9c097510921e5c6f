//! The claim every validation face reads: `authData.instagram = {id, access_token}`, in the
//! shapes callers send it.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::{AccessToken, IgId};

/// A claim that `access_token` belongs to Instagram user `id`: what Parse stores as
/// `authData.instagram`.
#[derive(Clone, Debug)]
pub(crate) struct AuthData {
    pub(crate) id: IgId,
    pub(crate) access_token: AccessToken,
    /// The professional-account id the client stored beside `id`, if any. It must be the one
    /// `/me` gives for the token: an unverified `user_id` could otherwise pull the account into
    /// whatever acts on that id.
    pub(crate) user_id: Option<IgId>,
}

/// Why a body is not an authData object; the message names the field and says what to send.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AuthDataError(pub String);

impl fmt::Display for AuthDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The accepted shapes, read in one pass: `{id, access_token}`, `{"authData": {id, access_token}}`
/// and `{"authData": {"instagram": {id, access_token}}}`. Unknown fields are ignored.
#[derive(Deserialize)]
#[serde(expecting = "a JSON object with id and access_token")]
struct Raw {
    id: Option<IgId>,
    access_token: Option<RawToken>,
    user_id: Option<IgId>,
    #[serde(rename = "authData")]
    auth_data: Option<Box<Raw>>,
    instagram: Option<Box<Raw>>,
    /// Unknown fields. Being `flatten`, it also makes serde read `Raw` as a map only: without
    /// it, a JSON array in field order (`["1","IGT",null,null]`) would pass as authData.
    #[serde(flatten)]
    _unknown: serde::de::IgnoredAny,
}

/// A string whose serde error names the field (serde_json's own errors carry no path).
struct RawToken(String);

impl<'de> Deserialize<'de> for RawToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawToken, D::Error> {
        struct TokenVisitor;
        impl<'de> Visitor<'de> for TokenVisitor {
            type Value = RawToken;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("access_token to be a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawToken, E> {
                Ok(RawToken(v.to_string()))
            }
        }
        d.deserialize_str(TokenVisitor)
    }
}

/// Where in the accepted shapes a [`Raw`] was found; each level allows one kind of wrapper.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The body itself: `{id, access_token}` or `{"authData": ...}`.
    Body,
    /// Inside `authData`: `{id, access_token}` or `{"instagram": {...}}`.
    AuthData,
    /// The Instagram authData itself: only `{id, access_token}`.
    Instagram,
}

impl Level {
    fn path(self) -> &'static str {
        match self {
            Level::Body => "",
            Level::AuthData => "authData.",
            Level::Instagram => "authData.instagram.",
        }
    }
}

impl AuthData {
    /// Parses a request body in any of the accepted shapes.
    pub(crate) fn from_json(body: &[u8]) -> Result<AuthData, AuthDataError> {
        let raw: Raw = serde_json::from_slice(body).map_err(|e| {
            AuthDataError(format!(
                "body is not a valid authData object: {}",
                describe(&e)
            ))
        })?;
        AuthData::from_raw(raw, Level::Body)
    }

    /// Parses a webhook's `params`, in the same shapes as a request body.
    pub(crate) fn from_value(value: &serde_json::Value) -> Result<AuthData, AuthDataError> {
        let raw = Raw::deserialize(value)
            .map_err(|e| AuthDataError(format!("authData is not valid: {}", describe(&e))))?;
        AuthData::from_raw(raw, Level::Body)
    }

    /// Parses `authData.instagram` itself: `{id, access_token}` and nothing wrapped.
    pub(crate) fn from_instagram_value(
        value: &serde_json::Value,
    ) -> Result<AuthData, AuthDataError> {
        let raw = Raw::deserialize(value)
            .map_err(|e| AuthDataError(format!("authData is not valid: {}", describe(&e))))?;
        AuthData::from_raw(raw, Level::Instagram)
    }

    /// Exactly one claim per body: a wrapper next to loose `id`/`access_token` is refused, never
    /// resolved, because a caller that checks one pair while Parse stores the other would be
    /// told "yes" for somebody else's id.
    fn from_raw(raw: Raw, level: Level) -> Result<AuthData, AuthDataError> {
        let path = level.path();
        let loose = raw.id.is_some() || raw.access_token.is_some() || raw.user_id.is_some();
        let wrapper = match level {
            Level::Body => raw
                .auth_data
                .map(|inner| ("authData", inner, Level::AuthData)),
            Level::AuthData => raw
                .instagram
                .map(|inner| ("instagram", inner, Level::Instagram)),
            Level::Instagram => None,
        };
        if let Some((name, inner, next)) = wrapper {
            if loose {
                return Err(AuthDataError(format!(
                    "{path}{name} must not stand next to id or access_token: send one authData"
                )));
            }
            return AuthData::from_raw(*inner, next);
        }
        let id = raw.id.ok_or_else(|| {
            AuthDataError(format!(
                "{path}id is required: the Instagram user id the token should belong to"
            ))
        })?;
        let token = raw
            .access_token
            .ok_or_else(|| AuthDataError(format!("{path}access_token is required")))?;
        let access_token = AccessToken::parse(&token.0)
            .map_err(|e| AuthDataError(format!("{path}access_token {e}")))?;
        Ok(AuthData {
            id,
            access_token,
            user_id: raw.user_id,
        })
    }
}

/// serde's message without the offending value: serde quotes strings it could not use
/// (`invalid type: string "IGAA..."`), and that string may be a token.
fn describe(e: &serde_json::Error) -> String {
    let mut out = String::new();
    for (i, part) in e.to_string().split('"').enumerate() {
        out.push_str(if i % 2 == 1 { "\"…\"" } else { part });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<AuthData, AuthDataError> {
        AuthData::from_json(body.as_bytes())
    }

    #[test]
    fn every_wrapper_form() {
        for body in [
            r#"{"id":"17841405793187219","access_token":"IGT"}"#,
            r#"{"authData":{"id":"17841405793187219","access_token":"IGT"}}"#,
            r#"{"authData":{"instagram":{"id":17841405793187219,"access_token":"IGT"}},"x":1}"#,
        ] {
            let a = parse(body).unwrap();
            assert_eq!(a.id.as_str(), "17841405793187219");
            assert_eq!(a.access_token.expose(), "IGT");
        }
    }

    #[test]
    fn a_wrapper_next_to_loose_fields_is_refused() {
        for body in [
            r#"{"id":"111","access_token":"junk","authData":{"id":"222","access_token":"IGT"}}"#,
            r#"{"authData":{"id":"111","instagram":{"id":"222","access_token":"IGT"}}}"#,
        ] {
            let err = parse(body).unwrap_err().0;
            assert!(err.contains("must not stand next to"), "{body}: {err}");
        }
        let nested = serde_json::json!({"id": "1", "access_token": "x", "authData": {}});
        assert!(
            AuthData::from_instagram_value(&nested).is_ok(),
            "no wrapper at this level"
        );
        let wrapped = serde_json::json!({"authData": {"id": "1", "access_token": "x"}});
        assert!(AuthData::from_instagram_value(&wrapped).is_err());
    }

    #[test]
    fn error_messages_do_not_echo_values() {
        let err = parse(r#"{"id":"1","access_token":"x","authData":"IGAA-SECRET"}"#)
            .unwrap_err()
            .0;
        assert!(!err.contains("IGAA-SECRET"), "{err}");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"access_token":"x"}"#, "id is required"),
            (r#"{"id":"1"}"#, "access_token is required"),
            (
                r#"{"id":"1","access_token":""}"#,
                "access_token must not be empty",
            ),
            (
                r#"{"id":"1","access_token":5}"#,
                "access_token to be a string",
            ),
            (
                r#"{"id":"abc","access_token":"x"}"#,
                "id must be the numeric",
            ),
            (r#"{"id":1.5,"access_token":"x"}"#, "id must be an integer"),
            (
                r#"{"authData":{"instagram":{"access_token":"x"}}}"#,
                "authData.instagram.id",
            ),
            (r#"[1]"#, "JSON object"),
            (r#"{"id":"1","#, "not a valid authData"),
        ];
        for (body, expected) in cases {
            let err = parse(body).unwrap_err().0;
            assert!(err.contains(expected), "{body}: {err}");
        }
    }
}
