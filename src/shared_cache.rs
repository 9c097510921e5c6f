//! The shared verdict cache: what Instagram's `/me` said about a token, kept in Redis so that a
//! fleet of replicas asks Instagram once per token instead of once per replica. The same Redis
//! also makes login states single-use across the fleet ([`SharedCache::claim_state`]).
//!
//! It sits behind each replica's in-process cache (see [`crate::validator`]): local, then Redis,
//! then `/me`. Keys are `igauth:v1:` + the hex SHA-256 of the token, never the token; values are a
//! short text form of the [`Lookup`] (see [`Lookup::encode`]). Lifetimes follow the local rules (owners
//! live `ttl`, rejections `negative_ttl`, upstream trouble is never stored), and a replica that
//! finds a verdict in Redis keeps it locally only for what is left of its Redis lifetime, so a
//! verdict lives at most `ttl` after `/me` gave it, fleet-wide.
//!
//! Used login states are keys `igauth:state:` + the state's nonce id, set with `SET NX` for the
//! state's lifetime: the first replica to set one wins, the others refuse the state.
//!
//! Redis is an optimisation, never a dependency:
//! - every read and write has a short budget (`IGAUTH_CACHE__REDIS_TIMEOUT_MS`); an error, a
//!   timeout or no connection yet means "not in Redis", the validator asks Instagram (or the
//!   login goes on with this replica's own memory of used states), and the fallback is counted in
//!   `igauth_shared_cache_errors_total{op="get"|"set"|"claim"}`;
//! - after a failure Redis is left alone for a short pause that grows while it keeps failing
//!   (250 ms up to 2 s); when the pause is over, one request probes it while the others keep
//!   skipping it, so an outage costs one budget per pause per replica, not one per request;
//! - writes never hold up an answer: they run as their own task;
//! - the connection is made in the background at startup and retried with backoff until Redis
//!   answers (each failed attempt counts as `op="connect"`), so the service starts and serves
//!   without Redis; once connected, redis' `ConnectionManager` reconnects by itself.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::aio::ConnectionManagerConfig;

use crate::domain::{Lookup, RejectReason, TokenKey};
use crate::metrics::Metrics;
use crate::settings::CacheSettings;

/// Bump the version when the value encoding changes: old and new replicas then never read each
/// other's values during a rolling deploy.
pub(crate) const KEY_PREFIX: &str = "igauth:v1:";

