//! What operators scrape and ship: `/metrics` after known traffic moves by exactly that traffic,
//! and `IGAUTH_LOG__FORMAT=json` gives one JSON object per line carrying the request id that the
//! answer echoes and error envelopes repeat.

use std::time::Duration;

use mockito::Matcher;

use crate::helpers::*;

const VALID: &str = "IGT-metrics-valid-41ac";
const INVALID: &str = "IGT-metrics-invalid-77d0";
const CODE: &str = "AQB-metrics-code-3e9f";
const ISSUED: &str = "IGAA-metrics-issued-5b2c";

/// The code exchange, answered with a flat grant for [`ISSUED`].
async fn mock_exchange(app: &mut TestApp) -> mockito::Mock {
    app.code_exchange_of(CODE)
        .answer(200, grant_body(ISSUED))
        .expect(1)
        .create_async()
        .await
}

#[track_caller]
fn assert_series(text: &str, series: &str, wanted: f64) {
    assert_eq!(metric(text, series), Some(wanted), "{series} in:\n{text}");
}

#[actix_web::test]
async fn metrics_move_exactly_by_the_traffic_sent() {
    let mut app = spawn_app().await;
    let valid = app.me_ok(VALID).await.expect(1);
    let invalid = app
        .mock_me(INVALID, 400, INVALID_TOKEN_BODY)
        .await
        .expect(1);
    let issued = app.me_ok(ISSUED).await.expect(1);
    let grant = mock_exchange(&mut app).await;

    let before = app.scrape().await;
    for series in [
        "igauth_cache_hits_total",
        "igauth_cache_misses_total",
        "igauth_singleflight_joins_total",
    ] {
        assert_series(&before, series, 0.0);
    }

    // Two validations of one token (a miss, then a hit), one invalid token (a miss), one code
    // exchange (its /me is a miss), one unknown route.
    for _ in 0..2 {
        let answer = app.validate(BIG_ID, VALID).await;
        assert_valid(&answer);
    }
    let answer = app.validate(BIG_ID, INVALID).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["valid"], false, "{}", answer.text);
    let headers = [("Content-Type", "application/json")];
    let body = format!(r#"{{"code":"{CODE}"}}"#);
    let answer = app.post_with("/v1/exchange", &headers, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = app.get_with("/no/such/route", &[]).await;
    assert_eq!(answer.status, 404, "{}", answer.text);

    let first = app.get_with("/metrics", &[]).await;
    assert_eq!(first.status, 200);
    assert!(
        first
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        first.header("content-type")
    );
    let text = app.scrape().await;

    // Requests by route template and status (the first scrape counts once it has answered).
    assert_series(
        &text,
        r#"igauth_http_requests_total{route="/v1/validate",status="200"}"#,
        3.0,
    );
    assert_series(
        &text,
        r#"igauth_http_requests_total{route="/v1/exchange",status="200"}"#,
        1.0,
    );
    assert_series(
        &text,
        r#"igauth_http_requests_total{route="unmatched",status="404"}"#,
        1.0,
    );
    assert_series(
        &text,
        r#"igauth_http_requests_total{route="/metrics",status="200"}"#,
        2.0,
    );
    assert_series(
        &text,
        r#"igauth_http_request_duration_seconds_count{route="/v1/validate"}"#,
        3.0,
    );
    // Upstream calls by endpoint and outcome: /me gave three usable answers (two owners and one
    // "invalid token", which is a verdict, not a failure), the code exchange one.
    assert_series(
        &text,
        r#"igauth_upstream_requests_total{endpoint="me",outcome="ok"}"#,
        3.0,
    );
    assert_series(
        &text,
        r#"igauth_upstream_requests_total{endpoint="access_token",outcome="ok"}"#,
        1.0,
    );
    assert_series(
        &text,
        r#"igauth_upstream_request_duration_seconds_count{endpoint="me"}"#,
        3.0,
    );
    // The cache: one hit, three misses, no joins, up to three entries.
    assert_series(&text, "igauth_cache_hits_total", 1.0);
    assert_series(&text, "igauth_cache_misses_total", 3.0);
    assert_series(&text, "igauth_singleflight_joins_total", 0.0);
    let entries = metric(&text, "igauth_cache_entries").expect("cache_entries is exposed");
    assert!((0.0..=3.0).contains(&entries), "{entries}");
    // Quiet parts: breaker closed, nothing rate limited, no shared cache (memory backend).
    assert_series(&text, "igauth_upstream_breaker_state", 0.0);
    assert_eq!(
        text.matches("igauth_upstream_requests_total{").count(),
        2,
        "no other endpoint or outcome:\n{text}"
    );
    assert!(!text.contains("igauth_rate_limited_total{"), "{text}");
    assert!(
        !text.contains("igauth_shared_cache_errors_total{"),
        "{text}"
    );
    assert_series(
        &text,
        &format!(
            r#"igauth_build_info{{version="{}"}}"#,
            env!("CARGO_PKG_VERSION")
        ),
        1.0,
    );
    // Low cardinality: never a token, an id or a raw path.
    for leaked in [VALID, INVALID, CODE, ISSUED, BIG_ID, "/no/such/route"] {
        assert!(!text.contains(leaked), "{leaked} in:\n{text}");
    }

    assert_all(&[valid, invalid, issued, grant]).await;
}

/// `IGAUTH_SERVER__METRICS_BIND`: `/metrics` moves to its own listener (and only it is there),
/// counting the main listener's traffic.
#[actix_web::test]
async fn metrics_can_have_a_listener_of_their_own() {
    let mut app = spawn_app_with(&[("IGAUTH_SERVER__METRICS_BIND", "127.0.0.1:0")]).await;
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    assert_ne!(metrics, app.address);
    let valid = app.me_ok(VALID).await.expect(1);
    assert_eq!(app.validate(BIG_ID, VALID).await.json()["valid"], true);

    let text = app.scrape().await;
    assert_series(
        &text,
        r#"igauth_http_requests_total{route="/v1/validate",status="200"}"#,
        1.0,
    );
    // Not on the main listener any more, and nothing but /metrics on its own.
    let main = app.get_with("/metrics", &[]).await;
    assert_envelope(&main, 404, "not_found");
    let api = app
        .http
        .post(format!("{metrics}/v1/validate"))
        .insert_header(("Content-Type", "application/json"))
        .send_body(format!(r#"{{"id":"{BIG_ID}","access_token":"{VALID}"}}"#))
        .await
        .expect("the metrics listener answers");
    assert_eq!(api.status(), 404);
    assert_all(&[valid]).await;
}

/// However the main server stops, the metrics listener stops with it.
#[actix_web::test]
async fn the_metrics_listener_stops_with_the_main_server() {
    let mut env = base_env("http://127.0.0.1:9");
    env.push(("IGAUTH_SERVER__METRICS_BIND".into(), "127.0.0.1:0".into()));
    let settings = igauth::settings::Settings::from_sources(igauth::settings::Sources {
        file: None,
        env: Some(env),
    })
    .expect("valid settings");
    let app = igauth::startup::Application::build(settings).expect("binds port 0");
    let metrics_port = app.metrics_port().expect("a metrics listener");
    let handle = app.handle();
    let running = actix_web::rt::spawn(app.run_until_stopped());
    let scrape = format!("http://127.0.0.1:{metrics_port}/metrics");
    let client = awc::Client::default();
    assert_eq!(client.get(&scrape).send().await.expect("up").status(), 200);

    handle.stop(true).await;
    actix_web::rt::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("run_until_stopped returns")
        .expect("the task ends")
        .expect("a clean stop");
    let refused = std::net::TcpStream::connect(("127.0.0.1", metrics_port));
    assert!(refused.is_err(), "the metrics port still accepts");
}

#[actix_web::test]
async fn json_logs_are_one_object_per_line_with_the_request_id() {
    let mut ig = mockito::Server::new_async().await;
    let me = ig
        .mock("GET", "/me")
        .match_query(Matcher::UrlEncoded("access_token".into(), VALID.into()))
        .answer(200, me_body(BIG_ID, "jay"))
        .expect(1)
        .create_async()
        .await;
    let url = ig.url();
    let app = ChildApp::spawn(&[
        ("IGAUTH_LOG__FORMAT", "json"),
        ("IGAUTH_SERVER__WORKERS", "1"),
        ("IGAUTH_SERVER__API_KEY", API_KEY),
        ("IGAUTH_INSTAGRAM__API_URL", &url),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", &url),
    ])
    .await;
    let body = format!(r#"{{"id":"{BIG_ID}","access_token":"{VALID}"}}"#);

    // A validation with our request id: echoed on the answer.
    let json = ("Content-Type", "application/json");
    let keyed = [
        json,
        ("Authorization", BEARER),
        ("X-Request-Id", "test-req-42"),
    ];
    let answer = app.post_with("/v1/validate", &keyed, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("x-request-id"), Some("test-req-42"));

    // Error envelopes carry the request id: ours when sent, the generated one otherwise.
    let unkeyed = [json, ("X-Request-Id", "test-req-43")];
    let unauthorized = app.post_with("/v1/validate", &unkeyed, &body).await;
    assert_eq!(unauthorized.status, 401, "{}", unauthorized.text);
    assert_eq!(unauthorized.header("x-request-id"), Some("test-req-43"));
    assert_eq!(
        unauthorized.json()["error"]["request_id"],
        "test-req-43",
        "{}",
        unauthorized.text
    );
    let not_found = app.get_with("/nowhere", &[]).await;
    assert_eq!(not_found.status, 404, "{}", not_found.text);
    let generated = not_found
        .header("x-request-id")
        .expect("a generated request id")
        .to_string();
    assert!(!generated.is_empty());
    assert_eq!(
        not_found.json()["error"]["request_id"],
        generated.as_str(),
        "{}",
        not_found.text
    );

    let exited = app.terminate().await;
    assert_eq!(exited.status.code(), Some(0), "SIGTERM exits 0");

    let lines: Vec<&str> = exited.stderr.lines().collect();
    assert!(!lines.is_empty());
    let mut ours = Vec::new();
    for line in &lines {
        let json: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("every line is one JSON object ({e}): {line}"));
        let object = json.as_object().expect("an object");
        for field in ["timestamp", "level", "target", "message"] {
            assert!(
                object.get(field).is_some_and(serde_json::Value::is_string),
                "{field} in {line}"
            );
        }
        let timestamp = object["timestamp"].as_str().unwrap_or_default();
        assert!(
            timestamp.len() >= 20 && timestamp.as_bytes()[10] == b'T' && timestamp.ends_with('Z'),
            "an RFC 3339 UTC timestamp: {line}"
        );
        assert!(
            ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
                .contains(&object["level"].as_str().unwrap_or("")),
            "{line}"
        );
        assert!(
            !line.contains(VALID) && !line.contains(API_KEY),
            "a secret leaked: {line}"
        );
        if object.get("request_id").and_then(|v| v.as_str()) == Some("test-req-42") {
            ours.push(json.clone());
        }
    }
    assert!(
        ours.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("POST /v1/validate 200 "))),
        "the access line of our request carries our id: {ours:#?}\n{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""request_id":"test-req-43""#)
                && l.contains("POST /v1/validate 401 ")),
        "{lines:#?}"
    );
    me.assert_async().await;
}
