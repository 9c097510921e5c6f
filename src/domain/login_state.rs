//! The login flow's `state` parameter: a signed, expiring envelope for the `return_to` a login
//! started with.
//!
//! A state is `base64url(payload) "." base64url(HMAC-SHA256(payload))` (no padding), where the
//! payload is `version (1 byte) | expires_at (u64 seconds, big-endian) | nonce (16 random bytes) |
//! code_challenge (32 bytes, the app's PKCE SHA-256) | return_to (UTF-8)`. Only a holder of `IGAUTH_SERVER__STATE_SECRET` can make one; the
//! signature is checked in constant time (`ring::hmac::verify`) before any byte of the payload is
//! used, and a state is refused once [`STATE_TTL`] has passed.
//!
//! This file is the format only. Remembering which states were used (single use, across the
//! fleet) is [`crate::login_states`]' job; binding a state to the browser that asked for it is
//! the login routes' cookie, named after [`Nonce::id`].

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use super::pkce::CodeChallenge;
use super::return_to::MAX_RETURN_TO;
use super::{ReturnTo, Secret};

/// How long a login may take from the redirect to Instagram until the callback.
pub(crate) const STATE_TTL: Duration = Duration::from_secs(600);
/// Shortest state secret accepted; a short HMAC key could be guessed offline from one state.
pub(crate) const MIN_SECRET_LEN: usize = 32;
const NONCE_LEN: usize = 16;
/// 2 since states carry the app's PKCE challenge.
const VERSION: u8 = 2;
const CHALLENGE_LEN: usize = 32;
const HEADER_LEN: usize = 1 + 8 + NONCE_LEN + CHALLENGE_LEN;
/// Longest state we even try to decode.
const MAX_STATE_LEN: usize = 2 * (HEADER_LEN + MAX_RETURN_TO) + 64;

/// The random part of a state: what makes it single-use and what binds it to a browser.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A printable form (22 base64url characters), safe in a cookie name.
    pub(crate) fn id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce(..)")
    }
}

/// A freshly signed state, to send to Instagram.
#[derive(Debug)]
pub(crate) struct IssuedState {
    pub(crate) value: String,
    pub(crate) nonce: Nonce,
}

/// A state that is signed by us and in time (whether it was used is not known here).
#[derive(Debug)]
pub(crate) struct OpenedState {
    pub(crate) return_to: String,
    pub(crate) nonce: Nonce,
    /// The app's PKCE challenge: the login's handoff code is bound to it.
    pub(crate) challenge: CodeChallenge,
}

/// Why a state was refused. Only [`StateError::Forged`] means the return target is unknown;
/// the others were signed by us, so their (re-checked) return target can be told what happened.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StateError {
    /// No state secret is configured.
    NotConfigured,
    /// Missing, malformed, or the signature does not match: nothing in it can be trusted.
    Forged,
    /// Signed by us, but older than [`STATE_TTL`].
    Expired { return_to: String },
    /// Signed by us and in time, but already used once.
    Replayed { return_to: String },
}

/// Whether `secret` is long enough to sign states.
pub(crate) fn usable_state_secret(secret: &Secret) -> bool {
    secret.expose().len() >= MIN_SECRET_LEN
}

/// Signs and opens states with the operator's state secret.
pub(crate) struct StateKey {
    key: hmac::Key,
    rng: SystemRandom,
}

