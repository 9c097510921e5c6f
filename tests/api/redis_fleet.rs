//! Replicas on one real `redis-server` (Debian package `redis-server`): the server as a child
//! process on a free loopback port (no persistence, killed on drop, readiness polled), the keys
//! igauth stores verdicts under, and replicas configured to share it.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mockito::{Matcher, ServerGuard};

use crate::helpers::*;

/// A `redis-server` child process on a fixed loopback port; killed on drop.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    /// A port nothing listens on right now.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port()
    }

    /// Starts Redis on a free port and waits until it answers PING.
    pub async fn start() -> Redis {
        let mut redis = Redis::not_started(Redis::free_port());
        redis.restart().await;
        redis
    }

    /// A handle for `port` with no server yet (see [`Redis::restart`]).
    pub fn not_started(port: u16) -> Redis {
        Redis { port, child: None }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts Redis on the same port, empty, and waits until it answers PING.
    pub async fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .args(["--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}): install it with `apt-get install -y redis-server`")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "redis-server exited ({status}) instead of serving port {}",
                    self.port
                );
            }
            if self.ping().await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server never answered PING"
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn ping(&self) -> bool {
        let attempt = async {
            let mut conn = self.connection().await.ok()?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .ok()
        };
        actix_web::rt::time::timeout(Duration::from_secs(1), attempt)
            .await
            .ok()
            .flatten()
            .as_deref()
            == Some("PONG")
    }

    pub async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    /// Runs one command on a fresh connection (so a restart never leaves it stale).
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let mut conn = self.connection().await.expect("the test reaches Redis");
        cmd.query_async(&mut conn).await.expect("Redis answers")
    }

    pub async fn exists(&self, key: &str) -> bool {
        self.query::<i64>(redis::cmd("EXISTS").arg(key)).await == 1
    }

    /// Waits (bounded) for a key that a replica writes in the background.
    pub async fn wait_for(&self, key: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.exists(key).await {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Kills Redis outright (SIGKILL: no goodbye to its clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (STOP, CONT) to the running server.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis is running").id();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // SIGKILL ends a stopped (SIGSTOP) server too.
        self.stop();
    }
}

/// The secret every replica in these tests seals its Redis entries with.
pub const REDIS_SECRET: &str = "test-redis-secret-0123456789abcdef";

/// The key a verdict is stored under with `secret`: `igauth:v3:` + hex
/// HMAC-SHA256(secret, SHA-256(token)).
pub fn key_with(secret: &str, token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, digest.as_ref());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("igauth:v3:{hex}")
}

/// The key a verdict is stored under by the replicas of these tests.
pub fn key_of(token: &str) -> String {
    key_with(REDIS_SECRET, token)
}

/// A `/me` mock on the shared fake Instagram that counts the calls it answers.
pub struct Me {
    hits: Arc<AtomicUsize>,
    pub mock: mockito::Mock,
}

impl Me {
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub async fn mock_me_on(
    ig: &mut ServerGuard,
    token: &str,
    status: usize,
    body: &str,
    expect: usize,
) -> Me {
    let hits = Arc::new(AtomicUsize::new(0));
    let mock = ig
        .mock("GET", "/me")
        .match_query(Matcher::UrlEncoded("access_token".into(), token.into()))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_chunked_body(counted_body(&hits, body, Duration::ZERO))
        .expect(expect)
        .create_async()
        .await;
    Me { hits, mock }
}

pub async fn valid_me(ig: &mut ServerGuard, token: &str, expect: usize) -> Me {
    mock_me_on(ig, token, 200, &me_body(BIG_ID, "jay"), expect).await
}

/// Settings of a replica on `redis`. `budget_ms` overrides the default 50 ms Redis budget: the
/// sharing tests give a loaded CI machine room, since a read past its budget is (rightly) a miss.
pub fn replica_env(url: &str, budget_ms: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("IGAUTH_CACHE__BACKEND", "redis".to_string()),
        ("IGAUTH_CACHE__REDIS_URL", url.to_string()),
        ("IGAUTH_CACHE__REDIS_SECRET", REDIS_SECRET.to_string()),
        ("IGAUTH_CACHE__TTL_SECS", "300".into()),
        ("IGAUTH_CACHE__NEGATIVE_TTL_SECS", "30".into()),
    ];
    if let Some(budget) = budget_ms {
        env.push(("IGAUTH_CACHE__REDIS_TIMEOUT_MS", budget.to_string()));
    }
    env
}

pub async fn spawn_replica(ig: &ServerGuard, env: &[(&'static str, String)]) -> TestApp {
    let overrides: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_on(&ig.url(), &overrides).await
}

/// Validates on `app`, asserts the verdict, and returns how long the answer took.
pub async fn expect_verdict(app: &TestApp, token: &str, valid: bool) -> Duration {
    let started = Instant::now();
    let answer = app.validate(BIG_ID, token).await;
    let took = started.elapsed();
    assert_eq!(answer.status, 200, "{token}: {}", answer.text);
    assert_eq!(answer.json()["valid"], valid, "{token}: {}", answer.text);
    took
}

/// Polls until both replicas use Redis: a fresh probe token validated on `a` lands in Redis and
/// `b` then answers it with no `/me` call of its own.
pub async fn until_shared(
    a: &TestApp,
    b: &TestApp,
    ig: &mut ServerGuard,
    redis: &Redis,
    round: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in 0.. {
        assert!(
            Instant::now() < deadline,
            "{round}: the replicas never shared a verdict through Redis"
        );
        let token = format!("IGT-probe-{round}-{i}");
        // Sealed with the writer's current secret: `key_of` unless `a` rotated.
        let me = valid_me(ig, &token, 1).await;
        expect_verdict(a, &token, true).await;
        if !redis
            .wait_for(&key_of(&token), Duration::from_millis(300))
            .await
        {
            continue;
        }
        expect_verdict(b, &token, true).await;
        if me.hits() == 1 {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until `app` writes to Redis under `secret`: its background connection is up.
pub async fn until_connected(app: &TestApp, ig: &mut ServerGuard, redis: &Redis, secret: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in 0.. {
        assert!(Instant::now() < deadline, "the replica never reached Redis");
        let token = format!("IGT-connect-probe-{}-{i}", redis.port);
        let _me = valid_me(ig, &token, 1).await;
        expect_verdict(app, &token, true).await;
        if redis
            .wait_for(&key_with(secret, &token), Duration::from_millis(300))
            .await
        {
            return;
        }
    }
}
