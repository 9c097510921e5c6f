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

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::Expiry;

use crate::domain::{AccessToken, AuthData, Lookup, Verdict};
use crate::instagram::{InstagramClient, UpstreamError};
use crate::metrics::Metrics;
use crate::settings::CacheSettings;

/// SHA-256 of the token.
pub type TokenKey = [u8; 32];

pub fn token_key(token: &AccessToken) -> TokenKey {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.expose().as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

/// Lifetimes by kind of answer.
struct LookupExpiry {
    positive: Duration,
    negative: Duration,
}

impl Expiry<TokenKey, Lookup> for LookupExpiry {
    fn expire_after_create(&self, _: &TokenKey, value: &Lookup, _: Instant) -> Option<Duration> {
        Some(match value {
            Lookup::Owner(_) => self.positive,
            Lookup::Rejected(_) => self.negative,
        })
    }
}

pub struct Validator {
    /// `None` when the cache is turned off (TTL 0).
    cache: Option<Cache<TokenKey, Lookup>>,
    metrics: Arc<Metrics>,
}

impl Validator {
    pub fn new(settings: &CacheSettings, metrics: Arc<Metrics>) -> Validator {
        let cache = (settings.ttl_secs > 0).then(|| {
            Cache::builder()
                .max_capacity(settings.max_entries)
                .expire_after(LookupExpiry {
                    positive: Duration::from_secs(settings.ttl_secs),
                    negative: Duration::from_secs(settings.negative_ttl_secs),
                })
                .build()
        });
        Validator { cache, metrics }
    }

    /// Does `auth.access_token` belong to `auth.id`?
    pub async fn validate(
        &self,
        client: &InstagramClient,
        auth: &AuthData,
    ) -> Result<Verdict, UpstreamError> {
        Ok(self
            .lookup(client, &auth.access_token)
            .await?
            .verdict_for(&auth.id))
    }

    /// What Instagram says about this token, from cache or from `/me`.
    pub async fn lookup(
        &self,
        client: &InstagramClient,
        token: &AccessToken,
    ) -> Result<Lookup, UpstreamError> {
        let Some(cache) = &self.cache else {
            self.metrics.cache_misses.inc();
            return client.me(token).await;
        };
        let key = token_key(token);
        if let Some(hit) = cache.get(&key).await {
            self.metrics.cache_hits.inc();
            return Ok(hit);
        }
        let entry = cache
            .entry(key)
            .or_try_insert_with(client.me(token))
            .await
            .map_err(|e| (*e).clone())?;
        if entry.is_fresh() {
            self.metrics.cache_misses.inc();
        } else {
            // Another request fetched it while we waited: a single-flight join.
            self.metrics.singleflight_joins.inc();
        }
        self.metrics.cache_entries.set(cache.entry_count() as i64);
        Ok(entry.into_value())
    }

    pub fn cached_entries(&self) -> u64 {
        self.cache.as_ref().map_or(0, Cache::entry_count)
    }
}
