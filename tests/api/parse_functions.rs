//! Parse Cloud Code functions (`validate`, `exchange`) and the webhook key, fed Parse Server 9.10's real payload shapes
//! (docs/parse.md, way 2). Parse's protocol always: HTTP 200 with `{"success": ...}` or
//! `{"error": "<message>"}`. A trigger's pass is the body `{}` and nothing else: a `beforeSave`
//! success REPLACES the write and Parse then answers every field of it back to the client
//! (authData token, ACL and all); `{}` keeps the write exactly as the client sent it.

use crate::helpers::webhooks::*;
use crate::helpers::*;

// --- functions/validate

#[actix_web::test]
async fn validate_function_success_carries_the_verdict() {
    let (app, me) = app_where_me("IGT-31", 200, &me_body(BIG_ID, "jay")).await;
    let answer = validate_fn(&app, BIG_ID, "IGT-31").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        serde_json::json!({"success": {"valid": true, "id": BIG_ID, "username": "jay"}})
    );
    me.assert_async().await;
}

#[actix_web::test]
async fn validate_function_accepts_the_wrapped_authdata_forms() {
    let (app, me) = app_where_me_retried("IGT-32", 200, &me_body(BIG_ID, "jay")).await;
    for params in [
        format!(r#"{{"authData":{{"id":{BIG_ID},"access_token":"IGT-32"}}}}"#),
        format!(r#"{{"authData":{{"instagram":{{"id":"{BIG_ID}","access_token":"IGT-32"}}}}}}"#),
    ] {
        let answer = app
            .webhook(VALIDATE_FN, &function_call("igValidate", &params))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(
            answer.json()["success"]["valid"],
            true,
            "{params}: {}",
            answer.text
        );
        assert_eq!(answer.json()["success"]["id"], BIG_ID, "{params}");
    }
    me.assert_async().await;
}

#[actix_web::test]
async fn validate_function_mismatch_is_parses_invalid_auth_error() {
    let (app, me) = app_where_me("IGT-33", 200, &me_body("17841405793187218", "other")).await;
    let answer = validate_fn(&app, BIG_ID, "IGT-33").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, format!(r#"{{"error":"{INVALID}"}}"#));
    me.assert_async().await;
}

#[actix_web::test]
async fn validate_function_rejected_token_is_parses_invalid_auth_error() {
    let (app, me) = app_where_me("IGT-34", 400, INVALID_TOKEN_BODY).await;
    let answer = validate_fn(&app, BIG_ID, "IGT-34").await;
    assert_eq!(error_message(&answer), INVALID);
    me.assert_async().await;
}

#[actix_web::test]
async fn validate_function_upstream_down_is_an_error_that_is_not_invalid_auth() {
    let (app, me) = app_where_me_retried("IGT-35", 500, "<html>down</html>").await;
    let answer = validate_fn(&app, BIG_ID, "IGT-35").await;
    let message = error_message(&answer);
    assert_ne!(message, INVALID, "Instagram down is not an invalid login");
    assert_eq!(message, UNVERIFIABLE);
    me.assert_async().await;
}

#[actix_web::test]
async fn validate_function_without_the_webhook_key_is_refused_before_instagram() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let headers = [("Content-Type", "application/json")];
    let body = function_call("igValidate", &validate_params(BIG_ID, "IGT-36"));
    let answer = app.post_with(VALIDATE_FN, &headers, &body).await;
    let message = error_message(&answer);
    assert_ne!(message, INVALID);
    assert_eq!(message, UNVERIFIABLE);
    assert_all(&never).await;
}

#[actix_web::test]
async fn validate_function_with_a_wrong_webhook_key_is_refused_before_instagram() {
    let wrong_keys = [
        "test-webhook-key-9876543211",
        "test-webhook-key-98765432100",
        API_KEY,
    ];
    let body = function_call("igValidate", &validate_params(BIG_ID, "IGT-37"));
    let (app, never) = spawn_app_unasked(&[]).await;
    for wrong in wrong_keys {
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Parse-Webhook-Key", wrong),
        ];
        let answer = app.post_with(VALIDATE_FN, &headers, &body).await;
        assert_eq!(error_message(&answer), UNVERIFIABLE, "{wrong}");
    }
    assert_all(&never).await;
}

#[actix_web::test]
async fn validate_function_reads_a_chunked_body_without_content_length() {
    let (app, me) = app_where_me("IGT-38", 200, &me_body(BIG_ID, "jay")).await;
    let body = function_call("igValidate", &validate_params(BIG_ID, "IGT-38"));
    let answer = app.webhook_chunked(VALIDATE_FN, &body, 37).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["success"]["valid"], true, "{}", answer.text);
    me.assert_async().await;
}

