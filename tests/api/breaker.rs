//! The circuit breaker: it opens after repeated failures, fails fast while open, lets one probe
//! through after its cool-down and recovers; refusals and unexplained 4xx answers do not open it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::helpers::faults::*;
use crate::helpers::*;

async fn breaker_app() -> TestApp {
    spawn_app_with(&[
        ("IGAUTH_INSTAGRAM__BREAKER_THRESHOLD", "3"),
        ("IGAUTH_INSTAGRAM__BREAKER_COOLDOWN_SECS", "1"),
    ])
    .await
}

/// `/me` answers an HTML page with 200: a failure that is not retried, so one call each.
async fn broken_me(app: &mut TestApp) -> (mockito::Mock, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let mock = app
        .any_me()
        .with_status(200)
        .with_header("content-type", "text/html")
        .with_body_from_request(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            b"<html>down</html>".to_vec()
        })
        .create_async()
        .await;
    (mock, hits)
}

/// Opens the breaker with three failing validations.
async fn trip(app: &TestApp) {
    for n in 0..3 {
        let answer = app.validate(BIG_ID, &format!("IGT-trip-{n}")).await;
        assert_envelope(&answer, 502, "upstream_error");
    }
}

fn assert_breaker_open(answer: &Answer, elapsed: Duration) {
    assert_envelope(answer, 503, "upstream_unavailable");
    let retry = answer.retry_after_secs();
    assert!((1..=1).contains(&retry), "cool-down is 1 s: {retry}");
    assert!(
        elapsed < Duration::from_millis(500),
        "an open breaker answers at once, took {elapsed:?}"
    );
}

#[actix_web::test]
async fn the_breaker_opens_fails_fast_lets_one_probe_through_and_recovers() {
    let mut app = breaker_app().await;
    let (broken, broken_hits) = broken_me(&mut app).await;
    trip(&app).await;
    assert_eq!(broken_hits.load(Ordering::SeqCst), 3);

    // Open: every route fails fast, without calling Instagram.
    let answers = join_all((0..PER_ROUTE * 4).map(|n| ask(&app, ROUTES[n % 4], 100 + n))).await;
    for (route, answer, elapsed) in &answers {
        if *route == Route::ParseValidate {
            assert!(answer.json()["error"].is_string(), "{}", answer.text);
        } else if *route == Route::Exchange {
            // The exchange goes to the other host, through the same breaker.
            assert_eq!(
                answer.error_code(),
                "upstream_unavailable",
                "{}",
                answer.text
            );
        } else {
            assert_breaker_open(answer, *elapsed);
        }
    }
    assert_eq!(
        broken_hits.load(Ordering::SeqCst),
        3,
        "an open breaker does not call Instagram"
    );

    // Instagram recovers; after the cool-down exactly one probe goes through. It is slow, so the
    // others arrive while it is out and are still turned away.
    broken.remove_async().await;
    let healthy_hits = Arc::new(AtomicUsize::new(0));
    let counter = healthy_hits.clone();
    let _healthy = app
        .any_me()
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_chunked_body(move |w| {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(400));
            w.write_all(me_body(BIG_ID, "jay").as_bytes())
        })
        .create_async()
        .await;
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    let answers = join_all((0..8).map(|n| validate_as(&app, format!("IGT-probe-{n}")))).await;
    let valid = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(valid, 1, "one probe: {:?}", texts(&answers));
    for answer in answers.iter().filter(|a| a.status != 200) {
        assert_envelope(answer, 503, "upstream_unavailable");
    }
    assert_eq!(healthy_hits.load(Ordering::SeqCst), 1);

    // The probe succeeded: closed again, everything is answered normally.
    let answers = join_all((0..8).map(|n| validate_as(&app, format!("IGT-after-{n}")))).await;
    for answer in &answers {
        assert_valid(answer);
    }
    assert_eq!(healthy_hits.load(Ordering::SeqCst), 9);
}

#[actix_web::test]
async fn a_retried_validation_is_one_failure_for_the_breaker() {
    // /me answers 500, which is retried once: two HTTP calls, one failed validation. With a
    // threshold of 3, the breaker opens after the third validation, not after the second.
    let mut app = breaker_app().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let _down = app
        .any_me()
        .with_status(500)
        .with_body_from_request(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            b"{}".to_vec()
        })
        .create_async()
        .await;
    for n in 0..3 {
        let answer = app.validate(BIG_ID, &format!("IGT-retried-{n}")).await;
        assert_eq!(
            answer.status, 502,
            "validation {n} reached Instagram: {}",
            answer.text
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        6,
        "each validation retried once"
    );
    let started = Instant::now();
    let answer = app.validate(BIG_ID, "IGT-retried-3").await;
    assert_breaker_open(&answer, started.elapsed());
    assert_eq!(hits.load(Ordering::SeqCst), 6);
}

#[actix_web::test]
async fn a_failed_probe_opens_the_breaker_again() {
    let mut app = breaker_app().await;
    let (_broken, hits) = broken_me(&mut app).await;
    trip(&app).await;
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;

    // The probe goes through and fails ...
    let answer = app.validate(BIG_ID, "IGT-probe").await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert_eq!(hits.load(Ordering::SeqCst), 4);

    // ... so the breaker is open for another cool-down.
    let started = Instant::now();
    let answer = app.validate(BIG_ID, "IGT-after-probe").await;
    assert_breaker_open(&answer, started.elapsed());
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[actix_web::test]
async fn refusals_are_answers_and_keep_the_breaker_closed() {
    let mut app = breaker_app().await;
    let invalid = app.any_me().answer(400, INVALID_TOKEN_BODY).expect(10);
    let invalid = invalid.create_async().await;
    for n in 0..10 {
        let answer = app.validate(BIG_ID, &format!("IGT-refused-{n}")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["valid"], false);
    }
    invalid.assert_async().await;
}

fn texts(answers: &[Answer]) -> Vec<String> {
    answers
        .iter()
        .map(|a| format!("{} {}", a.status, a.text))
        .collect()
}

async fn validate_as(app: &TestApp, token: String) -> Answer {
    app.validate(BIG_ID, &token).await
}

/// A 4xx from Instagram that is not about the token (here Graph error 100) is no verdict, but
/// Instagram answered: it must not count toward the breaker, or anyone could open it for
/// everyone with tokens that draw such errors.
#[actix_web::test]
async fn unexplained_4xx_answers_do_not_open_the_breaker() {
    let mut app = spawn_app_with(&[("IGAUTH_INSTAGRAM__BREAKER_THRESHOLD", "2")]).await;
    let _odd = app
        .mock_me("IGT-odd", 400, r#"{"error":{"message":"Unsupported get request","type":"GraphMethodException","code":100}}"#)
        .await;
    for _ in 0..3 {
        let answer = app.validate(BIG_ID, "IGT-odd").await;
        assert_envelope(&answer, 502, "upstream_error");
    }
    let good = app.me_ok("IGT-good").await;
    let answer = app.validate(BIG_ID, "IGT-good").await;
    assert_valid(&answer);
    good.assert_async().await;
}
