//! An Instagram user id: digits only, never a float.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// An Instagram user id: decimal digits only, kept as text.
///
/// Instagram ids are 64-bit and exceed 2^53, so a JSON number would be silently rounded by any
/// `f64` on the way (27640875392278831 becomes ...832). This type accepts a JSON string or a JSON
/// integer (read as `u64`, exactly) and never anything fractional.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub(crate) struct IgId(Box<str>);

/// Longer than any 64-bit id, short enough to bound what we store and log.
const MAX_DIGITS: usize = 32;

impl IgId {
    pub(crate) fn parse(s: &str) -> Result<IgId, String> {
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > MAX_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "must be the numeric Instagram user id (at most {MAX_DIGITS} decimal digits)"
            ));
        }
        Ok(IgId(s.into()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IgId({})", self.0)
    }
}

impl<'de> Deserialize<'de> for IgId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IgId, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = IgId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id: a string of digits or a non-negative integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IgId, E> {
                Ok(IgId(v.to_string().into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IgId, E> {
                u64::try_from(v)
                    .map(|v| IgId(v.to_string().into()))
                    .map_err(|_| E::custom("id must not be negative"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<IgId, E> {
                Err(E::custom(
                    "id must be an integer below 2^64 or a string of digits (send large ids as strings)",
                ))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IgId, E> {
                IgId::parse(v).map_err(|m| E::custom(format!("id {m}")))
            }
        }
        d.deserialize_any(IdVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_above_2_pow_53_stay_exact() {
        let id: IgId = serde_json::from_str("27640875392278831").unwrap();
        assert_eq!(id.as_str(), "27640875392278831");
    }

    #[test]
    fn only_digits() {
        for bad in ["", "12a", "-1", "1.5", " 12", "１２"] {
            assert!(IgId::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["-1", "1.5", "true", "null", "[]", "1e3"] {
            assert!(serde_json::from_str::<IgId>(bad).is_err(), "{bad}");
        }
        assert_eq!(IgId::parse("0042").unwrap().as_str(), "0042");
    }
}
