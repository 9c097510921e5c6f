//! Where a login may end: a `return_to` URL the operator allows (`IGAUTH_INSTAGRAM__RETURN_URLS`).
//!
//! Checked when the flow starts and again when it ends, so a signed state can never send anyone
//! elsewhere.

use std::fmt;

/// Longest `return_to` accepted; the state travels in URLs through Instagram.
pub const MAX_RETURN_TO: usize = 1024;

/// The names igauth writes into the fragment. A query that already carries one could be read as
/// the result by an app that merges query and fragment.
const RESULT_KEYS: [&str; 9] = [
    "id",
    "access_token",
    "expires_in",
    "username",
    "user_id",
    "error",
    "error_description",
    "state",
    "code",
];

/// Why a `return_to` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnToError {
    Missing,
    TooLong,
    /// Spaces, control characters or non-ASCII: not a URL we would put in a `Location` header.
    BadCharacters,
    /// Any `#`: the result goes in the fragment, and a planted one would be read first.
    Fragment,
    /// A query name the result uses.
    ResultKey(&'static str),
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
            ReturnToError::Fragment => f.write_str(
                "return_to has a fragment (#...); leave it off: igauth writes the login result \
                 into the fragment, and one of your own would be read before it",
            ),
            ReturnToError::ResultKey(key) => write!(
                f,
                "return_to has {key:?} in its query, a name igauth uses for the login result; \
                 give your parameter another name (app_state, for instance)"
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
    /// URL ends in `/`, or the candidate continues it with `/` or `?`. So
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
        if candidate.contains('#') {
            return Err(ReturnToError::Fragment);
        }
        if let Some(key) = result_key_in_query(candidate) {
            return Err(ReturnToError::ResultKey(key));
        }
        let matches = |prefix: &String| {
            let Some(rest) = candidate.strip_prefix(prefix.as_str()) else {
                return false;
            };
            !prefix.is_empty()
                && (rest.is_empty() || prefix.ends_with('/') || rest.starts_with(['/', '?']))
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

    /// The target with `params` (already `application/x-www-form-urlencoded`) as its fragment,
    /// where they never reach a server or a log. A target never has a fragment of its own.
    pub fn with_fragment(&self, params: &str) -> String {
        format!("{}#{params}", self.0)
    }
}

/// The first result name among the query's names (split at `&` and `;`, `+` read as a space,
/// percent-decoded until nothing changes, compared without case).
fn result_key_in_query(url: &str) -> Option<&'static str> {
    let (_, query) = url.split_once('?')?;
    query.split(['&', ';']).find_map(|pair| {
        let name = pair.split('=').next().unwrap_or("").replace('+', " ");
        let name = decode_fully(name.as_bytes()).to_ascii_lowercase();
        RESULT_KEYS.iter().copied().find(|k| k.as_bytes() == name)
    })
}

/// Percent-decodes until nothing changes, so `%2569` ends as `i`. Malformed escapes stay as they
/// are. Ends: every round that changes something makes the text shorter.
fn decode_fully(bytes: &[u8]) -> Vec<u8> {
    let mut text = bytes.to_vec();
    loop {
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let escape = (text[i] == b'%')
                .then(|| Some((hex_value(*text.get(i + 1)?)?, hex_value(*text.get(i + 2)?)?)))
                .flatten();
            match escape {
                Some((high, low)) => {
                    out.push(high << 4 | low);
                    i += 3;
                }
                None => {
                    out.push(text[i]);
                    i += 1;
                }
            }
        }
        if out.len() == text.len() {
            return out;
        }
        text = out;
    }
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
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
    fn a_fragment_or_a_result_name_in_the_query_is_refused() {
        let list = allowed(&["https://app.example/done", "myapp://auth"]);
        for ok in [
            "https://app.example/done?x=1",
            "https://app.example/done?ids=1&tokens=2&identity=3",
            "myapp://auth?app_state=abc",
            "https://app.example/done?next=%23id%3D1",
        ] {
            assert!(ReturnTo::parse(ok, &list).is_ok(), "{ok}");
        }
        for bad in [
            "https://app.example/done#id=666&access_token=IGT-666&",
            "https://app.example/done#",
            "https://app.example/done#/welcome",
            "https://app.example/done?x=1#",
            "myapp://auth#",
        ] {
            assert_eq!(
                ReturnTo::parse(bad, &list),
                Err(ReturnToError::Fragment),
                "{bad}"
            );
        }
        for (bad, key) in [
            ("https://app.example/done?id=666&access_token=IGT-666", "id"),
            (
                "https://app.example/done?x=1&access_token=a",
                "access_token",
            ),
            ("https://app.example/done?x=1;state=a", "state"),
            ("myapp://auth?%69d=666", "id"),
            ("myapp://auth?ID=666", "id"),
            ("myapp://auth?user%255Fid", "user_id"),
            ("myapp://auth?expires_in=1", "expires_in"),
            ("myapp://auth?username=x", "username"),
            ("myapp://auth?error=x", "error"),
            ("myapp://auth?error_description=x", "error_description"),
            ("myapp://auth?code=x", "code"),
        ] {
            assert_eq!(
                ReturnTo::parse(bad, &list),
                Err(ReturnToError::ResultKey(key)),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_result_is_the_whole_fragment() {
        assert_eq!(
            target("myapp://auth").with_fragment("a=1"),
            "myapp://auth#a=1"
        );
        assert_eq!(
            target("https://a.example/done?x=1").with_fragment("a=1&b=2"),
            "https://a.example/done?x=1#a=1&b=2"
        );
    }
}
