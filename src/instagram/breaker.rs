//! A circuit breaker shared by every worker: after `threshold` consecutive upstream failures,
//! calls fail fast for `cooldown`, then exactly one probe is let through; its outcome closes the
//! breaker or opens it for another cool-down.
//!
//! When Instagram is down this keeps us from stacking thousands of requests on a dead host, and
//! answers callers at once with a `Retry-After` instead of after a full timeout. The probe holds
//! a lease, not a flag: a probe whose request is dropped (its client hung up) never reports
//! back, and a flag would then keep the breaker open until restart.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::Epoch;

pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: AtomicU32,
    /// Milliseconds since `epoch` until which the breaker is open.
    open_until_ms: AtomicU64,
    /// Milliseconds since `epoch` until which the current probe owns the half-open breaker.
    probe_until_ms: AtomicU64,
    /// How long a probe may take before another one is let through.
    probe_lease: Duration,
    epoch: Epoch,
}

/// What a caller must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Permit {
    Go,
    /// Fail fast; retry after this many seconds.
    Wait(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// The discriminants are what `igauth_upstream_breaker_state` shows.
pub(crate) enum BreakerState {
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}

/// Lets one probe through at `now` if no other holds the lease in `probe_until_ms` (a time in
/// the caller's milliseconds); the winner holds it for `lease`. The breaker and the throttle
/// pause (`pause.rs`) both end this way.
#[inline]
pub(super) fn take_probe(probe_until_ms: &AtomicU64, now: u64, lease: Duration) -> bool {
    let held_until = probe_until_ms.load(Ordering::Acquire);
    now >= held_until
        && probe_until_ms
            .compare_exchange(
                held_until,
                now + lease.as_millis() as u64,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
}

impl Breaker {
    /// `probe_lease` should cover one upstream call (its total timeout).
    pub(crate) fn new(threshold: u32, cooldown: Duration, probe_lease: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            failures: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
            probe_until_ms: AtomicU64::new(0),
            probe_lease,
            epoch: Epoch::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.now_ms()
    }

    pub(crate) fn permit(&self) -> Permit {
        if self.failures.load(Ordering::Acquire) < self.threshold {
            return Permit::Go;
        }
        let now = self.now_ms();
        let until = self.open_until_ms.load(Ordering::Acquire);
        if now < until {
            return Permit::Wait((until - now).div_ceil(1000).max(1));
        }
        // Cool-down over: one probe at a time decides, each for at most its lease.
        if take_probe(&self.probe_until_ms, now, self.probe_lease) {
            Permit::Go
        } else {
            Permit::Wait(1)
        }
    }

    pub(crate) fn record_success(&self) {
        self.failures.store(0, Ordering::Release);
        self.probe_until_ms.store(0, Ordering::Release);
    }

    pub(crate) fn record_failure(&self) {
        let failures = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if failures >= self.threshold {
            let until = self.now_ms() + self.cooldown.as_millis() as u64;
            self.open_until_ms.store(until, Ordering::Release);
        }
        self.probe_until_ms.store(0, Ordering::Release);
    }

    /// An outcome that says nothing about Instagram's health (e.g. throttling): frees the probe.
    pub(crate) fn record_neutral(&self) {
        self.probe_until_ms.store(0, Ordering::Release);
    }

    pub(crate) fn state(&self) -> BreakerState {
        if self.failures.load(Ordering::Acquire) < self.threshold {
            BreakerState::Closed
        } else if self.now_ms() < self.open_until_ms.load(Ordering::Acquire) {
            BreakerState::Open
        } else {
            BreakerState::HalfOpen
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(5);

    #[test]
    fn opens_after_threshold_and_lets_one_probe_through() {
        let b = Breaker::new(2, Duration::from_millis(0), LEASE);
        b.record_failure();
        assert_eq!(b.permit(), Permit::Go);
        b.record_failure();
        // Cool-down of zero: straight to half-open, one probe only.
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.permit(), Permit::Go);
        assert_eq!(b.permit(), Permit::Wait(1));
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.permit(), Permit::Go);
    }

    #[test]
    fn a_probe_that_never_reports_back_loses_its_lease() {
        let b = Breaker::new(1, Duration::from_millis(0), Duration::from_millis(0));
        b.record_failure();
        assert_eq!(b.permit(), Permit::Go, "the probe");
        // That probe's request was dropped: no record_* call ever comes. With its lease over,
        // the next caller probes instead of the breaker staying open forever.
        assert_eq!(b.permit(), Permit::Go);
    }

    #[test]
    fn open_breaker_fails_fast_with_retry_after() {
        let b = Breaker::new(1, Duration::from_secs(10), LEASE);
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(matches!(b.permit(), Permit::Wait(s) if (1..=10).contains(&s)));
    }
}
