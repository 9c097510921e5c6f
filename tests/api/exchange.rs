//! `POST /v1/exchange`: a one-time OAuth code traded for a token on the server, answered with
//! authData ready for `Parse.User.logInWith("instagram", ...)`. Never retried, never called with
//! a redirect_uri outside the allow-list, public (no API key).

use crate::helpers::grants::*;
use crate::helpers::*;

/// An exchange as the caller sends it: no API key, the body as JSON or as a form.
#[derive(Clone, Copy)]
enum Call<'a> {
    Json(&'a str),
    Form(&'a str),
}
use Call::{Form, Json};

impl Call<'_> {
    async fn send(self, app: &TestApp) -> Answer {
        match self {
            Json(body) => exchange_json(app, body).await,
            Form(body) => exchange_form(app, body).await,
        }
    }
}

/// Instagram trades exactly `code` (with the configured redirect URI) for `grant`, whose token
/// `/me` knows as `me_id`; `call` is sent. Asserts the 200 and both of Instagram's calls.
async fn exchanged(code: &str, grant: &str, token: &str, me_id: &str, call: Call<'_>) -> Answer {
    let mut app = spawn_app().await;
    let grant = mock_exchange(&mut app, code, 200, grant).await;
    let me = app.mock_me(token, 200, &me_body(me_id, "jayposiris")).await;
    let answer = call.send(&app).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_all(&[grant, me]).await;
    answer
}

/// [`exchanged`] with a flat grant of `token` for [`FLAT_USER_ID`].
async fn exchanged_flat(code: &str, token: &str, call: Call<'_>) -> Answer {
    exchanged(code, &flat_grant(token), token, FLAT_USER_ID, call).await
}

/// `calls` sent to an app with `overrides` whose Instagram must see no call at all.
async fn refused(overrides: &[(&str, &str)], calls: &[Call<'_>]) -> Vec<Answer> {
    let (app, never) = spawn_app_unasked(overrides).await;
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.send(&app).await);
    }
    assert_all(&never).await;
    answers
}

