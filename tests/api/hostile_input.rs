//! Hostile input: whatever arrives — arbitrary bytes, near-JSON, ids and tokens with
//! control characters and unicode, oversized and deeply nested bodies — igauth answers with a
//! 4xx in its error envelope (or Parse's `{"error": ...}` on webhooks), never a 5xx, never a
//! panic and never a "yes". Instagram is mocked to refuse every token and code, so upstream can
//! neither explain a 5xx nor produce a yes.
//!
//! The property tests build one app per test function in an actix System and drive proptest's
//! `TestRunner` by hand, one blocking request per case, so failures shrink to a minimal input.

use actix_web::rt::SystemRunner;
use mockito::Matcher;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::helpers::*;

/// Cases per property: enough to find the usual parser edge cases, cheap in a debug build.
const CASES: u32 = 64;

/// Every surface that reads a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Validate,
    Introspect,
    Exchange,
    ParseValidate,
    ParseExchange,
    ParseTrigger,
}

const TARGETS: [Target; 6] = [
    Target::Validate,
    Target::Introspect,
    Target::Exchange,
    Target::ParseValidate,
    Target::ParseExchange,
    Target::ParseTrigger,
];

impl Target {
    fn path(self) -> &'static str {
        match self {
            Target::Validate => "/v1/validate",
            Target::Introspect => "/v1/introspect",
            Target::Exchange => "/v1/exchange",
            Target::ParseValidate => "/v1/parse/functions/validate",
            Target::ParseExchange => "/v1/parse/functions/exchange",
            Target::ParseTrigger => "/v1/parse/triggers/user",
        }
    }

    fn is_webhook(self) -> bool {
        matches!(
            self,
            Target::ParseValidate | Target::ParseExchange | Target::ParseTrigger
        )
    }

    /// The media type a well-behaved caller would send.
    fn content_type(self) -> &'static str {
        match self {
            Target::Introspect => "application/x-www-form-urlencoded",
            _ => "application/json",
        }
    }
}

/// Instagram refuses everything: `/me` with error 190, the code exchange with 190 too.
async fn refuse_everything(app: &mut TestApp) {
    for method in ["GET", "POST"] {
        app.instagram
            .mock(method, Matcher::Any)
            .match_query(Matcher::Any)
            .with_status(400)
            .with_header("content-type", "application/json")
            .with_body(INVALID_TOKEN_BODY)
            .expect_at_least(0)
            .create_async()
            .await;
    }
}

/// POSTs raw bytes with every credential a route might want, so only the body is hostile.
async fn send(app: &TestApp, target: Target, content_type: Option<&str>, body: Vec<u8>) -> Answer {
    let mut req = app
        .http
        .post(app.url(target.path()))
        .insert_header(("Authorization", format!("Bearer {API_KEY}")))
        .insert_header(("X-Parse-Webhook-Key", WEBHOOK_KEY));
    if let Some(content_type) = content_type {
        req = req.insert_header(("Content-Type", content_type));
    }
    Answer::read(req.send_body(body).await.expect("app answers")).await
}

/// The invariants every answer to hostile input must keep.
fn check(target: Target, body: &[u8], answer: &Answer) -> Result<(), String> {
    let text = &answer.text;
    let fail = |why: &str| {
        Err(format!(
            "{target:?} answered {}: {why}: {text}",
            answer.status
        ))
    };
    if answer.status >= 500 {
        return fail("a 5xx for bad input");
    }
    if text.contains(r#""valid":true"#) || text.contains(r#""active":true"#) {
        return fail("a yes although Instagram refuses everything");
    }
    let Ok(json) = serde_json::from_str::<Value>(text) else {
        return fail("not JSON");
    };
    if target.is_webhook() {
        if answer.status != 200 {
            return fail("webhooks always answer 200 in Parse's protocol");
        }
        match (json.get("success"), json.get("error")) {
            (None, Some(Value::String(_))) => return Ok(()),
            (Some(_), None) if target == Target::ParseTrigger => {
                // A pass is only right for a user with no Instagram authData to check.
                let sent = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
                let instagram = &sent["object"]["authData"]["instagram"];
                if !instagram.is_null() {
                    return fail("a user with Instagram authData passed the trigger");
                }
                return Ok(());
            }
            _ => return fail("not {\"success\": ...} xor {\"error\": \"...\"}"),
        }
    }
    if (200..300).contains(&answer.status) {
        if target == Target::Exchange {
            return fail("an exchange succeeded although Instagram refuses every code");
        }
        return Ok(());
    }
    match json["error"]["code"].as_str() {
        Some(code) if !code.is_empty() && json["error"]["message"].is_string() => Ok(()),
        _ => fail("a non-2xx answer without the error envelope"),
    }
}

