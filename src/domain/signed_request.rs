//! Meta's `signed_request` (deauthorize and data-deletion callbacks): `<sig>.<payload>`, both
//! base64url without padding, `sig` = HMAC-SHA256(app secret, the ENCODED payload). Verified
//! here, pure and bounded, before anything in the payload is believed.
//!
//! Also the confirmation code of a deletion request: derived from the signed payload with the
//! same secret, so a replayed request gets the same code (idempotent) and nobody without the
//! secret can compute or guess one.

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
/// Bytes of HMAC kept in a confirmation code (96 bits: unguessable, short enough to read out).
const CODE_BYTES: usize = 12;

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
                "signed_request's payload is not a JSON object with a numeric user_id"
            }
            SignedRequestError::WrongAlgorithm => "signed_request must use HMAC-SHA256",
        })
    }
}

#[derive(Deserialize)]
struct Payload {
    algorithm: String,
    user_id: IgId,
}

/// A request Meta signed with our app secret.
#[derive(Debug, Clone)]
pub(crate) struct SignedRequest {
    /// The Instagram id Meta names (which of the two ids is not documented: match both).
    pub(crate) user_id: IgId,
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
            encoded_payload: payload.to_string(),
        })
    }

    /// The confirmation code for this request as `purpose` (e.g. "data_deletion"): the first
    /// 96 bits of HMAC-SHA256(secret, purpose + payload), in hex. The same signed request always
    /// gets the same code.
    pub(crate) fn confirmation_code(&self, secret: &[u8], purpose: &str) -> ConfirmationCode {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let input = format!(
            "igauth-meta-confirmation\n{purpose}\n{}",
            self.encoded_payload
        );
        let tag = hmac::sign(&key, input.as_bytes());
        let mut code = String::with_capacity(CODE_BYTES * 2);
        for byte in &tag.as_ref()[..CODE_BYTES] {
            code.push(char::from(HEX[usize::from(byte >> 4)]));
            code.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        ConfirmationCode(code)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A deletion request's confirmation code: 24 lowercase hex digits. Not a secret (Meta shows
/// it to the person), but unguessable, so its status page shows nothing to strangers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfirmationCode(String);

impl ConfirmationCode {
    /// A code from a URL: exactly the shape igauth hands out, or nothing.
    pub(crate) fn parse(s: &str) -> Option<ConfirmationCode> {
        (s.len() == CODE_BYTES * 2 && s.bytes().all(|b| HEX.contains(&b)))
            .then(|| ConfirmationCode(s.to_string()))
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
            let payload = format!(r#"{{"algorithm":"{algorithm}","user_id":"1"}}"#);
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
    fn confirmation_codes_are_stable_per_request_and_purpose() {
        let a = SignedRequest::verify(&sign(META_EXAMPLE), SECRET).unwrap();
        let again = SignedRequest::verify(&sign(META_EXAMPLE), SECRET).unwrap();
        let code = a.confirmation_code(SECRET, "data_deletion");
        assert_eq!(code, again.confirmation_code(SECRET, "data_deletion"));
        assert_ne!(code, a.confirmation_code(SECRET, "deauthorize"));
        assert_ne!(code, a.confirmation_code(b"other", "data_deletion"));
        assert_eq!(code.as_str().len(), 24);
        assert_eq!(ConfirmationCode::parse(code.as_str()), Some(code.clone()));
        for bad in [
            "",
            "ABCDEF0123456789abcdef01",
            "0123",
            &"a".repeat(25),
            "g".repeat(24).as_str(),
        ] {
            assert_eq!(ConfirmationCode::parse(bad), None, "{bad}");
        }
    }
}
