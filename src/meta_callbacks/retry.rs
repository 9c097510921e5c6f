//! igauth's own retries of data deletions that did not finish: Meta is answered 200 once a
//! request is recorded, and has no reason to send it again, so igauth finishes it. A sweep finds
//! the deletions whose next run is due where the records live (so a restart, or another replica,
//! resumes them), claims each for one replica, and runs it again. The first retry comes 5 s
//! after a failed run, then the pause doubles up to 5 minutes; a request still failing a day
//! after it came is marked `failed` with an ERROR line. While nothing waits, a sweep looks every
//! 30 s (a restart's first one at once), which costs Parse one query.

use std::sync::atomic::Ordering;

use super::MetaCallbacks;
use crate::clock::unix_ms as now_ms;
use crate::parse_api::ParseClient;

/// How long one run may hold its claim; another replica may run it after that.
pub(super) const LEASE_MS: u64 = 30_000;
/// The pause before the first retry, doubled after each failed run up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: u64 = 5_000;
const MAX_BACKOFF_MS: u64 = 300_000;
/// A request failing for this long is given up (marked `failed`, logged as an ERROR).
pub(super) const GIVE_UP_AFTER_MS: u64 = 86_400_000;
/// The pace of sweeps while no deletion is known to wait.
const IDLE_SWEEP_MS: u64 = 30_000;

/// The pause after `attempts` failed runs.
pub(super) fn backoff_ms(attempts: u32) -> u64 {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_BACKOFF_MS
        .saturating_mul(1u64 << doublings)
        .min(MAX_BACKOFF_MS)
}

impl MetaCallbacks {
    /// Whether a sweep is due now (the caller asks about once a second).
    pub(crate) fn sweep_due(&self) -> bool {
        now_ms() >= self.wake_at.load(Ordering::Acquire)
    }

    /// Brings the next sweep forward to `at` (ms since the epoch) if it was later.
    pub(super) fn wake_at(&self, at: u64) {
        self.wake_at.fetch_min(at, Ordering::AcqRel);
    }

    /// One sweep: every deletion due now, claimed and run again; the pending gauge updated.
    pub(crate) async fn sweep(&self, parse: Option<&ParseClient>) {
        let now = now_ms();
        self.wake_at
            .store(now.saturating_add(IDLE_SWEEP_MS), Ordering::Release);
        let (due, waiting, next) = match self.statuses.due(parse, now).await {
            Ok(found) => found,
            Err(e) => {
                log::warn!(
                    "data deletions: could not look for deletions to resume ({}); trying again \
                     in {} s",
                    e.0,
                    IDLE_SWEEP_MS / 1000
                );
                return;
            }
        };
        self.metrics.meta_deletions_pending(waiting);
        if let Some(next) = next {
            self.wake_at(next);
        }
        for (record, mut row) in due {
            let claimed = self
                .statuses
                .claim(parse, &mut row, &record, now.saturating_add(LEASE_MS))
                .await;
            if claimed.unwrap_or(false) {
                // Its outcome is in its record and the log; the next sweep sees what is left.
                let _ = self.carry_out(parse, &mut row, record, false).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_retry_is_within_ten_seconds_and_the_pause_is_capped() {
        assert_eq!(backoff_ms(1), 5_000);
        assert_eq!(backoff_ms(2), 10_000);
        assert_eq!(backoff_ms(7), 300_000);
        assert_eq!(backoff_ms(u32::MAX), 300_000);
    }
}
