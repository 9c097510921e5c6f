//! The validator core: "who owns this token?", answered from memory when we can, from Instagram's
//! `/me` when we must, and never asked twice at the same time.
//!
//! The cached fact is what `/me` said about a token (its owner, or that it is invalid or expired),
//! keyed by a SHA-256 of the token: the raw token is never a map key. Comparing the owner with a
//! claimed id is done per request, so `/v1/introspect` (no claimed id) and `/v1/validate` share
//! entries, and a mismatch never needs a second upstream call. Owners live `ttl`, rejections
//! `negative_ttl`; upstream trouble is never kept.
//!
//! Single-flight: a miss takes the key's placeholder in the cache (`quick_cache`); concurrent
//! misses for that key wait on it and receive what its holder puts there. The holder's upstream
//! trouble is handed to them too, as an entry that is dead on arrival and removed at once, so an
//! outage costs one call per token, not one per waiting request. If the holder's request goes
//! away mid-call, one of the waiters takes the placeholder over.
//!
//! With `IGAUTH_CACHE__BACKEND=redis` a [`SharedCache`] sits between the two: local, then Redis,
//! then `/me`. The Redis read is made by the placeholder's holder, so concurrent misses on one
//! replica make at most one Redis read and one `/me` call; what `/me` says is written to Redis
//! without waiting. A verdict found in Redis counts as a cache hit and is kept locally only for
//! what is left of its Redis lifetime. Redis trouble is never an error here: it is a miss.
//!
//! Instagram's throttle pause (see `instagram/pause.rs`) is the app's, so it is shared the same
//! way: a replica Instagram throttles writes the pause's end to Redis, and the others find it in
//! the very read that looks for a verdict, so a cache miss costs no extra round trip and a hit
//! none at all. A pause read there only ever stops calls (503, never a verdict), and is never
//! believed for longer than igauth's own pause; without Redis, each replica keeps its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quick_cache::sync::Cache;

use crate::clock::{millis, unix_ms, Epoch};
use crate::domain::{AccessToken, AuthData, Lookup, RejectReason, TokenKey, Verdict};
use crate::instagram::{InstagramClient, UpstreamError, THROTTLE_PAUSE};
use crate::metrics::Metrics;
use crate::settings::CacheSettings;
use crate::shared_cache::{Found, SharedCache};

/// A cached answer and until when it may be believed: the rule for its kind, or what is left of
/// that in the shared cache when it came from there.
///
/// Why a deadline in the value rather than an expiring cache: 100,000 cached verdicts are a
/// memory budget, and per-entry expiry bookkeeping costs a node per entry. A read past an entry's
/// deadline is a miss that replaces it; an entry nobody asks for again stays until the capacity
/// bound evicts it, so memory is bounded by `max_entries` either way.
#[derive(Clone)]
struct Cached {
    /// `Err` only in the dead-on-arrival entry that hands a failed call's error to its waiters.
    answer: Result<Lookup, UpstreamError>,
    /// Milliseconds since [`Validator::epoch`].
    until_ms: u64,
}

/// The in-process cache's key: the first 128 bits of the token's SHA-256. Half the key of the
/// full digest per entry; finding a second token with the same 128 bits as a given one is a
/// 2^128 search. (Redis keys are derived from the whole digest.) The cache hashes it again with
/// a per-process random seed, so chosen tokens cannot crowd one bucket.
type LocalKey = u128;

fn local_key(key: &TokenKey) -> LocalKey {
    let mut half = [0u8; 16];
    half.copy_from_slice(&key[..16]);
    u128::from_le_bytes(half)
}

/// Where a placeholder holder found its answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Instagram,
    Shared,
}

