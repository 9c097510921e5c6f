//! Abuse limits and browser safety: the per-client-IP limit on `/v1/exchange` (on by
//! default, off at 0, never on the server-to-server routes), `X-Forwarded-For` believed only from
//! trusted proxies, the body size limit, security headers on every answer, and CORS only for
//! configured origins.

use actix_web::http::Method;

use crate::helpers::*;

const BAD_CODE_BODY: &str =
    r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid authorization code"}"#;

/// Instagram refuses every code: a cheap, deterministic answer that is not a 429.
async fn refuse_codes(app: &mut TestApp) -> mockito::Mock {
    app.instagram
        .mock("POST", "/oauth/access_token")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(BAD_CODE_BODY)
        .expect_at_least(0)
        .create_async()
        .await
}

/// POSTs an exchange, optionally claiming to come from `forwarded_for`.
async fn exchange(app: &TestApp, forwarded_for: Option<&str>) -> Answer {
    let mut req = app
        .http
        .post(app.url("/v1/exchange"))
        .insert_header(("Content-Type", "application/json"));
    if let Some(xff) = forwarded_for {
        req = req.insert_header(("X-Forwarded-For", xff));
    }
    let body = serde_json::json!({ "code": "AQB-guess", "redirect_uri": REDIRECT_URI });
    Answer::read(req.send_body(body.to_string()).await.expect("app answers")).await
}

fn assert_rate_limited(answer: &Answer) {
    assert_eq!(answer.status, 429, "{}", answer.text);
    assert_eq!(answer.error_code(), "rate_limited");
    let retry: u64 = answer
        .header("retry-after")
        .expect("429 carries Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry >= 1, "Retry-After {retry}");
    assert_security_headers(answer);
}

fn assert_passed(answer: &Answer) {
    assert_ne!(answer.status, 429, "{}", answer.text);
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.error_code(), "invalid_code");
}

const TIGHT: [(&str, &str); 2] = [
    ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "2"),
    ("IGAUTH_LIMITS__EXCHANGE_BURST", "2"),
];

#[actix_web::test]
async fn exchange_is_rate_limited_per_client_after_the_burst() {
    let mut app = spawn_app_with(&TIGHT).await;
    let codes = app
        .instagram
        .mock("POST", "/oauth/access_token")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(BAD_CODE_BODY)
        .expect(2)
        .create_async()
        .await;
    assert_passed(&exchange(&app, None).await);
    assert_passed(&exchange(&app, None).await);
    for _ in 0..3 {
        assert_rate_limited(&exchange(&app, None).await);
    }
    // A limited request never reaches Instagram.
    codes.assert_async().await;
}

#[actix_web::test]
async fn exchange_rate_limit_is_on_by_default() {
    let mut app = spawn_app().await;
    let _codes = refuse_codes(&mut app).await;
    assert_passed(&exchange(&app, None).await);
    let mut limited = None;
    for n in 1..60 {
        let answer = exchange(&app, None).await;
        if answer.status == 429 {
            limited = Some((n, answer));
            break;
        }
        assert_passed(&answer);
    }
    let (n, answer) = limited.expect("no 429 within 60 rapid exchanges with default settings");
    assert_rate_limited(&answer);
    assert!(
        n >= 3,
        "the default allows a small burst, limited after {n}"
    );
}

#[actix_web::test]
async fn zero_turns_the_exchange_rate_limit_off() {
    let mut app = spawn_app_with(&[
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0"),
        ("IGAUTH_LIMITS__EXCHANGE_BURST", "1"),
    ])
    .await;
    let _codes = refuse_codes(&mut app).await;
    for _ in 0..40 {
        assert_passed(&exchange(&app, None).await);
    }
}

