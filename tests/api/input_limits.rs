//! Hostile input, case by case: control characters and unicode in tokens and ids, length limits
//! on tokens and codes, deeply nested JSON, JSON only where JSON is expected, broken encodings.
//! Each is a 4xx in the error envelope, never a 5xx, a panic or a "yes".

use mockito::Matcher;
use serde_json::json;

use crate::helpers::hostile::*;
use crate::helpers::*;

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
            answer.error_text().contains("access_token"),
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
    answer.assert_status(200, "the longest allowed token is asked");
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
    let exchange = app.code_exchange()
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

/// Each body nested `depth` deep sent to every target, Instagram refusing all; every answer
/// passes [`check`].
async fn send_nested(app: &mut TestApp, depth: usize) -> Vec<(&'static str, Target, Answer)> {
    refuse_everything(app).await;
    let mut answers = Vec::new();
    for (what, body) in nested_bodies(depth) {
        for target in TARGETS {
            let content_type = Some(target.content_type());
            let answer = send(app, target, content_type, body.clone().into_bytes()).await;
            check(target, body.as_bytes(), &answer).unwrap_or_else(|e| panic!("{what}: {e}"));
            answers.push((what, target, answer));
        }
    }
    answers
}

#[actix_web::test]
async fn deeply_nested_json_is_refused_without_a_crash() {
    // Under the default body limit: 413 before any parsing.
    let mut app = spawn_app().await;
    for (what, target, answer) in send_nested(&mut app, 10_000).await {
        if !target.is_webhook() {
            assert!(
                [400, 413].contains(&answer.status),
                "{what} to {target:?}: {} {}",
                answer.status,
                answer.text
            );
        }
    }

    // With a large body limit the parsers themselves see it: 400, and the app lives on.
    let mut app = spawn_app_with(&[
        ("IGAUTH_LIMITS__MAX_BODY_BYTES", "2000000"),
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0"),
    ])
    .await;
    for (what, target, answer) in send_nested(&mut app, 100_000).await {
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
