//! Many replicas act as one: two igauth apps on one real `redis-server` (Debian package
//! `redis-server`) and one fake Instagram. What one replica learned from `/me` is answered by the
//! other without asking again; Redis stopping, stalling or starting late never fails a validation
//! or slows it beyond a short budget; and a Redis that comes back is used again.
//!
//! `igauth check-config` reports the Redis settings without their password.
//!
//! Each test runs its own `redis-server` (see `redis_fleet.rs`). Readiness is polled, never slept
//! for.

use std::process::Command;
use std::time::{Duration, Instant};

use mockito::{Matcher, ServerGuard};

use crate::helpers::*;
use crate::login::{redeem, PKCE, VERIFIER};
use crate::redis_fleet::*;

/// The longest a validation may take while Redis is in trouble (a budget plus a local `/me`).
const BOUND: Duration = Duration::from_millis(500);

fn series(text: &str, series: &str) -> f64 {
    metric(text, series).unwrap_or(0.0)
}

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
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in 0.. {
        assert!(
            Instant::now() < deadline,
            "the replica never wrote to Redis"
        );
        let token = format!("IGT-stall-probe-{i}");
        let _me = valid_me(&mut ig, &token, 1).await;
        expect_verdict(&a, &token, true).await;
        if redis
            .wait_for(&key_of(&token), Duration::from_millis(300))
            .await
        {
            break;
        }
    }

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

/// A replica set up for the login flow (see oauth_flow.rs for the flow on its own), with the
/// verdict cache's TTL `cache_ttl`. A claim past its Redis budget is (rightly) skipped, so the
/// budget leaves a loaded CI machine room.
async fn spawn_login_replica(ig: &ServerGuard, redis_url: &str, cache_ttl: &str) -> TestApp {
    let mut env = replica_env(redis_url, Some("2000"));
    env.extend([
        ("IGAUTH_CACHE__TTL_SECS", cache_ttl.to_string()),
        (
            "IGAUTH_SERVER__STATE_SECRET",
            "test-state-secret-0123456789abcdef0123".to_string(),
        ),
        (
            "IGAUTH_INSTAGRAM__CALLBACK_URL",
            "https://igauth.example/v1/callback".to_string(),
        ),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", "myapp://auth".to_string()),
        // Per-IP limits off: every login here comes from one address.
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0".to_string()),
    ]);
    spawn_replica(ig, &env).await
}

/// Instagram's side of one login: `code` exchanged for `token`, and `/me` for that token.
/// `expect` calls of each (asserted by the tests that care).
async fn mock_login(
    ig: &mut ServerGuard,
    code: &str,
    token: &str,
    expect: usize,
) -> (mockito::Mock, Me) {
    let exchange = ig
        .mock("POST", "/oauth/access_token")
        .match_body(Matcher::UrlEncoded("code".into(), code.into()))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(grant_body(token))
        .expect(expect)
        .create_async()
        .await;
    (exchange, valid_me(ig, token, expect).await)
}

/// Starts a login on `app`: `(callback path with `code` and the state, binding cookie)`.
async fn start_login(app: &TestApp, code: &str) -> (String, String) {
    let answer = browser()
        .get(app.url(&format!(
            "/v1/authorize?return_to=myapp%3A%2F%2Fauth&{PKCE}"
        )))
        .send()
        .await
        .expect("app answers");
    let answer = Answer::read(answer).await;
    assert_eq!(answer.status, 302, "{}", answer.text);
    let location = answer.header("location").expect("a Location");
    let state = location
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("state="))
        .expect("a state");
    let cookie = answer.header("set-cookie").expect("a binding cookie");
    let cookie = cookie.split(';').next().unwrap().to_string();
    (format!("/v1/callback?code={code}&state={state}"), cookie)
}

/// The `Location` the callback at `path` on `app` redirects to.
async fn finish_login(app: &TestApp, path: &str, cookie: &str) -> String {
    let answer = browser()
        .get(app.url(path))
        .insert_header(("Cookie", cookie))
        .send()
        .await
        .expect("app answers");
    let answer = Answer::read(answer).await;
    assert_eq!(answer.status, 302, "{}", answer.text);
    answer.header("location").expect("a Location").to_string()
}

fn browser() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish()
}

