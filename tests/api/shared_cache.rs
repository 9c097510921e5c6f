//! Many replicas act as one: two igauth apps on one real `redis-server` (Debian package
//! `redis-server`) and one fake Instagram. What one replica learned from `/me` is answered by the
//! other without asking again; Redis stopping, stalling or starting late never fails a validation
//! or slows it beyond a short budget; and a Redis that comes back is used again.
//!
//! `igauth check-config` reports the Redis settings without their password.
//!
//! Each test runs its own `redis-server` (see `helpers/redis_server.rs`). Readiness is polled, never slept
//! for.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::helpers::redis_fleet::*;
use crate::helpers::redis_server::Redis;
use crate::helpers::*;

/// The longest a validation may take while Redis is in trouble (a budget plus a local `/me`).
const BOUND: Duration = Duration::from_millis(500);

#[actix_web::test]
async fn replicas_share_verdicts_through_redis_and_survive_it_going_away_and_coming_back() {
    let mut redis = Redis::start().await;
    let mut ig = mockito::Server::new_async().await;
    let env = replica_env(&redis.url(), Some("250"));
    let a = spawn_replica(&ig, &env).await;
    let b = spawn_replica(&ig, &env).await;
    until_shared(&a, &b, &mut ig, &redis, "start").await;

    // A valid token learned by A is answered by B: one /me call for the fleet.
    let shared = valid_me(&mut ig, "IGT-shared-valid", 1).await;
    expect_verdict(&a, "IGT-shared-valid", true).await;
    assert!(
        redis
            .wait_for(&key_of("IGT-shared-valid"), Duration::from_secs(5))
            .await,
        "A wrote the verdict under igauth:v3:<keyed hash>"
    );
    let b_before = b.scrape().await;
    expect_verdict(&b, "IGT-shared-valid", true).await;
    assert_eq!(shared.hits(), 1, "B asked Instagram again");
    let b_after = b.scrape().await;
    assert_eq!(
        series(&b_after, "igauth_cache_hits_total") - series(&b_before, "igauth_cache_hits_total"),
        1.0,
        "a Redis answer counts as a cache hit"
    );
    assert_eq!(
        series(&b_after, "igauth_cache_misses_total"),
        series(&b_before, "igauth_cache_misses_total")
    );
    // A different claimed id with the same token: B knows the owner, so no call either.
    let answer = b.validate("17841400000000001", "IGT-shared-valid").await;
    assert_eq!(answer.json()["valid"], false, "{}", answer.text);
    assert_eq!(shared.hits(), 1);

    // What Redis holds: the owner under the hashed key, with the positive TTL; no raw token.
    let value: String = redis
        .query(redis::cmd("GET").arg(key_of("IGT-shared-valid")))
        .await;
    assert!(value.contains(BIG_ID) && !value.contains("IGT-"), "{value}");
    let pttl: i64 = redis
        .query(redis::cmd("PTTL").arg(key_of("IGT-shared-valid")))
        .await;
    assert!(pttl > 290_000 && pttl <= 300_000, "positive TTL: {pttl} ms");
    let keys: Vec<String> = redis.query(redis::cmd("KEYS").arg("*")).await;
    assert!(
        keys.iter()
            .all(|k| k.starts_with("igauth:v3:") && !k.contains("IGT")),
        "{keys:?}"
    );

    // An invalid token: the rejection is shared too, with the negative TTL.
    let invalid = mock_me_on(&mut ig, "IGT-shared-invalid", 400, INVALID_TOKEN_BODY, 1).await;
    expect_verdict(&b, "IGT-shared-invalid", false).await;
    assert!(
        redis
            .wait_for(&key_of("IGT-shared-invalid"), Duration::from_secs(5))
            .await
    );
    expect_verdict(&a, "IGT-shared-invalid", false).await;
    assert_eq!(invalid.hits(), 1, "A asked Instagram again");
    let pttl: i64 = redis
        .query(redis::cmd("PTTL").arg(key_of("IGT-shared-invalid")))
        .await;
    assert!(pttl > 20_000 && pttl <= 30_000, "negative TTL: {pttl} ms");

    // Upstream trouble is never stored: after a 5xx, a later verdict lands but this one does not.
    let down = mock_me_on(&mut ig, "IGT-shared-down", 500, "<html>down</html>", 2).await;
    let answer = a.validate(BIG_ID, "IGT-shared-down").await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    let later = valid_me(&mut ig, "IGT-shared-later", 1).await;
    expect_verdict(&a, "IGT-shared-later", true).await;
    assert!(
        redis
            .wait_for(&key_of("IGT-shared-later"), Duration::from_secs(5))
            .await
    );
    assert!(!redis.exists(&key_of("IGT-shared-down")).await);

    // Redis goes away. Both replicas keep answering, correctly and quickly, through /me.
    redis.stop();
    let fresh_valid = valid_me(&mut ig, "IGT-outage-valid", 2).await;
    let fresh_invalid = mock_me_on(&mut ig, "IGT-outage-invalid", 400, INVALID_TOKEN_BODY, 2).await;
    for app in [&a, &b] {
        let took = expect_verdict(app, "IGT-outage-valid", true).await;
        assert!(took < BOUND, "a valid token took {took:?} with Redis down");
        let took = expect_verdict(app, "IGT-outage-invalid", false).await;
        assert!(
            took < BOUND,
            "an invalid token took {took:?} with Redis down"
        );
        // What a replica already knew is still answered from memory.
        let took = expect_verdict(app, "IGT-shared-valid", true).await;
        assert!(took < BOUND);
        expect_verdict(app, "IGT-shared-invalid", false).await;
    }
    // Several more fresh tokens in a row: the pause keeps each one fast.
    for i in 0..5 {
        let token = format!("IGT-outage-more-{i}");
        let me = valid_me(&mut ig, &token, 1).await;
        let took = expect_verdict(&b, &token, true).await;
        assert!(took < BOUND, "{token} took {took:?} with Redis down");
        assert_eq!(me.hits(), 1);
    }
    assert_eq!(fresh_valid.hits(), 2, "each replica asked /me once");
    assert_eq!(fresh_invalid.hits(), 2);
    assert_eq!(shared.hits(), 1);
    assert_eq!(invalid.hits(), 1);
    for app in [&a, &b] {
        let text = app.scrape().await;
        assert!(
            series(&text, r#"igauth_shared_cache_errors_total{op="get"}"#) >= 1.0,
            "Redis trouble is counted:\n{text}"
        );
        assert_eq!(series(&text, "igauth_upstream_breaker_state"), 0.0);
    }

    // Redis comes back, empty, on the same port: both replicas use it again.
    redis.restart().await;
    until_shared(&a, &b, &mut ig, &redis, "back").await;
    let after = valid_me(&mut ig, "IGT-after-restart", 1).await;
    expect_verdict(&a, "IGT-after-restart", true).await;
    assert!(
        redis
            .wait_for(&key_of("IGT-after-restart"), Duration::from_secs(5))
            .await
    );
    expect_verdict(&b, "IGT-after-restart", true).await;
    assert_eq!(
        after.hits(),
        1,
        "B asked Instagram again after Redis came back"
    );

    for me in [
        &shared,
        &invalid,
        &down,
        &later,
        &fresh_valid,
        &fresh_invalid,
        &after,
    ] {
        me.mock.assert_async().await;
    }
}

#[actix_web::test]
async fn igauth_starts_without_redis_and_uses_it_once_it_appears() {
    let mut redis = Redis::not_started(Redis::free_port());
    let mut ig = mockito::Server::new_async().await;
    let env = replica_env(&redis.url(), Some("250"));
    let a = spawn_replica(&ig, &env).await;
    let b = spawn_replica(&ig, &env).await;

    // No Redis: the replicas start, are ready, and validate through /me without delay.
    let ready = a.get_with("/readyz", &[]).await;
    assert_eq!(ready.status, 200);
    let me = valid_me(&mut ig, "IGT-no-redis", 2).await;
    for app in [&a, &b] {
        let took = expect_verdict(app, "IGT-no-redis", true).await;
        assert!(took < BOUND, "took {took:?} with no Redis");
    }
    assert_eq!(me.hits(), 2);
    // Failed connection attempts are counted (they run in the background, so poll).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = a.scrape().await;
        if series(&text, r#"igauth_shared_cache_errors_total{op="connect"}"#) >= 1.0 {
            assert!(series(&text, r#"igauth_shared_cache_errors_total{op="get"}"#) >= 1.0);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no connect error counted:\n{text}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }

    // Redis appears: both replicas connect in the background and share from then on.
    redis.restart().await;
    until_shared(&a, &b, &mut ig, &redis, "late").await;
    let shared = valid_me(&mut ig, "IGT-late-redis", 1).await;
    expect_verdict(&b, "IGT-late-redis", true).await;
    assert!(
        redis
            .wait_for(&key_of("IGT-late-redis"), Duration::from_secs(5))
            .await
    );
    expect_verdict(&a, "IGT-late-redis", true).await;
    assert_eq!(shared.hits(), 1);
    me.mock.assert_async().await;
    shared.mock.assert_async().await;
}

#[actix_web::test]
async fn a_stalled_redis_costs_at_most_the_default_budget() {
    let redis = Redis::start().await;
    let mut ig = mockito::Server::new_async().await;
    // The default 50 ms budget.
    let env = replica_env(&redis.url(), None);
    let a = spawn_replica(&ig, &env).await;
    // Connected: a verdict lands in Redis.
    until_connected(&a, &mut ig, &redis, REDIS_SECRET).await;

    // Redis stops answering but keeps its connections open: only the budget protects us.
    redis.signal("STOP");
    for i in 0..6 {
        let token = format!("IGT-stalled-{i}");
        let me = valid_me(&mut ig, &token, 1).await;
        let took = expect_verdict(&a, &token, true).await;
        assert!(took < BOUND, "{token} took {took:?} with Redis stalled");
        assert_eq!(me.hits(), 1);
    }
    let text = a.scrape().await;
    assert!(
        series(&text, r#"igauth_shared_cache_errors_total{op="get"}"#) >= 1.0,
        "{text}"
    );
    redis.signal("CONT");
}

/// `igauth check-config` with the Redis settings: exit 0 and the URL redacted when usable, 1 when
/// Redis would never be used, 2 (like `serve`) when the URL cannot work.
#[test]
fn check_config_reports_redis_settings_without_their_password() {
    let run = |vars: &[(&str, &str)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_igauth"))
            .arg("check-config")
            .env_clear()
            .envs(vars.iter().copied())
            .output()
            .expect("the igauth binary runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!text.contains("s3cret-pw"), "the password leaked:\n{text}");
        (output.status.code(), text)
    };
    let url = ("IGAUTH_CACHE__REDIS_URL", "redis://:s3cret-pw@cache:6379/0");
    let secret = ("IGAUTH_CACHE__REDIS_SECRET", REDIS_SECRET);
    let (code, text) = run(&[("IGAUTH_CACHE__BACKEND", "redis"), url, secret]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("IGAUTH_CACHE__REDIS_TIMEOUT_MS=50\n") && text.contains("configuration OK"),
        "{text}"
    );

    let (code, text) = run(&[
        ("IGAUTH_CACHE__BACKEND", "redis"),
        url,
        secret,
        ("IGAUTH_CACHE__TTL_SECS", "0"),
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("Redis would never be used"), "{text}");
    let (_, text) = run(&[
        ("IGAUTH_CACHE__BACKEND", "redis"),
        url,
        secret,
        ("IGAUTH_CACHE__TTL_SECS", "0"),
        (
            "IGAUTH_SERVER__STATE_SECRET",
            "test-state-secret-0123456789abcdef0123",
        ),
    ]);
    assert!(
        text.contains("Redis only keeps login states single-use"),
        "{text}"
    );

    let (code, text) = run(&[
        ("IGAUTH_CACHE__BACKEND", "redis"),
        ("IGAUTH_CACHE__REDIS_URL", "http://:s3cret-pw@cache:6380"),
        secret,
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("IGAUTH_CACHE__REDIS_URL"), "{text}");

    let (code, text) = run(&[("IGAUTH_CACHE__BACKEND", "redis")]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("IGAUTH_CACHE__REDIS_URL is required"),
        "{text}"
    );

    // The secret that seals what Redis holds is required, and never printed.
    let (code, text) = run(&[("IGAUTH_CACHE__BACKEND", "redis"), url]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("IGAUTH_CACHE__REDIS_SECRET is required"),
        "{text}"
    );
    let (code, text) = run(&[("IGAUTH_CACHE__BACKEND", "redis"), url, secret]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        !text.contains(REDIS_SECRET),
        "the Redis secret leaked:\n{text}"
    );
    let (code, text) = run(&[
        ("IGAUTH_CACHE__BACKEND", "redis"),
        url,
        ("IGAUTH_CACHE__REDIS_SECRET", "short-redis-secret"),
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("IGAUTH_CACHE__REDIS_SECRET is too short"),
        "{text}"
    );
}
