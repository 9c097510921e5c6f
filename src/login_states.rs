//! Login states, issued and spent: the use case behind `/v1/authorize` and `/v1/callback`.
//!
//! [`crate::domain::login_state`] defines what a state is (signed, expiring). This adds the one
//! rule a format cannot hold: a state is spent once. Each spent nonce is remembered in this
//! process until the state would have expired anyway and, with the redis backend, claimed for
//! the whole fleet (`SET NX`), so a callback replayed to another replica is refused too.
//!
//! When Redis cannot answer, the login goes on rather than failing: the state is still signed, in
//! time and bound to the browser, and the code that comes with it is single-use at Instagram, so
//! a replay to another replica gains nothing. Redis stays an optimisation, never a dependency.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quick_cache::sync::{Cache, EntryAction, EntryResult};

use crate::domain::login_state::{
    IssuedState, Nonce, OpenedState, StateError, StateKey, STATE_TTL,
};
use crate::domain::pkce::CodeChallenge;
use crate::domain::{ReturnTo, Secret};
use crate::shared_cache::SharedCache;

/// Remembered spent nonces; far above what the per-client rate limits let through in ten minutes.
const MAX_SPENT: usize = 1_000_000;
/// How much longer than its state a spent nonce is remembered: a margin for clocks and slow
/// requests.
const MARGIN: Duration = Duration::from_secs(5);

/// Issues and verifies states; remembers spent nonces. One per process, shared by all workers.
pub(crate) struct LoginStates {
    key: Option<StateKey>,
    ttl: Duration,
    /// Spent nonces, each with when it may be forgotten (its state has expired by then).
    spent: Cache<Nonce, Instant>,
    /// Redis, with the redis backend: spent states for the whole fleet.
    shared: Option<SharedCache>,
}

impl LoginStates {
    /// With no secret (or one too short) nothing can be issued or verified.
    pub(crate) fn new(secret: &Secret, shared: Option<SharedCache>) -> LoginStates {
        LoginStates::with_ttl(secret, STATE_TTL, shared)
    }

    pub(crate) fn with_ttl(
        secret: &Secret,
        ttl: Duration,
        shared: Option<SharedCache>,
    ) -> LoginStates {
        LoginStates {
            key: StateKey::new(secret),
            ttl,
            // Every insert is admitted (the cache evicts to make room, never declines a newcomer).
            spent: Cache::new(MAX_SPENT),
            shared,
        }
    }

    pub(crate) fn issue(
        &self,
        return_to: &ReturnTo,
        challenge: &CodeChallenge,
    ) -> Result<IssuedState, StateError> {
        self.issue_at(return_to, challenge, now_secs())
    }

    /// Issues a state as if the clock read `now` (seconds since the epoch); for tests of expiry.
    pub(crate) fn issue_at(
        &self,
        return_to: &ReturnTo,
        challenge: &CodeChallenge,
        now: u64,
    ) -> Result<IssuedState, StateError> {
        let key = self.key.as_ref().ok_or(StateError::NotConfigured)?;
        key.issue_at(return_to, challenge, now, self.ttl)
    }

    /// Signature, expiry, and whether this process saw the state used, without using it. Lets the caller make its own checks (the browser binding) before
    /// the state is spent, so a stranger who saw a state cannot burn it.
    pub(crate) fn open(&self, state: &str) -> Result<OpenedState, StateError> {
        self.open_at(state, now_secs())
    }

    pub(crate) fn open_at(&self, state: &str, now: u64) -> Result<OpenedState, StateError> {
        let key = self.key.as_ref().ok_or(StateError::NotConfigured)?;
        let opened = key.open_at(state, now)?;
        if self
            .spent
            .get(&opened.nonce)
            .is_some_and(|until| until > Instant::now())
        {
            return Err(StateError::Replayed {
                return_to: opened.return_to,
            });
        }
        Ok(opened)
    }