/// The Redis key for a token's verdict: never the raw token.
pub(crate) fn redis_key(key: &TokenKey) -> String {
    let mut out = String::with_capacity(KEY_PREFIX.len() + 64);
    out.push_str(KEY_PREFIX);
    for byte in key {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The Redis key that marks a login state as used, by its nonce id (random, not a secret: it
/// already names the browser-binding cookie). Not under [`KEY_PREFIX`]: bumping that for a new
/// verdict encoding must not let old and new replicas accept each other's used states.
fn state_key(nonce_id: &str) -> String {
    format!("igauth:state:{nonce_id}")
}

/// Operation labels of `igauth_shared_cache_errors_total`.
const OP_GET: &str = "get";
const OP_SET: &str = "set";
const OP_CONNECT: &str = "connect";
const OP_CLAIM: &str = "claim";

/// Pause after the first failure, doubled per further failure up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// Backoff between initial connection attempts.
const FIRST_CONNECT_RETRY: Duration = Duration::from_millis(100);
const MAX_CONNECT_RETRY: Duration = Duration::from_secs(5);
/// Bound on one connection attempt (TCP connect and handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A handle on the shared cache; clones share one connection.
#[derive(Clone)]
pub(crate) struct SharedCache {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    /// Set once the first connection is made; the manager reconnects by itself after that.
    conn: OnceLock<ConnectionManager>,
    /// A connection task is running.
    connecting: AtomicBool,
    budget: Duration,
    positive_ttl: Duration,
    negative_ttl: Duration,
    health: Health,
    metrics: Arc<Metrics>,
}

impl SharedCache {
    /// Prepares the cache and, when called inside a Tokio runtime (as the server is), starts
    /// connecting in the background. Fails only on a URL Redis cannot use, which
    /// [`crate::settings::Settings`] has already refused.
    pub(crate) fn new(
        settings: &CacheSettings,
        metrics: Arc<Metrics>,
    ) -> Result<SharedCache, String> {
        let client = redis::Client::open(settings.redis_url.expose())
            .map_err(|_| "IGAUTH_CACHE__REDIS_URL is not a usable redis:// URL".to_string())?;
        let budget = Duration::from_millis(settings.redis_timeout_ms.max(1));
        let cache = SharedCache {
            inner: Arc::new(Inner {
                client,
                conn: OnceLock::new(),
                connecting: AtomicBool::new(false),
                budget,
                positive_ttl: Duration::from_secs(settings.ttl_secs),
                negative_ttl: Duration::from_secs(settings.negative_ttl_secs),
                health: Health::new(),
                metrics,
            }),
        };
        cache.ensure_connecting();
        Ok(cache)
    }

    /// The verdict Redis holds for `key` and how long it has left, or `None` when Redis has none,
    /// or is slow, down or not connected (those are counted; the caller asks Instagram).
    pub(crate) async fn get(&self, key: &TokenKey) -> Option<(Lookup, Duration)> {
        let mut conn = self.usable_connection(OP_GET)?;
        let name = redis_key(key);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(&name).cmd("PTTL").arg(&name);
        let (value, pttl) = self
            .inner
            .within_budget(
                OP_GET,
                pipe.query_async::<(Option<Vec<u8>>, i64)>(&mut conn),
            )
            .await?;
        let value = value?;
        let Some(lookup) = Lookup::decode(&value) else {
            // Not something we wrote (or a future encoding under our prefix): ignore it.
            self.inner
                .metrics
                .shared_cache_errors
                .with_label_values(&[OP_GET])
                .inc();
            log::warn!("shared cache: ignoring an unreadable value under {KEY_PREFIX}*");
            return None;
        };
        let ttl = self.inner.ttl_for(&lookup)?;
        // Never keep a verdict longer than our own rule, whatever Redis says.
        let left = match pttl {
            ms if ms > 0 => Duration::from_millis(ms.unsigned_abs()).min(ttl),
            // No expiry: not written by us; hold it for our rule at most.
            -1 => ttl,
            // Gone (-2) or expiring right now.
            _ => return None,
        };
        Some((lookup, left))
    }

    /// Stores what `/me` said, with the lifetime for its kind, without waiting for Redis: the
    /// write runs as its own task under the same budget (inside a Tokio runtime, as the server is).
    pub(crate) fn put(&self, key: &TokenKey, lookup: &Lookup) {
        let Some(ttl) = self.inner.ttl_for(lookup) else {
            return;
        };
        let Some(mut conn) = self.usable_connection(OP_SET) else {
            return;
        };
        let inner = self.inner.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(redis_key(key))
            .arg(lookup.encode())
            .arg("EX")
            .arg(ttl.as_secs());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            inner.within_budget(OP_SET, cmd.exec_async(&mut conn)).await;
        });
    }

    /// Marks the login state with this nonce id as used for `ttl`, for the whole fleet
    /// (`SET NX`): `Some(true)` when this call was the first, `Some(false)` when a replica
    /// already had, `None` when Redis cannot say right now (counted under `op="claim"`).
    pub(crate) async fn claim_state(&self, nonce_id: &str, ttl: Duration) -> Option<bool> {
        let mut conn = self.usable_connection(OP_CLAIM)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(state_key(nonce_id))
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
        // Redis answers OK when it set the key, nil when the key was there.
        let set = self
            .inner
            .within_budget(OP_CLAIM, cmd.query_async::<Option<String>>(&mut conn))
            .await?;
        Some(set.is_some())
    }

    /// The connection when Redis may be tried now; otherwise counts a fallback for `op`.
    fn usable_connection(&self, op: &str) -> Option<ConnectionManager> {
        let conn = match self.inner.conn.get() {
            Some(conn) if self.inner.health.permit(self.inner.budget) => Some(conn.clone()),
            Some(_) => None,
            None => {
                self.ensure_connecting();
                None
            }
        };
        if conn.is_none() {
            self.inner
                .metrics
                .shared_cache_errors
                .with_label_values(&[op])
                .inc();
        }
        conn
    }

    /// Starts the background connection task unless it runs or has succeeded. Outside a Tokio
    /// runtime it does nothing; the next use inside one starts it.
    fn ensure_connecting(&self) {
        if self.inner.conn.get().is_some() || self.inner.connecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.inner.connecting.store(false, Ordering::Release);
            return;
        };
        runtime.spawn(connect(Arc::downgrade(&self.inner)));
    }
}

