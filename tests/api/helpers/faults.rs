//! Instagram failing under load: an app set up to show each fault's own answer, every route
//! that asks Instagram something, concurrent load on all of them, and the check that the answers
//! fail closed within the deadline.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use mockito::Matcher;

use super::*;

/// The upstream deadline the fault tests configure.
pub const TIMEOUT_MS: u64 = 300;

/// What an answer may take beyond the deadline (a loaded 2-core machine, a debug build).
pub const MARGIN: Duration = Duration::from_millis(700);

/// Concurrent requests per route in each fault scenario (4 routes, so 24 at once).
pub const PER_ROUTE: usize = 6;

pub fn budget() -> Duration {
    Duration::from_millis(TIMEOUT_MS) + MARGIN
}

/// An app whose breaker never opens (so each fault shows its own answer) and whose exchange is
/// not rate limited (so the load reaches Instagram). `upstream` replaces both Instagram hosts.
pub async fn fault_app(upstream: Option<&str>) -> TestApp {
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
pub enum Route {
    Validate,
    Introspect,
    ParseValidate,
    Exchange,
}

pub const ROUTES: [Route; 4] = [
    Route::Validate,
    Route::Introspect,
    Route::ParseValidate,
    Route::Exchange,
];

pub async fn ask(app: &TestApp, route: Route, n: usize) -> (Route, Answer, Duration) {
    let token = format!("IGT-fault-{n}");
    let started = Instant::now();
    let answer = match route {
        Route::Validate => app.validate(BIG_ID, &token).await,
        Route::Introspect => app.introspect(&token).await,
        Route::ParseValidate => app.parse_validate(BIG_ID, &token).await,
        Route::Exchange => {
            let body =
                serde_json::json!({ "code": format!("AQB-{n}"), "redirect_uri": REDIRECT_URI });
            app.post_json("/v1/exchange", &body.to_string()).await
        }
    };
    (route, answer, started.elapsed())
}

/// Every route at once, `PER_ROUTE` requests each, each with its own token or code.
pub async fn load(app: &TestApp) -> Vec<(Route, Answer, Duration)> {
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
pub fn assert_fail_closed(answers: &[(Route, Answer, Duration)], status: u16, code: &str) {
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
pub async fn mock_everything(
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
