//! Parse Cloud Code webhooks, fed Parse Server 9.10's real payload shapes
//! (docs/parse.md, way 2). Parse's protocol always: HTTP 200 with `{"success": ...}` or
//! `{"error": "<message>"}`. A trigger's pass is the body `{}` and nothing else: a `beforeSave`
//! success REPLACES the write and Parse then answers every field of it back to the client
//! (authData token, ACL and all); `{}` keeps the write exactly as the client sent it.

use crate::helpers::*;

const INVALID: &str = "Instagram auth is invalid for this user.";
/// What an end user reads when there is no verdict: Parse relays webhook errors to the app.
const UNVERIFIABLE: &str = "Instagram login could not be verified right now; please try again.";
const VALIDATE_FN: &str = "/v1/parse/functions/validate";
const EXCHANGE_FN: &str = "/v1/parse/functions/exchange";
const USER_TRIGGER: &str = "/v1/parse/triggers/user";

/// A function call as Parse 9.10 sends it.
fn function_call(function_name: &str, params: &str) -> String {
    format!(
        r#"{{"params":{params},"master":false,"isReadOnly":false,"log":{{"options":{{"jsonLogs":false,"logsFolder":"./logs"}},"appId":"app"}},"headers":{{"host":"127.0.0.1:1337","x-parse-application-id":"app","content-type":"application/json","x-parse-session-token":"r:abc"}},"ip":"127.0.0.1","functionName":"{function_name}","context":{{}}}}"#
    )
}

/// A `_User` trigger call as Parse 9.10 sends it, around `object` (raw JSON text).
fn trigger_call(trigger_name: &str, object: &str) -> String {
    format!(
        r#"{{"triggerName":"{trigger_name}","object":{object},"master":false,"isReadOnly":false,"log":{{"options":{{"jsonLogs":false}},"appId":"app"}},"headers":{{"host":"127.0.0.1:1337","x-parse-application-id":"app","content-type":"application/json"}},"ip":"127.0.0.1","context":{{}}}}"#
    )
}

fn validate_params(id: &str, token: &str) -> String {
    format!(r#"{{"id":"{id}","access_token":"{token}"}}"#)
}

/// A trigger's pass: HTTP 200, a JSON body that is exactly `{}` (no `success` key: its object
/// would replace the write and come back to the client in full).
fn assert_pass(answer: &Answer) {
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, "{}");
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{}",
        answer.text
    );
}

/// Parse relays the message to the app's end users: it must not name this service or its settings.
fn assert_no_operator_details(message: &str) {
    assert!(
        !message.to_ascii_lowercase().contains("igauth"),
        "names the service: {message}"
    );
    for detail in ["IGAUTH_", "X-Parse-Webhook-Key", "webhook key", "HTTP 5"] {
        assert!(!message.contains(detail), "{detail:?} in {message}");
    }
}

/// Parse's error answer: HTTP 200, exactly one `error` string, no `success`, nothing an end
/// user should not read.
fn error_message(answer: &Answer) -> String {
    assert_eq!(
        answer.status, 200,
        "Parse's protocol is always 200: {}",
        answer.text
    );
    let body = answer.json();
    assert!(body.get("success").is_none(), "{}", answer.text);
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "{}",
        answer.text
    );
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error string: {}", answer.text))
        .to_string();
    assert_no_operator_details(&message);
    message
}

// --- functions/validate

#[actix_web::test]
async fn validate_function_success_carries_the_verdict() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-31", 200, &me_body(BIG_ID, "jay")).await;
    let answer = app
        .webhook(
            VALIDATE_FN,
            &function_call("igValidate", &validate_params(BIG_ID, "IGT-31")),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        serde_json::json!({"success": {"valid": true, "id": BIG_ID, "username": "jay"}})
    );
    me.assert_async().await;
}

