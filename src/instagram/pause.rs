//! Instagram's throttling respected: once Instagram says the app is throttled (codes 4, 17, 32,
//! 613), every call to `/me` would fail too and burn the quota the app needs right after, so
//! igauth stops calling for [`THROTTLE_PAUSE`] (the `Retry-After` its callers are told), then lets
//! one probe through at a time, as the breaker does. Callers keep getting 503
//! `upstream_rate_limited`, never a verdict. Shared by every worker; the validator shares it
//! across replicas through Redis when that is configured.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// Wall clock: the pause's end is shared between replicas.
use crate::clock::unix_ms;

use super::breaker::take_probe;

/// How long calls pause after Instagram says "throttled"; also the `Retry-After` callers get.
pub(crate) const THROTTLE_PAUSE: Duration = Duration::from_secs(30);

pub(crate) struct ThrottlePause {
    /// Unix milliseconds until which nobody calls; 0: not throttled.
    until_ms: AtomicU64,
    /// Unix milliseconds until which the current probe owns the ended pause.
    probe_until_ms: AtomicU64,
    probe_lease: Duration,
}

impl ThrottlePause {
    /// `probe_lease` should cover one upstream call.
    pub(crate) fn new(probe_lease: Duration) -> ThrottlePause {
        ThrottlePause {
            until_ms: AtomicU64::new(0),
            probe_until_ms: AtomicU64::new(0),
            probe_lease,
        }
    }

    /// Whether a call may go out now: never while paused; after the pause, one probe at a time.
    pub(crate) fn permit(&self) -> bool {
        self.permit_at(unix_ms())
    }

    fn permit_at(&self, now: u64) -> bool {
        let until = self.until_ms.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        if now < until {
            return false;
        }
        take_probe(&self.probe_until_ms, now, self.probe_lease)
    }

    /// Instagram said "throttled": pause for [`THROTTLE_PAUSE`] from now.
    pub(crate) fn throttled(&self) {
        self.pause_until(unix_ms() + THROTTLE_PAUSE.as_millis() as u64);
    }

    /// Pauses until `until_ms` (Unix ms), unless a later pause is already known (another
    /// replica's, read from Redis, say).
    pub(crate) fn pause_until(&self, until_ms: u64) {
        // Only a later end starts a new pause (and forgets an old probe's lease): hearing of the
        // same pause again, from Redis say, must not let a second probe through.
        if self.until_ms.fetch_max(until_ms, Ordering::AcqRel) < until_ms {
            self.probe_until_ms.store(0, Ordering::Release);
        }
    }

    /// Any other outcome: Instagram is not throttling (any more); the pause ends.
    pub(crate) fn answered(&self) {
        if self.until_ms.load(Ordering::Acquire) != 0 {
            self.until_ms.store(0, Ordering::Release);
            self.probe_until_ms.store(0, Ordering::Release);
        }
    }

    /// The pause's end (Unix ms), when calls are paused.
    pub(crate) fn paused_until(&self) -> Option<u64> {
        let until = self.until_ms.load(Ordering::Acquire);
        (until > unix_ms()).then_some(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_then_one_probe_at_a_time_then_open_again() {
        let pause = ThrottlePause::new(Duration::from_secs(5));
        assert!(pause.permit_at(1_000));
        pause.pause_until(31_000);
        assert!(!pause.permit_at(1_001));
        assert!(!pause.permit_at(30_999));
        assert!(pause.permit_at(31_000), "the probe");
        assert!(!pause.permit_at(31_001), "one at a time");
        assert!(
            pause.permit_at(36_001),
            "a probe that never reported back loses its lease"
        );
        pause.answered();
        assert!(pause.permit_at(36_002) && pause.permit_at(36_003));
    }

    #[test]
    fn hearing_of_the_same_pause_again_lets_no_second_probe_through() {
        let pause = ThrottlePause::new(Duration::from_secs(5));
        pause.pause_until(31_000);
        assert!(pause.permit_at(31_000), "the probe");
        pause.pause_until(31_000);
        assert!(!pause.permit_at(31_001), "still one at a time");
    }

    #[test]
    fn a_later_pause_wins() {
        let pause = ThrottlePause::new(Duration::from_secs(5));
        pause.pause_until(50_000);
        pause.pause_until(40_000);
        assert!(!pause.permit_at(45_000));
    }
}
