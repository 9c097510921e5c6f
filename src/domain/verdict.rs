//! What Instagram said about a token ([`Lookup`], the fact every cache keeps, with its stored
//! form) and the answer to one claim ([`Verdict`]).

use std::fmt;
use std::sync::Arc;

use super::IgId;

/// Who Instagram's `/me` says a token belongs to: its id, its professional-account `user_id`
/// (when Instagram gives one) and username.
///
/// Every cached verdict holds one, and 100,000 cached owners are a memory budget, not a rounding
/// error: so all three live in ONE shared allocation, `<id>[,<user_id>][:<username>]` (ids are
/// digits, so the first `,` ends the id and the first `:` ends the ids), instead of a struct and
/// three strings. Clones share it. The `user_id` costs its digits and one comma, nothing when
/// absent.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TokenOwner(Arc<str>);

impl TokenOwner {
    pub(crate) fn new(id: &IgId, user_id: Option<&IgId>, username: Option<&str>) -> TokenOwner {
        let mut text = String::with_capacity(
            id.as_str().len()
                + user_id.map_or(0, |u| u.as_str().len() + 1)
                + username.map_or(0, |n| n.len() + 1),
        );
        text.push_str(id.as_str());
        if let Some(user_id) = user_id {
            text.push(',');
            text.push_str(user_id.as_str());
        }
        if let Some(name) = username {
            text.push(':');
            text.push_str(name);
        }
        TokenOwner(text.into())
    }

    /// `<id>[,<user_id>]`: everything before the first `:` (ids hold only digits).
    fn ids(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(ids, _)| ids)
    }

    /// The id `/me` names (app-scoped): decimal digits only (it was an [`IgId`]). The only id
    /// identity checks compare.
    pub(crate) fn id(&self) -> &str {
        let ids = self.ids();
        ids.split_once(',').map_or(ids, |(id, _)| id)
    }

    /// The professional-account id `/me` gave beside `id`, if any: what Meta's webhooks and
    /// perhaps its compliance callbacks name. Never used to decide who owns a token.
    pub(crate) fn user_id(&self) -> Option<&str> {
        self.ids().split_once(',').map(|(_, user_id)| user_id)
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
            .field("user_id", &self.user_id())
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
    #[cfg(test)]
    pub(crate) fn verdict_for(&self, claimed: &IgId) -> Verdict {
        self.verdict_for_ids(claimed, None)
    }

    /// Does this token belong to `claimed` (ids compare as exact strings)? And a claimed `user_id` must be the one `/me` gave (one `/me`
    /// did not give is not verified, so it is refused too).
    pub(crate) fn verdict_for_ids(&self, claimed: &IgId, user_id: Option<&IgId>) -> Verdict {
        let user_id_holds = |owner: &TokenOwner| {
            user_id.is_none_or(|claimed| owner.user_id() == Some(claimed.as_str()))
        };
        match self {
            Lookup::Owner(owner) if owner.is(claimed) && user_id_holds(owner) => {
                Verdict::Valid(owner.clone())
            }
            Lookup::Owner(_) => Verdict::Rejected(RejectReason::IdMismatch),
            Lookup::Rejected(reason) => Verdict::Rejected(*reason),
        }
    }

    /// The stored form (the shared cache's values): `o:<id>[,<user_id>][:<username>]` (an
    /// owner), or `r:invalid` / `r:expired` / `r:mismatch`. Ids are digits only, so the first `:`
    /// after the ids ends them and the username may contain anything. (Changing this form means
    /// bumping `KEY_PREFIX` in `shared_cache/seal.rs`.)
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
            let (ids, username) = match owner.split_once(':') {
                Some((ids, name)) => (ids, Some(name)),
                None => (owner, None),
            };
            let (id, user_id) = match ids.split_once(',') {
                Some((id, user_id)) => (id, Some(IgId::parse(user_id).ok()?)),
                None => (ids, None),
            };
            let id = IgId::parse(id).ok()?;
            return Some(Lookup::Owner(TokenOwner::new(
                &id,
                user_id.as_ref(),
                username,
            )));
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
            Some(&IgId::parse("27640875392278831").unwrap()),
            None,
        ));
        assert!(matches!(
            owner.verdict_for(&IgId::parse("17841405793187219").unwrap()),
            Verdict::Valid(_)
        ));
        // The professional-account id is not an identity: only `/me`'s `id` is.
        for other in [
            "17841405793187218",
            "017841405793187219",
            "27640875392278831",
        ] {
            assert_eq!(
                owner.verdict_for(&IgId::parse(other).unwrap()),
                Verdict::Rejected(RejectReason::IdMismatch)
            );
        }
    }

    #[test]
    fn id_and_username_come_back_apart() {
        let id = IgId::parse("17841405793187219").unwrap();
        let user_id = IgId::parse("27640875392278831").unwrap();
        let owner = TokenOwner::new(&id, Some(&user_id), Some("jay:with.colon,comma"));
        assert_eq!(owner.id(), "17841405793187219");
        assert_eq!(owner.user_id(), Some("27640875392278831"));
        assert_eq!(owner.username(), Some("jay:with.colon,comma"));
        assert!(owner.is(&id));
        let nameless = TokenOwner::new(&id, None, None);
        assert_eq!(
            (nameless.id(), nameless.user_id(), nameless.username()),
            (id.as_str(), None, None)
        );
        let no_user_id = TokenOwner::new(&id, None, Some("a,b"));
        assert_eq!(
            (no_user_id.id(), no_user_id.user_id()),
            (id.as_str(), None),
            "a comma in the username is not an id separator"
        );
        assert_eq!(TokenOwner::new(&id, None, Some("")).username(), Some(""));
    }

    fn owner(id: &str, username: Option<&str>) -> Lookup {
        Lookup::Owner(TokenOwner::new(&IgId::parse(id).unwrap(), None, username))
    }

    fn owner_with(id: &str, user_id: &str, username: Option<&str>) -> Lookup {
        let user_id = IgId::parse(user_id).unwrap();
        Lookup::Owner(TokenOwner::new(
            &IgId::parse(id).unwrap(),
            Some(&user_id),
            username,
        ))
    }

    #[test]
    fn every_lookup_survives_the_round_trip() {
        for lookup in [
            owner("17841405793187219", Some("jay")),
            owner("0042", None),
            owner("1", Some("")),
            owner("2", Some("we:ird name ✓")),
            owner("3", Some("co,mma")),
            owner_with("17841405793187219", "27640875392278831", Some("jay")),
            owner_with("4", "5", None),
            owner_with("6", "7", Some("a,b:c")),
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
        assert_eq!(
            owner_with("1", "2", Some("jay")).encode(),
            "o:1,2:jay",
            "the professional-account id rides in the same string"
        );
    }

    #[test]
    fn foreign_values_are_not_lookups() {
        for junk in [
            "", "o:", "o:12a", "o:-1:x", "o:1,", "o:1,x", "o:,1", "o:1,2,3", "r:", "r:maybe",
            "x:1", "O:1",
        ] {
            assert_eq!(Lookup::decode(junk.as_bytes()), None, "{junk:?}");
        }
        assert_eq!(Lookup::decode(&[b'o', b':', 0xff]), None);
    }
}
