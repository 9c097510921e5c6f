//! The validator core: "who owns this token?", answered from memory when we can, from Instagram's
//! `/me` when we must, and never asked twice at the same time.
//!
//! The cached fact is what `/me` said about a token (its owner, or that it is invalid or expired),
//! keyed by a SHA-256 of the token: the raw token is never a map key. Comparing the owner with a
//! claimed id is done per request, so `/v1/introspect` (no claimed id) and `/v1/validate` share
//! entries, and a mismatch never needs a second upstream call. Owners live `ttl`, rejections
//! `negative_ttl`; upstream trouble is never cached. Concurrent misses for one token join a single
//! `/me` call (moka's `entry().or_try_insert_with` runs one init per key and hands its result to
//! every waiter): that is the single-flight.
//!
//! With `IGAUTH_CACHE__BACKEND=redis` a [`SharedCache`] sits between the two: local, then Redis,
//! then `/me`. The Redis read happens inside the single-flight init, so concurrent misses on one
//! replica make at most one Redis read and one `/me` call; what `/me` says is written to Redis
//! without waiting. A verdict found in Redis counts as a cache hit and is kept locally only for
//! what is left of its Redis lifetime. Redis trouble is never an error here: it is a miss.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::Expiry;

use crate::domain::{AccessToken, AuthData, Lookup, TokenKey, Verdict};
use crate::instagram::{InstagramClient, UpstreamError};
use crate::metrics::Metrics;
use crate::settings::CacheSettings;
use crate::shared_cache::SharedCache;

/// A cached lookup and how long it may live: the rule for its kind, or what is left of that in
/// the shared cache when it came from there.
#[derive(Clone)]
struct Cached {
    lookup: Lookup,
    ttl: Duration,
}

/// Each entry lives the lifetime it was inserted with.
struct CachedExpiry;

impl Expiry<TokenKey, Cached> for CachedExpiry {
    fn expire_after_create(&self, _: &TokenKey, value: &Cached, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Where a single-flight init found its answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Instagram,
    Shared,
}

pub(crate) struct Validator {
    /// `None` when the cache is turned off (TTL 0).
    cache: Option<Cache<TokenKey, Cached>>,
    /// Redis, when `cache.backend = redis` and the cache is on.
    shared: Option<SharedCache>,
    positive_ttl: Duration,
    negative_ttl: Duration,
    metrics: Arc<Metrics>,
}

impl Validator {
    /// Builds the local cache; `shared` (the redis backend) is used behind it when it is on.
    pub(crate) fn new(
        settings: &CacheSettings,
        shared: Option<SharedCache>,
        metrics: Arc<Metrics>,
    ) -> Validator {
        let cache = (settings.ttl_secs > 0).then(|| {
            Cache::builder()
                .max_capacity(settings.max_entries)
                .expire_after(CachedExpiry)
                .build()
        });
        let shared = shared.filter(|_| cache.is_some());
        Validator {
            cache,
            shared,
            positive_ttl: Duration::from_secs(settings.ttl_secs),
            negative_ttl: Duration::from_secs(settings.negative_ttl_secs),
            metrics,
        }
    }

    /// Does `auth.access_token` belong to `auth.id`?
    pub(crate) async fn validate(
        &self,
        client: &InstagramClient,
        auth: &AuthData,
    ) -> Result<Verdict, UpstreamError> {
        Ok(self
            .lookup(client, &auth.access_token)
            .await?
            .verdict_for(&auth.id))
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
        if let Some(hit) = cache.get(&key).await {
            self.metrics.cache_hits.inc();
            return Ok(hit.lookup);
        }
        let source = Cell::new(Source::Instagram);
        let entry = cache
            .entry(key)
            .or_try_insert_with(self.fetch(client, token, &key, &source))
            .await
            .map_err(|e| (*e).clone())?;
        if !entry.is_fresh() {
            // Another request fetched it while we waited: a single-flight join.
            self.metrics.singleflight_joins.inc();
        } else if source.get() == Source::Shared {
            self.metrics.cache_hits.inc();
        } else {
            self.metrics.cache_misses.inc();
        }
        self.metrics.cache_entries.set(cache.entry_count() as i64);
        Ok(entry.into_value().lookup)
    }

    /// Records what Instagram said about `token` when it is known without asking `/me`: a
    /// long-lived token belongs to whoever owns the short-lived token it was issued for. Kept
    /// like a `/me` answer: locally, and in the shared cache.
    pub(crate) async fn remember(&self, token: &AccessToken, lookup: Lookup) {
        let Some(cache) = &self.cache else {
            return;
        };
        let key = token.cache_key();
        if let Some(shared) = &self.shared {
            shared.put(&key, &lookup);
        }
        let ttl = self.ttl_for(&lookup);
        cache.insert(key, Cached { lookup, ttl }).await;
    }

    fn ttl_for(&self, lookup: &Lookup) -> Duration {
        match lookup {
            Lookup::Owner(_) => self.positive_ttl,
            Lookup::Rejected(_) => self.negative_ttl,
        }
    }

    /// The single-flight init: the shared cache, then `/me` (whose answer goes to the shared
    /// cache in the background). Upstream errors are returned, never stored.
    async fn fetch(
        &self,
        client: &InstagramClient,
        token: &AccessToken,
        key: &TokenKey,
        source: &Cell<Source>,
    ) -> Result<Cached, UpstreamError> {
        if let Some(shared) = &self.shared {
            if let Some((lookup, ttl)) = shared.get(key).await {
                source.set(Source::Shared);
                return Ok(Cached { lookup, ttl });
            }
        }
        let lookup = client.me(token).await?;
        if let Some(shared) = &self.shared {
            shared.put(key, &lookup);
        }
        let ttl = self.ttl_for(&lookup);
        Ok(Cached { lookup, ttl })
    }

    pub(crate) fn cached_entries(&self) -> u64 {
        self.cache.as_ref().map_or(0, Cache::entry_count)
    }
}