#[actix_web::test]
async fn validate_introspect_and_webhooks_are_never_rate_limited() {
    let mut app = spawn_app_with(&[
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "1"),
        ("IGAUTH_LIMITS__EXCHANGE_BURST", "1"),
    ])
    .await;
    let _me = app.mock_me("IGT-busy", 200, &me_body(BIG_ID, "jay")).await;
    let _codes = refuse_codes(&mut app).await;
    let validate_params =
        serde_json::json!({ "params": { "id": BIG_ID, "access_token": "IGT-busy" } });
    let trigger = serde_json::json!({
        "object": { "username": "jay", "authData": { "instagram": { "id": BIG_ID, "access_token": "IGT-busy" } } }
    });
    let exchange_params = serde_json::json!({ "params": { "code": "AQB-hook" } });
    for _ in 0..30 {
        let answer = app.validate(BIG_ID, "IGT-busy").await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["valid"], true);

        let answer = app.post_form("/v1/introspect", "token=IGT-busy").await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["active"], true);

        let answer = webhook(&app, "/v1/parse/functions/validate", &validate_params).await;
        assert_eq!(answer.json()["success"]["valid"], true, "{}", answer.text);

        let answer = webhook(&app, "/v1/parse/triggers/user", &trigger).await;
        assert_eq!(answer.text, "{}", "a pass");

        // The exchange webhook is called by Parse Server, not by browsers: not limited either.
        let answer = webhook(&app, "/v1/parse/functions/exchange", &exchange_params).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let message = answer.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains("authorization code") && !message.contains("Too many"),
            "{}",
            answer.text
        );
    }
}

async fn webhook(app: &TestApp, path: &str, body: &serde_json::Value) -> Answer {
    let req = app
        .http
        .post(app.url(path))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("X-Parse-Webhook-Key", WEBHOOK_KEY));
    Answer::read(req.send_body(body.to_string()).await.expect("app answers")).await
}

#[actix_web::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_pick_a_new_bucket() {
    let mut app = spawn_app_with(&TIGHT).await;
    let _codes = refuse_codes(&mut app).await;
    assert_passed(&exchange(&app, Some("203.0.113.1")).await);
    assert_passed(&exchange(&app, Some("203.0.113.2")).await);
    // Every claimed address shares the peer's (127.0.0.1) bucket, which is empty now.
    for xff in ["203.0.113.3", "198.51.100.7, 203.0.113.4", "2001:db8::1"] {
        assert_rate_limited(&exchange(&app, Some(xff)).await);
    }
    assert_rate_limited(&exchange(&app, None).await);
}

