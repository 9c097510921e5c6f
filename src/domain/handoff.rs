//! The one-time code a login ends with (`return_to#code=<handoff code>`), and what it stands
//! for: the login's result, bound to the app's PKCE challenge, for [`HANDOFF_TTL`].
//!
//! A code is 32 random bytes (256 bits), written as 43 base64url characters. Nothing about the
//! login is in it; the result stays on the server under a name derived from the code, and when
//! it is kept in Redis it is sealed (ChaCha20-Poly1305) under a key derived from the code too, so
//! whoever reads Redis without a code learns nothing and can forge nothing. Each key seals
//! exactly one value, once, so a fixed nonce is sound.

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::rand::{SecureRandom, SystemRandom};

use super::pkce::CodeChallenge;
use super::{AccessToken, Lookup, TokenOwner};

/// How long a handoff code can be redeemed: the app calls `/v1/token` right after the redirect.
pub(crate) const HANDOFF_TTL: Duration = Duration::from_secs(60);
const CODE_BYTES: usize = 32;
const CODE_LEN: usize = 43;
const FORMAT: &str = "h1";

/// A handoff code. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct HandoffCode([u8; CODE_BYTES]);

impl HandoffCode {
    /// A fresh random code; `None` only when the OS has no entropy source.
    pub(crate) fn random() -> Option<HandoffCode> {
        let mut bytes = [0u8; CODE_BYTES];
        SystemRandom::new().fill(&mut bytes).ok()?;
        Some(HandoffCode(bytes))
    }

    /// A code as an app sends it back; anything else is `None`.
    pub(crate) fn parse(text: &str) -> Option<HandoffCode> {
        if text.len() != CODE_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        <[u8; CODE_BYTES]>::try_from(bytes.as_slice())
            .ok()
            .map(HandoffCode)
    }

    /// The text that goes into the redirect's fragment.
    pub(crate) fn expose(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Where the result is filed: a hash of the code, so no store holds the code itself.
    pub(crate) fn store_id(&self) -> [u8; 32] {
        self.derive(b"igauth handoff id\0")
    }

    /// The same, as text (a Redis key's tail).
    pub(crate) fn store_name(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.store_id())
    }

    fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(label);
        ctx.update(&self.0);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    fn aead_key(&self) -> Option<LessSafeKey> {
        let key =
            UnboundKey::new(&CHACHA20_POLY1305, &self.derive(b"igauth handoff key\0")).ok()?;
        Some(LessSafeKey::new(key))
    }
}

impl fmt::Debug for HandoffCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandoffCode([redacted])")
    }
}

/// What a handoff code stands for: the login's result and the challenge it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Handoff {
    pub(crate) owner: TokenOwner,
    pub(crate) access_token: AccessToken,
    /// Seconds, for a long-lived token.
    pub(crate) expires_in: Option<u64>,
    pub(crate) challenge: CodeChallenge,
    /// Milliseconds since the epoch after which the code is refused.
    pub(crate) expires_at_ms: u64,
}

impl Handoff {
    /// The stored form: `h1`, expiry, challenge, lifetime, token, owner, one per line (the
    /// owner last: only it may hold any character).
    fn encode(&self) -> String {
        format!(
            "{FORMAT}\n{}\n{}\n{}\n{}\n{}",
            self.expires_at_ms,
            self.challenge.encode(),
            self.expires_in.map_or(String::new(), |s| s.to_string()),
            self.access_token.expose(),
            Lookup::Owner(self.owner.clone()).encode(),
        )
    }

    fn decode(text: &str) -> Option<Handoff> {
        let mut parts = text.splitn(6, '\n');
        if parts.next()? != FORMAT {
            return None;
        }
        let expires_at_ms = parts.next()?.parse().ok()?;
        let challenge = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        let expires_in = match parts.next()? {
            "" => None,
            secs => Some(secs.parse().ok()?),
        };
        let access_token = AccessToken::parse(parts.next()?).ok()?;
        let Lookup::Owner(owner) = Lookup::decode(parts.next()?.as_bytes())? else {
            return None;
        };
        Some(Handoff {
            owner,
            access_token,
            expires_in,
            challenge: CodeChallenge::from_bytes(&challenge)?,
            expires_at_ms,
        })
    }

    /// Sealed under a key only `code` gives.
    pub(crate) fn seal(&self, code: &HandoffCode) -> Option<Vec<u8>> {
        let mut data = self.encode().into_bytes();
        code.aead_key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::empty(),
                &mut data,
            )
            .ok()?;
        Some(data)
    }

    /// What [`Handoff::seal`] sealed for `code`; `None` for anything else.
    pub(crate) fn open(code: &HandoffCode, mut sealed: Vec<u8>) -> Option<Handoff> {
        let plain = code
            .aead_key()?
            .open_in_place(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::empty(),
                &mut sealed,
            )
            .ok()?;
        Handoff::decode(std::str::from_utf8(plain).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IgId;

    fn handoff(username: &str) -> Handoff {
        Handoff {
            owner: TokenOwner::new(
                &IgId::parse("17841405793187219").unwrap(),
                Some(&IgId::parse("27640875392278831").unwrap()),
                Some(username),
            ),
            access_token: AccessToken::parse("IGAA-token").unwrap(),
            expires_in: Some(5_183_944),
            challenge: CodeChallenge::of_verifier("v".repeat(43).as_str()),
            expires_at_ms: 1_800_000_000_000,
        }
    }

    #[test]
    fn codes_are_random_and_read_back_only_in_their_own_form() {
        let (a, b) = (
            HandoffCode::random().unwrap(),
            HandoffCode::random().unwrap(),
        );
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), CODE_LEN);
        assert_eq!(HandoffCode::parse(&a.expose()), Some(a.clone()));
        assert_eq!(HandoffCode::parse(&a.expose()[1..]), None);
        assert_eq!(HandoffCode::parse(&format!("{}=", &a.expose()[1..])), None);
        assert!(!format!("{a:?}").contains(&a.expose()));
        assert_ne!(a.store_name(), a.expose());
    }

    #[test]
    fn a_sealed_handoff_opens_only_with_its_code() {
        let code = HandoffCode::random().unwrap();
        // A username may hold newlines and colons: it is the last line.
        let original = handoff("odd\nname:x");
        let sealed = original.seal(&code).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("IGAA-token"));
        assert_eq!(Handoff::open(&code, sealed.clone()), Some(original));
        let other = HandoffCode::random().unwrap();
        assert_eq!(Handoff::open(&other, sealed.clone()), None);
        let mut tampered = sealed;
        tampered[0] ^= 1;
        assert_eq!(Handoff::open(&code, tampered), None);
    }
}
