//! Instagram's throttle pause, shared by the fleet: when Instagram tells one replica the app is
//! throttled, every replica should stop calling `/me`, since the quota is the app's, not the
//! replica's. The pause's end is one value sealed like every other (so only igauth can write
//! one a replica believes), living in Redis exactly as long as the pause. It is read in the
//! same `MGET` as a verdict ([`super::SharedCache::get`]), so replicas learn of it on their next
//! cache miss at no extra cost, and a pause can only ever make igauth answer 503: never a
//! verdict.

use std::time::Duration;

use super::{Inner, SharedCache};
use crate::clock::unix_ms as now_ms;
use crate::domain::Lookup;

/// Where the pause's end is kept.
pub(super) const PAUSE_KEY: &str = "igauth:pause:instagram";
/// What the value says (the end is the seal's expiry).
const THROTTLED: &str = "throttled";

/// What Redis knew on a cache miss.
#[derive(Debug)]
pub(crate) enum Found {
    /// A verdict and how long it may still be believed.
    Verdict(Lookup, Duration),
    /// No verdict, but Instagram throttles the app until this Unix time (ms), as another replica
    /// was told.
    Paused(u64),
}

impl SharedCache {
    /// Tells the fleet that Instagram throttles the app until `until_ms` (Unix ms), without
    /// waiting for Redis (the write runs as its own task under the usual budget).
    pub(crate) fn put_pause(&self, until_ms: u64) {
        let left = until_ms.saturating_sub(now_ms());
        if left > 0 {
            self.put_in_background(PAUSE_KEY, THROTTLED, Duration::from_millis(left));
        }
    }
}

impl Inner {
    /// The pause's end from a value read under [`PAUSE_KEY`], if igauth sealed it and it is
    /// still ahead; a value igauth did not seal is counted as rejected and ignored.
    pub(super) fn open_pause(&self, value: &[u8]) -> Option<u64> {
        let generations = self.sealer.all();
        match self.sealer.open(PAUSE_KEY, value, &generations) {
            Some((THROTTLED, until_ms)) => (until_ms > now_ms()).then_some(until_ms),
            Some(_) | None => {
                self.rejected();
                None
            }
        }
    }
}
