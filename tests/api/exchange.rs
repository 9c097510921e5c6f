//! `POST /v1/exchange`: a one-time OAuth code traded for a token on the server, answered with
//! authData ready for `Parse.User.logInWith("instagram", ...)`. Never retried, never called with
//! a redirect_uri outside the allow-list, public (no API key).

use crate::helpers::grants::*;
use crate::helpers::*;

fn assert_envelope(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.error_code(), code, "{}", answer.text);
    assert!(
        answer.json().get("access_token").is_none(),
        "{}",
        answer.text
    );
}

#[actix_web::test]
async fn flat_grant_keeps_a_numeric_user_id_above_2_pow_53_exact() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(
        &mut app,
        "AQB-flat",
        REDIRECT_URI,
        200,
        &flat_grant("IGAA-flat"),
    )
    .await;
    let me = app
        .mock_me("IGAA-flat", 200, &me_body(FLAT_USER_ID, "jayposiris"))
        .await;
    let answer = exchange_json(&app, r#"{"code":"AQB-flat"}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer.text.contains(r#""user_id":"27640875392278831""#),
        "user_id as the exact string: {}",
        answer.text
    );
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "access_token": "IGAA-flat",
            "user_id": FLAT_USER_ID,
            "id": FLAT_USER_ID,
            "username": "jayposiris",
            "permissions": ["instagram_business_basic"],
            "authData": {"instagram": {"id": FLAT_USER_ID, "access_token": "IGAA-flat"}},
        })
    );
    grant.assert_async().await;
    me.assert_async().await;
}

#[actix_web::test]
async fn wrapped_grant_reads_a_string_user_id_and_comma_permissions() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(
        &mut app,
        "AQB-wrapped",
        REDIRECT_URI,
        200,
        &wrapped_grant("IGAA-wrapped", BIG_ID),
    )
    .await;
    let me = app.me_ok("IGAA-wrapped").await;
    let answer = exchange_json(&app, r#"{"code":"AQB-wrapped"}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "access_token": "IGAA-wrapped",
            "user_id": BIG_ID,
            "id": BIG_ID,
            "username": "jay",
            "permissions": ["instagram_business_basic", "instagram_business_content_publish"],
            "authData": {"instagram": {"id": BIG_ID, "access_token": "IGAA-wrapped"}},
        })
    );
    grant.assert_async().await;
    me.assert_async().await;
}

#[actix_web::test]
async fn form_encoded_request_is_accepted() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(
        &mut app,
        "AQB-form",
        REDIRECT_URI,
        200,
        &flat_grant("IGAA-form"),
    )
    .await;
    let me = app.me_is("IGAA-form", FLAT_USER_ID).await;
    let body = format!(
        "code=AQB-form&redirect_uri={}",
        "https%3A%2F%2Fapp.example%2Fauth%2Finstagram"
    );
    let answer = exchange_form(&app, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["authData"]["instagram"]["id"], FLAT_USER_ID);
    assert_eq!(answer.json()["access_token"], "IGAA-form");
    grant.assert_async().await;
    me.assert_async().await;
}

#[actix_web::test]
async fn json_code_with_fragment_marker_and_whitespace_is_sent_clean() {
    let mut app = spawn_app().await;
    // The mock only matches the clean code: a sent "AQB-clean#_" would miss it.
    let grant = mock_exchange(
        &mut app,
        "AQB-clean",
        REDIRECT_URI,
        200,
        &flat_grant("IGAA-c"),
    )
    .await;
    let me = app.me_is("IGAA-c", FLAT_USER_ID).await;
    let answer = exchange_json(&app, r#"{"code":"  AQB-clean#_\n"}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    grant.assert_async().await;
    me.assert_async().await;
}

#[actix_web::test]
async fn form_code_with_fragment_marker_and_whitespace_is_sent_clean() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(
        &mut app,
        "AQB-clean2",
        REDIRECT_URI,
        200,
        &flat_grant("IGAA-c2"),
    )
    .await;
    let me = app.me_is("IGAA-c2", FLAT_USER_ID).await;
    let answer = exchange_form(&app, "code=%20AQB-clean2%23_%0A").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    grant.assert_async().await;
    me.assert_async().await;
}

#[actix_web::test]
async fn me_is_the_authority_when_it_disagrees_with_the_exchange_user_id() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(
        &mut app,
        "AQB-disagree",
        REDIRECT_URI,
        200,
        &wrapped_grant("IGAA-d", "1020304050607080"),
    )
    .await;
    let me = app.me_ok("IGAA-d").await;
    let answer = exchange_json(&app, r#"{"code":"AQB-disagree"}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(
        body["user_id"], "1020304050607080",
        "user_id is what the exchange said"
    );
    assert_eq!(body["id"], BIG_ID);
    assert_eq!(
        body["authData"]["instagram"]["id"], BIG_ID,
        "authData uses /me's id"
    );
    grant.assert_async().await;
    me.assert_async().await;
}

#[actix_web::test]
async fn used_code_is_400_invalid_code() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(&mut app, "AQB-used", REDIRECT_URI, 400, USED_CODE_BODY).await;
    let answer = exchange_json(&app, r#"{"code":"AQB-used"}"#).await;
    assert_envelope(&answer, 400, "invalid_code");
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("not found or was already used"),
        "{message}"
    );
    assert!(
        !message.contains("This authorization code"),
        "Instagram's own text reached the caller: {message}"
    );
    grant.assert_async().await;
}

