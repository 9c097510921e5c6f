//! The login flow's `state` parameter and the `return_to` it carries.
//!
//! A state is `base64url(payload) "." base64url(HMAC-SHA256(payload))` (no padding), where the
//! payload is `version (1 byte) | expires_at (u64 seconds, big-endian) | nonce (16 random bytes) |
//! return_to (UTF-8)`. It is:
//! - **signed**: only a holder of `IGAUTH_SERVER__STATE_SECRET` can make one, and the signature
//!   is checked in constant time (`ring::hmac::verify`) before any byte of the payload is used;
//! - **expiring**: ten minutes after it was issued it is refused;
//! - **single-use**: the nonce of every accepted state is remembered until the state would have
//!   expired anyway, and a second use is refused.
//!
//! The signature proves igauth issued the state, not that *this browser* asked for it; the routes
//! bind it to the browser with a cookie named after [`Nonce::id`].
//!
//! The return target is checked against the operator's allow-list by [`ReturnTo::parse`] when the
//! flow starts and again when it ends, so a signed state can never send anyone elsewhere.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use moka::future::Cache;
use moka::policy::EvictionPolicy;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::settings::Secret;

/// How long a login may take from the redirect to Instagram until the callback.
pub const STATE_TTL: Duration = Duration::from_secs(600);
/// Longest `return_to` accepted; the state travels in URLs through Instagram.
pub const MAX_RETURN_TO: usize = 1024;
/// Shortest state secret accepted; a short HMAC key could be guessed offline from one state.
pub const MIN_SECRET_LEN: usize = 32;
/// Remembered spent nonces; far above what the per-client rate limits let through in ten minutes.
const MAX_SPENT: u64 = 1_000_000;
const NONCE_LEN: usize = 16;
const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + NONCE_LEN;
/// Longest state we even try to decode.
const MAX_STATE_LEN: usize = 2 * (HEADER_LEN + MAX_RETURN_TO) + 64;

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

/// The random part of a state: what makes it single-use and what binds it to a browser.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A printable form (22 base64url characters), safe in a cookie name.
    pub fn id(&self) -> String {
        b64url_encode(&self.0)
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce(..)")
    }
}

/// A freshly signed state, to send to Instagram.
#[derive(Debug)]
pub struct IssuedState {
    pub value: String,
    pub nonce: Nonce,
}

/// A state that is signed by us, in time, and not used yet; [`LoginStates::spend`] uses it.
#[derive(Debug)]
pub struct OpenedState {
    pub return_to: String,
    pub nonce: Nonce,
}

/// A state that verified: signed by us, in time, and used for the first time.
#[derive(Debug)]
pub struct VerifiedState {
    pub return_to: String,
    pub nonce: Nonce,
}

/// Why a state was refused. Only [`StateError::Forged`] means the return target is unknown;
/// the others were signed by us, so their (re-checked) return target can be told what happened.
#[derive(Debug, PartialEq, Eq)]
pub enum StateError {
    /// No state secret is configured.
    NotConfigured,
    /// Missing, malformed, or the signature does not match: nothing in it can be trusted.
    Forged,
    /// Signed by us, but older than [`STATE_TTL`].
    Expired { return_to: String },
    /// Signed by us and in time, but already used once.
    Replayed { return_to: String },
}

/// A state's lifetime plus a margin for clocks and slow requests.
fn remembered_for(ttl: Duration) -> Duration {
    ttl + Duration::from_secs(5)
}

/// Issues and verifies states; remembers spent nonces. One per process, shared by all workers.
pub struct LoginStates {
    key: Option<hmac::Key>,
    ttl: Duration,
    spent: Cache<Nonce, ()>,
    rng: SystemRandom,
}

impl LoginStates {
    /// With no secret (or one shorter than [`MIN_SECRET_LEN`]) nothing can be issued or verified.
    pub fn new(secret: &Secret) -> LoginStates {
        LoginStates::with_ttl(secret, STATE_TTL)
    }

