//! Time in milliseconds, the one way igauth reads it: wall-clock milliseconds for what is stored
//! or shown (sealed records' expiry, deletion statuses), and milliseconds since a process-local
//! start for what only this process compares (cache deadlines, the breaker, Redis pauses), which
//! a clock step cannot move.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 before it, saturating far after it).
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A monotonic start: [`Epoch::now_ms`] counts milliseconds from it. Cheaper than `SystemTime`
/// and never goes back, so it suits deadlines kept in atomics and cache entries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Epoch(Instant);

impl Epoch {
    pub(crate) fn new() -> Epoch {
        Epoch(Instant::now())
    }

    /// Milliseconds since this epoch began.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
impl Epoch {
    /// An epoch that began `ago` earlier, for tests of what happens after a while.
    pub(crate) fn started_ago(ago: std::time::Duration) -> Epoch {
        Epoch(Instant::now() - ago)
    }
}