impl StateKey {
    /// `None` without a secret of at least [`MIN_SECRET_LEN`] characters.
    pub(crate) fn new(secret: &Secret) -> Option<StateKey> {
        usable_state_secret(secret).then(|| StateKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes()),
            rng: SystemRandom::new(),
        })
    }

    /// A state for `return_to` and the app's `challenge` that expires `ttl` after `now` (seconds
    /// since the epoch).
    pub(crate) fn issue_at(
        &self,
        return_to: &ReturnTo,
        challenge: &CodeChallenge,
        now: u64,
        ttl: Duration,
    ) -> Result<IssuedState, StateError> {
        let mut nonce = [0u8; NONCE_LEN];
        // SystemRandom only fails when the OS has no entropy source; refuse rather than go on.
        self.rng
            .fill(&mut nonce)
            .map_err(|_| StateError::NotConfigured)?;
        let expires_at = now.saturating_add(ttl.as_secs());
        let mut payload = Vec::with_capacity(HEADER_LEN + return_to.as_str().len());
        payload.push(VERSION);
        payload.extend_from_slice(&expires_at.to_be_bytes());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(challenge.as_bytes());
        payload.extend_from_slice(return_to.as_str().as_bytes());
        let tag = hmac::sign(&self.key, &payload);
        Ok(IssuedState {
            value: format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(&payload),
                URL_SAFE_NO_PAD.encode(tag.as_ref())
            ),
            nonce: Nonce(nonce),
        })
    }

    /// Checks the signature, then the expiry, at `now`.
    pub(crate) fn open_at(&self, state: &str, now: u64) -> Result<OpenedState, StateError> {
        if state.is_empty() || state.len() > MAX_STATE_LEN {
            return Err(StateError::Forged);
        }
        let (payload, tag) = state.split_once('.').ok_or(StateError::Forged)?;
        // The base64 crate's no-padding engine is strict (no padding, no other alphabet, no
        // leftover bits), so every state has exactly one accepted spelling.
        let (Ok(payload), Ok(tag)) = (URL_SAFE_NO_PAD.decode(payload), URL_SAFE_NO_PAD.decode(tag))
        else {
            return Err(StateError::Forged);
        };
        hmac::verify(&self.key, &payload, &tag).map_err(|_| StateError::Forged)?;
        // Signed by us from here on; a malformed payload would be our own bug, still refused.
        if payload.len() < HEADER_LEN || payload[0] != VERSION {
            return Err(StateError::Forged);
        }
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&payload[1..9]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&payload[9..9 + NONCE_LEN]);
        let challenge = CodeChallenge::from_bytes(&payload[9 + NONCE_LEN..HEADER_LEN])
            .ok_or(StateError::Forged)?;
        let return_to =
            String::from_utf8(payload[HEADER_LEN..].to_vec()).map_err(|_| StateError::Forged)?;
        if now >= u64::from_be_bytes(expires) {
            return Err(StateError::Expired { return_to });
        }
        Ok(OpenedState {
            return_to,
            nonce: Nonce(nonce),
            challenge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-state";
    const NOW: u64 = 1_800_000_000;

    fn key() -> StateKey {
        StateKey::new(&Secret::new(SECRET)).unwrap()
    }

    fn target(url: &str) -> ReturnTo {
        ReturnTo::parse(url, &[url.to_string()]).unwrap()
    }

    fn challenge() -> CodeChallenge {
        CodeChallenge::of_verifier(&"v".repeat(43))
    }

    fn issue(key: &StateKey, url: &str) -> IssuedState {
        key.issue_at(&target(url), &challenge(), NOW, STATE_TTL)
            .unwrap()
    }

    #[test]
    fn base64url_is_strict() {
        let strict = |text: &str| URL_SAFE_NO_PAD.decode(text).ok();
        assert_eq!(strict("QQ=="), None, "padding");
        assert_eq!(strict("QQ+/"), None, "standard alphabet");
        assert_eq!(strict("QUJDR"), None, "impossible length");
        assert_eq!(strict("QR"), None, "non-zero leftover bits");
        assert_eq!(strict("QQ").as_deref(), Some(&b"A"[..]));
        assert_eq!(URL_SAFE_NO_PAD.encode(b"\xfb\xff"), "-_8");
    }

    #[test]
    fn a_state_opens_with_its_return_target_and_nonce() {
        let key = key();
        let issued = issue(&key, "myapp://auth");
        assert!(issued.value.len() < 200, "{}", issued.value.len());
        let opened = key.open_at(&issued.value, NOW + 1).unwrap();
        assert_eq!(opened.return_to, "myapp://auth");
        assert_eq!(opened.nonce, issued.nonce);
        assert_eq!(opened.challenge, challenge());
    }

    #[test]
    fn every_state_is_different() {
        let key = key();
        let (a, b) = (issue(&key, "myapp://auth"), issue(&key, "myapp://auth"));
        assert_ne!(a.value, b.value);
        assert_ne!(a.nonce.id(), b.nonce.id());
        assert_eq!(a.nonce.id().len(), 22);
    }

    #[test]
    fn a_state_expires_after_ten_minutes() {
        let key = key();
        let issued = issue(&key, "myapp://auth");
        let at_expiry = NOW + STATE_TTL.as_secs();
        assert_eq!(
            key.open_at(&issued.value, at_expiry).unwrap_err(),
            StateError::Expired {
                return_to: "myapp://auth".into()
            }
        );
        assert!(key.open_at(&issued.value, at_expiry - 1).is_ok());
    }

    #[test]
    fn any_flipped_character_is_refused() {
        let key = key();
        let issued = issue(&key, "https://a.example/x");
        let value = issued.value.as_bytes();
        for i in 0..value.len() {
            for replacement in [b'A', b'B', b'_', b'.'] {
                if value[i] == replacement {
                    continue;
                }
                let mut tampered = value.to_vec();
                tampered[i] = replacement;
                let tampered = String::from_utf8(tampered).unwrap();
                assert_eq!(
                    key.open_at(&tampered, NOW).unwrap_err(),
                    StateError::Forged,
                    "{tampered}"
                );
            }
        }
    }

    #[test]
    fn a_state_from_another_secret_or_nonsense_is_forged() {
        let theirs = StateKey::new(&Secret::new("another-secret-another-secret-32+")).unwrap();
        let foreign = issue(&theirs, "myapp://auth");
        for bad in [
            foreign.value.as_str(),
            "",
            ".",
            "abc",
            "abc.def",
            "%%%.%%%",
            &"A".repeat(MAX_STATE_LEN + 1),
        ] {
            assert_eq!(key().open_at(bad, NOW).unwrap_err(), StateError::Forged);
        }
    }

    #[test]
    fn a_payload_signed_with_a_new_return_target_is_forged() {
        // Splice: the payload of one state with the signature of another.
        let key = key();
        let a = issue(&key, "https://a.example");
        let b = issue(&key, "https://b.example");
        let (payload_a, _) = a.value.split_once('.').unwrap();
        let (_, tag_b) = b.value.split_once('.').unwrap();
        assert_eq!(
            key.open_at(&format!("{payload_a}.{tag_b}"), NOW)
                .unwrap_err(),
            StateError::Forged
        );
    }

    #[test]
    fn without_a_long_enough_secret_there_is_no_key() {
        for secret in ["", "short-secret", &"x".repeat(MIN_SECRET_LEN - 1)] {
            assert!(StateKey::new(&Secret::new(secret)).is_none());
        }
    }
}
