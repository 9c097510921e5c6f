//! A MAC for rows igauth keeps in a store it does not hold alone (Parse's classes, which the
//! master key or a misconfigured class-level permission could let something else write): an
//! HMAC-SHA256 over a purpose and the row's text, carried beside it as unpadded base64url. A row
//! is believed only when its MAC verifies (constant time), so a planted or edited row never
//! decides whom igauth signs in or deletes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

pub(crate) struct RowMac {
    key: hmac::Key,
    /// Keeps the MACs of one kind of row from standing for another's.
    purpose: &'static str,
}

impl RowMac {
    pub(crate) fn new(secret: &[u8], purpose: &'static str) -> RowMac {
        RowMac {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            purpose,
        }
    }

    /// The MAC of `text`, to store beside it.
    pub(crate) fn tag(&self, text: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, self.message(text).as_bytes()).as_ref())
    }

    /// Whether `tag` is this key's MAC of `text`.
    pub(crate) fn verifies(&self, text: &str, tag: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(tag)
            .is_ok_and(|tag| hmac::verify(&self.key, self.message(text).as_bytes(), &tag).is_ok())
    }

    fn message(&self, text: &str) -> String {
        format!("{}\n{text}", self.purpose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_verifies_only_its_text_key_and_purpose() {
        let mac = RowMac::new(b"key-one", "igauth-link");
        let tag = mac.tag("17841405793187219\nu1");
        assert!(mac.verifies("17841405793187219\nu1", &tag));
        assert!(!mac.verifies("17841405793187219\nu2", &tag));
        assert!(!RowMac::new(b"key-two", "igauth-link").verifies("17841405793187219\nu1", &tag));
        assert!(!RowMac::new(b"key-one", "igauth-deletion").verifies("17841405793187219\nu1", &tag));
        assert!(!mac.verifies("17841405793187219\nu1", "not base64!"));
    }
}
