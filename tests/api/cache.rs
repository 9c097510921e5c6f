//! The validation cache and single-flight: repeat questions are answered from memory,
//! rejections expire after their own TTL, upstream trouble is never remembered, and concurrent
//! identical questions share one call to Instagram.
//!
//! Every upstream call is counted by the mock itself, so each test states exactly how many calls
//! Instagram saw.

use std::time::Duration;

use futures_util::future::join_all;

use crate::helpers::upstream::{raw_upstream, Conduct};
use crate::helpers::*;

/// Mocks `/me` for `token` answering `status` with `body` at once, counting the calls.
async fn me_counted(app: &mut TestApp, token: &str, status: usize, body: &str) -> Me {
    slow_me_on(&mut app.instagram, token, status, body, Duration::ZERO).await
}

/// [`me_counted`] naming [`BIG_ID`] (jay).
async fn me_counted_ok(app: &mut TestApp, token: &str) -> Me {
    me_counted(app, token, 200, &me_body(BIG_ID, "jay")).await
}

#[actix_web::test]
async fn a_cached_verdict_is_served_without_calling_instagram() {
    let mut app = spawn_app().await;
    let me = me_counted_ok(&mut app, "IGT-cached").await;
    for _ in 0..3 {
        assert_valid(&app.validate(BIG_ID, "IGT-cached").await);
    }
    assert_eq!(me.hits(), 1, "only the first validation asks Instagram");
}

#[actix_web::test]
async fn validate_introspect_and_the_parse_webhook_share_one_entry() {
    let mut app = spawn_app().await;
    let first = me_counted_ok(&mut app, "IGT-shared-1").await;
    let second = me_counted_ok(&mut app, "IGT-shared-2").await;

    // validate fills the entry; introspect and the webhook read it.
    assert_valid(&app.validate(BIG_ID, "IGT-shared-1").await);
    let answer = app.introspect("IGT-shared-1").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["active"], true, "{}", answer.text);
    assert_eq!(answer.json()["sub"], BIG_ID);
    let answer = app.parse_validate(BIG_ID, "IGT-shared-1").await;
    assert_eq!(answer.json()["success"]["valid"], true, "{}", answer.text);
    assert_eq!(first.hits(), 1);

    // And the other way round: introspect fills it, validate reads it.
    let answer = app.introspect("IGT-shared-2").await;
    assert_eq!(answer.json()["active"], true, "{}", answer.text);
    assert_valid(&app.validate(BIG_ID, "IGT-shared-2").await);
    assert_eq!(second.hits(), 1);
}

#[actix_web::test]
async fn rejections_are_cached_for_the_negative_ttl_only() {
    let mut app = spawn_app_with(&[("IGAUTH_CACHE__NEGATIVE_TTL_SECS", "1")]).await;
    let invalid = me_counted(&mut app, "IGT-invalid", 400, INVALID_TOKEN_BODY).await;
    let expired = me_counted(&mut app, "IGT-expired", 400, EXPIRED_TOKEN_BODY).await;
    let good = me_counted_ok(&mut app, "IGT-positive").await;

    for _ in 0..2 {
        assert_rejected(&app.validate(BIG_ID, "IGT-invalid").await, "invalid_token");
        assert_rejected(&app.validate(BIG_ID, "IGT-expired").await, "expired_token");
        assert_valid(&app.validate(BIG_ID, "IGT-positive").await);
    }
    assert_eq!(invalid.hits(), 1, "a rejection is remembered");
    assert_eq!(expired.hits(), 1, "an expiry is remembered");
    assert_eq!(good.hits(), 1);

    // Past the negative TTL (1 s), rejections are asked again; the positive TTL (300 s) holds.
    actix_web::rt::time::sleep(Duration::from_millis(1200)).await;
    assert_rejected(&app.validate(BIG_ID, "IGT-invalid").await, "invalid_token");
    assert_rejected(&app.validate(BIG_ID, "IGT-expired").await, "expired_token");
    assert_valid(&app.validate(BIG_ID, "IGT-positive").await);
    assert_eq!(invalid.hits(), 2, "the rejection expired after 1 s");
    assert_eq!(expired.hits(), 2, "the expiry verdict expired after 1 s");
    assert_eq!(good.hits(), 1, "the positive verdict lives its own TTL");
}

/// Settings for the "never cached" tests: a short deadline, and a breaker that never opens so
/// every call really reaches the mock.
const NO_BREAKER: [(&str, &str); 2] = [
    ("IGAUTH_INSTAGRAM__TIMEOUT_MS", "300"),
    ("IGAUTH_INSTAGRAM__BREAKER_THRESHOLD", "1000000"),
];