#[actix_web::test]
async fn forwarded_for_from_a_trusted_proxy_gives_each_client_its_bucket() {
    let mut app = spawn_app_with(&[
        TIGHT[0],
        TIGHT[1],
        ("IGAUTH_LIMITS__TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let _codes = refuse_codes(&mut app).await;
    for client in ["203.0.113.1", "203.0.113.2"] {
        assert_passed(&exchange(&app, Some(client)).await);
        assert_passed(&exchange(&app, Some(client)).await);
        assert_rate_limited(&exchange(&app, Some(client)).await);
    }
    // The client is the nearest untrusted hop: an address a client prepends changes nothing.
    assert_rate_limited(&exchange(&app, Some("10.9.9.9, 203.0.113.1")).await);
    // A third client still has its own full bucket.
    assert_passed(&exchange(&app, Some("203.0.113.3")).await);
}

#[actix_web::test]
async fn a_cidr_proxy_seen_through_a_dual_stack_listener_is_trusted() {
    // Bound to [::], the app sees this IPv4 client as ::ffff:127.0.0.1; the trusted range is
    // written in IPv4, as operators write their pod CIDR.
    let mut app = spawn_app_with(&[
        TIGHT[0],
        TIGHT[1],
        ("IGAUTH_SERVER__BIND", "[::]:0"),
        ("IGAUTH_LIMITS__TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.0/8"),
    ])
    .await;
    let _codes = refuse_codes(&mut app).await;
    for client in ["203.0.113.1", "203.0.113.2"] {
        assert_passed(&exchange(&app, Some(client)).await);
        assert_passed(&exchange(&app, Some(client)).await);
        assert_rate_limited(&exchange(&app, Some(client)).await);
    }
    // Hops inside a trusted range are skipped: the client is 203.0.113.3 and has a full bucket.
    assert_passed(&exchange(&app, Some("203.0.113.3, 10.4.5.6")).await);
}

#[actix_web::test]
async fn trusted_proxies_that_are_not_addresses_or_ranges_stop_startup() {
    for (entry, says) in [
        ("ingress", "not an IP address"),
        ("10.1.2.3/8", "10.0.0.0/8"),
    ] {
        let err = igauth::settings::Settings::from_sources(igauth::settings::Sources {
            file: None,
            env: Some(vec![(
                "IGAUTH_LIMITS__TRUSTED_PROXIES".into(),
                format!("127.0.0.1, {entry}"),
            )]),
        })
        .unwrap_err();
        assert!(
            err.contains("IGAUTH_LIMITS__TRUSTED_PROXIES") && err.contains(says),
            "{err}"
        );
    }
}

#[actix_web::test]
async fn bodies_over_the_limit_get_413() {
    let app = spawn_app_with(&[
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0"),
        ("IGAUTH_LIMITS__WEBHOOK_MAX_BODY_BYTES", "8192"),
    ])
    .await;
    let padding = "x".repeat(9000);
    let json = format!(r#"{{"id":"{BIG_ID}","access_token":"IGT","pad":"{padding}"}}"#);
    for answer in [
        app.post_json("/v1/validate", &json).await,
        app.post_json("/v1/exchange", &json).await,
        app.post_form("/v1/introspect", &format!("token=IGT&pad={padding}"))
            .await,
    ] {
        assert_eq!(answer.status, 413, "{}", answer.text);
        assert_eq!(answer.error_code(), "payload_too_large");
        assert_security_headers(&answer);
    }

    // Chunked, with no Content-Length to refuse up front.
    let chunks = (0..10).map(|_| {
        Ok::<_, std::io::Error>(actix_web::web::Bytes::from(format!(
            r#"{{"pad":"{}"}}"#,
            "y".repeat(1000)
        )))
    });
    let res = app
        .http
        .post(app.url("/v1/validate"))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("Authorization", format!("Bearer {API_KEY}")))
        .send_stream(futures_util::stream::iter(chunks))
        .await
        .expect("app answers");
    let answer = Answer::read(res).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(answer.error_code(), "payload_too_large");

    // Parse's webhooks keep Parse's protocol: 200 with an error message.
    let req = app
        .http
        .post(app.url("/v1/parse/functions/validate"))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("X-Parse-Webhook-Key", WEBHOOK_KEY));
    let answer = Answer::read(req.send_body(json.clone()).await.unwrap()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.json()["error"]
        .as_str()
        .unwrap()
        .contains("larger than"));
}

fn assert_security_headers(answer: &Answer) {
    let context = format!("{} {}", answer.status, answer.text);
    assert_eq!(
        answer.header("x-content-type-options"),
        Some("nosniff"),
        "{context}"
    );
    assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{context}");
    let csp = answer
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP: {context}"));
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        answer.header("referrer-policy").is_some(),
        "no Referrer-Policy: {context}"
    );
}

fn assert_no_store(answer: &Answer) {
    let cache_control = answer.header("cache-control").unwrap_or_default();
    assert!(
        cache_control.contains("no-store"),
        "token-bearing answer without Cache-Control: no-store ({cache_control:?}): {}",
        answer.text
    );
}

#[actix_web::test]
async fn every_answer_carries_the_security_headers() {
    let mut app = spawn_app_with(&TIGHT).await;
    let _me = app.mock_me("IGT-ok", 200, &me_body(BIG_ID, "jay")).await;
    let _bad = app.mock_me("IGT-bad", 400, INVALID_TOKEN_BODY).await;
    let _broken = app.mock_me("IGT-broken", 500, "{}").await;
    let _codes = refuse_codes(&mut app).await;

    let mut answers = vec![
        Answer::read(app.http.get(app.url("/healthz")).send().await.unwrap()).await,
        Answer::read(app.http.get(app.url("/nowhere")).send().await.unwrap()).await,
        Answer::read(app.http.get(app.url("/v1/validate")).send().await.unwrap()).await,
        Answer::read(
            app.http
                .post(app.url("/v1/validate"))
                .insert_header(("Content-Type", "application/json"))
                .send_body(r#"{"id":"1","access_token":"IGT-ok"}"#)
                .await
                .unwrap(),
        )
        .await, // 401
        app.validate(BIG_ID, "IGT-ok").await,
        app.validate(BIG_ID, "IGT-bad").await,
        app.validate(BIG_ID, "IGT-broken").await,
        app.post_json("/v1/validate", "{not json").await,
        app.post_form("/v1/validate", "id=1").await, // 415
        app.post_form("/v1/introspect", "token=IGT-ok").await,
        app.post_form("/v1/introspect", "token=IGT-bad").await,
    ];
    for _ in 0..3 {
        answers.push(exchange(&app, None).await); // 400, 400, 429
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [200, 404, 405, 401, 200, 200, 502, 400, 415, 200, 200, 400, 400, 429]
    );
    for answer in &answers {
        assert_security_headers(answer);
        assert_no_store(answer);
    }
}

#[actix_web::test]
async fn token_bearing_answers_are_not_stored() {
    let mut app = spawn_app().await;
    let _grant = app
        .instagram
        .mock("POST", "/oauth/access_token")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(grant_body("IGAA-fresh"))
        .create_async()
        .await;
    let _me = app
        .mock_me("IGAA-fresh", 200, &me_body(BIG_ID, "jay"))
        .await;

    let body = serde_json::json!({ "code": "AQB-good#_", "redirect_uri": REDIRECT_URI });
    let answer = app.post_json("/v1/exchange", &body.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["access_token"], "IGAA-fresh");
    assert_no_store(&answer);
    assert_security_headers(&answer);

    let answer = app.post_form("/v1/introspect", "token=IGAA-fresh").await;
    assert_eq!(answer.json()["active"], true, "{}", answer.text);
    assert_no_store(&answer);

    let answer = app.validate(BIG_ID, "IGAA-fresh").await;
    assert_eq!(answer.json()["valid"], true, "{}", answer.text);
    assert_no_store(&answer);
}

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

const APP_ORIGIN: &str = "https://app.example";
const EVIL_ORIGIN: &str = "https://evil.example";

async fn from_origin(app: &TestApp, origin: &str) -> Answer {
    let body = serde_json::json!({ "code": "AQB-cors", "redirect_uri": REDIRECT_URI });
    let req = app
        .http
        .post(app.url("/v1/exchange"))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("Origin", origin));
    Answer::read(req.send_body(body.to_string()).await.expect("app answers")).await
}

async fn preflight(app: &TestApp, origin: &str) -> Answer {
    preflight_with(app, origin, "content-type").await
}

async fn preflight_with(app: &TestApp, origin: &str, headers: &str) -> Answer {
    let req = app
        .http
        .request(Method::OPTIONS, app.url("/v1/exchange"))
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header(("Access-Control-Request-Headers", headers));
    Answer::read(req.send().await.expect("app answers")).await
}

fn cors_headers(answer: &Answer) -> Vec<String> {
    answer
        .headers
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

#[actix_web::test]
async fn no_cors_headers_unless_origins_are_configured() {
    let mut app = spawn_app().await;
    let _codes = refuse_codes(&mut app).await;
    let answer = from_origin(&app, APP_ORIGIN).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.headers);

    let answer = preflight(&app, APP_ORIGIN).await;
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.headers);
    assert!(
        !(200..300).contains(&answer.status),
        "a preflight must not succeed without CORS: {}",
        answer.status
    );
    assert_security_headers(&answer);
}

