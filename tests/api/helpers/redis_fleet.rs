//! Replicas sharing one Redis: the keys igauth stores verdicts under, replicas configured to
//! share it, and polls until their background connections are up.

use std::time::{Duration, Instant};

use mockito::ServerGuard;

use super::redis_server::Redis;
use super::*;

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

/// Polls until `b` answers a verdict `a` learned with no `/me` call of its own (for a Redis the
/// test cannot read, such as one behind TLS); `how` names the set-up in the failure.
pub async fn until_reused(a: &TestApp, b: &TestApp, ig: &mut ServerGuard, how: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in 0.. {
        let never = format!("the replicas never shared a verdict {how}");
        assert!(Instant::now() < deadline, "{never}");
        let token = format!("IGT-reuse-probe-{i}");
        let me = valid_me(ig, &token, 1).await;
        expect_verdict(a, &token, true).await;
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        expect_verdict(b, &token, true).await;
        if me.hits() == 1 {
            return;
        }
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
