//! Meta's `signed_request` (deauthorize and data-deletion callbacks): `<sig>.<payload>`, both
//! base64url without padding, `sig` = HMAC-SHA256(app secret, the ENCODED payload). Verified
//! here, pure and bounded, before anything in the payload is believed.
//!
//! Also the request's code: derived from the signed payload with the same secret, so a replayed
//! request gets the same code (idempotent) whichever callback it is posted to, and nobody
//! without the secret can compute or guess one. The code carries its own MAC, so a guessed one is
//! refused before anything is looked up.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use serde::Deserialize;

use super::IgId;

/// Real signed requests are about 150 characters; anything far larger is not one.
pub(crate) const MAX_LEN: usize = 2048;
/// An HMAC-SHA256 is 32 bytes: 43 base64url characters without padding.
const SIGNATURE_CHARS: usize = 43;
/// The only algorithm Meta signs with, and the only one accepted.
const ALGORITHM: &str = "HMAC-SHA256";
/// Bytes of HMAC naming a request in its code (96 bits: unguessable, short enough to read out).
const CODE_BYTES: usize = 12;
/// Bytes of the MAC over those that end a code (64 bits): a guessed code fails it.
const TAG_BYTES: usize = 8;
/// Hex digits of a whole code.
const CODE_CHARS: usize = (CODE_BYTES + TAG_BYTES) * 2;
/// How far ahead of igauth's clock `issued_at` may be (clocks drift; Meta's does not run ahead).
pub(crate) const MAX_SKEW_SECS: u64 = 300;

/// Why a signed request was refused. None of these says anything about the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignedRequestError {
    /// Not `<signature>.<payload>` in strict unpadded base64url, or too long.
    Malformed,
    /// The signature is not the app secret's HMAC of the payload.
    BadSignature,
    /// Signed, but the payload is not the JSON object Meta sends (with a `user_id`).
    BadPayload,
    /// The payload names an algorithm other than HMAC-SHA256.
    WrongAlgorithm,
    /// `issued_at` is older than the configured window: a captured request, not Meta's retry.
    Stale,
    /// `issued_at` is further in the future than clocks drift.
    FromTheFuture,
    /// This request was already handled by Meta's other callback.
    UsedElsewhere,
}

impl fmt::Display for SignedRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignedRequestError::Malformed => {
                "signed_request is not <signature>.<payload> in unpadded base64url"
            }
            SignedRequestError::BadSignature => {
                "signed_request is not signed with this app's secret"
            }
            SignedRequestError::BadPayload => {
                "signed_request's payload is not a JSON object with a numeric user_id and a \
                 numeric issued_at"
            }
            SignedRequestError::WrongAlgorithm => "signed_request must use HMAC-SHA256",
            SignedRequestError::Stale => {
                "signed_request was issued too long ago (IGAUTH_META__SIGNED_REQUEST_MAX_AGE_SECS)"
            }
            SignedRequestError::FromTheFuture => "signed_request's issued_at is in the future",
            SignedRequestError::UsedElsewhere => {
                "signed_request was already handled by Meta's other callback"
            }
        })
    }
}

#[derive(Deserialize)]
struct Payload {
    algorithm: String,
    user_id: IgId,
    /// Seconds since the epoch; a number (a string, a float or a missing one is refused).
    issued_at: u64,
}

/// A request Meta signed with our app secret.
#[derive(Debug, Clone)]
pub(crate) struct SignedRequest {
    /// The Instagram id Meta names (which of the two ids is not documented: match both).
    pub(crate) user_id: IgId,
    /// When Meta signed it, in seconds since the epoch.
    pub(crate) issued_at: u64,
    /// The encoded payload exactly as signed: what the confirmation code is derived from.
    encoded_payload: String,
}