#[actix_web::test]
async fn cors_echoes_only_a_listed_origin() {
    let mut app = spawn_app_with(&[(
        "IGAUTH_SERVER__CORS_ORIGINS",
        "https://app.example, https://admin.example",
    )])
    .await;
    let _codes = refuse_codes(&mut app).await;

    for origin in [APP_ORIGIN, "https://admin.example"] {
        let answer = from_origin(&app, origin).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.header("access-control-allow-origin"), Some(origin));
        assert_security_headers(&answer);

        let answer = preflight(&app, origin).await;
        assert!(
            (200..300).contains(&answer.status),
            "preflight from {origin}: {} {}",
            answer.status,
            answer.text
        );
        assert_eq!(answer.header("access-control-allow-origin"), Some(origin));
        let methods = answer
            .header("access-control-allow-methods")
            .unwrap_or_default();
        assert!(methods.contains("POST"), "{methods}");
        let headers = answer
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(headers.contains("content-type"), "{headers}");
    }

    // An unlisted origin is never echoed, and never gets a wildcard.
    let answer = from_origin(&app, EVIL_ORIGIN).await;
    assert!(answer.status < 500, "{}", answer.text);
    assert_ne!(
        answer.header("access-control-allow-origin"),
        Some(EVIL_ORIGIN)
    );
    assert_ne!(answer.header("access-control-allow-origin"), Some("*"));
    let answer = preflight(&app, EVIL_ORIGIN).await;
    assert!(
        (400..500).contains(&answer.status),
        "preflight from an unlisted origin: {} {}",
        answer.status,
        answer.text
    );
    assert!(answer.header("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn cors_refusals_answer_in_the_error_envelope() {
    let mut app = spawn_app_with(&[("IGAUTH_SERVER__CORS_ORIGINS", APP_ORIGIN)]).await;
    let never = app.instagram_never_called().await;
    for (answer, reason) in [
        (preflight(&app, EVIL_ORIGIN).await, "origin"),
        (preflight_with(&app, APP_ORIGIN, "x-custom").await, "header"),
    ] {
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.error_code(), "cors_not_allowed", "{}", answer.text);
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.to_ascii_lowercase().contains(reason)
                && message.contains("IGAUTH_SERVER__CORS_ORIGINS"),
            "{message}"
        );
        assert!(answer.header("access-control-allow-origin").is_none());
        assert_security_headers(&answer);
        let request_id = answer.header("x-request-id").expect("an X-Request-Id");
        assert_eq!(answer.json()["error"]["request_id"], request_id);
    }
    assert_all(&never).await;
}

#[actix_web::test]
async fn the_request_body_limit_is_configurable() {
    let app = spawn_app_with(&[("IGAUTH_LIMITS__MAX_BODY_BYTES", "512")]).await;
    let body = format!(
        r#"{{"id":"{BIG_ID}","access_token":"IGT","pad":"{}"}}"#,
        "x".repeat(600)
    );
    let answer = app.post_json("/v1/validate", &body).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(answer.error_code(), "payload_too_large");
}

/// Parse's trigger payloads carry the whole user, its original, headers and log context: far
/// over the 8 KiB that an authData body may take, and still accepted by default.
#[actix_web::test]
async fn webhooks_accept_parse_sized_payloads() {
    let app = spawn_app().await;
    let object = format!(
        r#"{{"nickname":"{}","className":"_User"}}"#,
        "n".repeat(40_000)
    );
    let body = format!(r#"{{"triggerName":"beforeSave","object":{object}}}"#);
    let req = app
        .http
        .post(app.url("/v1/parse/triggers/user"))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("X-Parse-Webhook-Key", WEBHOOK_KEY));
    let answer = Answer::read(req.send_body(body).await.unwrap()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, "{}", "a pass");
}