#[actix_web::test]
async fn an_upstream_500_is_not_cached() {
    let mut app = spawn_app_with(&NO_BREAKER).await;
    let me = me_counted(&mut app, "IGT-500", 500, r#"{"error":"oops"}"#).await;
    for _ in 0..2 {
        let answer = app.validate(BIG_ID, "IGT-500").await;
        assert_envelope(&answer, 502, "upstream_error");
    }
    // Each validation is one call plus its one retry; the second validation asked again.
    assert_eq!(me.hits(), 4);
}

#[actix_web::test]
async fn an_upstream_timeout_is_not_cached() {
    // A raw fake that answers after the 300 ms deadline (mockito's slow bodies block its server
    // once the caller hangs up, which would hide the second call).
    let upstream = raw_upstream(|_| Conduct::Answer {
        delay: Duration::from_millis(800),
        status: 200,
        body: me_body(BIG_ID, "jay"),
        short: false,
    })
    .await;
    let mut env = NO_BREAKER.to_vec();
    env.push(("IGAUTH_INSTAGRAM__GRAPH_URL", &upstream.url));
    let app = spawn_app_with(&env).await;
    for _ in 0..2 {
        let answer = app.validate(BIG_ID, "IGT-slow").await;
        assert_envelope(&answer, 504, "upstream_timeout");
    }
    assert_eq!(
        upstream.connections(),
        2,
        "the second validation asked Instagram again"
    );
}

#[actix_web::test]
async fn an_upstream_rate_limit_is_not_cached() {
    let mut app = spawn_app_with(&NO_BREAKER).await;
    let me = me_counted(&mut app, "IGT-throttled", 400, RATE_LIMITED_BODY).await;
    for _ in 0..2 {
        let answer = app.validate(BIG_ID, "IGT-throttled").await;
        assert_envelope(&answer, 503, "upstream_rate_limited");
        let answer = app.introspect("IGT-throttled").await;
        assert_eq!(answer.status, 503, "{}", answer.text);
    }
    // Not cached as a verdict: every answer is a 503, never a "no". And igauth paused its calls
    // (tests/api/throttle_pause.rs): the first throttled answer was the only call.
    assert_eq!(me.hits(), 1, "paused after Instagram said throttled");
}

#[actix_web::test]
async fn sixty_four_concurrent_identical_validations_make_one_upstream_call() {
    let mut app = spawn_app().await;
    // Slow enough that all 64 are in flight while the one call is outstanding.
    let me = slow_me_on(
        &mut app.instagram,
        "IGT-burst",
        200,
        &me_body(BIG_ID, "jay"),
        Duration::from_millis(200),
    )
    .await;
    let answers = join_all((0..64).map(|_| app.validate(BIG_ID, "IGT-burst"))).await;
    for answer in &answers {
        assert_valid(answer);
    }
    assert_eq!(
        me.hits(),
        1,
        "64 identical questions, one call to Instagram"
    );
}

#[actix_web::test]
async fn concurrent_identical_rejections_also_share_one_call() {
    let mut app = spawn_app().await;
    let me = slow_me_on(
        &mut app.instagram,
        "IGT-burst-bad",
        400,
        INVALID_TOKEN_BODY,
        Duration::from_millis(200),
    )
    .await;
    let answers = join_all((0..32).map(|_| app.validate(BIG_ID, "IGT-burst-bad"))).await;
    for answer in &answers {
        assert_rejected(answer, "invalid_token");
    }
    assert_eq!(me.hits(), 1);
}

#[actix_web::test]
async fn concurrent_identical_validations_share_one_failed_call_and_do_not_keep_it() {
    // Instagram never answers: the first of 16 identical validations holds the call until the
    // 300 ms deadline; the other 15 wait for it and get its 504, in one deadline, not 15 more.
    let upstream = raw_upstream(|_| Conduct::Hang).await;
    let mut env = NO_BREAKER.to_vec();
    env.push(("IGAUTH_INSTAGRAM__GRAPH_URL", &upstream.url));
    let app = spawn_app_with(&env).await;
    let started = std::time::Instant::now();
    let answers = join_all((0..16).map(|_| app.validate(BIG_ID, "IGT-outage"))).await;
    let elapsed = started.elapsed();
    for answer in &answers {
        assert_envelope(answer, 504, "upstream_timeout");
    }
    assert_eq!(
        upstream.connections(),
        1,
        "16 identical questions, one call"
    );
    assert!(
        elapsed < Duration::from_millis(1500),
        "the waiters shared the holder's timeout instead of each trying in turn ({elapsed:?})"
    );
    // The failure was handed to those who waited for it, and kept for no one else.
    let answer = app.validate(BIG_ID, "IGT-outage").await;
    assert_eq!(answer.status, 504, "{}", answer.text);
    assert_eq!(upstream.connections(), 2, "the next validation asked again");
}

#[actix_web::test]
async fn ttl_zero_turns_the_cache_off() {
    let mut app = spawn_app_with(&[("IGAUTH_CACHE__TTL_SECS", "0")]).await;
    let me = me_counted_ok(&mut app, "IGT-nocache").await;
    assert_valid(&app.validate(BIG_ID, "IGT-nocache").await);
    assert_valid(&app.validate(BIG_ID, "IGT-nocache").await);
    let answer = app.introspect("IGT-nocache").await;
    assert_eq!(answer.json()["active"], true, "{}", answer.text);
    assert_eq!(me.hits(), 3, "with TTL 0 every request asks Instagram");
}

#[actix_web::test]
async fn an_id_mismatch_for_a_cached_owner_needs_no_new_upstream_call() {
    let mut app = spawn_app().await;
    let me = me_counted_ok(&mut app, "IGT-owner").await;
    assert_valid(&app.validate(BIG_ID, "IGT-owner").await);
    // BIG_ID minus one: the neighbour a trip through f64 would produce.
    let neighbour = "17841405793187218";
    assert_rejected(&app.validate(neighbour, "IGT-owner").await, "id_mismatch");
    assert_rejected(&app.validate("1", "IGT-owner").await, "id_mismatch");
    // The mismatch did not poison the entry for the real owner.
    assert_valid(&app.validate(BIG_ID, "IGT-owner").await);
    assert_eq!(me.hits(), 1);
}

#[actix_web::test]
async fn a_mismatch_asked_first_still_fills_the_entry_for_the_owner() {
    let mut app = spawn_app().await;
    let me = me_counted_ok(&mut app, "IGT-owner-2").await;
    assert_rejected(&app.validate("42", "IGT-owner-2").await, "id_mismatch");
    assert_valid(&app.validate(BIG_ID, "IGT-owner-2").await);
    assert_eq!(me.hits(), 1);
}
