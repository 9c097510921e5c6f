//! Values that must never be printed: Instagram access tokens and codes (checked input), and the
//! operator's configured secrets. `Debug` and `Display` are redacted for all of them.

use std::fmt;

use serde::Deserialize;

/// A configured secret (client secret, API key, webhook key, state secret, Redis URL).
/// Empty means "not configured".
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
    pub(crate) fn is_set(&self) -> bool {
        !self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() {
            "\"[redacted]\""
        } else {
            "\"\""
        })
    }
}

/// Why a token or code string was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SecretError {
    Empty,
    TooLong(usize),
    BadCharacters,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::Empty => f.write_str("must not be empty"),
            SecretError::TooLong(max) => write!(f, "is longer than {max} characters"),
            SecretError::BadCharacters => {
                f.write_str("must contain only printable ASCII without spaces")
            }
        }
    }
}

/// Tokens and codes are opaque printable ASCII. Anything else (control characters, spaces,
/// multi-byte text) cannot be a real one and would only be a way to smuggle bytes upstream.
fn check(s: &str, max: usize) -> Result<(), SecretError> {
    if s.is_empty() {
        return Err(SecretError::Empty);
    }
    if s.len() > max {
        return Err(SecretError::TooLong(max));
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SecretError::BadCharacters);
    }
    Ok(())
}

macro_rules! redacted_secret {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub(crate) struct $name(String);

        impl $name {
            /// The raw value, for the one place that must send it (the Instagram client).
            pub(crate) fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!($label, "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}

redacted_secret!(
    /// An Instagram access token. Never printed: `Debug` and `Display` are redacted.
    AccessToken,
    "AccessToken"
);

redacted_secret!(
    /// A one-time OAuth authorization code. Never printed.
    AuthCode,
    "AuthCode"
);

/// What caches file a token under: its SHA-256, so the raw token is never a map key.
pub(crate) type TokenKey = [u8; 32];

impl AccessToken {
    /// Real tokens are a few hundred characters; 2 KiB leaves room and bounds abuse.
    pub(crate) const MAX_LEN: usize = 2048;

    pub(crate) fn parse(s: &str) -> Result<AccessToken, SecretError> {
        check(s, Self::MAX_LEN)?;
        Ok(AccessToken(s.to_string()))
    }

    /// The SHA-256 of the token: its key in the verdict caches.
    pub(crate) fn cache_key(&self) -> TokenKey {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        key
    }
}

impl AuthCode {
    pub(crate) const MAX_LEN: usize = 1024;

    /// Instagram appends `#_` to the redirect (not part of the code); people paste it along,
    /// often with surrounding whitespace, or URL-encoded (`%23_`) when the redirect went through
    /// another encoder. All of these are removed before the code is checked.
    pub(crate) fn parse(s: &str) -> Result<AuthCode, SecretError> {
        let trimmed = s.trim();
        let code = trimmed
            .strip_suffix("#_")
            .or_else(|| trimmed.strip_suffix("%23_"))
            .unwrap_or(trimmed);
        check(code, Self::MAX_LEN)?;
        Ok(AuthCode(code.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printing_never_shows_the_value() {
        let t = AccessToken::parse("IGAAsecretvalue").unwrap();
        assert!(!format!("{t:?} {t}").contains("secretvalue"));
        let c = AuthCode::parse("AQBcodevalue").unwrap();
        assert!(!format!("{c:?} {c}").contains("codevalue"));
    }

    #[test]
    fn code_strips_fragment_marker_and_whitespace() {
        assert_eq!(AuthCode::parse("  AQB123#_\n").unwrap().expose(), "AQB123");
        assert_eq!(AuthCode::parse("#_"), Err(SecretError::Empty));
        assert_eq!(AuthCode::parse("AQB123%23_").unwrap().expose(), "AQB123");
    }

    #[test]
    fn rejects_control_characters_and_oversize() {
        assert_eq!(
            AccessToken::parse("a\u{0}b"),
            Err(SecretError::BadCharacters)
        );
        assert_eq!(AccessToken::parse("a b"), Err(SecretError::BadCharacters));
        assert_eq!(
            AccessToken::parse(&"a".repeat(AccessToken::MAX_LEN + 1)),
            Err(SecretError::TooLong(AccessToken::MAX_LEN))
        );
    }
}