/// One app for a whole property, driven from a plain test thread.
struct Harness {
    system: SystemRunner,
    app: TestApp,
}

impl Harness {
    fn new(overrides: &[(&str, &str)]) -> Harness {
        let system = actix_web::rt::System::new();
        let app = system.block_on(async {
            let mut env = vec![("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0")];
            env.extend_from_slice(overrides);
            let mut app = spawn_app_with(&env).await;
            refuse_everything(&mut app).await;
            let health = app.http.get(app.url("/healthz")).send().await.unwrap();
            assert_eq!(health.status(), 200);
            app
        });
        Harness { system, app }
    }

    fn ask(&self, target: Target, content_type: Option<&str>, body: Vec<u8>) -> Answer {
        self.system
            .block_on(send(&self.app, target, content_type, body))
    }

    /// Sends `body` and checks the invariants, as a proptest case result.
    fn case(
        &self,
        target: Target,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(), TestCaseError> {
        let answer = self.ask(target, content_type, body.clone());
        check(target, &body, &answer).map_err(TestCaseError::fail)
    }

    fn still_alive(&self) {
        self.system.block_on(async {
            let health = self.app.http.get(self.app.url("/healthz")).send().await;
            assert_eq!(health.expect("the app survived").status(), 200);
        });
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn target() -> impl Strategy<Value = Target> {
    proptest::sample::select(TARGETS.to_vec())
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    proptest::sample::select(vec![
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=utf-8"),
        Some("text/plain"),
        Some("application/vnd.api+json"),
        Some("multipart/form-data; boundary=x"),
        Some(""),
        Some("APPLICATION/JSON"),
        Some("application/json;;;charset=\"utf-16\""),
    ])
}

#[test]
fn arbitrary_bytes_never_get_a_5xx_or_a_yes() {
    let harness = Harness::new(&[]);
    let strategy = (
        target(),
        content_type(),
        proptest::collection::vec(any::<u8>(), 0..2048),
    );
    runner()
        .run(&strategy, |(target, content_type, body)| {
            harness.case(target, content_type, body)
        })
        .unwrap();
    harness.still_alive();
}

/// Text that is almost JSON: the pieces our bodies are made of, in random order and nesting.
fn json_ish() -> impl Strategy<Value = String> {
    let pieces = vec![
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\\",
        "null",
        "true",
        "-0",
        "1e999",
        "0.5",
        "18446744073709551616",
        "-1",
        "\"id\"",
        "\"access_token\"",
        "\"authData\"",
        "\"instagram\"",
        "\"params\"",
        "\"object\"",
        "\"code\"",
        "\"redirect_uri\"",
        "\"17841405793187219\"",
        "17841405793187219",
        "\"IGT-x\"",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"\\n\"",
        "\"\u{202e}\"",
        "\"é\"",
        " ",
        "\t",
        "\n",
        "token=",
        "&",
        "%00",
        "%ZZ",
    ];
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(pieces), 0..64)
            .prop_map(|parts| parts.concat()),
        "[\\[\\]{}\":,0-9a-zA-Z_\\\\. \t\n-]{0,300}",
    ]
}

#[test]
fn json_ish_text_never_gets_a_5xx_or_a_yes() {
    let harness = Harness::new(&[]);
    let strategy = (target(), json_ish());
    runner()
        .run(&strategy, |(target, text)| {
            harness.case(target, Some(target.content_type()), text.into_bytes())
        })
        .unwrap();
    harness.still_alive();
}

/// Strings an attacker would try for ids, tokens and codes.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        "[ -~]{0,64}",
        "[0-9]{0,40}",
        "IGT[A-Za-z0-9_.-]{0,16}[\\x00-\\x1f\\x7f \u{a0}\u{202e}\u{feff}é][A-Za-z0-9]{0,4}",
        "[0-9]{1,20}[\\x00-\\x1f\u{ff10}-\u{ff19}]{1,2}",
        (2040usize..2060).prop_map(|n| "A".repeat(n)),
        (1016usize..1032).prop_map(|n| "Q".repeat(n)),
    ]
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => hostile_string().prop_map(Value::String),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| json!(f)),
        1 => Just(Value::Null),
        1 => Just(json!(true)),
        1 => Just(json!([])),
        1 => Just(json!({})),
        1 => Just(json!(BIG_ID)),
    ]
}