#[actix_web::test]
async fn validate_function_accepts_the_wrapped_authdata_forms() {
    let mut app = spawn_app().await;
    let me = app
        .mock_me("IGT-32", 200, &me_body(BIG_ID, "jay"))
        .await
        .expect_at_least(1);
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
    let mut app = spawn_app().await;
    let me = app
        .mock_me("IGT-33", 200, &me_body("17841405793187218", "other"))
        .await;
    let answer = app
        .webhook(
            VALIDATE_FN,
            &function_call("igValidate", &validate_params(BIG_ID, "IGT-33")),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, format!(r#"{{"error":"{INVALID}"}}"#));
    me.assert_async().await;
}

#[actix_web::test]
async fn validate_function_rejected_token_is_parses_invalid_auth_error() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-34", 400, INVALID_TOKEN_BODY).await;
    let answer = app
        .webhook(
            VALIDATE_FN,
            &function_call("igValidate", &validate_params(BIG_ID, "IGT-34")),
        )
        .await;
    assert_eq!(error_message(&answer), INVALID);
    me.assert_async().await;
}

#[actix_web::test]
async fn validate_function_upstream_down_is_an_error_that_is_not_invalid_auth() {
    let mut app = spawn_app().await;
    let me = app
        .mock_me("IGT-35", 500, "<html>down</html>")
        .await
        .expect_at_least(1);
    let answer = app
        .webhook(
            VALIDATE_FN,
            &function_call("igValidate", &validate_params(BIG_ID, "IGT-35")),
        )
        .await;
    let message = error_message(&answer);
    assert_ne!(message, INVALID, "Instagram down is not an invalid login");
    assert_eq!(message, UNVERIFIABLE);
    me.assert_async().await;
}

#[actix_web::test]
async fn validate_function_without_the_webhook_key_is_refused_before_instagram() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    let answer = app
        .post_with(
            VALIDATE_FN,
            &[("Content-Type", "application/json")],
            &function_call("igValidate", &validate_params(BIG_ID, "IGT-36")),
        )
        .await;
    let message = error_message(&answer);
    assert_ne!(message, INVALID);
    assert_eq!(message, UNVERIFIABLE);
    assert_all(&never).await;
}

#[actix_web::test]
async fn validate_function_with_a_wrong_webhook_key_is_refused_before_instagram() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    for wrong in [
        "test-webhook-key-9876543211",
        "test-webhook-key-98765432100",
        API_KEY,
    ] {
        let answer = app
            .post_with(
                VALIDATE_FN,
                &[
                    ("Content-Type", "application/json"),
                    ("X-Parse-Webhook-Key", wrong),
                ],
                &function_call("igValidate", &validate_params(BIG_ID, "IGT-37")),
            )
            .await;
        assert_eq!(error_message(&answer), UNVERIFIABLE, "{wrong}");
    }
    assert_all(&never).await;
}

#[actix_web::test]
async fn validate_function_reads_a_chunked_body_without_content_length() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-38", 200, &me_body(BIG_ID, "jay")).await;
    let body = function_call("igValidate", &validate_params(BIG_ID, "IGT-38"));
    let chunks = body.as_bytes().chunks(37).map(<[u8]>::to_vec).collect();
    let answer = app
        .post_chunked(
            VALIDATE_FN,
            &[
                ("Content-Type", "application/json"),
                ("X-Parse-Webhook-Key", WEBHOOK_KEY),
            ],
            chunks,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["success"]["valid"], true, "{}", answer.text);
    me.assert_async().await;
}

// --- functions/exchange

