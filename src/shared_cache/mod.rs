//! The shared verdict cache: what Instagram's `/me` said about a token, kept in Redis so that a
//! fleet of replicas asks Instagram once per token instead of once per replica. The same Redis
//! also makes login states single-use across the fleet ([`SharedCache::claim_state`]).
//!
//! It sits behind each replica's in-process cache (see [`crate::validator`]): local, then Redis,
//! then `/me`. Redis is storage, not an oracle: keys are keyed hashes of the token and every
//! value carries a MAC over key, value and expiry under `IGAUTH_CACHE__REDIS_SECRET` ([`seal`]),
//! so a value igauth did not write for that key is ignored like a miss (and counted in
//! `igauth_shared_cache_rejected_total`). Values are the text form of a [`Lookup`]. Lifetimes
//! are the validator's one rule, handed in with each call (owners live `ttl`, rejections
//! `negative_ttl`, upstream trouble is never stored), and a replica that finds a verdict in Redis keeps it locally only for what is
//! left of its sealed lifetime, so a verdict lives at most `ttl` after `/me` gave it, fleet-wide.
//!
//! Used login states are keys `igauth:state:` + the state's nonce id, set with `SET NX` for the
//! state's lifetime: the first replica to set one wins, the others refuse the state (when the
//! value there is sealed by igauth; a planted one cannot refuse a login).
//!
//! Data-deletion statuses, when Parse does not keep them, are sealed records too
//! ([`SharedCache::put_record`], in `records.rs`).
//!
//! Instagram's throttle pause is one sealed value, `igauth:pause:instagram`, that lives as long
//! as the pause (`pause.rs`): read with every verdict lookup, written by the replica Instagram
//! throttled.
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

mod handoffs;
mod health;
mod pause;
mod probe;
mod records;
mod seal;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use crate::clock::{millis, unix_ms as now_ms};

use redis::aio::ConnectionManager;
use redis::aio::ConnectionManagerConfig;

use crate::domain::{Lookup, TokenKey};
use crate::metrics::Metrics;
use crate::settings::CacheSettings;
use health::Health;
pub(crate) use pause::Found;
use pause::PAUSE_KEY;
pub(crate) use probe::probe;
use seal::{Generation, Sealer};

/// What a used login state's value says (sealed like every value).
const USED: &str = "used";
/// At most one WARN line per this many milliseconds about values that failed their MAC.
const REJECTION_LOG_EVERY_MS: u64 = 60_000;

/// Operation labels of `igauth_shared_cache_errors_total`.
const OP_GET: &str = "get";
const OP_SET: &str = "set";
const OP_CONNECT: &str = "connect";
const OP_CLAIM: &str = "claim";

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
    health: Health,
    sealer: Sealer,
    /// When the last WARN about a rejected value was written (ms since the epoch).
    last_rejection_log: AtomicU64,
    metrics: Arc<Metrics>,
}

impl SharedCache {
    /// Prepares the cache and, when called inside a Tokio runtime (as the server is), starts
    /// connecting in the background. Fails only on a URL or CA file Redis cannot use, which
    /// [`crate::settings::Settings`] has already refused.
    pub(crate) fn new(
        settings: &CacheSettings,
        metrics: Arc<Metrics>,
    ) -> Result<SharedCache, String> {
        let client = probe::client(settings)?;
        let budget = Duration::from_millis(settings.redis_timeout_ms.max(1));
        let cache = SharedCache {
            inner: Arc::new(Inner {
                client,
                conn: OnceLock::new(),
                connecting: AtomicBool::new(false),
                budget,
                health: Health::new(),
                sealer: Sealer::new(&settings.redis_secret, &settings.redis_secret_previous),
                last_rejection_log: AtomicU64::new(0),
                metrics,
            }),
        };
        cache.ensure_connecting();
        Ok(cache)
    }

    /// What Redis knows that spares a `/me` call for `key`: the verdict it holds and how long
    /// it has left, or else Instagram's throttle pause another replica recorded (read in the same
    /// round trip, so sharing the pause costs nothing extra). `None` when Redis has neither, or
    /// is slow, down or not connected (those are counted; the caller asks Instagram, under its
    /// own pause). A value that igauth did not seal for its key is ignored like a miss, and
    /// counted. `ttl_for` is the caller's lifetime rule (the validator's): a value is never
    /// believed for longer, nor at all for a kind the rule never stores.
    pub(crate) async fn get(
        &self,
        key: &TokenKey,
        ttl_for: impl Fn(&Lookup) -> Option<Duration>,
    ) -> Option<Found> {
        let mut conn = self.usable_connection(OP_GET)?;
        let names = self.inner.sealer.verdict_keys(key);
        let mut cmd = redis::cmd("MGET");
        for (_, name) in &names {
            cmd.arg(name);
        }
        cmd.arg(PAUSE_KEY);
        let mut values = self
            .inner
            .within_budget(OP_GET, cmd.query_async::<Vec<Option<Vec<u8>>>>(&mut conn))
            .await?;
        let pause = values.pop().flatten();
        // The current secret's entry first; the previous one only while a rotation is under way.
        for ((generation, name), value) in names.iter().zip(values) {
            let Some(value) = value else {
                continue;
            };
            match self.inner.open_verdict(name, &value, *generation, &ttl_for) {
                Ok(Some((lookup, ttl))) => return Some(Found::Verdict(lookup, ttl)),
                Ok(None) => {}
                Err(()) => self.inner.rejected(),
            }
        }
        self.inner.open_pause(&pause?).map(Found::Paused)
    }