/// authData in every shape we read, with hostile ids and tokens (or none at all).
fn auth_data() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(json_scalar()),
        proptest::option::of(json_scalar()),
        0..3u8,
    )
        .prop_map(|(id, token, shape)| {
            let mut flat = serde_json::Map::new();
            if let Some(id) = id {
                flat.insert("id".into(), id);
            }
            if let Some(token) = token {
                flat.insert("access_token".into(), token);
            }
            let flat = Value::Object(flat);
            match shape {
                0 => flat,
                1 => json!({ "authData": flat }),
                _ => json!({ "authData": { "instagram": flat } }),
            }
        })
}

/// A well-formed request to `target` whose fields are hostile.
fn structured(target: Target, auth: Value, code: Value, redirect: Value) -> Vec<u8> {
    let token = match &auth["access_token"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let body = match target {
        Target::Validate => auth,
        Target::Introspect => {
            return serde_urlencoded::to_string([("token", token.as_str())])
                .unwrap()
                .into_bytes()
        }
        Target::Exchange => json!({ "code": code, "redirect_uri": redirect }),
        Target::ParseValidate => json!({ "params": auth }),
        Target::ParseExchange => json!({ "params": { "code": code } }),
        Target::ParseTrigger => {
            json!({ "object": { "username": "jay", "authData": { "instagram": auth } } })
        }
    };
    body.to_string().into_bytes()
}

#[test]
fn hostile_ids_tokens_and_codes_never_get_a_5xx_or_a_yes() {
    let harness = Harness::new(&[]);
    let redirect = prop_oneof![Just(json!(REDIRECT_URI)), Just(Value::Null), json_scalar(),];
    let strategy = (target(), auth_data(), json_scalar(), redirect);
    runner()
        .run(&strategy, |(target, auth, code, redirect)| {
            let body = structured(target, auth, code, redirect);
            harness.case(target, Some(target.content_type()), body)
        })
        .unwrap();
    harness.still_alive();
}

// ---------------------------------------------------------------------------------------------
// Deterministic cases
// ---------------------------------------------------------------------------------------------

fn assert_invalid_request(answer: &Answer, context: &str) {
    assert_eq!(answer.status, 400, "{context}: {}", answer.text);
    assert_eq!(answer.error_code(), "invalid_request", "{context}");
}

#[actix_web::test]
async fn control_characters_and_unicode_in_tokens_and_ids_are_400() {
    let mut app = spawn_app().await;
    let mocks = app.instagram_never_called().await;
    let bad_tokens = [
        "IGT\u{0}x",
        "IGT\tx",
        "IGT\nx",
        "IGT\rx",
        "IGT\u{7f}",
        "IGT x",
        "IGT\u{a0}x",
        "IGTé",
        "IGT\u{202e}x",
        "\u{feff}IGT",
        "\u{1b}[31mIGT",
    ];
    for token in bad_tokens {
        let body = json!({ "id": BIG_ID, "access_token": token }).to_string();
        let answer = app.post_json("/v1/validate", &body).await;
        assert_invalid_request(&answer, &format!("token {token:?}"));
        assert!(
            answer.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("access_token"),
            "{}",
            answer.text
        );
        // Introspection: not a token, so simply not active (RFC 7662), and Instagram not asked.
        let form = serde_urlencoded::to_string([("token", token)]).unwrap();
        let answer = app.post_form("/v1/introspect", &form).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json(), json!({ "active": false }));
    }
    let bad_ids = [
        "\u{0}17841405793187219",
        "17841405793187219\n",
        "1784\t1405793187219",
        "１７８４１",
        "12 3",
        "-1",
        "1.5",
        "1e3",
        "0x1F",
        "",
        "17841405793187219\u{202e}",
        &"9".repeat(40),
    ];
    for id in bad_ids {
        let body = json!({ "id": id, "access_token": "IGT-fine" }).to_string();
        let answer = app.post_json("/v1/validate", &body).await;
        assert_invalid_request(&answer, &format!("id {id:?}"));
    }
    for code in ["AQB\u{0}", "AQB\u{1b}x", "AQ B", "AQBé"] {
        let body = json!({ "code": code, "redirect_uri": REDIRECT_URI }).to_string();
        let answer = app.post_json("/v1/exchange", &body).await;
        assert_invalid_request(&answer, &format!("code {code:?}"));
    }
    assert_all(&mocks).await;
}