#[actix_web::test]
async fn exchange_function_success_is_the_exchange_answer() {
    let mut app = spawn_app().await;
    let grant = app
        .instagram
        .mock("POST", "/oauth/access_token")
        .match_body(mockito::Matcher::AllOf(vec![
            mockito::Matcher::UrlEncoded("code".into(), "AQB-fn".into()),
            mockito::Matcher::UrlEncoded("redirect_uri".into(), REDIRECT_URI.into()),
            mockito::Matcher::UrlEncoded("client_secret".into(), CLIENT_SECRET.into()),
        ]))
        .with_status(200)
        .with_body(grant_body("IGAA-fn"))
        .create_async()
        .await;
    let me = app.mock_me("IGAA-fn", 200, &me_body(BIG_ID, "jay")).await;
    let params = format!(r#"{{"code":"AQB-fn#_","redirect_uri":"{REDIRECT_URI}"}}"#);
    let answer = app
        .webhook(EXCHANGE_FN, &function_call("igExchange", &params))
        .await;
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
    grant.assert_async().await;
    me.assert_async().await;
}

#[actix_web::test]
async fn exchange_function_used_code_is_an_error() {
    let mut app = spawn_app().await;
    let grant = app
        .instagram
        .mock("POST", "/oauth/access_token")
        .with_status(400)
        .with_body(r#"{"error_type":"OAuthException","code":400,"error_message":"This authorization code has been used"}"#)
        .create_async()
        .await;
    let answer = app
        .webhook(
            EXCHANGE_FN,
            &function_call("igExchange", r#"{"code":"AQB-used"}"#),
        )
        .await;
    let message = error_message(&answer);
    assert!(message.contains("already used"), "{message}");
    grant.assert_async().await;
}

#[actix_web::test]
async fn exchange_function_foreign_redirect_uri_is_refused_before_instagram() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    let answer = app
        .webhook(
            EXCHANGE_FN,
            &function_call(
                "igExchange",
                r#"{"code":"AQB-x","redirect_uri":"https://evil.example/cb"}"#,
            ),
        )
        .await;
    let message = error_message(&answer);
    assert!(message.contains("redirect_uri"), "{message}");
    assert_all(&never).await;
}

#[actix_web::test]
async fn exchange_function_with_instagram_down_names_no_service_or_setting() {
    let mut app = spawn_app().await;
    let grant = app
        .instagram
        .mock("POST", "/oauth/access_token")
        .with_status(500)
        .with_body("<html>down</html>")
        .expect_at_least(1)
        .create_async()
        .await;
    let answer = app
        .webhook(
            EXCHANGE_FN,
            &function_call("igExchange", r#"{"code":"AQB-down"}"#),
        )
        .await;
    assert_eq!(error_message(&answer), UNVERIFIABLE);
    grant.assert_async().await;
}

#[actix_web::test]
async fn exchange_function_not_configured_names_no_setting() {
    let mut app = spawn_app_with(&[("IGAUTH_INSTAGRAM__CLIENT_SECRET", "")]).await;
    let never = app.instagram_never_called().await;
    let answer = app
        .webhook(
            EXCHANGE_FN,
            &function_call("igExchange", r#"{"code":"AQB-x"}"#),
        )
        .await;
    assert_eq!(error_message(&answer), UNVERIFIABLE);
    assert_all(&never).await;
}

// --- triggers/user

/// A signup object with custom fields, nesting, escapes, non-ASCII and a number no 64-bit type
/// holds; odd spacing on purpose (an echo of it, which Parse would store, would have to be exact).
fn signup_object(instagram: &str) -> String {
    format!(
        r#"{{"nickname":"kestrel", "score": 123456789012345678901,"ratio":0.1000000000000000055511151231257827,"bio":"caf\u00e9 \"quoted\" 🦅","prefs":{{"theme":"dark","tags":["a",{{"deep":[1,2,{{"x":null}}]}}]}},"authData":{{"instagram":{instagram},"facebook":{{"id":"9","access_token":"FB"}}}},"className":"_User"}}"#
    )
}

#[actix_web::test]
async fn before_save_with_valid_instagram_answers_an_empty_object() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-41", 200, &me_body(BIG_ID, "jay")).await;
    let object = signup_object(&validate_params(BIG_ID, "IGT-41"));
    let answer = app
        .webhook(USER_TRIGGER, &trigger_call("beforeSave", &object))
        .await;
    assert_pass(&answer);
    me.assert_async().await;
}

#[actix_web::test]
async fn before_save_with_original_and_user_fields_answers_an_empty_object() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-42", 200, &me_body(BIG_ID, "jay")).await;
    let object = format!(
        r#"{{"nickname":"kestrel2","authData":{{"instagram":{{"id":{BIG_ID},"access_token":"IGT-42"}}}},"objectId":"Abc123","className":"_User"}}"#
    );
    let call = format!(
        r#"{{"triggerName":"beforeSave","object":{object},"original":{{"nickname":"kestrel","objectId":"Abc123","className":"_User"}},"user":{{"objectId":"Abc123","__type":"Object","className":"_User"}},"installationId":"inst-1","master":false,"isReadOnly":false,"log":{{}},"headers":{{}},"ip":"127.0.0.1","context":{{}}}}"#
    );
    let answer = app.webhook(USER_TRIGGER, &call).await;
    assert_pass(&answer);
    me.assert_async().await;
}

#[actix_web::test]
async fn before_save_without_instagram_authdata_passes_through_untouched() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    for object in [
        r#"{"username":"plain", "password":"x","score":123456789012345678901,"className":"_User"}"#,
        r#"{"username":"fb","authData":{"facebook":{"id":"9","access_token":"FB"}},"className":"_User"}"#,
        r#"{"username":"empty","authData":{},"className":"_User"}"#,
    ] {
        let answer = app
            .webhook(USER_TRIGGER, &trigger_call("beforeSave", object))
            .await;
        assert_pass(&answer);
    }
    assert_all(&never).await;
}

#[actix_web::test]
async fn before_save_with_instagram_null_passes_through_untouched() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    let object = r#"{"nickname":"unlinking","authData":{"instagram":null},"className":"_User"}"#;
    let answer = app
        .webhook(USER_TRIGGER, &trigger_call("beforeSave", object))
        .await;
    assert_pass(&answer);
    assert_all(&never).await;
}