impl SignedRequest {
    /// Verifies `raw` with `secret`: the signature first (in constant time, before the payload
    /// is even decoded), then the payload's algorithm and user id.
    pub(crate) fn verify(raw: &str, secret: &[u8]) -> Result<SignedRequest, SignedRequestError> {
        if raw.len() > MAX_LEN {
            return Err(SignedRequestError::Malformed);
        }
        let (signature, payload) = raw.split_once('.').ok_or(SignedRequestError::Malformed)?;
        if signature.len() != SIGNATURE_CHARS || payload.is_empty() || payload.contains('.') {
            return Err(SignedRequestError::Malformed);
        }
        // Strict: the unpadded alphabet only, no padding, no stray trailing bits.
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| SignedRequestError::Malformed)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| SignedRequestError::Malformed)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        hmac::verify(&key, payload.as_bytes(), &signature)
            .map_err(|_| SignedRequestError::BadSignature)?;
        let decoded: Payload =
            serde_json::from_slice(&json).map_err(|_| SignedRequestError::BadPayload)?;
        // Meta's own sample compares the upper-cased name.
        if !decoded.algorithm.eq_ignore_ascii_case(ALGORITHM) {
            return Err(SignedRequestError::WrongAlgorithm);
        }
        Ok(SignedRequest {
            user_id: decoded.user_id,
            issued_at: decoded.issued_at,
            encoded_payload: payload.to_string(),
        })
    }

    /// Refuses a request issued more than `max_age_secs` before `now_secs` (a captured one
    /// replayed later) or more than [`MAX_SKEW_SECS`] after it.
    pub(crate) fn check_fresh(
        &self,
        now_secs: u64,
        max_age_secs: u64,
    ) -> Result<(), SignedRequestError> {
        if self.issued_at > now_secs.saturating_add(MAX_SKEW_SECS) {
            return Err(SignedRequestError::FromTheFuture);
        }
        if now_secs > self.issued_at.saturating_add(max_age_secs) {
            return Err(SignedRequestError::Stale);
        }
        Ok(())
    }

    /// The code of this request: the first 96 bits of HMAC-SHA256(secret, payload), then a 64-bit
    /// MAC over them, in hex. The same signed request always gets the same code, on either
    /// callback, so one record says whether it was handled and where.
    pub(crate) fn code(&self, secret: &[u8]) -> ConfirmationCode {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let input = format!("igauth-meta-request\n{}", self.encoded_payload);
        let tag = hmac::sign(&key, input.as_bytes());
        let mut code = String::with_capacity(CODE_CHARS);
        push_hex(&mut code, &tag.as_ref()[..CODE_BYTES]);
        let mac = code_mac(&key, &code);
        push_hex(&mut code, &mac[..TAG_BYTES]);
        ConfirmationCode(code)
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}

/// The MAC that ends a code, over its first part (hex).
fn code_mac(key: &hmac::Key, id_hex: &str) -> [u8; TAG_BYTES] {
    let input = format!("igauth-meta-code\n{id_hex}");
    let tag = hmac::sign(key, input.as_bytes());
    let mut out = [0u8; TAG_BYTES];
    out.copy_from_slice(&tag.as_ref()[..TAG_BYTES]);
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A signed request's code (a deletion request's confirmation code): 40 lowercase hex digits,
/// the last 16 a MAC over the first 24. Not a secret (Meta shows it to the person), but
/// unguessable, so its status page shows nothing to strangers, and a guess costs no lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfirmationCode(String);

impl ConfirmationCode {
    /// A code of the shape igauth hands out (its MAC not checked: for stored records, which
    /// are sealed or master-key only).
    pub(crate) fn parse(s: &str) -> Option<ConfirmationCode> {
        (s.len() == CODE_CHARS && s.bytes().all(|b| HEX.contains(&b)))
            .then(|| ConfirmationCode(s.to_string()))
    }

