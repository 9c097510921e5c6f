//! Retries: `/me` is retried once on a 500 or a reset and no more; a code exchange never is.

use std::time::Duration;

use crate::helpers::faults::*;
use crate::helpers::upstream::{raw_upstream, Conduct};
use crate::helpers::*;

/// Like [`fault_app`] with the ordinary 3 s deadline: a retry is skipped when too little of the
/// deadline is left, which on a loaded machine could happen within 300 ms and hide the retry.
async fn retry_app(upstream: Option<&str>) -> TestApp {
    let mut env = vec![("IGAUTH_INSTAGRAM__BREAKER_THRESHOLD", "1000000")];
    if let Some(url) = upstream {
        env.push(("IGAUTH_INSTAGRAM__GRAPH_URL", url));
        env.push(("IGAUTH_INSTAGRAM__API_URL", url));
    }
    spawn_app_with(&env).await
}

#[actix_web::test]
async fn me_is_retried_once_on_500_and_no_more() {
    let mut app = retry_app(None).await;
    let me = app.any_me().with_status(500).with_body("{}").expect(2);
    let me = me.create_async().await;
    let answer = app.validate(BIG_ID, "IGT-retry").await;
    assert_envelope(&answer, 502, "upstream_error");
    me.assert_async().await;
}

#[actix_web::test]
async fn a_500_then_a_good_answer_is_valid() {
    let mut app = retry_app(None).await;
    let failing = app.any_me().with_status(500).with_body("{}").expect(1);
    let failing = failing.create_async().await;
    let healthy = app.any_me().answer(200, me_body(BIG_ID, "jay")).expect(1);
    let healthy = healthy.create_async().await;
    let answer = app.validate(BIG_ID, "IGT-retry-ok").await;
    assert_valid(&answer);
    assert_all(&[failing, healthy]).await;
}

#[actix_web::test]
async fn a_reset_then_a_good_answer_is_valid() {
    let upstream = raw_upstream(|n| match n {
        0 => Conduct::Reset,
        _ => Conduct::Answer {
            delay: Duration::ZERO,
            status: 200,
            body: me_body(BIG_ID, "jay"),
            short: false,
        },
    })
    .await;
    let app = retry_app(Some(&upstream.url)).await;
    let answer = app.validate(BIG_ID, "IGT-reset-ok").await;
    assert_valid(&answer);
    assert_eq!(upstream.connections(), 2);
}

#[actix_web::test]
async fn a_code_exchange_is_never_retried() {
    // On a 500 ...
    let mut app = fault_app(None).await;
    let exchange = app
        .code_exchange()
        .with_status(500)
        .with_body("{}")
        .expect(1)
        .create_async()
        .await;
    let body = serde_json::json!({ "code": "AQB-once", "redirect_uri": REDIRECT_URI });
    let answer = app.post_json("/v1/exchange", &body.to_string()).await;
    assert_envelope(&answer, 502, "upstream_error");
    exchange.assert_async().await;

    // ... and on a reset connection.
    let upstream = raw_upstream(|_| Conduct::Reset).await;
    let app = fault_app(Some(&upstream.url)).await;
    let answer = app.post_json("/v1/exchange", &body.to_string()).await;
    assert_envelope(&answer, 502, "upstream_error");
    assert_eq!(upstream.connections(), 1, "the code was offered once");
}