#[actix_web::test]
async fn instagrams_error_text_never_reaches_the_caller() {
    let mut app = spawn_app().await;
    for (code, message, says) in [
        (
            "AQB-unknown",
            format!("Invalid grant_type MARKER-{}", "x".repeat(60_000)),
            "not valid or has expired",
        ),
        (
            "AQB-redirect",
            "Error validating verification code. Please make sure your redirect_uri is identical \
             MARKER"
                .to_string(),
            "differs from the one the login was started with",
        ),
    ] {
        let body = serde_json::json!({"error_type": "OAuthException", "code": 400,
            "error_message": message})
        .to_string();
        let grant = mock_exchange(&mut app, code, REDIRECT_URI, 400, &body).await;
        let answer = exchange_json(&app, &format!(r#"{{"code":"{code}"}}"#)).await;
        assert_envelope(&answer, 400, "invalid_code");
        assert!(!answer.text.contains("MARKER"), "{}", answer.text);
        assert!(answer.text.len() < 1024, "{} bytes", answer.text.len());
        assert!(answer.text.contains(says), "{}", answer.text);
        grant.assert_async().await;
    }
}

#[actix_web::test]
async fn invalid_platform_app_is_502_upstream_error_without_leaking_our_secret() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(
        &mut app,
        "AQB-platform",
        REDIRECT_URI,
        400,
        r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid platform app"}"#,
    )
    .await;
    let answer = exchange_json(&app, r#"{"code":"AQB-platform"}"#).await;
    assert_envelope(&answer, 502, "upstream_error");
    assert!(!answer.text.contains(CLIENT_SECRET), "{}", answer.text);
    assert!(!answer.text.contains("AQB-platform"), "{}", answer.text);
    grant.assert_async().await;
}

#[actix_web::test]
async fn foreign_redirect_uri_is_refused_without_calling_instagram() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    for foreign in [
        "https://evil.example/auth/instagram",
        "https://app.example/auth/instagram/",
        "https://app.example/auth/instagram?next=evil",
        "http://app.example/auth/instagram",
    ] {
        let answer = exchange_json(
            &app,
            &serde_json::json!({"code": "AQB-foreign", "redirect_uri": foreign}).to_string(),
        )
        .await;
        assert_envelope(&answer, 400, "redirect_uri_not_allowed");
    }
    assert_all(&never).await;
}

#[actix_web::test]
async fn omitted_redirect_uri_uses_the_only_configured_one() {
    let mut app = spawn_app().await;
    // The mock requires redirect_uri=REDIRECT_URI in the form Instagram receives.
    let grant = mock_exchange(
        &mut app,
        "AQB-noredir",
        REDIRECT_URI,
        200,
        &flat_grant("IGAA-n"),
    )
    .await;
    let me = app.me_is("IGAA-n", FLAT_USER_ID).await;
    let answer = exchange_form(&app, "code=AQB-noredir").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    grant.assert_async().await;
    me.assert_async().await;
}

#[actix_web::test]
async fn omitted_redirect_uri_with_several_configured_is_400() {
    let mut app = spawn_app_with(&[(
        "IGAUTH_INSTAGRAM__REDIRECT_URIS",
        "https://app.example/a,https://app.example/b",
    )])
    .await;
    let never = app.instagram_never_called().await;
    let answer = exchange_json(&app, r#"{"code":"AQB-which"}"#).await;
    assert_envelope(&answer, 400, "invalid_request");
    assert!(answer.text.contains("redirect_uri"), "{}", answer.text);
    assert_all(&never).await;
}

#[actix_web::test]
async fn unconfigured_exchange_is_503_exchange_not_configured() {
    let mut app = spawn_app_with(&[
        ("IGAUTH_INSTAGRAM__CLIENT_ID", ""),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", ""),
    ])
    .await;
    let never = app.instagram_never_called().await;
    let answer = exchange_json(&app, r#"{"code":"AQB-unconfigured"}"#).await;
    assert_envelope(&answer, 503, "exchange_not_configured");
    assert_all(&never).await;
}

#[actix_web::test]
async fn missing_code_is_400_invalid_request() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    for (answer, what) in [
        (
            exchange_json(
                &app,
                r#"{"redirect_uri":"https://app.example/auth/instagram"}"#,
            )
            .await,
            "json",
        ),
        (exchange_json(&app, r#"{"code":""}"#).await, "empty json"),
        (
            exchange_json(&app, r##"{"code":"#_"}"##).await,
            "only the marker",
        ),
        (exchange_form(&app, "state=xyz").await, "form"),
    ] {
        assert_envelope(&answer, 400, "invalid_request");
        assert!(answer.text.contains("code"), "{what}: {}", answer.text);
    }
    assert_all(&never).await;
}

#[actix_web::test]
async fn exchange_is_not_retried_when_instagram_answers_500() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(&mut app, "AQB-once", REDIRECT_URI, 500, "oops")
        .await
        .expect(1);
    let answer = exchange_json(&app, r#"{"code":"AQB-once"}"#).await;
    assert_envelope(&answer, 502, "upstream_error");
    grant.assert_async().await;
}

#[actix_web::test]
async fn answer_is_not_cacheable() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(
        &mut app,
        "AQB-nostore",
        REDIRECT_URI,
        200,
        &flat_grant("IGAA-ns"),
    )
    .await;
    let me = app.me_is("IGAA-ns", FLAT_USER_ID).await;
    let answer = exchange_json(&app, r#"{"code":"AQB-nostore"}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    grant.assert_async().await;
    me.assert_async().await;
}

#[actix_web::test]
async fn exchange_needs_no_api_key_even_when_one_is_configured() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(
        &mut app,
        "AQB-public",
        REDIRECT_URI,
        200,
        &flat_grant("IGAA-p"),
    )
    .await;
    let me = app.me_is("IGAA-p", FLAT_USER_ID).await;
    // exchange_json sends no Authorization header.
    let answer = exchange_json(&app, r#"{"code":"AQB-public"}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["access_token"], "IGAA-p");
    grant.assert_async().await;
    me.assert_async().await;
}
