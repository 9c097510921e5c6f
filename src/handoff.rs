//! Handoff codes, issued and redeemed: the use case between `/v1/callback` (which ends a login
//! with `#code=<handoff code>` instead of the token) and `/v1/token` (which answers the login's
//! result to whoever shows the code and the PKCE verifier it is bound to).
//!
//! A code is redeemed once, within [`HANDOFF_TTL`], and every refusal (unknown, used, expired,
//! wrong verifier) is the same [`InvalidGrant`]. A code is burnt by any attempt, the wrong
//! verifier included: guessing gets one try per login.
//!
//! Where a result waits: with Redis, in Redis (sealed under a key only the code gives, taken
//! with `GETDEL`), so the app may redeem it at any replica; without Redis, or when Redis cannot
//! take it, in this process (a fleet without Redis then needs the app's `/v1/token` call to
//! reach the replica that ran the callback). Each result is in exactly one place, so single use
//! holds either way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quick_cache::sync::Cache;

use crate::clock::{millis, unix_ms as now_ms};
use crate::domain::pkce::CodeChallenge;
use crate::domain::{AccessToken, Handoff, HandoffCode, TokenOwner, HANDOFF_TTL};
use crate::shared_cache::SharedCache;

/// Results waiting in this process; far above what the rate limits let through in a minute.
const MAX_WAITING: usize = 100_000;

/// The one refusal of a redemption: nothing tells an unknown code from a used, expired or
/// wrongly verified one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidGrant;

/// A login's result, as the callback hands it over.
pub(crate) struct LoginResult {
    pub(crate) owner: TokenOwner,
    pub(crate) access_token: AccessToken,
    pub(crate) expires_in: Option<u64>,
}

pub(crate) struct Handoffs {
    /// Results kept here, by the code's store id.
    waiting: Cache<[u8; 32], Arc<Handoff>>,
    shared: Option<SharedCache>,
    /// [`HANDOFF_TTL`] unless the operator shortened it (`IGAUTH_SERVER__HANDOFF_TTL_SECS`).
    ttl: Duration,
    /// When results kept here are next swept for expired ones (ms since the epoch): an unredeemed
    /// result holds an access token, which should not outlive its code by much.
    sweep_at: AtomicU64,
}

impl Handoffs {
    pub(crate) fn new(ttl: Duration, shared: Option<SharedCache>) -> Handoffs {
        Handoffs {
            waiting: Cache::new(MAX_WAITING),
            shared,
            ttl: ttl.min(HANDOFF_TTL),
            sweep_at: AtomicU64::new(0),
        }
    }

    /// Drops the expired results kept here, at most once per lifetime of a code.
    fn sweep(&self, now: u64) {
        let due = self.sweep_at.load(Ordering::Relaxed);
        let next = now.saturating_add(millis(self.ttl).max(1_000));
        if now >= due
            && self
                .sweep_at
                .compare_exchange(due, next, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.waiting.retain(|_, kept| kept.expires_at_ms > now);
        }
    }

    /// Files `result`, bound to `challenge`, and returns its code; `None` only when the OS has no
    /// randomness.
    pub(crate) async fn issue(
        &self,
        result: LoginResult,
        challenge: CodeChallenge,
    ) -> Option<HandoffCode> {
        let code = HandoffCode::random()?;
        let handoff = Handoff {
            owner: result.owner,
            access_token: result.access_token,
            expires_in: result.expires_in,
            challenge,
            expires_at_ms: now_ms().saturating_add(millis(self.ttl)),
        };
        if let (Some(shared), Some(sealed)) = (&self.shared, handoff.seal(&code)) {
            if shared
                .put_handoff(&code.store_name(), sealed, self.ttl)
                .await
            {
                return Some(code);
            }
        }
        self.sweep(now_ms());
        self.waiting.insert(code.store_id(), Arc::new(handoff));
        Some(code)
    }

    /// The result filed under `code`, if `verifier` matches its challenge and it is in time.
    /// The code is spent whatever the outcome.
    pub(crate) async fn redeem(&self, code: &str, verifier: &str) -> Result<Handoff, InvalidGrant> {
        let code = HandoffCode::parse(code).ok_or(InvalidGrant)?;
        self.sweep(now_ms());
        let handoff = match self.waiting.remove(&code.store_id()) {
            Some((_, kept)) => Arc::unwrap_or_clone(kept),
            None => {
                let shared = self.shared.as_ref().ok_or(InvalidGrant)?;
                let sealed = shared
                    .take_handoff(&code.store_name())
                    .await
                    .ok_or(InvalidGrant)?;
                Handoff::open(&code, sealed).ok_or(InvalidGrant)?
            }
        };
        if now_ms() >= handoff.expires_at_ms || !handoff.challenge.verifies(verifier) {
            return Err(InvalidGrant);
        }
        Ok(handoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IgId;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn result() -> LoginResult {
        LoginResult {
            owner: TokenOwner::new(&IgId::parse("42").unwrap(), None, Some("kestrel")),
            access_token: AccessToken::parse("IGAA-x").unwrap(),
            expires_in: None,
        }
    }

    /// A handoff store whose codes live `ttl`, and a code issued for [`VERIFIER`].
    async fn issued(ttl: Duration) -> (Handoffs, String) {
        let handoffs = Handoffs::new(ttl, None);
        let code = handoffs
            .issue(result(), CodeChallenge::of_verifier(VERIFIER))
            .await
            .unwrap();
        (handoffs, code.expose())
    }

    #[actix_web::test]
    async fn a_code_is_redeemed_once_with_its_verifier() {
        let (handoffs, code) = issued(HANDOFF_TTL).await;
        let got = handoffs.redeem(&code, VERIFIER).await.unwrap();
        assert_eq!(got.access_token.expose(), "IGAA-x");
        assert_eq!(handoffs.redeem(&code, VERIFIER).await, Err(InvalidGrant));
    }

    #[actix_web::test]
    async fn a_wrong_verifier_burns_the_code() {
        let (handoffs, code) = issued(HANDOFF_TTL).await;
        let wrong = VERIFIER.replace('d', "e");
        assert_eq!(handoffs.redeem(&code, &wrong).await, Err(InvalidGrant));
        assert_eq!(handoffs.redeem(&code, VERIFIER).await, Err(InvalidGrant));
        assert_eq!(
            handoffs.redeem("nonsense", VERIFIER).await,
            Err(InvalidGrant)
        );
    }

    #[actix_web::test]
    async fn expired_results_do_not_stay_in_memory() {
        let handoffs = Handoffs::new(Duration::ZERO, None);
        for _ in 0..3 {
            handoffs
                .issue(result(), CodeChallenge::of_verifier(VERIFIER))
                .await
                .unwrap();
        }
        assert_eq!(handoffs.waiting.len(), 3);
        // The next sweep (due a second after the first) drops every expired result.
        handoffs.sweep(now_ms() + 2_000);
        assert_eq!(handoffs.waiting.len(), 0);
    }

    #[actix_web::test]
    async fn an_expired_code_is_refused() {
        let (handoffs, code) = issued(Duration::ZERO).await;
        assert_eq!(handoffs.redeem(&code, VERIFIER).await, Err(InvalidGrant));
    }
}