    pub fn with_ttl(secret: &Secret, ttl: Duration) -> LoginStates {
        let key = (secret.expose().len() >= MIN_SECRET_LEN)
            .then(|| hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes()));
        LoginStates {
            key,
            ttl,
            spent: Cache::builder()
                .max_capacity(MAX_SPENT)
                .time_to_live(remembered_for(ttl))
                // LRU admits every insert; the default TinyLFU may decline a new (spent) nonce.
                .eviction_policy(EvictionPolicy::lru())
                .build(),
            rng: SystemRandom::new(),
        }
    }

    /// How long a spent nonce must be remembered: while its state could still verify.
    pub fn remembered_for(&self) -> Duration {
        remembered_for(self.ttl)
    }

    pub fn is_configured(&self) -> bool {
        self.key.is_some()
    }

    pub fn issue(&self, return_to: &ReturnTo) -> Result<IssuedState, StateError> {
        self.issue_at(return_to, now_secs())
    }

    /// Issues a state as if the clock read `now` (seconds since the epoch); for tests of expiry.
    pub fn issue_at(&self, return_to: &ReturnTo, now: u64) -> Result<IssuedState, StateError> {
        let key = self.key.as_ref().ok_or(StateError::NotConfigured)?;
        let mut nonce = [0u8; NONCE_LEN];
        // SystemRandom only fails when the OS has no entropy source; refuse rather than go on.
        self.rng
            .fill(&mut nonce)
            .map_err(|_| StateError::NotConfigured)?;
        let expires_at = now.saturating_add(self.ttl.as_secs());
        let mut payload = Vec::with_capacity(HEADER_LEN + return_to.0.len());
        payload.push(VERSION);
        payload.extend_from_slice(&expires_at.to_be_bytes());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(return_to.0.as_bytes());
        let tag = hmac::sign(key, &payload);
        Ok(IssuedState {
            value: format!(
                "{}.{}",
                b64url_encode(&payload),
                b64url_encode(tag.as_ref())
            ),
            nonce: Nonce(nonce),
        })
    }

    /// Checks signature, then expiry, then spends the nonce (atomically: of two concurrent uses
    /// exactly one wins).
    pub async fn verify(&self, state: &str) -> Result<VerifiedState, StateError> {
        self.verify_at(state, now_secs()).await
    }

    pub async fn verify_at(&self, state: &str, now: u64) -> Result<VerifiedState, StateError> {
        let opened = self.open_at(state, now)?;
        self.spend(opened).await
    }

    /// The first half of [`LoginStates::verify`]: signature, expiry, and whether the state was
    /// already used, without using it. Lets the caller make its own checks (the browser binding)
    /// before the state is spent, so a stranger who saw a state cannot burn it.
    pub fn open(&self, state: &str) -> Result<OpenedState, StateError> {
        self.open_at(state, now_secs())
    }

    pub fn open_at(&self, state: &str, now: u64) -> Result<OpenedState, StateError> {
        let key = self.key.as_ref().ok_or(StateError::NotConfigured)?;
        if state.is_empty() || state.len() > MAX_STATE_LEN {
            return Err(StateError::Forged);
        }
        let (payload, tag) = state.split_once('.').ok_or(StateError::Forged)?;
        let payload = b64url_decode(payload).ok_or(StateError::Forged)?;
        let tag = b64url_decode(tag).ok_or(StateError::Forged)?;
        hmac::verify(key, &payload, &tag).map_err(|_| StateError::Forged)?;
        // Signed by us from here on; a malformed payload would be our own bug, still refused.
        if payload.len() < HEADER_LEN || payload[0] != VERSION {
            return Err(StateError::Forged);
        }
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&payload[1..9]);
        let expires_at = u64::from_be_bytes(expires);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&payload[9..HEADER_LEN]);
        let return_to =
            String::from_utf8(payload[HEADER_LEN..].to_vec()).map_err(|_| StateError::Forged)?;
        if now >= expires_at {
            return Err(StateError::Expired { return_to });
        }
        let nonce = Nonce(nonce);
        if self.spent.contains_key(&nonce) {
            return Err(StateError::Replayed { return_to });
        }
        Ok(OpenedState { return_to, nonce })
    }

    /// Uses the state: of two concurrent spends of one state exactly one succeeds.
    pub async fn spend(&self, opened: OpenedState) -> Result<VerifiedState, StateError> {
        // Not `or_insert`: moka implements that as get-then-insert, so two threads can both see
        // a fresh entry. `or_insert_with` goes through moka's single-flight initializer, where
        // exactly one caller's future runs and is told its entry is fresh.
        let first_use = self
            .spent
            .entry(opened.nonce)
            .or_insert_with(std::future::ready(()))
            .await
            .is_fresh();
        if !first_use {
            return Err(StateError::Replayed {
                return_to: opened.return_to,
            });
        }
        Ok(VerifiedState {
            return_to: opened.return_to,
            nonce: opened.nonce,
        })
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 base64url without padding.
pub fn b64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Strict base64url without padding: refuses padding, other alphabets, impossible lengths and
/// non-zero leftover bits, so every byte string has exactly one accepted encoding.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        B64URL.iter().position(|&a| a == c).map(|v| v as u32)
    }
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let produced = chunk.len() - 1;
        // Bits below the last whole byte must be zero in a canonical encoding.
        if n & ((1 << (24 - 8 * produced)) - 1) != 0 {
            return None;
        }
        for i in 0..produced {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-state";
    const NOW: u64 = 1_800_000_000;

    fn states() -> LoginStates {
        LoginStates::new(&Secret::new(SECRET))
    }

    fn allowed(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn target(url: &str) -> ReturnTo {
        ReturnTo::parse(url, &allowed(&[url])).unwrap()
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            let text = b64url_encode(&bytes);
            assert!(!text.contains(['=', '+', '/']), "{text}");
            assert_eq!(b64url_decode(&text).as_deref(), Some(&bytes[..]), "{len}");
        }
        assert_eq!(b64url_encode(b"\xfb\xff"), "-_8");
    }

    #[test]
    fn base64url_decoding_is_strict() {
        assert_eq!(b64url_decode("QQ=="), None, "padding");
        assert_eq!(b64url_decode("QQ+/"), None, "standard alphabet");
        assert_eq!(b64url_decode("QUJDR"), None, "impossible length");
        assert_eq!(b64url_decode("QR"), None, "non-zero leftover bits");
        assert_eq!(b64url_decode("QQ").as_deref(), Some(&b"A"[..]));
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

    #[actix_web::test]
    async fn a_state_verifies_once_and_carries_its_return_target() {
        let states = states();
        let issued = states.issue_at(&target("myapp://auth"), NOW).unwrap();
        assert!(issued.value.len() < 200, "{}", issued.value.len());
        let verified = states.verify_at(&issued.value, NOW + 1).await.unwrap();
        assert_eq!(verified.return_to, "myapp://auth");
        assert_eq!(verified.nonce, issued.nonce);
        assert_eq!(
            states.verify_at(&issued.value, NOW + 2).await.unwrap_err(),
            StateError::Replayed {
                return_to: "myapp://auth".into()
            }
        );
    }

    #[actix_web::test]
    async fn opening_does_not_spend_and_spending_is_once() {
        let states = states();
        let issued = states.issue_at(&target("myapp://auth"), NOW).unwrap();
        let first = states.open_at(&issued.value, NOW).unwrap();
        let second = states.open_at(&issued.value, NOW).unwrap();
        assert!(states.spend(first).await.is_ok());
        assert!(matches!(
            states.spend(second).await,
            Err(StateError::Replayed { .. })
        ));
        assert!(matches!(
            states.open_at(&issued.value, NOW),
            Err(StateError::Replayed { .. })
        ));
    }

    #[test]
    fn of_concurrent_spends_on_many_threads_exactly_one_wins() {
        // Workers are threads: a check-then-insert would let two of them spend one state.
        let states = std::sync::Arc::new(states());
        for _ in 0..100 {
            let issued = states.issue_at(&target("myapp://auth"), NOW).unwrap();
            let start = std::sync::Arc::new(std::sync::Barrier::new(8));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let (states, start) = (states.clone(), start.clone());
                    let opened = states.open_at(&issued.value, NOW).unwrap();
                    std::thread::spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap();
                        start.wait();
                        runtime.block_on(states.spend(opened)).is_ok()
                    })
                })
                .collect();
            let won = threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|&won| won)
                .count();
            assert_eq!(won, 1);
        }
    }

    #[actix_web::test]
    async fn every_state_is_different() {
        let states = states();
        let a = states.issue_at(&target("myapp://auth"), NOW).unwrap();
        let b = states.issue_at(&target("myapp://auth"), NOW).unwrap();
        assert_ne!(a.value, b.value);
        assert_ne!(a.nonce.id(), b.nonce.id());
        assert_eq!(a.nonce.id().len(), 22);
    }

    #[actix_web::test]
    async fn a_state_expires_after_ten_minutes() {
        let states = states();
        let issued = states.issue_at(&target("myapp://auth"), NOW).unwrap();
        let at_expiry = NOW + STATE_TTL.as_secs();
        assert_eq!(
            states
                .verify_at(&issued.value, at_expiry)
                .await
                .unwrap_err(),
            StateError::Expired {
                return_to: "myapp://auth".into()
            }
        );
        // Refusing an expired state does not spend it: the error is about time, not reuse.
        assert!(states.verify_at(&issued.value, at_expiry - 1).await.is_ok());
    }

    #[actix_web::test]
    async fn any_flipped_bit_is_refused() {
        let states = states();
        let issued = states
            .issue_at(&target("https://a.example/x"), NOW)
            .unwrap();
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
                    states.verify_at(&tampered, NOW).await.unwrap_err(),
                    StateError::Forged,
                    "{tampered}"
                );
            }
        }
        // None of those attempts spent the genuine state.
        assert!(states.verify_at(&issued.value, NOW).await.is_ok());
    }

    #[actix_web::test]
    async fn a_state_from_another_secret_or_nonsense_is_forged() {
        let ours = states();
        let theirs = LoginStates::new(&Secret::new("another-secret-another-secret-32+"));
        let foreign = theirs.issue_at(&target("myapp://auth"), NOW).unwrap();
        for bad in [
            foreign.value.as_str(),
            "",
            ".",
            "abc",
            "abc.def",
            "%%%.%%%",
            &"A".repeat(MAX_STATE_LEN + 1),
        ] {
            assert_eq!(
                ours.verify_at(bad, NOW).await.unwrap_err(),
                StateError::Forged
            );
        }
    }

    #[actix_web::test]
    async fn a_payload_signed_with_a_new_return_target_is_forged() {
        // Splice: the payload of one state with the signature of another.
        let states = states();
        let a = states.issue_at(&target("https://a.example"), NOW).unwrap();
        let b = states.issue_at(&target("https://b.example"), NOW).unwrap();
        let (payload_a, _) = a.value.split_once('.').unwrap();
        let (_, tag_b) = b.value.split_once('.').unwrap();
        let spliced = format!("{payload_a}.{tag_b}");
        assert_eq!(
            states.verify_at(&spliced, NOW).await.unwrap_err(),
            StateError::Forged
        );
    }

    #[actix_web::test]
    async fn without_a_long_enough_secret_nothing_is_issued() {
        for secret in ["", "short-secret"] {
            let states = LoginStates::new(&Secret::new(secret));
            assert!(!states.is_configured());
            assert_eq!(
                states.issue_at(&target("myapp://auth"), NOW).unwrap_err(),
                StateError::NotConfigured
            );
            assert_eq!(
                states.verify_at("a.b", NOW).await.unwrap_err(),
                StateError::NotConfigured
            );
        }
    }
}