#[actix_web::test]
async fn flat_grant_keeps_a_numeric_user_id_above_2_pow_53_exact() {
    let answer = exchanged_flat("AQB-flat", "IGAA-flat", Json(r#"{"code":"AQB-flat"}"#)).await;
    // user_id as the exact string.
    answer.assert_has(r#""user_id":"27640875392278831""#);
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
}

#[actix_web::test]
async fn wrapped_grant_reads_a_string_user_id_and_comma_permissions() {
    let grant = wrapped_grant("IGAA-wrapped", BIG_ID);
    let call = Json(r#"{"code":"AQB-wrapped"}"#);
    let answer = exchanged("AQB-wrapped", &grant, "IGAA-wrapped", BIG_ID, call).await;
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "access_token": "IGAA-wrapped",
            "user_id": BIG_ID,
            "id": BIG_ID,
            "username": "jayposiris",
            "permissions": ["instagram_business_basic", "instagram_business_content_publish"],
            "authData": {"instagram": {"id": BIG_ID, "access_token": "IGAA-wrapped"}},
        })
    );
}

#[actix_web::test]
async fn form_encoded_request_is_accepted() {
    let body = "code=AQB-form&redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Finstagram";
    let answer = exchanged_flat("AQB-form", "IGAA-form", Form(body)).await;
    assert_eq!(answer.json()["authData"]["instagram"]["id"], FLAT_USER_ID);
    assert_eq!(answer.json()["access_token"], "IGAA-form");
}

/// The mocks only match the clean code: a sent "AQB-clean#_" would miss them.
#[actix_web::test]
async fn json_code_with_fragment_marker_and_whitespace_is_sent_clean() {
    exchanged_flat("AQB-clean", "IGAA-c", Json(r#"{"code":"  AQB-clean#_\n"}"#)).await;
}

#[actix_web::test]
async fn form_code_with_fragment_marker_and_whitespace_is_sent_clean() {
    exchanged_flat("AQB-clean2", "IGAA-c2", Form("code=%20AQB-clean2%23_%0A")).await;
}

#[actix_web::test]
async fn me_is_the_authority_when_it_disagrees_with_the_exchange_user_id() {
    let grant = wrapped_grant("IGAA-d", "1020304050607080");
    let call = Json(r#"{"code":"AQB-disagree"}"#);
    let body = exchanged("AQB-disagree", &grant, "IGAA-d", BIG_ID, call)
        .await
        .json();
    assert_eq!(
        body["user_id"], "1020304050607080",
        "user_id is what the exchange said"
    );
    assert_eq!(body["id"], BIG_ID);
    assert_eq!(
        body["authData"]["instagram"]["id"], BIG_ID,
        "authData uses /me's id"
    );
}

#[actix_web::test]
async fn used_code_is_400_invalid_code() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(&mut app, "AQB-used", 400, USED_CODE_BODY).await;
    let answer = exchange_json(&app, r#"{"code":"AQB-used"}"#).await;
    assert_no_grant(&answer, 400, "invalid_code");
    let message = answer.error_text();
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
        let grant = mock_exchange(&mut app, code, 400, &body).await;
        let answer = exchange_json(&app, &format!(r#"{{"code":"{code}"}}"#)).await;
        assert_no_grant(&answer, 400, "invalid_code");
        assert!(!answer.text.contains("MARKER"), "{}", answer.text);
        assert!(answer.text.len() < 1024, "{} bytes", answer.text.len());
        answer.assert_has(says);
        grant.assert_async().await;
    }
}

#[actix_web::test]
async fn invalid_platform_app_is_502_upstream_error_without_leaking_our_secret() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(
        &mut app,
        "AQB-platform",
        400,
        r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid platform app"}"#,
    )
    .await;
    let answer = exchange_json(&app, r#"{"code":"AQB-platform"}"#).await;
    assert_no_grant(&answer, 502, "upstream_error");
    assert!(!answer.text.contains(CLIENT_SECRET), "{}", answer.text);
    assert!(!answer.text.contains("AQB-platform"), "{}", answer.text);
    grant.assert_async().await;
}

#[actix_web::test]
async fn foreign_redirect_uri_is_refused_without_calling_instagram() {
    let bodies = [
        "https://evil.example/auth/instagram",
        "https://app.example/auth/instagram/",
        "https://app.example/auth/instagram?next=evil",
        "http://app.example/auth/instagram",
    ]
    .map(|foreign| serde_json::json!({"code": "AQB-foreign", "redirect_uri": foreign}).to_string());
    for answer in refused(&[], &bodies.each_ref().map(|b| Json(b))).await {
        assert_no_grant(&answer, 400, "redirect_uri_not_allowed");
    }
}

/// The mock requires redirect_uri=REDIRECT_URI in the form Instagram receives.
#[actix_web::test]
async fn omitted_redirect_uri_uses_the_only_configured_one() {
    exchanged_flat("AQB-noredir", "IGAA-n", Form("code=AQB-noredir")).await;
}

#[actix_web::test]
async fn omitted_redirect_uri_with_several_configured_is_400() {
    let several = (
        "IGAUTH_INSTAGRAM__REDIRECT_URIS",
        "https://app.example/a,https://app.example/b",
    );
    let answers = refused(&[several], &[Json(r#"{"code":"AQB-which"}"#)]).await;
    assert_no_grant(&answers[0], 400, "invalid_request");
    assert!(
        answers[0].text.contains("redirect_uri"),
        "{}",
        answers[0].text
    );
}

#[actix_web::test]
async fn unconfigured_exchange_is_503_exchange_not_configured() {
    let unset = [
        ("IGAUTH_INSTAGRAM__CLIENT_ID", ""),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", ""),
    ];
    let answers = refused(&unset, &[Json(r#"{"code":"AQB-unconfigured"}"#)]).await;
    assert_no_grant(&answers[0], 503, "exchange_not_configured");
}

#[actix_web::test]
async fn missing_code_is_400_invalid_request() {
    let calls = [
        Json(r#"{"redirect_uri":"https://app.example/auth/instagram"}"#),
        Json(r#"{"code":""}"#),
        Json(r##"{"code":"#_"}"##),
        Form("state=xyz"),
    ];
    let whats = ["json", "empty json", "only the marker", "form"];
    for (answer, what) in refused(&[], &calls).await.iter().zip(whats) {
        assert_no_grant(answer, 400, "invalid_request");
        assert!(answer.text.contains("code"), "{what}: {}", answer.text);
    }
}

#[actix_web::test]
async fn exchange_is_not_retried_when_instagram_answers_500() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(&mut app, "AQB-once", 500, "oops")
        .await
        .expect(1);
    let answer = exchange_json(&app, r#"{"code":"AQB-once"}"#).await;
    assert_no_grant(&answer, 502, "upstream_error");
    grant.assert_async().await;
}

#[actix_web::test]
async fn answer_is_not_cacheable() {
    let answer = exchanged_flat("AQB-nostore", "IGAA-ns", Json(r#"{"code":"AQB-nostore"}"#)).await;
    assert_eq!(answer.header("cache-control"), Some("no-store"));
}

/// `exchanged` sends no Authorization header, and an API key is configured.
#[actix_web::test]
async fn exchange_needs_no_api_key_even_when_one_is_configured() {
    let answer = exchanged_flat("AQB-public", "IGAA-p", Json(r#"{"code":"AQB-public"}"#)).await;
    assert_eq!(answer.json()["access_token"], "IGAA-p");
}
