//! What makes Redis untrusted storage instead of an oracle: keys an outsider cannot compute, and
//! values an outsider cannot forge, copy or extend.
//!
//! - A verdict's key is `igauth:v3:` + hex `HMAC-SHA256(secret, SHA-256(token))`: without
//!   `IGAUTH_CACHE__REDIS_SECRET` nobody can tell which key belongs to a token.
//! - Every value is `<mac>.<expires_at_ms>.<payload>`, where `mac` is base64url
//!   `HMAC-SHA256(secret, key "\n" expires_at_ms "\n" payload)`. The key is in the MAC, so a
//!   value copied under another key fails; the expiry is in the MAC, so a value whose Redis TTL
//!   was removed still dies on time.
//!
//! A previous secret (`IGAUTH_CACHE__REDIS_SECRET_PREVIOUS`) is accepted for reads, so a fleet
//! can rotate the secret without a cold cache: new values are sealed with the current one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

use crate::domain::{Secret, TokenKey};

/// Bump when the key derivation or the value format changes: old and new replicas then never
/// read each other's entries during a rolling deploy.
pub(crate) const KEY_PREFIX: &str = "igauth:v3:";
/// Used login states, by nonce id (random, already public as the binding cookie's name).
const STATE_PREFIX: &str = "igauth:state:";

/// Seals and opens values with the current secret, and opens with the previous one.
pub(super) struct Sealer {
    /// The current secret first, then the previous one if any.
    keys: Vec<hmac::Key>,
}

/// Which secret a key name was derived with (an index into [`Sealer::keys`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Generation(usize);

impl Sealer {
    pub(super) fn new(current: &Secret, previous: &Secret) -> Sealer {
        let keys = [current, previous]
            .into_iter()
            .filter(|s| s.is_set())
            .map(|s| hmac::Key::new(hmac::HMAC_SHA256, s.expose().as_bytes()))
            .collect();
        Sealer { keys }
    }

    /// The key names a token's verdict may be under: the current secret's first.
    pub(super) fn verdict_keys(&self, token: &TokenKey) -> Vec<(Generation, String)> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let tag = hmac::sign(key, token);
                let mut name = String::with_capacity(KEY_PREFIX.len() + 64);
                name.push_str(KEY_PREFIX);
                for byte in tag.as_ref() {
                    name.push(char::from(HEX[usize::from(byte >> 4)]));
                    name.push(char::from(HEX[usize::from(byte & 0x0f)]));
                }
                (Generation(i), name)
            })
            .collect()
    }

    /// The key that marks a login state as used.
    pub(super) fn state_key(nonce_id: &str) -> String {
        format!("{STATE_PREFIX}{nonce_id}")
    }

    /// A name for `text` (an account id) that only holders of the current secret can compute.
    pub(super) fn name_for(&self, text: &str) -> String {
        let digest = match self.keys.first() {
            Some(key) => hmac::sign(key, text.as_bytes()).as_ref().to_vec(),
            None => ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
                .as_ref()
                .to_vec(),
        };
        URL_SAFE_NO_PAD.encode(digest)
    }

    /// `payload` sealed for `key` until `expires_at_ms`, with the current secret.
    pub(super) fn seal(&self, key: &str, expires_at_ms: u64, payload: &str) -> String {
        let Some(current) = self.keys.first() else {
            return String::new();
        };
        let expires = expires_at_ms.to_string();
        let tag = hmac::sign(current, &mac_input(key, &expires, payload));
        format!(
            "{}.{expires}.{payload}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The payload and expiry of a value read under `key`, if one of `generations` sealed it
    /// for that key; `None` for anything else (the caller counts it and treats it as a miss).
    pub(super) fn open<'v>(
        &self,
        key: &str,
        value: &'v [u8],
        generations: &[Generation],
    ) -> Option<(&'v str, u64)> {
        let text = std::str::from_utf8(value).ok()?;
        let (tag, rest) = text.split_once('.')?;
        let (expires, payload) = rest.split_once('.')?;
        if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let input = mac_input(key, expires, payload);
        let genuine = generations.iter().any(|Generation(i)| {
            self.keys
                .get(*i)
                .is_some_and(|k| hmac::verify(k, &input, &tag).is_ok())
        });
        genuine.then_some((payload, expires.parse().ok()?))
    }

    /// Every generation, for values whose key does not depend on the secret (login states).
    pub(super) fn all(&self) -> Vec<Generation> {
        (0..self.keys.len()).map(Generation).collect()
    }
}

fn mac_input(key: &str, expires: &str, payload: &str) -> Vec<u8> {
    [
        key.as_bytes(),
        b"\n",
        expires.as_bytes(),
        b"\n",
        payload.as_bytes(),
    ]
    .concat()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "a-redis-secret-of-32-characters!";
    const B: &str = "another-redis-secret-32-chars-ok";

    fn sealer(current: &str, previous: &str) -> Sealer {
        Sealer::new(&Secret::new(current), &Secret::new(previous))
    }

    /// What `value` opens to under `key`, trying every secret `s` holds.
    fn opened<'v>(s: &Sealer, key: &str, value: &'v [u8]) -> Option<(&'v str, u64)> {
        s.open(key, value, &s.all())
    }

    #[test]
    fn keys_are_keyed_hashes_never_the_token_or_its_plain_hash() {
        let token = [0xabu8; 32];
        let keys = sealer(A, "").verdict_keys(&token);
        assert_eq!(keys.len(), 1);
        let (_, name) = &keys[0];
        assert_eq!(name.len(), KEY_PREFIX.len() + 64);
        assert!(name.starts_with(KEY_PREFIX) && !name.contains("abab"));
        assert_ne!(
            sealer(B, "").verdict_keys(&token)[0].1,
            *name,
            "another secret, another key"
        );
        let rotated = sealer(B, A).verdict_keys(&token);
        assert_eq!(
            rotated[1].1, *name,
            "the previous secret's key is still read"
        );
    }

    #[test]
    fn a_sealed_value_opens_only_under_its_key_and_secret() {
        let s = sealer(A, "");
        let value = s.seal("k1", 1_900_000_000_000, "o:17841405793187219:jay.dots");
        assert_eq!(
            opened(&s, "k1", value.as_bytes()),
            Some(("o:17841405793187219:jay.dots", 1_900_000_000_000))
        );
        assert_eq!(
            opened(&s, "k2", value.as_bytes()),
            None,
            "copied to another key"
        );
        assert_eq!(opened(&sealer(B, ""), "k1", value.as_bytes()), None);
        assert_eq!(
            sealer(B, A).open("k1", value.as_bytes(), &[Generation(1)]),
            Some(("o:17841405793187219:jay.dots", 1_900_000_000_000)),
            "rotation: the previous secret opens what it sealed"
        );
    }

    #[test]
    fn tampering_and_foreign_values_are_refused() {
        let s = sealer(A, "");
        let value = s.seal("k", 1_900_000_000_000, "o:1");
        let (tag, _) = value.split_once('.').unwrap();
        for forged in [
            "o:17841405793187219".to_string(),
            "o:1:x".to_string(),
            format!("{tag}.1900000000001.o:1"),
            format!("{tag}.1900000000000.o:2"),
            format!("{tag}..o:1"),
            format!("{tag}.+1.o:1"),
            value.replacen('.', "", 1),
            String::new(),
        ] {
            assert_eq!(opened(&s, "k", forged.as_bytes()), None, "{forged}");
        }
        assert_eq!(opened(&s, "k", &[0xff, b'.', b'1', b'.', b'x']), None);
    }
}