#[actix_web::test]
async fn before_save_with_invalid_instagram_is_an_error() {
    let mut app = spawn_app().await;
    let me = app
        .mock_me("IGT-43", 200, &me_body("17841405793187218", "other"))
        .await;
    let object = signup_object(&validate_params(BIG_ID, "IGT-43"));
    let answer = app
        .webhook(USER_TRIGGER, &trigger_call("beforeSave", &object))
        .await;
    assert_eq!(error_message(&answer), INVALID);
    me.assert_async().await;
}

#[actix_web::test]
async fn before_save_with_instagram_down_is_an_error_that_is_not_invalid_auth() {
    let mut app = spawn_app().await;
    let me = app
        .mock_me("IGT-44", 503, "unavailable")
        .await
        .expect_at_least(1);
    let object = signup_object(&validate_params(BIG_ID, "IGT-44"));
    let answer = app
        .webhook(USER_TRIGGER, &trigger_call("beforeSave", &object))
        .await;
    let message = error_message(&answer);
    assert_ne!(message, INVALID);
    assert_eq!(message, UNVERIFIABLE);
    me.assert_async().await;
}

#[actix_web::test]
async fn before_save_with_a_wrong_webhook_key_is_refused_before_instagram() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    let object = signup_object(&validate_params(BIG_ID, "IGT-45"));
    let answer = app
        .post_with(
            USER_TRIGGER,
            &[
                ("Content-Type", "application/json"),
                ("X-Parse-Webhook-Key", "nope"),
            ],
            &trigger_call("beforeSave", &object),
        )
        .await;
    assert_eq!(error_message(&answer), UNVERIFIABLE);
    assert_all(&never).await;
}

#[actix_web::test]
async fn before_save_reads_a_chunked_body() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-46", 200, &me_body(BIG_ID, "jay")).await;
    let object = signup_object(&validate_params(BIG_ID, "IGT-46"));
    let body = trigger_call("beforeSave", &object);
    // 64-byte chunks: boundaries fall anywhere, including inside the multi-byte eagle.
    let chunks = body.as_bytes().chunks(64).map(<[u8]>::to_vec).collect();
    let answer = app
        .post_chunked(
            USER_TRIGGER,
            &[
                ("Content-Type", "application/json"),
                ("X-Parse-Webhook-Key", WEBHOOK_KEY),
            ],
            chunks,
        )
        .await;
    assert_pass(&answer);
    me.assert_async().await;
}

#[actix_web::test]
async fn before_login_with_valid_instagram_answers_an_empty_object() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-47", 200, &me_body(BIG_ID, "jay")).await;
    let object = format!(
        r#"{{"username":"x7Hk2","authData":{{"instagram":{{"id":"{BIG_ID}","access_token":"IGT-47"}}}},"nickname":"kestrel","createdAt":"2026-01-02T03:04:05.678Z","updatedAt":"2026-01-02T03:04:05.678Z","objectId":"Abc123","__type":"Object","className":"_User"}}"#
    );
    let answer = app
        .webhook(USER_TRIGGER, &trigger_call("beforeLogin", &object))
        .await;
    assert_pass(&answer);
    me.assert_async().await;
}

/// beforeLogin sees the user as stored: an expired stored token is what every returning user
/// has after an hour, and Parse checks the login's own authData itself, so it passes.
#[actix_web::test]
async fn before_login_with_an_expired_stored_token_passes() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-48", 400, EXPIRED_TOKEN_BODY).await;
    let object = format!(
        r#"{{"username":"x7Hk2","authData":{{"instagram":{{"id":"{BIG_ID}","access_token":"IGT-48"}}}},"objectId":"Abc123","className":"_User"}}"#
    );
    let answer = app
        .webhook(USER_TRIGGER, &trigger_call("beforeLogin", &object))
        .await;
    assert_pass(&answer);
    me.assert_async().await;
}

/// Parse runs beforeLogin on password logins too, with the stored user: with no verdict
/// (Instagram down) the trigger cannot judge anything, so it lets the login through.
#[actix_web::test]
async fn before_login_with_instagram_down_passes() {
    let mut app = spawn_app().await;
    let me = app
        .mock_me("IGT-50", 503, "unavailable")
        .await
        .expect_at_least(1);
    let object = format!(
        r#"{{"username":"x7Hk2","authData":{{"instagram":{{"id":"{BIG_ID}","access_token":"IGT-50"}}}},"objectId":"Abc123","className":"_User"}}"#
    );
    let answer = app
        .webhook(USER_TRIGGER, &trigger_call("beforeLogin", &object))
        .await;
    assert_pass(&answer);
    me.assert_async().await;
}