    /// A code from a URL, believed only when its MAC is `secret`'s: what a stranger guesses is
    /// refused here, before anything is looked up.
    pub(crate) fn verified(s: &str, secret: &[u8]) -> Option<ConfirmationCode> {
        let code = ConfirmationCode::parse(s)?;
        let (id, tag) = s.split_at(CODE_BYTES * 2);
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let mut expected = String::with_capacity(TAG_BYTES * 2);
        push_hex(&mut expected, &code_mac(&key, id));
        // Constant time: the difference of every byte, folded.
        let diff = expected
            .bytes()
            .zip(tag.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (diff == 0).then_some(code)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfirmationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"the-app-secret-of-this-test";

    /// Signs `payload` the way Meta documents it.
    fn sign_with(secret: &[u8], payload: &str) -> String {
        let encoded = URL_SAFE_NO_PAD.encode(payload);
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let sig = URL_SAFE_NO_PAD.encode(hmac::sign(&key, encoded.as_bytes()).as_ref());
        format!("{sig}.{encoded}")
    }

    fn sign(payload: &str) -> String {
        sign_with(SECRET, payload)
    }

    const META_EXAMPLE: &str =
        r#"{"algorithm":"HMAC-SHA256","issued_at":1732000000,"user_id":"17841405793187219"}"#;

    #[test]
    fn metas_documented_example_verifies() {
        let request = SignedRequest::verify(&sign(META_EXAMPLE), SECRET).unwrap();
        assert_eq!(request.user_id.as_str(), "17841405793187219");
        let with_expires = r#"{"algorithm":"hmac-sha256","expires":1,"issued_at":1,"user_id":"5"}"#;
        assert!(SignedRequest::verify(&sign(with_expires), SECRET).is_ok());
    }

    #[test]
    fn a_user_id_above_2_53_stays_exact() {
        let payload = r#"{"algorithm":"HMAC-SHA256","issued_at":1,"user_id":27640875392278831}"#;
        let request = SignedRequest::verify(&sign(payload), SECRET).unwrap();
        assert_eq!(request.user_id.as_str(), "27640875392278831");
    }

    #[test]
    fn forged_tampered_and_foreign_signatures_are_refused() {
        let good = sign(META_EXAMPLE);
        assert_eq!(
            SignedRequest::verify(&good, b"another-secret").unwrap_err(),
            SignedRequestError::BadSignature
        );
        let other = sign(&META_EXAMPLE.replace("219", "218"));
        let (sig, _) = good.split_once('.').unwrap();
        let (_, tampered) = other.split_once('.').unwrap();
        assert_eq!(
            SignedRequest::verify(&format!("{sig}.{tampered}"), SECRET).unwrap_err(),
            SignedRequestError::BadSignature
        );
        let zeros = URL_SAFE_NO_PAD.encode([0u8; 32]);
        let (_, payload) = good.split_once('.').unwrap();
        assert_eq!(
            SignedRequest::verify(&format!("{zeros}.{payload}"), SECRET).unwrap_err(),
            SignedRequestError::BadSignature
        );
    }

    #[test]
    fn other_algorithms_are_refused_even_when_signed() {
        for algorithm in ["HMAC-SHA1", "none", "", "HMAC-SHA256 "] {
            let payload = format!(r#"{{"algorithm":"{algorithm}","issued_at":1,"user_id":"1"}}"#);
            assert_eq!(
                SignedRequest::verify(&sign(&payload), SECRET).unwrap_err(),
                SignedRequestError::WrongAlgorithm,
                "{algorithm}"
            );
        }
    }

    #[test]
    fn hostile_shapes_are_malformed() {
        let good = sign(META_EXAMPLE);
        let (sig, payload) = good.split_once('.').unwrap();
        let padded_payload = {
            let mut p = payload.to_string();
            while p.len() % 4 != 0 {
                p.push('=');
            }
            p
        };
        let cases = [
            String::new(),
            ".".into(),
            sig.to_string(),
            format!("{sig}."),
            format!(".{payload}"),
            format!("{sig}.{payload}.extra"),
            format!("{sig}..{payload}"),
            format!("{sig}=.{payload}"),
            format!("{sig}.{padded_payload}"),
            format!(
                "{}.{payload}",
                sig.replace('-', "+").replace('_', "/") + "+"
            ),
            format!("{sig}x.{payload}"),
            format!("{}.{payload}", &sig[..42]),
            format!("{sig}.{payload}{}", "A".repeat(MAX_LEN)),
            format!("{}.{payload}", "A".repeat(MAX_LEN)),
            format!("{sig}.pay load"),
            format!("{sig}.ü"),
        ];
        for raw in cases {
            assert_eq!(
                SignedRequest::verify(&raw, SECRET).unwrap_err(),
                SignedRequestError::Malformed,
                "{}",
                &raw[..raw.len().min(80)]
            );
        }
    }

    #[test]
    fn signed_nonsense_is_a_bad_payload() {
        for payload in [
            "not json",
            "[]",
            r#"{"algorithm":"HMAC-SHA256"}"#,
            r#"{"algorithm":"HMAC-SHA256","user_id":"12a"}"#,
            r#"{"algorithm":"HMAC-SHA256","user_id":-1}"#,
            r#"{"algorithm":"HMAC-SHA256","user_id":1.5}"#,
            r#"{"algorithm":"HMAC-SHA256","user_id":1e20}"#,
            r#"{"algorithm":"HMAC-SHA256","user_id":123456789012345678901234567890}"#,
            r#"{"user_id":"1"}"#,
        ] {
            assert_eq!(
                SignedRequest::verify(&sign(payload), SECRET).unwrap_err(),
                SignedRequestError::BadPayload,
                "{payload}"
            );
        }
    }

    #[test]
    fn codes_are_stable_per_request_and_carry_their_own_mac() {
        let a = SignedRequest::verify(&sign(META_EXAMPLE), SECRET).unwrap();
        let again = SignedRequest::verify(&sign(META_EXAMPLE), SECRET).unwrap();
        let code = a.code(SECRET);
        assert_eq!(code, again.code(SECRET));
        assert_ne!(code, a.code(b"other"));
        assert_eq!(code.as_str().len(), 40);
        assert_eq!(
            ConfirmationCode::verified(code.as_str(), SECRET),
            Some(code.clone())
        );
        assert_eq!(ConfirmationCode::verified(code.as_str(), b"other"), None);
        // One digit of the MAC changed, or of the id: refused without a lookup.
        for i in [0, 23, 24, 39] {
            let mut bad = code.as_str().as_bytes().to_vec();
            bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
            let bad = String::from_utf8(bad).unwrap();
            assert_eq!(ConfirmationCode::verified(&bad, SECRET), None, "{bad}");
        }
        for bad in [
            "",
            "ABCDEF0123456789abcdef01ABCDEF0123456789",
            "0123",
            &"a".repeat(24),
            &"a".repeat(41),
            "g".repeat(40).as_str(),
        ] {
            assert_eq!(ConfirmationCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn issued_at_must_be_a_number_and_fresh() {
        for payload in [
            r#"{"algorithm":"HMAC-SHA256","user_id":"1"}"#,
            r#"{"algorithm":"HMAC-SHA256","issued_at":"yesterday","user_id":"1"}"#,
            r#"{"algorithm":"HMAC-SHA256","issued_at":"1732000000","user_id":"1"}"#,
            r#"{"algorithm":"HMAC-SHA256","issued_at":-1,"user_id":"1"}"#,
            r#"{"algorithm":"HMAC-SHA256","issued_at":1.5,"user_id":"1"}"#,
            r#"{"algorithm":"HMAC-SHA256","issued_at":null,"user_id":"1"}"#,
        ] {
            assert_eq!(
                SignedRequest::verify(&sign(payload), SECRET).unwrap_err(),
                SignedRequestError::BadPayload,
                "{payload}"
            );
        }
        let request = SignedRequest::verify(&sign(META_EXAMPLE), SECRET).unwrap();
        let issued = 1_732_000_000;
        let day = 86_400;
        assert_eq!(request.check_fresh(issued, day), Ok(()));
        assert_eq!(request.check_fresh(issued + day, day), Ok(()));
        assert_eq!(
            request.check_fresh(issued + day + 1, day),
            Err(SignedRequestError::Stale)
        );
        assert_eq!(request.check_fresh(issued - MAX_SKEW_SECS, day), Ok(()));
        assert_eq!(
            request.check_fresh(issued - MAX_SKEW_SECS - 1, day),
            Err(SignedRequestError::FromTheFuture)
        );
    }
}
