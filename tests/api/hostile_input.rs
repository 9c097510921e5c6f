//! Hostile input: whatever arrives — arbitrary bytes, near-JSON, ids and tokens with
//! control characters and unicode, oversized and deeply nested bodies — igauth answers with a
//! 4xx in its error envelope (or Parse's `{"error": ...}` on webhooks), never a 5xx, never a
//! panic and never a "yes". Instagram is mocked to refuse every token and code, so upstream can
//! neither explain a 5xx nor produce a yes.
//!
//! The property tests build one app per test function in an actix System and drive proptest's
//! `TestRunner` by hand, one blocking request per case, so failures shrink to a minimal input.

use actix_web::rt::SystemRunner;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::helpers::hostile::*;
use crate::helpers::*;

/// Cases per property: enough to find the usual parser edge cases, cheap in a debug build.
const CASES: u32 = 64;

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