#[actix_web::test]
async fn token_length_limit_is_2048_bytes() {
    let mut app = spawn_app().await;
    let longest = "A".repeat(2048);
    let me = app.mock_me(&longest, 400, INVALID_TOKEN_BODY).await;
    let answer = app.validate(BIG_ID, &longest).await;
    assert_eq!(
        answer.status, 200,
        "the longest allowed token is asked: {}",
        answer.text
    );
    assert_eq!(answer.json()["valid"], false);
    me.assert_async().await;

    for len in [2049, 4000] {
        let answer = app.validate(BIG_ID, &"A".repeat(len)).await;
        assert_invalid_request(&answer, &format!("a {len}-byte token"));
    }
}

#[actix_web::test]
async fn code_length_limit_is_1024_bytes() {
    let mut app = spawn_app_with(&[("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0")]).await;
    let longest = "Q".repeat(1024);
    let exchange = app
        .instagram
        .mock("POST", "/oauth/access_token")
        .match_body(Matcher::UrlEncoded("code".into(), longest.clone()))
        .with_status(400)
        .with_body(r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid authorization code"}"#)
        .expect(1)
        .create_async()
        .await;
    let body = json!({ "code": longest, "redirect_uri": REDIRECT_URI }).to_string();
    let answer = app.post_json("/v1/exchange", &body).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(
        answer.error_code(),
        "invalid_code",
        "the longest allowed code is sent"
    );
    exchange.assert_async().await;

    for len in [1025, 3000] {
        let body = json!({ "code": "Q".repeat(len), "redirect_uri": REDIRECT_URI }).to_string();
        let answer = app.post_json("/v1/exchange", &body).await;
        assert_invalid_request(&answer, &format!("a {len}-byte code"));
        let form = format!("code={}&redirect_uri=x", "Q".repeat(len));
        let answer = app.post_form("/v1/exchange", &form).await;
        assert_invalid_request(&answer, &format!("a {len}-byte code as a form"));
    }
}

/// Bodies nested far past any parser's recursion limit.
fn nested_bodies(depth: usize) -> Vec<(&'static str, String)> {
    vec![
        ("arrays", "[".repeat(depth)),
        ("closed arrays", format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        ("objects", "{\"a\":".repeat(depth)),
        (
            "authData wrappers",
            format!("{}{{}}{}", "{\"authData\":".repeat(depth), "}".repeat(depth)),
        ),
        (
            "a nested id",
            format!(
                "{{\"access_token\":\"IGT\",\"id\":{}1{}}}",
                "[".repeat(depth),
                "]".repeat(depth)
            ),
        ),
        (
            "params",
            format!("{{\"params\":{}{}}}", "[".repeat(depth), "]".repeat(depth)),
        ),
        (
            "a trigger object",
            format!(
                "{{\"object\":{{\"authData\":{{\"instagram\":{}{}}}}}}}",
                "[".repeat(depth),
                "]".repeat(depth)
            ),
        ),
        (
            "a trigger object's custom field",
            format!(
                "{{\"object\":{{\"x\":{}{},\"authData\":{{\"instagram\":{{\"id\":\"1\",\"access_token\":\"IGT\"}}}}}}}}",
                "[".repeat(depth),
                "]".repeat(depth)
            ),
        ),
    ]
}

#[actix_web::test]
async fn deeply_nested_json_is_refused_without_a_crash() {
    // Under the default body limit: 413 before any parsing.
    let mut app = spawn_app().await;
    refuse_everything(&mut app).await;
    for (what, body) in nested_bodies(10_000) {
        for target in TARGETS {
            let answer = send(
                &app,
                target,
                Some(target.content_type()),
                body.clone().into_bytes(),
            )
            .await;
            check(target, body.as_bytes(), &answer).unwrap_or_else(|e| panic!("{what}: {e}"));
            if !target.is_webhook() {
                assert!(
                    [400, 413].contains(&answer.status),
                    "{what} to {target:?}: {} {}",
                    answer.status,
                    answer.text
                );
            }
        }
    }

    // With a large body limit the parsers themselves see it: 400, and the app lives on.
    let mut app = spawn_app_with(&[
        ("IGAUTH_LIMITS__MAX_BODY_BYTES", "2000000"),
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0"),
    ])
    .await;
    refuse_everything(&mut app).await;
    for (what, body) in nested_bodies(100_000) {
        for target in TARGETS {
            let answer = send(
                &app,
                target,
                Some(target.content_type()),
                body.clone().into_bytes(),
            )
            .await;
            check(target, body.as_bytes(), &answer).unwrap_or_else(|e| panic!("{what}: {e}"));
            if target.is_webhook() {
                assert!(
                    answer.json()["error"].is_string(),
                    "{what} to {target:?}: {}",
                    answer.text
                );
            } else {
                assert_eq!(answer.status, 400, "{what} to {target:?}: {}", answer.text);
            }
        }
    }
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[actix_web::test]
async fn json_only_where_json_is_expected() {
    let mut app = spawn_app_with(&[("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0")]).await;
    let _mocks = app.instagram_never_called().await;
    let json_body = json!({ "id": BIG_ID, "access_token": "IGT" }).to_string();
    for (target, content_type) in [
        (Target::Validate, "text/plain"),
        (Target::Validate, "application/x-www-form-urlencoded"),
        (Target::Validate, "application/xml"),
        (Target::Exchange, "text/plain"),
        (Target::Exchange, "multipart/form-data; boundary=x"),
        (Target::Introspect, "application/json"),
        (Target::Introspect, "text/plain"),
    ] {
        let answer = send(
            &app,
            target,
            Some(content_type),
            json_body.clone().into_bytes(),
        )
        .await;
        assert_eq!(
            answer.status, 415,
            "{target:?} with {content_type}: {}",
            answer.text
        );
        assert_eq!(answer.error_code(), "unsupported_media_type");
    }
}

#[actix_web::test]
async fn broken_encodings_are_400() {
    let mut app = spawn_app_with(&[("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0")]).await;
    // Some of the introspection forms below do reach Instagram; it refuses them (error 190),
    // which is what lets their answer be `{"active": false}`.
    refuse_everything(&mut app).await;
    let cases: [(Target, &[u8]); 6] = [
        (
            Target::Validate,
            b"{\"id\":\"1\",\"access_token\":\"IG\xff\xfe\"}",
        ),
        (
            Target::Validate,
            b"{\"id\":\"1\",\"access_token\":\"\\ud800\"}",
        ),
        (
            Target::Validate,
            b"\xef\xbb\xbf{\"id\":\"1\",\"access_token\":\"IGT\"}",
        ),
        (Target::Exchange, b"{\"code\":\"AQB\\u0000\"}"),
        (Target::Exchange, b"{\"code\":\"AQB\xc0\x80\"}"),
        (Target::Validate, b""),
    ];
    for (target, body) in cases {
        let answer = send(&app, target, Some("application/json"), body.to_vec()).await;
        assert_invalid_request(
            &answer,
            &format!("{target:?} {:?}", String::from_utf8_lossy(body)),
        );
    }
    for form in [
        &b"token=IGT%ZZ"[..],
        b"token=%FF%FE",
        b"token=IGT%00",
        b"token=",
    ] {
        let answer = send(
            &app,
            Target::Introspect,
            Some(Target::Introspect.content_type()),
            form.to_vec(),
        )
        .await;
        check(Target::Introspect, form, &answer).unwrap();
        assert!(
            answer.status == 400 || answer.json() == json!({ "active": false }),
            "{:?}: {} {}",
            String::from_utf8_lossy(form),
            answer.status,
            answer.text
        );
    }
}
