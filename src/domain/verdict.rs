//! What Instagram said about a token ([`Lookup`], the fact every cache keeps, with its stored
//! form) and the answer to one claim ([`Verdict`]).

use std::fmt;
use std::sync::Arc;

use super::IgId;

/// Who Instagram's `/me` says a token belongs to: its id and username.
///
/// Every cached verdict holds one, and 100,000 cached owners are a memory budget, not a rounding
/// error: so both live in ONE shared allocation, `<id>` or `<id>:<username>` (ids are digits, so
/// the first `:` ends the id), instead of a struct and two strings. Clones share it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TokenOwner(Arc<str>);

impl TokenOwner {
    pub(crate) fn new(id: &IgId, username: Option<&str>) -> TokenOwner {
        TokenOwner(match username {
            Some(name) => format!("{id}:{name}").into(),
            None => id.as_str().into(),
        })
    }

    /// The id: decimal digits only (it was an [`IgId`]).
    pub(crate) fn id(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(id, _)| id)
    }

    pub(crate) fn username(&self) -> Option<&str> {
        self.0.split_once(':').map(|(_, name)| name)
    }

    /// Whether this is exactly the claimed id (exact text: no numeric conversion on the way).
    pub(crate) fn is(&self, claimed: &IgId) -> bool {
        self.id() == claimed.as_str()
    }
}

impl fmt::Debug for TokenOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenOwner")
            .field("id", &self.id())
            .field("username", &self.username())
            .finish()
    }
}

/// Why Instagram (or the comparison with its answer) refused a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RejectReason {
    /// Graph error 190: not a token Instagram knows.
    InvalidToken,
    /// Graph error 190 with subcode 463: a real token past its lifetime.
    ExpiredToken,
    /// The token is real, but it belongs to another user.
    IdMismatch,
}

impl RejectReason {
    pub(crate) fn code(self) -> &'static str {
        match self {
            RejectReason::InvalidToken => "invalid_token",
            RejectReason::ExpiredToken => "expired_token",
            RejectReason::IdMismatch => "id_mismatch",
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            RejectReason::InvalidToken => "Instagram does not accept this access token.",
            RejectReason::ExpiredToken => {
                "This access token has expired; the user must log in with Instagram again."
            }
            RejectReason::IdMismatch => "This access token belongs to a different Instagram user.",
        }
    }
}

/// What Instagram's `/me` said about a token: the fact we cache. It depends on the token only, so
/// `/v1/introspect` (no claimed id) and `/v1/validate` share it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Owner(TokenOwner),
    Rejected(RejectReason),
}

impl Lookup {
    /// The answer to "does this token belong to `claimed`?". Ids compare as exact strings.
    pub(crate) fn verdict_for(&self, claimed: &IgId) -> Verdict {
        match self {
            Lookup::Owner(owner) if owner.is(claimed) => Verdict::Valid(owner.clone()),
            Lookup::Owner(_) => Verdict::Rejected(RejectReason::IdMismatch),
            Lookup::Rejected(reason) => Verdict::Rejected(*reason),
        }
    }

    /// The stored form (the shared cache's values): `o:<id>` (owner, no username),
    /// `o:<id>:<username>`, or `r:invalid` / `r:expired` / `r:mismatch`. Ids are digits only, so
    /// the first `:` after the id ends it and the username may contain anything.
    pub(crate) fn encode(&self) -> String {
        match self {
            Lookup::Owner(owner) => format!("o:{}", owner.0),
            Lookup::Rejected(reason) => format!(
                "r:{}",
                match reason {
                    RejectReason::InvalidToken => "invalid",
                    RejectReason::ExpiredToken => "expired",
                    RejectReason::IdMismatch => "mismatch",
                }
            ),
        }
    }

    /// The lookup a stored value stands for; `None` for anything [`Lookup::encode`] would not
    /// have written.
    pub(crate) fn decode(value: &[u8]) -> Option<Lookup> {
        let text = std::str::from_utf8(value).ok()?;
        if let Some(owner) = text.strip_prefix("o:") {
            let (id, username) = match owner.split_once(':') {
                Some((id, name)) => (id, Some(name)),
                None => (owner, None),
            };
            let id = IgId::parse(id).ok()?;
            return Some(Lookup::Owner(TokenOwner::new(&id, username)));
        }
        let reason = match text.strip_prefix("r:")? {
            "invalid" => RejectReason::InvalidToken,
            "expired" => RejectReason::ExpiredToken,
            "mismatch" => RejectReason::IdMismatch,
            _ => return None,
        };
        Some(Lookup::Rejected(reason))
    }
}

/// The answer to one validation. There is no "unknown" variant on purpose: when Instagram does
/// not answer, callers get an upstream error instead of a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Valid(TokenOwner),
    Rejected(RejectReason),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_id_is_valid() {
        let owner = Lookup::Owner(TokenOwner::new(
            &IgId::parse("17841405793187219").unwrap(),
            None,
        ));
        assert!(matches!(
            owner.verdict_for(&IgId::parse("17841405793187219").unwrap()),
            Verdict::Valid(_)
        ));
        for other in ["17841405793187218", "017841405793187219"] {
            assert_eq!(
                owner.verdict_for(&IgId::parse(other).unwrap()),
                Verdict::Rejected(RejectReason::IdMismatch)
            );
        }
    }

    #[test]
    fn id_and_username_come_back_apart() {
        let id = IgId::parse("17841405793187219").unwrap();
        let owner = TokenOwner::new(&id, Some("jay:with.colon"));
        assert_eq!(owner.id(), "17841405793187219");
        assert_eq!(owner.username(), Some("jay:with.colon"));
        assert!(owner.is(&id));
        let nameless = TokenOwner::new(&id, None);
        assert_eq!((nameless.id(), nameless.username()), (id.as_str(), None));
        assert_eq!(TokenOwner::new(&id, Some("")).username(), Some(""));
    }

    fn owner(id: &str, username: Option<&str>) -> Lookup {
        Lookup::Owner(TokenOwner::new(&IgId::parse(id).unwrap(), username))
    }

    #[test]
    fn every_lookup_survives_the_round_trip() {
        for lookup in [
            owner("17841405793187219", Some("jay")),
            owner("0042", None),
            owner("1", Some("")),
            owner("2", Some("we:ird name ✓")),
            Lookup::Rejected(RejectReason::InvalidToken),
            Lookup::Rejected(RejectReason::ExpiredToken),
            Lookup::Rejected(RejectReason::IdMismatch),
        ] {
            let stored = lookup.encode();
            assert_eq!(Lookup::decode(stored.as_bytes()), Some(lookup), "{stored}");
        }
        assert_eq!(
            owner("17841405793187219", Some("jay")).encode(),
            "o:17841405793187219:jay"
        );
    }

    #[test]
    fn foreign_values_are_not_lookups() {
        for junk in ["", "o:", "o:12a", "o:-1:x", "r:", "r:maybe", "x:1", "O:1"] {
            assert_eq!(Lookup::decode(junk.as_bytes()), None, "{junk:?}");
        }
        assert_eq!(Lookup::decode(&[b'o', b':', 0xff]), None);
    }
}
