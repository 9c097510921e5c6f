//! PKCE on `/v1/authorize` and `POST /v1/token`: a login's one-time handoff code, redeemed once
//! with the verifier it is bound to, within its lifetime; every refusal the same.

use crate::helpers::login::*;
use std::time::Duration;

use crate::helpers::{assert_all, assert_envelope, TestApp, BIG_ID};

/// A login that ended at the app: its handoff code.
async fn handoff_code(app: &mut TestApp) -> String {
    let _exchange = mock_code_exchange(app, 200, &short_grant()).await;
    let _me = app.me_ok(SHORT_TOKEN).await;
    let answer = log_in_with_code(app, APP_RETURN).await;
    let (_, fragment) = landing(&answer);
    fragment["code"].clone()
}

#[actix_web::test]
async fn authorize_refuses_a_login_without_an_s256_challenge_whatever_return_to_is() {
    let mut app = spawn_flow(&[]).await;
    let idle = app.instagram_never_called().await;
    let good = format!("code_challenge={CHALLENGE}");
    for return_to in [APP_RETURN, "https://evil.example/x", ""] {
        for pkce in [
            String::new(),
            format!("{good}&code_challenge_method=plain"),
            good.clone(),
            "code_challenge_method=S256".into(),
            "code_challenge=short&code_challenge_method=S256".into(),
        ] {
            let query = format!("return_to={}&{pkce}", enc(return_to));
            let answer = get(&app, &format!("/v1/authorize?{query}"), None).await;
            assert_eq!(answer.status, 400, "{query}: {}", answer.text);
            assert_eq!(answer.error_code(), "invalid_request", "{query}");
            answer.assert_has("code_challenge");
            assert!(answer.header("location").is_none());
            assert!(answer.header("set-cookie").is_none());
        }
    }
    assert_all(&idle).await;
}

#[actix_web::test]
async fn a_code_is_redeemed_once_as_json_or_a_form_and_never_cached() {
    let mut app = spawn_flow(&[]).await;
    let code = handoff_code(&mut app).await;
    let form = format!("code={code}&code_verifier={VERIFIER}");
    let answer = app.post_form("/v1/token", &form).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let body = answer.json();
    assert_eq!(body["id"], BIG_ID);
    assert_eq!(body["username"], "jay");
    assert_eq!(body["access_token"], SHORT_TOKEN);
    assert_eq!(body["authData"]["instagram"]["id"], BIG_ID);
    assert_eq!(body["authData"]["instagram"]["access_token"], SHORT_TOKEN);
    assert!(body.get("sessionToken").is_none(), "no Parse sessions here");

    let replayed = redeem(&app, &code, VERIFIER).await;
    assert_eq!(replayed.status, 400);
    assert_eq!(replayed.error_code(), "invalid_grant");
    assert_eq!(replayed.header("cache-control"), Some("no-store"));
}

#[actix_web::test]
async fn unknown_used_and_wrongly_verified_codes_are_refused_alike() {
    let mut app = spawn_flow(&[]).await;
    let code = handoff_code(&mut app).await;
    let wrong = redeem(&app, &code, &VERIFIER.replace('d', "e")).await;
    // A wrong verifier burns the code: the right one no longer helps.
    let after = redeem(&app, &code, VERIFIER).await;
    let unknown = redeem(&app, &"A".repeat(43), VERIFIER).await;
    let garbage = redeem(&app, "not-a-code", VERIFIER).await;
    let messages: Vec<String> = [&wrong, &after, &unknown, &garbage]
        .iter()
        .map(|a| {
            assert_envelope(a, 400, "invalid_grant");
            a.error_text()
        })
        .collect();
    assert!(messages.iter().all(|m| *m == messages[0]), "{messages:?}");
}

#[actix_web::test]
async fn an_expired_code_is_refused() {
    let mut app = spawn_flow(&[("IGAUTH_SERVER__HANDOFF_TTL_SECS", "1")]).await;
    let code = handoff_code(&mut app).await;
    // The code's lifetime is what is tested, not a server's readiness.
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    let answer = redeem(&app, &code, VERIFIER).await;
    assert_eq!(answer.error_code(), "invalid_grant", "{}", answer.text);
}

#[actix_web::test]
async fn missing_fields_are_named() {
    let app = spawn_flow(&[]).await;
    for body in [r#"{"code":"x"}"#, r#"{"code_verifier":"x"}"#, "{}"] {
        let answer = app.post_json("/v1/token", body).await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.error_code(), "invalid_request", "{body}");
    }
}

#[actix_web::test]
async fn token_shares_the_exchange_limit_and_answers_cors() {
    let app = spawn_flow(&[
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "1"),
        ("IGAUTH_LIMITS__EXCHANGE_BURST", "1"),
        ("IGAUTH_SERVER__CORS_ORIGINS", WEB_RETURN_ORIGIN),
    ])
    .await;
    let origin = [("Origin", WEB_RETURN_ORIGIN)];
    let first = app
        .post_with("/v1/token", &origin, r#"{"code":"x","code_verifier":"y"}"#)
        .await;
    assert_eq!(first.error_code(), "invalid_grant");
    assert_eq!(
        first.header("access-control-allow-origin"),
        Some(WEB_RETURN_ORIGIN)
    );
    let exchange = app.post_json("/v1/exchange", r#"{"code":"x"}"#).await;
    assert_eq!(exchange.status, 429, "{}", exchange.text);
    let second = app
        .post_with("/v1/token", &origin, r#"{"code":"x","code_verifier":"y"}"#)
        .await;
    assert_eq!(second.status, 429);
}

const WEB_RETURN_ORIGIN: &str = "https://app.example";
