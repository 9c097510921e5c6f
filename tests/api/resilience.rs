//! Fault injection: Instagram answers 500, HTML, truncated JSON, resets the connection,
//! hangs, answers too slowly or rate limits, each under concurrent load on every route that asks
//! it. Nothing may turn into a "yes", every answer comes within the deadline plus a small margin,
//! with the right status and error code; `/me` is retried once, a code exchange never; and the
//! circuit breaker opens, fails fast, lets one probe through and recovers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use mockito::Matcher;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::*;

/// The upstream deadline the fault tests configure.
const TIMEOUT_MS: u64 = 300;
/// What an answer may take beyond the deadline (a loaded 2-core machine, a debug build).
const MARGIN: Duration = Duration::from_millis(700);
/// Concurrent requests per route in each fault scenario (4 routes, so 24 at once).
const PER_ROUTE: usize = 6;

fn budget() -> Duration {
    Duration::from_millis(TIMEOUT_MS) + MARGIN
}

/// An app whose breaker never opens (so each fault shows its own answer) and whose exchange is
/// not rate limited (so the load reaches Instagram). `upstream` replaces both Instagram hosts.
async fn fault_app(upstream: Option<&str>) -> TestApp {
    let timeout = TIMEOUT_MS.to_string();
    let mut env = vec![
        ("IGAUTH_INSTAGRAM__TIMEOUT_MS", timeout.as_str()),
        ("IGAUTH_INSTAGRAM__BREAKER_THRESHOLD", "1000000"),
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0"),
    ];
    if let Some(url) = upstream {
        env.push(("IGAUTH_INSTAGRAM__GRAPH_URL", url));
        env.push(("IGAUTH_INSTAGRAM__API_URL", url));
    }
    spawn_app_with(&env).await
}

/// Every route that asks Instagram something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Validate,
    Introspect,
    ParseValidate,
    Exchange,
}

const ROUTES: [Route; 4] = [
    Route::Validate,
    Route::Introspect,
    Route::ParseValidate,
    Route::Exchange,
];

async fn ask(app: &TestApp, route: Route, n: usize) -> (Route, Answer, Duration) {
    let token = format!("IGT-fault-{n}");
    let started = Instant::now();
    let answer = match route {
        Route::Validate => app.validate(BIG_ID, &token).await,
        Route::Introspect => {
            app.post_form("/v1/introspect", &format!("token={token}"))
                .await
        }
        Route::ParseValidate => {
            let body = serde_json::json!({ "params": { "id": BIG_ID, "access_token": token } });
            let req = app
                .http
                .post(app.url("/v1/parse/functions/validate"))
                .insert_header(("Content-Type", "application/json"))
                .insert_header(("X-Parse-Webhook-Key", WEBHOOK_KEY));
            Answer::read(req.send_body(body.to_string()).await.expect("app answers")).await
        }
        Route::Exchange => {
            let body =
                serde_json::json!({ "code": format!("AQB-{n}"), "redirect_uri": REDIRECT_URI });
            app.post_json("/v1/exchange", &body.to_string()).await
        }
    };
    (route, answer, started.elapsed())
}

/// Every route at once, `PER_ROUTE` requests each, each with its own token or code.
async fn load(app: &TestApp) -> Vec<(Route, Answer, Duration)> {
    join_all(
        (0..PER_ROUTE)
            .flat_map(|i| {
                ROUTES
                    .iter()
                    .enumerate()
                    .map(move |(r, route)| (i * 4 + r, *route))
            })
            .map(|(n, route)| ask(app, route, n)),
    )
    .await
}

/// Nothing said yes, every answer came in time, and each is the expected refusal to decide:
/// `status` + `code` in our envelope, and Parse's `{"error": ...}` (never `success`) on webhooks.
fn assert_fail_closed(answers: &[(Route, Answer, Duration)], status: u16, code: &str) {
    for (route, answer, elapsed) in answers {
        let text = &answer.text;
        assert!(
            !text.contains(r#""valid":true"#) && !text.contains(r#""active":true"#),
            "{route:?} said yes under a fault: {text}"
        );
        assert!(
            *elapsed <= budget(),
            "{route:?} took {elapsed:?}, over the {TIMEOUT_MS} ms deadline plus {MARGIN:?}"
        );
        if *route == Route::ParseValidate {
            assert_eq!(answer.status, 200, "{route:?}: {text}");
            let body = answer.json();
            assert!(body.get("success").is_none(), "{route:?}: {text}");
            let message = body["error"].as_str().unwrap_or_default();
            assert_eq!(
                message, "Instagram login could not be verified right now; please try again.",
                "{route:?} must say it could not decide, not that the auth is invalid: {text}"
            );
            continue;
        }
        assert_eq!(answer.status, status, "{route:?}: {text}");
        assert_eq!(answer.error_code(), code, "{route:?}: {text}");
        assert!(!text.contains("access_token"), "{route:?}: {text}");
        if status == 503 {
            let retry: u64 = answer
                .header("retry-after")
                .unwrap_or_else(|| panic!("{route:?}: 503 without Retry-After"))
                .parse()
                .expect("Retry-After is a number of seconds");
            assert!(retry >= 1, "{route:?}: Retry-After {retry}");
        }
    }
}

/// Both Instagram hosts (any path, any query) answer `status` with `body`, optionally slowly.
async fn mock_everything(
    app: &mut TestApp,
    status: usize,
    content_type: &str,
    body: &str,
    delay: Duration,
) -> (Vec<mockito::Mock>, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let mut mocks = Vec::new();
    for method in ["GET", "POST"] {
        mocks.push(
            app.instagram
                .mock(method, Matcher::Any)
                .match_query(Matcher::Any)
                .with_status(status)
                .with_header("content-type", content_type)
                .with_chunked_body(counted_body(&hits, body, delay))
                .create_async()
                .await,
        );
    }
    (mocks, hits)
}

/// What the raw fake Instagram does with one connection.
#[derive(Clone, Debug)]
pub(crate) enum Conduct {
    /// Accept and drop the socket at once.
    Reset,
    /// Accept, read the request, never answer (the socket stays open).
    Hang,
    /// Answer after `delay`; with `short` the body is cut off before its Content-Length.
    Answer {
        delay: Duration,
        status: u16,
        body: String,
        short: bool,
    },
}

/// A raw TCP Instagram, one request per connection, scripted by connection number.
pub(crate) struct RawUpstream {
    pub(crate) url: String,
    connections: Arc<AtomicUsize>,
}

impl RawUpstream {
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

pub(crate) async fn raw_upstream(script: impl Fn(usize) -> Conduct + 'static) -> RawUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    actix_web::rt::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let conduct = script(n);
            actix_web::rt::spawn(serve(socket, conduct));
        }
    });
    RawUpstream { url, connections }
}

