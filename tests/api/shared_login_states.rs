//! Login states are single use across replicas: a callback replayed to another replica is
//! refused there and its code not exchanged again, with or without the verdict cache, and a
//! login completes while Redis is down (single use per replica then).

use std::time::{Duration, Instant};

use mockito::{Matcher, ServerGuard};

use crate::helpers::login::{browser, redeem, PKCE, VERIFIER};
use crate::helpers::redis_fleet::*;
use crate::helpers::redis_server::Redis;
use crate::helpers::*;

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
        .answer(200, grant_body(token))
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
