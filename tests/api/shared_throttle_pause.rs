//! Instagram's throttling is the app's, not one replica's: once Instagram tells one replica the
//! app is throttled, the others stop calling `/me` too, until the pause has passed. The pause
//! goes through Redis sealed like every other value, so a planted one is ignored, and Redis
//! going away never lifts a replica's own pause. Two igauth apps on one real `redis-server`,
//! each with its own mockito Instagram so that every `/me` call is counted per replica.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use mockito::{Matcher, ServerGuard};

use crate::helpers::redis_fleet::*;
use crate::helpers::redis_server::Redis;
use crate::helpers::*;

/// Where replicas keep the pause's end.
const PAUSE_KEY: &str = "igauth:pause:instagram";

/// Every `/me` call on `ig` answers `status` with `body`; `hits` counts them.
async fn every_me(ig: &mut ServerGuard, status: usize, body: &str) -> Arc<AtomicUsize> {
    let hits = Arc::new(AtomicUsize::new(0));
    ig.mock("GET", "/me")
        .match_query(Matcher::Any)
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_chunked_body(counted_body(&hits, body, Duration::ZERO))
        .expect_at_least(0)
        .create_async()
        .await;
    hits
}

fn calls(hits: &AtomicUsize) -> usize {
    hits.load(std::sync::atomic::Ordering::SeqCst)
}

fn assert_throttled(answer: &Answer) {
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(
        answer.error_code(),
        "upstream_rate_limited",
        "{}",
        answer.text
    );
    assert_eq!(answer.header("retry-after"), Some("30"), "{}", answer.text);
}

/// Two replicas on one fresh Redis, each connected, each with its own Instagram.
async fn fleet() -> (Redis, [(TestApp, ServerGuard); 2]) {
    let redis = Redis::start().await;
    let env = replica_env(&redis.url(), Some("250"));
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let mut ig = mockito::Server::new_async().await;
        let app = spawn_replica(&ig, &env).await;
        until_connected(&app, &mut ig, &redis, REDIS_SECRET).await;
        replicas.push((app, ig));
    }
    let Ok(pair) = <[_; 2]>::try_from(replicas) else {
        unreachable!("two replicas")
    };
    (redis, pair)
}

#[actix_web::test]
async fn a_replica_throttled_by_instagram_pauses_the_whole_fleet() {
    let (mut redis, [(a, mut ig_a), (b, mut ig_b)]) = fleet().await;
    let throttling = every_me(&mut ig_a, 400, RATE_LIMITED_BODY).await;
    let b_calls = every_me(&mut ig_b, 200, &me_body(BIG_ID, "jay")).await;

    assert_throttled(&a.validate(BIG_ID, "IGT-first-throttled").await);
    assert_eq!(calls(&throttling), 1);
    assert!(
        redis.wait_for(PAUSE_KEY, Duration::from_secs(5)).await,
        "A told the fleet about the pause"
    );
    // Sealed like every value, and gone from Redis when the pause is over.
    let value: String = redis.query(redis::cmd("GET").arg(PAUSE_KEY)).await;
    assert!(
        value.ends_with(".throttled") && value.split('.').count() == 3,
        "{value}"
    );
    let left_ms: i64 = redis.query(redis::cmd("PTTL").arg(PAUSE_KEY)).await;
    assert!((1..=30_000).contains(&left_ms), "{left_ms}");

    // B was never throttled itself, and its Instagram would say yes: it asks nobody.
    for i in 0..20 {
        assert_throttled(&b.validate(BIG_ID, &format!("IGT-b-during-{i}")).await);
    }
    assert_eq!(calls(&b_calls), 0, "B called /me during the fleet's pause");
    assert_eq!(calls(&throttling), 1, "A called /me during its own pause");

    // Redis going away never lifts a pause: A still keeps its own.
    redis.stop();
    for i in 0..20 {
        assert_throttled(&a.validate(BIG_ID, &format!("IGT-a-no-redis-{i}")).await);
    }
    assert_eq!(calls(&throttling), 1, "A called /me once Redis was gone");
}

#[actix_web::test]
async fn a_pause_igauth_did_not_seal_is_ignored_and_counted() {
    let (redis, [(b, mut ig_b), _]) = fleet().await;
    let b_calls = every_me(&mut ig_b, 200, &me_body(BIG_ID, "jay")).await;
    // Shaped like a sealed pause (a MAC, an expiry a year ahead, the payload) but not sealed
    // with the replicas' secret.
    let year_ahead = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 365 * 24 * 3600 * 1000;
    let forged = format!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.{year_ahead}.throttled");
    let _: () = redis
        .query(
            redis::cmd("SET")
                .arg(PAUSE_KEY)
                .arg(forged)
                .arg("PX")
                .arg(60_000),
        )
        .await;
    let before = b.scrape().await;

    expect_verdict(&b, "IGT-b-despite-planted-pause", true).await;
    assert_eq!(calls(&b_calls), 1, "the planted pause stopped B's call");
    let after = b.scrape().await;
    assert!(
        series(&after, "igauth_shared_cache_rejected_total")
            > series(&before, "igauth_shared_cache_rejected_total"),
        "the planted pause was not counted as rejected"
    );
}
