//! PKCE (RFC 7636), S256 only: the app keeps a random `code_verifier`, sends the base64url
//! SHA-256 of it (`code_challenge`) when it starts a login, and must show the verifier to redeem
//! the one-time code the login ends with. Someone who intercepts the redirect (another app that
//! registered the same URL scheme, a log, a screenshot) holds a code they cannot use.
//!
//! `plain` is refused on purpose: it puts the verifier itself in the authorize URL.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

/// The only method accepted.
pub(crate) const S256: &str = "S256";
/// A challenge is base64url (no padding) of 32 bytes: always 43 characters.
const CHALLENGE_LEN: usize = 43;
/// RFC 7636 section 4.1: 43 to 128 unreserved characters.
const VERIFIER_MIN: usize = 43;
const VERIFIER_MAX: usize = 128;

/// The SHA-256 an app committed to when it started its login.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodeChallenge([u8; 32]);

/// Why a challenge was refused; each message names what to send instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PkceError {
    MissingChallenge,
    WrongMethod,
    MalformedChallenge,
}

impl fmt::Display for PkceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PkceError::MissingChallenge => {
                "code_challenge is required (PKCE): send the base64url SHA-256 of a random \
                 code_verifier, with code_challenge_method=S256"
            }
            PkceError::WrongMethod => "code_challenge_method must be S256 (plain is not accepted)",
            PkceError::MalformedChallenge => {
                "code_challenge must be 43 base64url characters without padding: the SHA-256 \
                 of the code_verifier"
            }
        })
    }
}

impl CodeChallenge {
    /// The challenge and method of an authorize request.
    pub(crate) fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, PkceError> {
        let challenge = challenge
            .filter(|c| !c.is_empty())
            .ok_or(PkceError::MissingChallenge)?;
        if method != Some(S256) {
            return Err(PkceError::WrongMethod);
        }
        if challenge.len() != CHALLENGE_LEN {
            return Err(PkceError::MalformedChallenge);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(challenge)
            .map_err(|_| PkceError::MalformedChallenge)?;
        Self::from_bytes(&bytes).ok_or(PkceError::MalformedChallenge)
    }

    /// The challenge of `verifier`, as an app computes it.
    pub(crate) fn of_verifier(verifier: &str) -> CodeChallenge {
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest.as_ref());
        CodeChallenge(bytes)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<CodeChallenge> {
        <[u8; 32]>::try_from(bytes).ok().map(CodeChallenge)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The text form an app sends.
    pub(crate) fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Whether `verifier` is well formed and hashes to this challenge (compared in constant time).
    pub(crate) fn verifies(&self, verifier: &str) -> bool {
        let well_formed = (VERIFIER_MIN..=VERIFIER_MAX).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        let matches: bool = Self::of_verifier(verifier).0.ct_eq(&self.0).into();
        well_formed && matches
    }
}

impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeChallenge(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        let challenge = CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap();
        assert!(challenge.verifies(VERIFIER));
        assert_eq!(challenge.encode(), CHALLENGE);
        assert_eq!(CodeChallenge::of_verifier(VERIFIER), challenge);
        assert!(!challenge.verifies(&VERIFIER.replace('d', "e")));
    }

    #[test]
    fn only_s256_with_a_well_formed_challenge() {
        let parse = CodeChallenge::parse;
        assert_eq!(parse(None, Some("S256")), Err(PkceError::MissingChallenge));
        assert_eq!(parse(Some(""), None), Err(PkceError::MissingChallenge));
        assert_eq!(parse(Some(CHALLENGE), None), Err(PkceError::WrongMethod));
        assert_eq!(
            parse(Some(CHALLENGE), Some("plain")),
            Err(PkceError::WrongMethod)
        );
        assert_eq!(
            parse(Some(CHALLENGE), Some("s256")),
            Err(PkceError::WrongMethod)
        );
        for bad in [
            &CHALLENGE[1..],
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
        ] {
            assert_eq!(
                parse(Some(bad), Some("S256")),
                Err(PkceError::MalformedChallenge)
            );
        }
    }

    #[test]
    fn a_verifier_outside_the_rfc_alphabet_or_length_never_verifies() {
        for verifier in ["short", &"a".repeat(129), &format!("{}!", &VERIFIER[1..])] {
            let challenge = CodeChallenge::of_verifier(verifier);
            assert!(!challenge.verifies(verifier), "{verifier}");
        }
    }
}
