use std::sync::Arc;

use super::IgId;

/// Who Instagram's `/me` says a token belongs to. Held by every cached verdict, so its text is
/// boxed (no spare capacity): 100,000 cached owners are a memory budget, not a rounding error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenOwner {
    pub id: IgId,
    pub username: Option<Box<str>>,
}

/// Why Instagram (or the comparison with its answer) refused a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// Graph error 190: not a token Instagram knows.
    InvalidToken,
    /// Graph error 190 with subcode 463: a real token past its lifetime.
    ExpiredToken,
    /// The token is real, but it belongs to another user.
    IdMismatch,
}

impl RejectReason {
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::InvalidToken => "invalid_token",
            RejectReason::ExpiredToken => "expired_token",
            RejectReason::IdMismatch => "id_mismatch",
        }
    }

    pub fn message(self) -> &'static str {
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
pub enum Lookup {
    Owner(Arc<TokenOwner>),
    Rejected(RejectReason),
}

impl Lookup {
    /// The answer to "does this token belong to `claimed`?". Ids compare as exact strings.
    pub fn verdict_for(&self, claimed: &IgId) -> Verdict {
        match self {
            Lookup::Owner(owner) if owner.id == *claimed => Verdict::Valid(owner.clone()),
            Lookup::Owner(_) => Verdict::Rejected(RejectReason::IdMismatch),
            Lookup::Rejected(reason) => Verdict::Rejected(*reason),
        }
    }
}

/// The answer to one validation. There is no "unknown" variant on purpose: when Instagram does
/// not answer, callers get an upstream error instead of a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid(Arc<TokenOwner>),
    Rejected(RejectReason),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_id_is_valid() {
        let owner = Lookup::Owner(Arc::new(TokenOwner {
            id: IgId::parse("17841405793187219").unwrap(),
            username: None,
        }));
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
}