    /// Uses the state: in this process, then (with Redis) for the whole fleet. Of two concurrent
    /// spends of one state, here or on two replicas, exactly one succeeds.
    pub(crate) async fn spend(&self, opened: &OpenedState) -> Result<(), StateError> {
        // Checked and marked under the shard's lock: of two concurrent spends, exactly one finds
        // no live mark and leaves its own.
        let first_use = match self
            .spent
            .entry_async(&opened.nonce, |_, until| {
                if *until > Instant::now() {
                    EntryAction::Retain(())
                } else {
                    EntryAction::ReplaceWithGuard
                }
            })
            .await
        {
            EntryResult::Vacant(mark) | EntryResult::Replaced(mark, _) => {
                let _ = mark.insert(Instant::now() + self.ttl + MARGIN);
                true
            }
            // A live mark: spent before. (The others cannot happen with this callback and no
            // timeout; refusing is the safe reading.)
            EntryResult::Retained(()) | EntryResult::Removed(..) | EntryResult::Timeout => false,
        };
        let replayed = || StateError::Replayed {
            return_to: opened.return_to.clone(),
        };
        if !first_use {
            return Err(replayed());
        }
        if let Some(shared) = &self.shared {
            let remembered = self.ttl + MARGIN;
            if shared.claim_state(&opened.nonce.id(), remembered).await == Some(false) {
                return Err(replayed());
            }
        }
        Ok(())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-state";
    const NOW: u64 = 1_800_000_000;

    fn states() -> LoginStates {
        LoginStates::new(&Secret::new(SECRET), None)
    }

    fn target(url: &str) -> ReturnTo {
        ReturnTo::parse(url, &[url.to_string()]).unwrap()
    }

    fn challenge() -> CodeChallenge {
        CodeChallenge::of_verifier(&"v".repeat(43))
    }

    /// A state for `myapp://auth`, issued at [`NOW`].
    fn issued(states: &LoginStates) -> String {
        states
            .issue_at(&target("myapp://auth"), &challenge(), NOW)
            .unwrap()
            .value
    }

    impl LoginStates {
        /// Opens and spends, as the callback does; the return target on success.
        async fn verify_at(&self, state: &str, now: u64) -> Result<String, StateError> {
            let opened = self.open_at(state, now)?;
            self.spend(&opened).await.map(|()| opened.return_to)
        }
    }

    #[actix_web::test]
    async fn a_state_verifies_once_and_carries_its_return_target() {
        let states = states();
        let state = issued(&states);
        let verified = states.verify_at(&state, NOW + 1).await.unwrap();
        assert_eq!(verified, "myapp://auth");
        assert_eq!(
            states.verify_at(&state, NOW + 2).await.unwrap_err(),
            StateError::Replayed {
                return_to: "myapp://auth".into()
            }
        );
    }

    #[actix_web::test]
    async fn opening_does_not_spend_and_spending_is_once() {
        let states = states();
        let state = issued(&states);
        let first = states.open_at(&state, NOW).unwrap();
        let second = states.open_at(&state, NOW).unwrap();
        assert!(states.spend(&first).await.is_ok());
        assert!(matches!(
            states.spend(&second).await,
            Err(StateError::Replayed { .. })
        ));
        assert!(matches!(
            states.open_at(&state, NOW),
            Err(StateError::Replayed { .. })
        ));
    }

    #[test]
    fn of_concurrent_spends_on_many_threads_exactly_one_wins() {
        // Workers are threads: a check-then-insert would let two of them spend one state.
        let states = std::sync::Arc::new(states());
        for _ in 0..100 {
            let state = issued(&states);
            let start = std::sync::Arc::new(std::sync::Barrier::new(8));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let (states, start) = (states.clone(), start.clone());
                    let opened = states.open_at(&state, NOW).unwrap();
                    std::thread::spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap();
                        start.wait();
                        runtime.block_on(states.spend(&opened)).is_ok()
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
    async fn refusing_an_expired_state_does_not_spend_it() {
        let states = states();
        let state = issued(&states);
        let at_expiry = NOW + STATE_TTL.as_secs();
        assert!(matches!(
            states.verify_at(&state, at_expiry).await,
            Err(StateError::Expired { .. })
        ));
        // The error is about time, not reuse.
        assert!(states.verify_at(&state, at_expiry - 1).await.is_ok());
    }

    #[actix_web::test]
    async fn forged_attempts_spend_nothing() {
        let states = states();
        let issued = states
            .issue_at(&target("https://a.example/x"), &challenge(), NOW)
            .unwrap();
        let mut tampered = issued.value.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            states.verify_at(&tampered, NOW).await.unwrap_err(),
            StateError::Forged
        );
        assert!(states.verify_at(&issued.value, NOW).await.is_ok());
    }

    #[actix_web::test]
    async fn without_a_long_enough_secret_nothing_is_issued() {
        for secret in ["", "short-secret"] {
            let states = LoginStates::new(&Secret::new(secret), None);
            assert_eq!(
                states
                    .issue_at(&target("myapp://auth"), &challenge(), NOW)
                    .unwrap_err(),
                StateError::NotConfigured
            );
            assert_eq!(
                states.verify_at("a.b", NOW).await.unwrap_err(),
                StateError::NotConfigured
            );
        }
    }
}
