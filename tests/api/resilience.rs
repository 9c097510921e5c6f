//! Fault injection: Instagram answers 500, HTML, truncated JSON, resets the connection,
//! hangs, answers too slowly or rate limits: first on one validation, then each under concurrent
//! load on every route that asks it. Nothing may turn into a "yes", every answer comes within the
//! deadline plus a small margin, with the right status and error code. (Retries and the circuit
//! breaker have their own files.)

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::helpers::faults::*;
use crate::helpers::upstream::{raw_upstream, silent_instagram, stalling_instagram, Conduct};
use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// One validation, one fault
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn instagram_500_is_502_upstream_error() {
    let (app, me) =
        app_where_me_retried("IGT-500", 500, r#"{"error":{"message":"boom","code":1}}"#).await;
    let answer = app.validate(BIG_ID, "IGT-500").await;
    assert_envelope(&answer, 502, "upstream_error");
    me.assert_async().await;
}

#[actix_web::test]
async fn instagram_html_answer_is_502_upstream_error() {
    let mut app = spawn_app().await;
    let html = "<html><body>Sorry, something went wrong.</body></html>";
    let me = app.any_me().with_header("content-type", "text/html");
    let me = me.with_status(200).with_body(html).create_async().await;
    let answer = app.validate(BIG_ID, "IGT-html").await;
    assert_envelope(&answer, 502, "upstream_error");
    me.assert_async().await;
}

#[actix_web::test]
async fn throttling_codes_are_503_upstream_rate_limited_with_retry_after() {
    for (code, status) in [(4, 400), (17, 400), (32, 403), (613, 400)] {
        // An app each: after one throttled answer igauth pauses its calls to /me.
        let mut app = spawn_app().await;
        let token = format!("IGT-throttled-{code}");
        let me = app
            .mock_me(
                &token,
                status,
                &format!(
                    r#"{{"error":{{"message":"Application request limit reached","type":"OAuthException","code":{code},"fbtrace_id":"A"}}}}"#
                ),
            )
            .await;
        let answer = app.validate(BIG_ID, &token).await;
        assert_envelope(&answer, 503, "upstream_rate_limited");
        let retry_after = answer
            .header("retry-after")
            .unwrap_or_else(|| panic!("code {code}: no Retry-After"));
        assert!(
            retry_after.parse::<u64>().is_ok_and(|s| s > 0),
            "code {code}: Retry-After {retry_after:?}"
        );
        me.assert_async().await;
    }
}

/// One validation against `instagram` with a 300 ms budget: a 504 `upstream_timeout`, within 3 s.
async fn assert_validation_times_out(instagram: &str, token: &str) {
    let app = spawn_app_with(&[
        ("IGAUTH_INSTAGRAM__GRAPH_URL", instagram),
        ("IGAUTH_INSTAGRAM__TIMEOUT_MS", "300"),
    ])
    .await;
    let started = Instant::now();
    let answer = app.validate(BIG_ID, token).await;
    assert_envelope(&answer, 504, "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered after {:?}, the budget is 300 ms",
        started.elapsed()
    );
}

#[actix_web::test]
async fn no_answer_within_the_budget_is_504_upstream_timeout() {
    assert_validation_times_out(&silent_instagram().await, "IGT-slow").await;
}

#[actix_web::test]
async fn body_stalling_past_the_budget_is_504_upstream_timeout() {
    assert_validation_times_out(&stalling_instagram().await, "IGT-slow-body").await;
}

// ---------------------------------------------------------------------------------------------
// Each fault under load
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn upstream_500_under_load_fails_closed_with_502() {
    let mut app = fault_app(None).await;
    let (_mocks, hits) = mock_everything(
        &mut app,
        500,
        "application/json",
        r#"{"error":{"message":"An unknown error occurred","code":1}}"#,
        Duration::ZERO,
    )
    .await;
    let answers = load(&app).await;
    assert_fail_closed(&answers, 502, "upstream_error");
    assert!(hits.load(Ordering::SeqCst) >= answers.len());
}

#[actix_web::test]
async fn html_error_pages_fail_closed_with_502() {
    let html = "<!DOCTYPE html><html><body><h1>Sorry, something went wrong.</h1></body></html>";
    for status in [200, 502] {
        let mut app = fault_app(None).await;
        let (_mocks, _) =
            mock_everything(&mut app, status, "text/html", html, Duration::ZERO).await;
        let answers = load(&app).await;
        assert_fail_closed(&answers, 502, "upstream_error");
    }
}

#[actix_web::test]
async fn truncated_json_on_200_fails_closed_with_502() {
    // A complete HTTP answer whose JSON stops half-way.
    let mut app = fault_app(None).await;
    let (_mocks, _) = mock_everything(
        &mut app,
        200,
        "application/json",
        &format!(r#"{{"id":"{BIG_ID}","usern"#),
        Duration::ZERO,
    )
    .await;
    let answers = load(&app).await;
    assert_fail_closed(&answers, 502, "upstream_error");

    // A connection that closes before the body its Content-Length promised.
    let upstream = raw_upstream(|_| Conduct::Answer {
        delay: Duration::ZERO,
        status: 200,
        body: format!(r#"{{"id":"{BIG_ID}","#),
        short: true,
    })
    .await;
    let app = fault_app(Some(&upstream.url)).await;
    let answers = load(&app).await;
    assert_fail_closed(&answers, 502, "upstream_error");
}

#[actix_web::test]
async fn connection_reset_fails_closed_with_502() {
    let upstream = raw_upstream(|_| Conduct::Reset).await;
    let app = fault_app(Some(&upstream.url)).await;
    let answers = load(&app).await;
    assert_fail_closed(&answers, 502, "upstream_error");
    assert!(upstream.connections() >= answers.len());
}

#[actix_web::test]
async fn a_hanging_upstream_times_out_with_504_within_the_deadline() {
    let upstream = raw_upstream(|_| Conduct::Hang).await;
    let app = fault_app(Some(&upstream.url)).await;
    let answers = load(&app).await;
    assert_fail_closed(&answers, 504, "upstream_timeout");
}

#[actix_web::test]
async fn a_slow_answer_times_out_with_504_within_the_deadline() {
    // Headers at once, body after the deadline.
    let mut app = fault_app(None).await;
    let (_mocks, _) = mock_everything(
        &mut app,
        200,
        "application/json",
        &me_body(BIG_ID, "jay"),
        Duration::from_millis(TIMEOUT_MS + 500),
    )
    .await;
    let answers = load(&app).await;
    assert_fail_closed(&answers, 504, "upstream_timeout");

    // Nothing at all until after the deadline.
    let upstream = raw_upstream(|_| Conduct::Answer {
        delay: Duration::from_millis(TIMEOUT_MS + 500),
        status: 200,
        body: me_body(BIG_ID, "jay"),
        short: false,
    })
    .await;
    let app = fault_app(Some(&upstream.url)).await;
    let answers = load(&app).await;
    assert_fail_closed(&answers, 504, "upstream_timeout");
}

#[actix_web::test]
async fn throttling_codes_answer_503_rate_limited_and_are_never_cached() {
    let mut app = fault_app(None).await;
    for code in [4, 17, 32, 613] {
        let body = format!(
            r#"{{"error":{{"message":"Application request limit reached","type":"OAuthException","code":{code},"fbtrace_id":"AbC"}}}}"#
        );
        let (mocks, hits) =
            mock_everything(&mut app, 400, "application/json", &body, Duration::ZERO).await;
        let answers = load(&app).await;
        assert_fail_closed(&answers, 503, "upstream_rate_limited");
        // Not cached as a verdict (still 503, never a "no"), and igauth's calls are paused
        // until the Retry-After it gives (tests/api/throttle_pause.rs): no call goes out.
        let before = hits.load(Ordering::SeqCst);
        let again = load(&app).await;
        assert_fail_closed(&again, 503, "upstream_rate_limited");
        // (`/me` is paused; the load's token-endpoint calls still go out.)
        let made = hits.load(Ordering::SeqCst) - before;
        assert!(
            made < again.len() / 2,
            "code {code}: {made} of {} requests called Instagram while it throttles",
            again.len()
        );
        for mock in mocks {
            mock.remove_async().await;
        }
    }
}