/// Connects until Redis answers, backing off between attempts. Holds the cache only weakly, so a
/// dropped app (tests run many) ends the task at its next attempt.
async fn connect(weak: Weak<Inner>) {
    let mut retry = FIRST_CONNECT_RETRY;
    let mut attempts = 0u32;
    loop {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(inner.budget.max(Duration::from_millis(500))))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_secs(1));
        let attempt = actix_web::rt::time::timeout(
            CONNECT_TIMEOUT * 2,
            ConnectionManager::new_with_config(inner.client.clone(), config),
        )
        .await;
        let reason = match attempt {
            Ok(Ok(manager)) => {
                let _ = inner.conn.set(manager);
                inner.connecting.store(false, Ordering::Release);
                log::info!("shared cache: connected to Redis");
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_string(),
        };
        inner
            .metrics
            .shared_cache_errors
            .with_label_values(&[OP_CONNECT])
            .inc();
        attempts += 1;
        if attempts == 1 {
            log::warn!(
                "shared cache: cannot connect to Redis ({reason}); validating through Instagram and retrying in the background"
            );
        } else {
            log::debug!("shared cache: connection attempt {attempts} failed ({reason})");
        }
        drop(inner);
        actix_web::rt::time::sleep(retry).await;
        retry = (retry * 2).min(MAX_CONNECT_RETRY);
    }
}

impl Inner {
    /// Runs one Redis round trip within the budget, keeping the health record: `None` (counted
    /// and maybe logged for `op`) on an error or timeout.
    async fn within_budget<T>(
        &self,
        op: &str,
        query: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        match actix_web::rt::time::timeout(self.budget, query).await {
            Ok(Ok(answer)) => {
                self.health.succeeded();
                Some(answer)
            }
            Ok(Err(e)) => {
                self.failed(op, &e.to_string());
                None
            }
            Err(_) => {
                self.failed(op, "timed out");
                None
            }
        }
    }

    /// How long a verdict of this kind may live; `None` for what is never stored.
    fn ttl_for(&self, lookup: &Lookup) -> Option<Duration> {
        let ttl = match lookup {
            Lookup::Owner(_) => self.positive_ttl,
            Lookup::Rejected(RejectReason::IdMismatch) => return None,
            Lookup::Rejected(_) => self.negative_ttl,
        };
        // Redis refuses `EX 0`; a zero lifetime means "do not keep".
        (ttl.as_secs() > 0).then_some(ttl)
    }

    fn failed(&self, op: &str, reason: &str) {
        self.metrics
            .shared_cache_errors
            .with_label_values(&[op])
            .inc();
        if self.health.failed() {
            log::warn!(
                "shared cache: Redis {op} failed ({reason}); validating through Instagram until it answers again"
            );
        }
    }
}

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
struct Health {
    epoch: Instant,
    /// 0 while healthy; else the time (ms since `epoch`, at least 1) before which Redis is skipped.
    skip_until_ms: AtomicU64,
    failures: AtomicU32,
}

impl Health {
    fn new() -> Health {
        Health {
            epoch: Instant::now(),
            skip_until_ms: AtomicU64::new(0),
            failures: AtomicU32::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// May this operation use Redis? After a pause, the first caller wins a probe lease (long
    /// enough for one budget) and the others keep skipping until the probe reports.
    fn permit(&self, budget: Duration) -> bool {
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

    fn succeeded(&self) {
        if self.skip_until_ms.swap(0, Ordering::AcqRel) != 0 {
            log::info!("shared cache: Redis answers again");
        }
        self.failures.store(0, Ordering::Release);
    }

    /// Starts or lengthens a pause. True when this failure ended a healthy period.
    fn failed(&self) -> bool {
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
    fn keys_are_the_prefixed_hex_hash_never_the_token() {
        let key = [0xabu8; 32];
        let name = redis_key(&key);
        assert_eq!(name.len(), KEY_PREFIX.len() + 64);
        assert!(name.starts_with("igauth:v1:abab"));
        let token = crate::domain::AccessToken::parse("IGQVJ-secret-token-value").unwrap();
        let name = redis_key(&token.cache_key());
        assert!(!name.contains("secret"));
    }

    #[test]
    fn health_pauses_after_a_failure_then_lets_one_probe_through() {
        let mut health = Health::new();
        // A clock that has run a while, so "the pause is over" below can be set as a time.
        health.epoch = Instant::now() - Duration::from_secs(10);
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
