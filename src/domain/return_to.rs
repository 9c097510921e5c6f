//! Where a login may end: a `return_to` URL the operator allows (`IGAUTH_INSTAGRAM__RETURN_URLS`).
//!
//! Checked when the flow starts and again when it ends, so a signed state can never send anyone
//! elsewhere.

use std::fmt;

/// Longest `return_to` accepted; the state travels in URLs through Instagram.
pub const MAX_RETURN_TO: usize = 1024;

/// Why a `return_to` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnToError {
    Missing,
    TooLong,
    /// Spaces, control characters or non-ASCII: not a URL we would put in a `Location` header.
    BadCharacters,
    NotAllowed,
}

impl fmt::Display for ReturnToError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReturnToError::Missing => f.write_str("return_to is required"),
            ReturnToError::TooLong => {
                write!(f, "return_to is longer than {MAX_RETURN_TO} characters")
            }
            ReturnToError::BadCharacters => f.write_str(
                "return_to must be a URL of printable ASCII without spaces (percent-encode the rest)",
            ),
            ReturnToError::NotAllowed => f.write_str(
                "return_to does not match any URL in IGAUTH_INSTAGRAM__RETURN_URLS",
            ),
        }
    }
}

/// A return target that matches the operator's allow-list (`IGAUTH_INSTAGRAM__RETURN_URLS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnTo(String);

impl ReturnTo {
    /// Accepts `candidate` when it equals an allowed URL or extends one at a boundary: the allowed
    /// URL ends in `/`, or the candidate continues it with `/`, `?` or `#`. So
    /// `https://app.example` admits `https://app.example/done` but never
    /// `https://app.example.evil.com` or `https://app.example@evil.com`.
    pub fn parse(candidate: &str, allowed: &[String]) -> Result<ReturnTo, ReturnToError> {
        if candidate.is_empty() {
            return Err(ReturnToError::Missing);
        }
        if candidate.len() > MAX_RETURN_TO {
            return Err(ReturnToError::TooLong);
        }
        if !candidate.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ReturnToError::BadCharacters);
        }
        let matches = |prefix: &String| {
            let Some(rest) = candidate.strip_prefix(prefix.as_str()) else {
                return false;
            };
            !prefix.is_empty()
                && (rest.is_empty() || prefix.ends_with('/') || rest.starts_with(['/', '?', '#']))
        };
        if allowed.iter().any(matches) {
            Ok(ReturnTo(candidate.to_string()))
        } else {
            Err(ReturnToError::NotAllowed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The target with `params` (already `application/x-www-form-urlencoded`) in its fragment,
    /// where they never reach a server or a log. A fragment the target already has is kept, and
    /// the parameters follow it after `&` (or directly after a trailing `?` or `&`).
    pub fn with_fragment(&self, params: &str) -> String {
        match self.0.split_once('#') {
            None => format!("{}#{params}", self.0),
            Some((_, "")) => format!("{}{params}", self.0),
            Some((_, fragment)) if fragment.ends_with(['?', '&']) => {
                format!("{}{params}", self.0)
            }
            Some(_) => format!("{}&{params}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn target(url: &str) -> ReturnTo {
        ReturnTo::parse(url, &allowed(&[url])).unwrap()
    }

    #[test]
    fn return_to_matches_exactly_or_at_a_boundary() {
        let list = allowed(&[
            "https://app.example",
            "myapp://auth",
            "https://b.example/cb/",
        ]);
        for ok in [
            "https://app.example",
            "https://app.example/",
            "https://app.example/done?x=1",
            "https://app.example?next=1",
            "https://app.example#/route",
            "myapp://auth",
            "myapp://auth/callback",
            "myapp://auth?app_state=abc",
            "https://b.example/cb/anything",
        ] {
            assert!(ReturnTo::parse(ok, &list).is_ok(), "{ok}");
        }
        for bad in [
            "https://app.example.evil.com",
            "https://app.example@evil.com",
            "https://app.example:8443",
            "https://app.examplex/",
            "http://app.example",
            "HTTPS://APP.EXAMPLE",
            "myapp://authx",
            "myapp://auth.evil",
            "https://b.example/cb",
            "https://evil.com/https://app.example",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                ReturnTo::parse(bad, &list),
                Err(ReturnToError::NotAllowed),
                "{bad}"
            );
        }
        assert_eq!(
            ReturnTo::parse("https://app.example/\r\nSet-Cookie:x", &list),
            Err(ReturnToError::BadCharacters)
        );
        assert_eq!(
            ReturnTo::parse("https://app.example/ x", &list),
            Err(ReturnToError::BadCharacters)
        );
        assert_eq!(ReturnTo::parse("", &list), Err(ReturnToError::Missing));
        let long = format!("https://app.example/{}", "a".repeat(MAX_RETURN_TO));
        assert_eq!(ReturnTo::parse(&long, &list), Err(ReturnToError::TooLong));
        assert_eq!(
            ReturnTo::parse("https://app.example", &[]),
            Err(ReturnToError::NotAllowed),
            "an empty allow-list admits nothing"
        );
        assert_eq!(
            ReturnTo::parse("https://x", &allowed(&[""])),
            Err(ReturnToError::NotAllowed)
        );
    }

    #[test]
    fn fragments_are_appended_sanely() {
        assert_eq!(
            target("myapp://auth").with_fragment("a=1"),
            "myapp://auth#a=1"
        );
        assert_eq!(
            target("https://a.example/#").with_fragment("a=1"),
            "https://a.example/#a=1"
        );
        assert_eq!(
            target("https://a.example/#/login").with_fragment("a=1"),
            "https://a.example/#/login&a=1"
        );
        assert_eq!(
            target("https://a.example/#/login?").with_fragment("a=1"),
            "https://a.example/#/login?a=1"
        );
    }
}