/// A stored token that belongs to someone else cannot be explained by expiry: refused.
#[actix_web::test]
async fn before_login_with_a_stored_token_of_another_user_is_an_error() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-49", 200, &me_body("42", "other")).await;
    let object = format!(
        r#"{{"username":"x7Hk2","authData":{{"instagram":{{"id":"{BIG_ID}","access_token":"IGT-49"}}}},"objectId":"Abc123","className":"_User"}}"#
    );
    let answer = app
        .webhook(USER_TRIGGER, &trigger_call("beforeLogin", &object))
        .await;
    assert_eq!(error_message(&answer), INVALID);
    me.assert_async().await;
}

/// A profile edit carries the stored authData along unchanged; it was checked when written.
#[actix_web::test]
async fn before_save_with_unchanged_authdata_passes_without_asking_instagram() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    let instagram = format!(r#"{{"id":"{BIG_ID}","access_token":"IGT-expired-long-ago"}}"#);
    let object = format!(
        r#"{{"nickname":"new name","authData":{{"instagram":{instagram}}},"objectId":"Abc123","className":"_User"}}"#
    );
    let body = format!(
        r#"{{"triggerName":"beforeSave","object":{object},"original":{{"nickname":"old","authData":{{"instagram":{instagram}}},"objectId":"Abc123","className":"_User"}},"master":false}}"#
    );
    let answer = app.webhook(USER_TRIGGER, &body).await;
    assert_pass(&answer);
    assert_all(&never).await;
}

/// Linking a new Instagram account in a save is checked, original or not.
#[actix_web::test]
async fn before_save_with_changed_authdata_is_checked() {
    let mut app = spawn_app().await;
    let me = app.mock_me("IGT-new", 400, INVALID_TOKEN_BODY).await;
    let object = format!(
        r#"{{"authData":{{"instagram":{{"id":"{BIG_ID}","access_token":"IGT-new"}}}},"objectId":"Abc123","className":"_User"}}"#
    );
    let body = format!(
        r#"{{"triggerName":"beforeSave","object":{object},"original":{{"authData":{{"instagram":{{"id":"{BIG_ID}","access_token":"IGT-old"}}}},"objectId":"Abc123","className":"_User"}}}}"#
    );
    let answer = app.webhook(USER_TRIGGER, &body).await;
    assert_eq!(error_message(&answer), INVALID);
    me.assert_async().await;
}

/// A wrapper inside authData.instagram would let a caller check one pair while Parse stores
/// another: refused.
#[actix_web::test]
async fn user_trigger_refuses_wrapped_instagram_authdata() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    let object = r#"{"authData":{"instagram":{"authData":{"id":"222","access_token":"IGT-attacker"}}},"className":"_User"}"#;
    let answer = app
        .webhook(USER_TRIGGER, &trigger_call("beforeSave", object))
        .await;
    assert!(
        error_message(&answer).contains("Invalid Instagram authData"),
        "{}",
        answer.text
    );
    assert_all(&never).await;
}

/// With an API key but no webhook key, open webhooks would be a way around the key (and a
/// public, unthrottled code exchange): they refuse until Parse's webhookKey is configured.
#[actix_web::test]
async fn webhooks_refuse_when_an_api_key_is_set_but_no_webhook_key() {
    let mut app = spawn_app_with(&[("IGAUTH_PARSE__WEBHOOK_KEY", "")]).await;
    let never = app.instagram_never_called().await;
    let params = format!(r#"{{"params":{{"id":"{BIG_ID}","access_token":"IGT-1"}}}}"#);
    let answer = app.webhook("/v1/parse/functions/validate", &params).await;
    // The operator reads why in igauth's log; the end user only that it did not work.
    assert_eq!(error_message(&answer), UNVERIFIABLE);
    assert_all(&never).await;
}

#[actix_web::test]
async fn validate_refuses_a_wrapper_next_to_loose_fields() {
    let mut app = spawn_app().await;
    let never = app.instagram_never_called().await;
    let answer = app
        .post_json(
            "/v1/validate",
            r#"{"id":"111","access_token":"junk","authData":{"id":"222","access_token":"IGT-attacker"}}"#,
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.error_code(), "invalid_request");
    assert_all(&never).await;
}