async fn serve(mut socket: TcpStream, conduct: Conduct) {
    if let Conduct::Reset = conduct {
        drop(socket);
        return;
    }
    read_request(&mut socket).await;
    match conduct {
        Conduct::Reset => unreachable!(),
        Conduct::Hang => {
            std::future::pending::<()>().await;
        }
        Conduct::Answer {
            delay,
            status,
            body,
            short,
        } => {
            actix_web::rt::time::sleep(delay).await;
            let declared = if short { body.len() + 100 } else { body.len() };
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                 content-length: {declared}\r\nconnection: close\r\n\r\n"
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
            let _ = socket.flush().await;
        }
    }
}

/// Reads one request head and its body (so closing the socket does not reset it).
async fn read_request(socket: &mut TcpStream) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
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

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

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
    let me = app
        .instagram
        .mock("GET", "/me")
        .match_query(Matcher::Any)
        .with_status(500)
        .with_body("{}")
        .expect(2)
        .create_async()
        .await;
    let answer = app.validate(BIG_ID, "IGT-retry").await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert_eq!(answer.error_code(), "upstream_error");
    me.assert_async().await;
}

#[actix_web::test]
async fn a_500_then_a_good_answer_is_valid() {
    let mut app = retry_app(None).await;
    let failing = app
        .instagram
        .mock("GET", "/me")
        .match_query(Matcher::Any)
        .with_status(500)
        .with_body("{}")
        .expect(1)
        .create_async()
        .await;
    let healthy = app
        .instagram
        .mock("GET", "/me")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(me_body(BIG_ID, "jay"))
        .expect(1)
        .create_async()
        .await;
    let answer = app.validate(BIG_ID, "IGT-retry-ok").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["valid"], true);
    failing.assert_async().await;
    healthy.assert_async().await;
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
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["valid"], true);
    assert_eq!(upstream.connections(), 2);
}

#[actix_web::test]
async fn a_code_exchange_is_never_retried() {
    // On a 500 ...
    let mut app = fault_app(None).await;
    let exchange = app
        .instagram
        .mock("POST", "/oauth/access_token")
        .with_status(500)
        .with_body("{}")
        .expect(1)
        .create_async()
        .await;
    let body = serde_json::json!({ "code": "AQB-once", "redirect_uri": REDIRECT_URI });
    let answer = app.post_json("/v1/exchange", &body.to_string()).await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert_eq!(answer.error_code(), "upstream_error");
    exchange.assert_async().await;

    // ... and on a reset connection.
    let upstream = raw_upstream(|_| Conduct::Reset).await;
    let app = fault_app(Some(&upstream.url)).await;
    let answer = app.post_json("/v1/exchange", &body.to_string()).await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert_eq!(answer.error_code(), "upstream_error");
    assert_eq!(upstream.connections(), 1, "the code was offered once");
}

// ---------------------------------------------------------------------------------------------
// Circuit breaker
// ---------------------------------------------------------------------------------------------

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
        .instagram
        .mock("GET", "/me")
        .match_query(Matcher::Any)
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
        assert_eq!(answer.status, 502, "{}", answer.text);
        assert_eq!(answer.error_code(), "upstream_error");
    }
}

fn assert_breaker_open(answer: &Answer, elapsed: Duration) {
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.error_code(), "upstream_unavailable");
    let retry: u64 = answer
        .header("retry-after")
        .expect("Retry-After while open")
        .parse()
        .unwrap();
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
        .instagram
        .mock("GET", "/me")
        .match_query(Matcher::Any)
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
        assert_eq!(answer.status, 503, "{}", answer.text);
        assert_eq!(answer.error_code(), "upstream_unavailable");
    }
    assert_eq!(healthy_hits.load(Ordering::SeqCst), 1);

    // The probe succeeded: closed again, everything is answered normally.
    let answers = join_all((0..8).map(|n| validate_as(&app, format!("IGT-after-{n}")))).await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["valid"], true);
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
        .instagram
        .mock("GET", "/me")
        .match_query(Matcher::Any)
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
    let invalid = app
        .instagram
        .mock("GET", "/me")
        .match_query(Matcher::Any)
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(INVALID_TOKEN_BODY)
        .expect(10)
        .create_async()
        .await;
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
        assert_eq!(answer.status, 502, "{}", answer.text);
        assert_eq!(answer.error_code(), "upstream_error");
    }
    let good = app.mock_me("IGT-good", 200, &me_body(BIG_ID, "jay")).await;
    let answer = app.validate(BIG_ID, "IGT-good").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["valid"], true);
    good.assert_async().await;
}