    /// Stores what `/me` said, sealed, with the lifetime for its kind, without waiting for
    /// Redis: the write runs as its own task under the same budget (inside a Tokio runtime, as
    /// the server is).
    pub(crate) fn put(&self, key: &TokenKey, lookup: &Lookup, ttl: Duration) {
        let Some((_, name)) = self.inner.sealer.verdict_keys(key).into_iter().next() else {
            return;
        };
        self.put_in_background(&name, &lookup.encode(), ttl);
    }

    /// `SET name` to `value` sealed, for `ttl`, as its own task under the `set` budget: the
    /// caller never waits for Redis.
    fn put_in_background(&self, name: &str, value: &str, ttl: Duration) {
        let Some(mut conn) = self.usable_connection(OP_SET) else {
            return;
        };
        let cmd = self.inner.sealed_set(name, value, ttl, false);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let inner = self.inner.clone();
        runtime.spawn(async move {
            inner.within_budget(OP_SET, cmd.exec_async(&mut conn)).await;
        });
    }

    /// Marks the login state with this nonce id as used for `ttl`, for the whole fleet
    /// (`SET NX`): `Some(true)` when this call was the first, `Some(false)` when a replica
    /// already had, `None` when Redis cannot say right now (counted under `op="claim"`) or holds
    /// something under that key that igauth did not seal (counted as rejected).
    pub(crate) async fn claim_state(&self, nonce_id: &str, ttl: Duration) -> Option<bool> {
        let mut conn = self.usable_connection(OP_CLAIM)?;
        let name = Sealer::state_key(nonce_id);
        let cmd = self.inner.sealed_set(&name, USED, ttl, true);
        // Redis answers OK when it set the key, nil when the key was there.
        let set = self
            .inner
            .within_budget(OP_CLAIM, cmd.query_async::<Option<String>>(&mut conn))
            .await?;
        if set.is_some() {
            return Some(true);
        }
        // Taken: believe it only if a replica of ours sealed it, so a planted key cannot
        // refuse someone's login.
        let mut get = redis::cmd("GET");
        get.arg(&name);
        let held = self
            .inner
            .within_budget(OP_CLAIM, get.query_async::<Option<Vec<u8>>>(&mut conn))
            .await?;
        let generations = self.inner.sealer.all();
        match held.and_then(|v| {
            let opened = self.inner.sealer.open(&name, &v, &generations);
            opened.map(|(payload, _)| payload == USED)
        }) {
            Some(true) => Some(false),
            _ => {
                self.inner.rejected();
                None
            }
        }
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
    /// `SET name <payload sealed for name and its expiry> [NX] PX ttl`: every write igauth makes
    /// to Redis. `only_new` sets it only where nothing is (`NX`).
    fn sealed_set(&self, name: &str, payload: &str, ttl: Duration, only_new: bool) -> redis::Cmd {
        // Redis refuses `PX 0`.
        let ttl_ms = millis(ttl).max(1);
        let value = self
            .sealer
            .seal(name, now_ms().saturating_add(ttl_ms), payload);
        let mut cmd = redis::cmd("SET");
        cmd.arg(name).arg(value);
        if only_new {
            cmd.arg("NX");
        }
        cmd.arg("PX").arg(ttl_ms);
        cmd
    }

    /// A verdict read under `name`: `Ok(Some)` when sealed by us and alive, `Ok(None)` when it
    /// has expired, `Err` when it is not ours.
    fn open_verdict(
        &self,
        name: &str,
        value: &[u8],
        generation: Generation,
        ttl_for: &impl Fn(&Lookup) -> Option<Duration>,
    ) -> Result<Option<(Lookup, Duration)>, ()> {
        let (payload, expires_at_ms) = self.sealer.open(name, value, &[generation]).ok_or(())?;
        let lookup = Lookup::decode(payload.as_bytes()).ok_or(())?;
        let Some(ttl) = ttl_for(&lookup) else {
            return Err(());
        };
        let left = Duration::from_millis(expires_at_ms.saturating_sub(now_ms()));
        // Never keep a verdict longer than our own rule, whatever the value says.
        Ok((!left.is_zero()).then(|| (lookup, left.min(ttl))))
    }

    /// Counts a value that failed its MAC, and says so in the log at most once a minute.
    fn rejected(&self) {
        self.metrics.shared_cache_rejected.inc();
        let now = now_ms();
        let last = self.last_rejection_log.load(Ordering::Acquire);
        if now.saturating_sub(last) >= REJECTION_LOG_EVERY_MS
            && self
                .last_rejection_log
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            log::warn!(
                "shared cache: ignored a value in Redis that igauth did not seal (forged, copied \
                 to another key, or written with another IGAUTH_CACHE__REDIS_SECRET); asked \
                 Instagram instead. Further ones are counted in igauth_shared_cache_rejected_total \
                 and logged at most once a minute"
            );
        }
    }

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
