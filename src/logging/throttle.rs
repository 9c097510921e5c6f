//! A WARN that anyone outside can trigger (a forged Meta callback, a wrong key) must not flood
//! the log: each such kind is counted in its metric, and its line is written at most once a
//! minute, saying how many happened since the last one. One [`LogThrottle`] per kind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How often one kind of line may be written.
const EVERY_MS: u64 = 60_000;

pub(crate) struct LogThrottle {
    /// When the last line was written (ms since the Unix epoch; 0: never).
    last_ms: AtomicU64,
    /// Events since the last line, this one included.
    pending: AtomicU64,
}

impl LogThrottle {
    pub(crate) const fn new() -> LogThrottle {
        LogThrottle {
            last_ms: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        }
    }

    /// Counts one event. `Some(n)` when its line may be written now: `n` events happened since
    /// the last line (this one included); `None` when the line is held back.
    pub(crate) fn tick(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64);
        self.tick_at(now)
    }

    fn tick_at(&self, now_ms: u64) -> Option<u64> {
        self.pending.fetch_add(1, Ordering::AcqRel);
        let last = self.last_ms.load(Ordering::Acquire);
        let due = last == 0 || now_ms.saturating_sub(last) >= EVERY_MS;
        // One writer per minute, whichever wins the swap.
        (due && self
            .last_ms
            .compare_exchange(last, now_ms.max(1), Ordering::AcqRel, Ordering::Acquire)
            .is_ok())
        .then(|| self.pending.swap(0, Ordering::AcqRel).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_minute_with_the_count_since_the_last() {
        let throttle = LogThrottle::new();
        assert_eq!(throttle.tick_at(1_000), Some(1), "the first is written");
        for ms in [1_001, 30_000, 60_999] {
            assert_eq!(throttle.tick_at(ms), None, "{ms}");
        }
        assert_eq!(
            throttle.tick_at(61_000),
            Some(4),
            "three held back, and this one"
        );
        assert_eq!(throttle.tick_at(61_001), None);
        assert_eq!(throttle.tick_at(200_000), Some(2));
    }
}