// --- functions/exchange

#[actix_web::test]
async fn exchange_function_success_is_the_exchange_answer() {
    let mut app = spawn_app().await;
    let grant = app
        .code_exchange()
        .match_body(mockito::Matcher::AllOf(vec![
            mockito::Matcher::UrlEncoded("code".into(), "AQB-fn".into()),
            mockito::Matcher::UrlEncoded("redirect_uri".into(), REDIRECT_URI.into()),
            mockito::Matcher::UrlEncoded("client_secret".into(), CLIENT_SECRET.into()),
        ]))
        .with_status(200)
        .with_body(grant_body("IGAA-fn"))
        .create_async()
        .await;
    let me = app.me_ok("IGAA-fn").await;
    let params = format!(r#"{{"code":"AQB-fn#_","redirect_uri":"{REDIRECT_URI}"}}"#);
    let answer = exchange_fn(&app, &params).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        serde_json::json!({"success": {
            "access_token": "IGAA-fn",
            "user_id": BIG_ID,
            "id": BIG_ID,
            "username": "jay",
            "permissions": ["instagram_business_basic"],
            "authData": {"instagram": {"id": BIG_ID, "access_token": "IGAA-fn"}},
        }})
    );
    assert_all(&[grant, me]).await;
}

#[actix_web::test]
async fn exchange_function_used_code_is_an_error() {
    let mut app = spawn_app().await;
    let grant = app.code_exchange_answers(400, USED_CODE_BODY).await;
    let answer = exchange_fn(&app, r#"{"code":"AQB-used"}"#).await;
    let message = error_message(&answer);
    assert!(message.contains("already used"), "{message}");
    grant.assert_async().await;
}

#[actix_web::test]
async fn exchange_function_foreign_redirect_uri_is_refused_before_instagram() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let answer = exchange_fn(
        &app,
        r#"{"code":"AQB-x","redirect_uri":"https://evil.example/cb"}"#,
    )
    .await;
    let message = error_message(&answer);
    assert!(message.contains("redirect_uri"), "{message}");
    assert_all(&never).await;
}

#[actix_web::test]
async fn exchange_function_with_instagram_down_names_no_service_or_setting() {
    let mut app = spawn_app().await;
    let grant = app.code_exchange_answers(500, "<html>down</html>").await;
    let grant = grant.expect_at_least(1);
    let answer = exchange_fn(&app, r#"{"code":"AQB-down"}"#).await;
    assert_eq!(error_message(&answer), UNVERIFIABLE);
    grant.assert_async().await;
}

#[actix_web::test]
async fn exchange_function_not_configured_names_no_setting() {
    let (app, never) = spawn_app_unasked(&[("IGAUTH_INSTAGRAM__CLIENT_SECRET", "")]).await;
    let answer = exchange_fn(&app, r#"{"code":"AQB-x"}"#).await;
    assert_eq!(error_message(&answer), UNVERIFIABLE);
    assert_all(&never).await;
}

/// With an API key but no webhook key, open webhooks would be a way around the key (and a
/// public, unthrottled code exchange): they refuse until Parse's webhookKey is configured.
#[actix_web::test]
async fn webhooks_refuse_when_an_api_key_is_set_but_no_webhook_key() {
    let (app, never) = spawn_app_unasked(&[("IGAUTH_PARSE__WEBHOOK_KEY", "")]).await;
    let params = format!(r#"{{"params":{{"id":"{BIG_ID}","access_token":"IGT-1"}}}}"#);
    let answer = app.webhook("/v1/parse/functions/validate", &params).await;
    // The operator reads why in igauth's log; the end user only that it did not work.
    assert_eq!(error_message(&answer), UNVERIFIABLE);
    assert_all(&never).await;
}

#[actix_web::test]
async fn validate_refuses_a_wrapper_next_to_loose_fields() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let body = r#"{"id":"111","access_token":"junk","authData":{"id":"222","access_token":"IGT-attacker"}}"#;
    let answer = app.post_json("/v1/validate", body).await;
    assert_envelope(&answer, 400, "invalid_request");
    assert_all(&never).await;
}