pub(crate) struct Validator {
    /// `None` when the cache is turned off (TTL 0).
    cache: Option<Cache<LocalKey, Cached>>,
    /// Redis, when `cache.backend = redis` and the cache is on.
    shared: Option<SharedCache>,
    positive_ttl: Duration,
    negative_ttl: Duration,
    /// What entry deadlines count from.
    epoch: Epoch,
    /// The latest end of Instagram's throttle pause (Unix ms) this replica wrote to Redis or read
    /// there.
    pause_noted_ms: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Validator {
    /// Builds the local cache; `shared` (the redis backend) is used behind it when it is on.
    pub(crate) fn new(
        settings: &CacheSettings,
        shared: Option<SharedCache>,
        metrics: Arc<Metrics>,
    ) -> Validator {
        let positive_ttl = Duration::from_secs(settings.ttl_secs);
        let negative_ttl = Duration::from_secs(settings.negative_ttl_secs);
        let capacity = usize::try_from(settings.max_entries).unwrap_or(usize::MAX);
        let cache = (settings.ttl_secs > 0).then(|| Cache::new(capacity.max(1)));
        let shared = shared.filter(|_| cache.is_some());
        Validator {
            cache,
            shared,
            positive_ttl,
            negative_ttl,
            epoch: Epoch::new(),
            pause_noted_ms: AtomicU64::new(0),
            metrics,
        }
    }

    /// Does `auth.access_token` belong to `auth.id` (and to `auth.user_id`, when one is claimed)?
    pub(crate) async fn validate(
        &self,
        client: &InstagramClient,
        auth: &AuthData,
    ) -> Result<Verdict, UpstreamError> {
        Ok(self
            .lookup(client, &auth.access_token)
            .await?
            .verdict_for_ids(&auth.id, auth.user_id.as_ref()))
    }

    /// What Instagram says about this token, from a cache or from `/me`.
    pub(crate) async fn lookup(
        &self,
        client: &InstagramClient,
        token: &AccessToken,
    ) -> Result<Lookup, UpstreamError> {
        let Some(cache) = &self.cache else {
            self.metrics.cache_misses.inc();
            return client.me(token).await;
        };
        let key = token.cache_key();
        let local = local_key(&key);
        if let Some(hit) = cache.get(&local) {
            if self.alive(&hit) {
                self.metrics.cache_hits.inc();
                return hit.answer;
            }
            // Past its deadline: make room for the fresh answer below, unless someone already
            // replaced it.
            cache.remove_if(&local, |stale| !self.alive(stale));
        }
        let guard = match cache.get_value_or_guard_async(&local).await {
            // Another request fetched it (or failed to) while we waited: a single-flight join.
            Ok(joined) => {
                self.metrics.singleflight_joins.inc();
                return joined.answer;
            }
            Err(guard) => guard,
        };
        let (answer, source) = self.fetch(client, token, &key).await;
        match source {
            Source::Shared => self.metrics.cache_hits.inc(),
            Source::Instagram => self.metrics.cache_misses.inc(),
        }
        let _ = guard.insert(answer.clone());
        if answer.answer.is_err() {
            // The waiters have it; nobody after them may.
            cache.remove_if(&local, |entry| entry.answer.is_err());
        }
        self.metrics.cache_entries.set(cache.len() as i64);
        answer.answer
    }

    /// Records what Instagram said about `token` when it is known without asking `/me`: a
    /// long-lived token belongs to whoever owns the short-lived token it was issued for. Kept
    /// like a `/me` answer: locally, and in the shared cache.
    pub(crate) async fn remember(&self, token: &AccessToken, lookup: Lookup) {
        let Some(cache) = &self.cache else {
            return;
        };
        let key = token.cache_key();
        self.share(&key, &lookup);
        let ttl = self.ttl_for(&lookup);
        cache.insert(local_key(&key), self.cached(lookup, ttl));
    }

    fn cached(&self, lookup: Lookup, ttl: Duration) -> Cached {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        Cached {
            answer: Ok(lookup),
            until_ms: self.now_ms().saturating_add(ttl_ms),
        }
    }

    fn alive(&self, cached: &Cached) -> bool {
        self.now_ms() < cached.until_ms
    }

    fn now_ms(&self) -> u64 {
        self.epoch.now_ms()
    }

    /// How long a verdict of this kind lives: the one lifetime rule, here and in Redis.
    fn ttl_for(&self, lookup: &Lookup) -> Duration {
        match lookup {
            Lookup::Owner(_) => self.positive_ttl,
            Lookup::Rejected(_) => self.negative_ttl,
        }
    }

    /// The rule for Redis: `None` for what is never shared (a zero lifetime, which Redis refuses
    /// as `PX 0`, or an id mismatch, which `/me` never answers and so only a forger writes).
    fn shared_ttl(&self, lookup: &Lookup) -> Option<Duration> {
        if matches!(lookup, Lookup::Rejected(RejectReason::IdMismatch)) {
            return None;
        }
        let ttl = self.ttl_for(lookup);
        (!ttl.is_zero()).then_some(ttl)
    }

    /// Hands a verdict to the shared cache under the lifetime rule (in the background).
    fn share(&self, key: &TokenKey, lookup: &Lookup) {
        if let Some((shared, ttl)) = self.shared.as_ref().zip(self.shared_ttl(lookup)) {
            shared.put(key, lookup, ttl);
        }
    }

    /// What the placeholder's holder does: the shared cache, then `/me` (whose answer goes to
    /// the shared cache in the background). Upstream trouble comes back dead on arrival, to be
    /// handed to the waiters and no one else.
    async fn fetch(
        &self,
        client: &InstagramClient,
        token: &AccessToken,
        key: &TokenKey,
    ) -> (Cached, Source) {
        if let Some(shared) = &self.shared {
            match shared.get(key, |l| self.shared_ttl(l)).await {
                Some(Found::Verdict(lookup, ttl)) => {
                    return (self.cached(lookup, ttl), Source::Shared)
                }
                Some(Found::Paused(until_ms)) => self.follow_pause(client, until_ms),
                None => {}
            }
        }
        let outcome = client.me(token).await;
        if matches!(outcome, Err(UpstreamError::RateLimited)) {
            self.publish_pause(client);
        }
        let cached = match outcome {
            Ok(lookup) => {
                self.share(key, &lookup);
                let ttl = self.ttl_for(&lookup);
                self.cached(lookup, ttl)
            }
            Err(trouble) => Cached {
                answer: Err(trouble),
                until_ms: 0,
            },
        };
        (cached, Source::Instagram)
    }

    /// Another replica was told Instagram throttles the app: this one pauses too, but never
    /// longer than igauth's own pause from now, whatever the value said.
    fn follow_pause(&self, client: &InstagramClient, until_ms: u64) {
        let until_ms = until_ms.min(unix_ms().saturating_add(millis(THROTTLE_PAUSE)));
        self.pause_noted_ms.fetch_max(until_ms, Ordering::AcqRel);
        client.pause().pause_until(until_ms);
    }

    /// Instagram throttled a call (or the pause refused one): tells the fleet of a pause it has
    /// not heard of from us yet, so one throttle is written once, not once per refused call.
    fn publish_pause(&self, client: &InstagramClient) {
        let (Some(shared), Some(until_ms)) = (&self.shared, client.pause().paused_until()) else {
            return;
        };
        if self.pause_noted_ms.fetch_max(until_ms, Ordering::AcqRel) < until_ms {
            shared.put_pause(until_ms);
        }
    }

    pub(crate) fn cached_entries(&self) -> u64 {
        self.cache.as_ref().map_or(0, |cache| cache.len() as u64)
    }
}
