//! When to try Redis: its health record, kept per process.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::Epoch;

/// Pause after the first failure, doubled per further failure up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// When to try Redis: always while it answers; after a failure, not before a pause has passed,
/// and then by one probing request at a time.
///
/// This looks like Instagram's circuit breaker (`instagram/breaker.rs`): both pause and then let
/// one probe through on a lease. They are kept apart on purpose, because what they guard differs:
/// - the breaker guards a dependency we cannot do without. It opens only after
///   `IGAUTH_INSTAGRAM__BREAKER_THRESHOLD` consecutive failures, for a fixed, operator-set
///   cool-down, and while open every caller gets a 503 with `Retry-After`: it must not trip on
///   one blip, and its state is an answer to callers;
/// - this guards an optimisation. One failure is enough to skip Redis (skipping costs nothing
///   but a `/me` call), the pause is short and grows while Redis keeps failing (250 ms to 2 s),
///   and nobody is ever refused because of it.
///
/// One type serving both would need a threshold, a backoff policy and a refusal mode as knobs,
/// which is more code than the two small state machines it replaces.
pub(super) struct Health {
    epoch: Epoch,
    /// 0 while healthy; else the time (ms since `epoch`, at least 1) before which Redis is skipped.
    skip_until_ms: AtomicU64,
    failures: AtomicU32,
}

impl Health {
    pub(super) fn new() -> Health {
        Health {
            epoch: Epoch::new(),
            skip_until_ms: AtomicU64::new(0),
            failures: AtomicU32::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.now_ms()
    }

    /// May this operation use Redis? After a pause, the first caller wins a probe lease (long
    /// enough for one budget) and the others keep skipping until the probe reports.
    pub(super) fn permit(&self, budget: Duration) -> bool {
        let until = self.skip_until_ms.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = self.now_ms();
        if now < until {
            return false;
        }
        let lease = now + u64::try_from(budget.as_millis()).unwrap_or(u64::MAX / 4) * 2 + 1;
        self.skip_until_ms
            .compare_exchange(until, lease, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(super) fn succeeded(&self) {
        if self.skip_until_ms.swap(0, Ordering::AcqRel) != 0 {
            log::info!("shared cache: Redis answers again");
        }
        self.failures.store(0, Ordering::Release);
    }

    /// Starts or lengthens a pause. True when this failure ended a healthy period.
    pub(super) fn failed(&self) -> bool {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel);
        let pause = FIRST_PAUSE
            .saturating_mul(1 << failures.min(8))
            .min(MAX_PAUSE);
        let until = (self.now_ms() + u64::try_from(pause.as_millis()).unwrap_or(0)).max(1);
        self.skip_until_ms.swap(until, Ordering::AcqRel) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_pauses_after_a_failure_then_lets_one_probe_through() {
        let mut health = Health::new();
        // A clock that has run a while, so "the pause is over" below can be set as a time.
        health.epoch = Epoch::started_ago(Duration::from_secs(10));
        let budget = Duration::from_millis(50);
        assert!(health.permit(budget));
        assert!(health.failed(), "the first failure ends the healthy period");
        assert!(!health.permit(budget), "paused");
        // Pretend the pause is over.
        health.skip_until_ms.store(1, Ordering::Release);
        assert!(health.permit(budget), "one probe");
        assert!(!health.permit(budget), "only one");
        assert!(!health.failed(), "a failing probe is not a new outage");
        health.succeeded();
        assert!(health.permit(budget) && health.permit(budget));
        assert_eq!(health.failures.load(Ordering::Acquire), 0);
    }

    #[test]
    fn pauses_grow_and_are_capped() {
        let health = Health::new();
        let mut last = 0;
        for _ in 0..12 {
            health.failed();
            let until = health.skip_until_ms.load(Ordering::Acquire) - health.now_ms();
            assert!(until <= MAX_PAUSE.as_millis() as u64);
            assert!(until + 5 >= last.min(MAX_PAUSE.as_millis() as u64 - 5));
            last = until;
        }
        assert!(last + 20 >= MAX_PAUSE.as_millis() as u64);
    }
}