/// The Redis key that marks the state of a login used: its nonce id also names the cookie.
fn used_state_key(cookie: &str) -> String {
    let nonce_id = cookie
        .split_once('=')
        .and_then(|(name, _)| name.strip_prefix("__Host-igauth-login-"))
        .unwrap_or_else(|| panic!("a binding cookie: {cookie}"));
    format!("igauth:state:{nonce_id}")
}

/// Logs in on `app` until the state it used shows up in Redis: the replica's background
/// connection is up and its claims land there.
async fn until_claims_land(app: &TestApp, redis: &Redis) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (callback, cookie) = start_login(app, "AQB-warmup").await;
        let landed = finish_login(app, &callback, &cookie).await;
        assert!(landed.starts_with("myapp://auth#code="), "{landed}");
        if redis
            .wait_for(&used_state_key(&cookie), Duration::from_millis(300))
            .await
        {
            return;
        }
        assert!(Instant::now() < deadline, "used states never reached Redis");
    }
}

/// A callback replayed to another replica is refused there and its code not exchanged again.
async fn replayed_callback_is_refused_by_another_replica(cache_ttl: &str) {
    let redis = Redis::start().await;
    let mut ig = mockito::Server::new_async().await;
    let a = spawn_login_replica(&ig, &redis.url(), cache_ttl).await;
    let b = spawn_login_replica(&ig, &redis.url(), cache_ttl).await;
    let _warmup = mock_login(&mut ig, "AQB-warmup", "IGT-warmup", 1).await;
    until_claims_land(&a, &redis).await;
    until_claims_land(&b, &redis).await;
    let (exchange, me) = mock_login(&mut ig, "AQB-fleet-code", "IGT-fleet-login", 1).await;

    let (callback, cookie) = start_login(&a, "AQB-fleet-code").await;
    let landed = finish_login(&a, &callback, &cookie).await;
    assert!(!landed.contains("IGT-fleet-login"), "{landed}");
    // The handoff code waits in Redis: the app may redeem it at any replica, once.
    let code = landed.strip_prefix("myapp://auth#code=").expect("a code");
    let redeemed = redeem(&b, code, VERIFIER).await;
    assert_eq!(redeemed.status, 200, "{}", redeemed.text);
    assert_eq!(redeemed.json()["access_token"], "IGT-fleet-login");
    let again = redeem(&a, code, VERIFIER).await;
    assert_eq!(again.error_code(), "invalid_grant", "{}", again.text);
    assert!(
        redis
            .wait_for(&used_state_key(&cookie), Duration::from_secs(5))
            .await
    );
    let replayed = finish_login(&b, &callback, &cookie).await;
    assert!(
        replayed.starts_with("myapp://auth#error=invalid_state"),
        "{replayed}"
    );
    assert!(!replayed.contains("IGT-fleet-login"), "{replayed}");
    exchange.assert_async().await;
    assert_eq!(me.hits(), 1);
}

#[actix_web::test]
async fn a_login_state_used_on_one_replica_is_refused_by_the_others() {
    replayed_callback_is_refused_by_another_replica("300").await;
}

#[actix_web::test]
async fn with_the_verdict_cache_off_redis_still_makes_states_single_use() {
    replayed_callback_is_refused_by_another_replica("0").await;
}

#[actix_web::test]
async fn a_login_completes_while_redis_is_down_and_stays_single_use_per_replica() {
    let redis = Redis::not_started(Redis::free_port());
    let mut ig = mockito::Server::new_async().await;
    let app = spawn_login_replica(&ig, &redis.url(), "300").await;
    let (exchange, me) = mock_login(&mut ig, "AQB-no-redis", "IGT-login-no-redis", 1).await;

    let (callback, cookie) = start_login(&app, "AQB-no-redis").await;
    let landed = finish_login(&app, &callback, &cookie).await;
    // Redis cannot take the handoff: this replica keeps it.
    let code = landed.strip_prefix("myapp://auth#code=").expect("a code");
    let redeemed = redeem(&app, code, VERIFIER).await;
    assert_eq!(redeemed.json()["access_token"], "IGT-login-no-redis");
    let replayed = finish_login(&app, &callback, &cookie).await;
    assert!(replayed.contains("error=invalid_state"), "{replayed}");
    exchange.assert_async().await;
    assert_eq!(me.hits(), 1);
    let text = app.scrape().await;
    assert!(
        series(&text, r#"igauth_shared_cache_errors_total{op="claim"}"#) >= 1.0,
        "{text}"
    );
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
        text.contains("redis_timeout_ms: 50") && text.contains("configuration OK"),
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
