//! Parse Cloud Code triggers on `_User` (`beforeSave`, `beforeLogin`), fed Parse Server 9.10's real payload shapes
//! (docs/parse.md, way 2). Parse's protocol always: HTTP 200 with `{"success": ...}` or
//! `{"error": "<message>"}`. A trigger's pass is the body `{}` and nothing else: a `beforeSave`
//! success REPLACES the write and Parse then answers every field of it back to the client
//! (authData token, ACL and all); `{}` keeps the write exactly as the client sent it.

use crate::helpers::webhooks::*;
use crate::helpers::*;

#[actix_web::test]
async fn before_save_with_valid_instagram_answers_an_empty_object() {
    let (app, me) = app_where_me("IGT-41", 200, &me_body(BIG_ID, "jay")).await;
    let answer = sign_up(&app, "IGT-41").await;
    assert_pass(&answer);
    me.assert_async().await;
}

#[actix_web::test]
async fn before_save_with_original_and_user_fields_answers_an_empty_object() {
    let (app, me) = app_where_me("IGT-42", 200, &me_body(BIG_ID, "jay")).await;
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
    let (app, never) = spawn_app_unasked(&[]).await;
    for object in [
        r#"{"username":"plain", "password":"x","score":123456789012345678901,"className":"_User"}"#,
        r#"{"username":"fb","authData":{"facebook":{"id":"9","access_token":"FB"}},"className":"_User"}"#,
        r#"{"username":"empty","authData":{},"className":"_User"}"#,
    ] {
        let answer = before_save(&app, object).await;
        assert_pass(&answer);
    }
    assert_all(&never).await;
}

#[actix_web::test]
async fn before_save_with_instagram_null_passes_through_untouched() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let object = r#"{"nickname":"unlinking","authData":{"instagram":null},"className":"_User"}"#;
    let answer = before_save(&app, object).await;
    assert_pass(&answer);
    assert_all(&never).await;
}

#[actix_web::test]
async fn before_save_with_invalid_instagram_is_an_error() {
    let (app, me) = app_where_me("IGT-43", 200, &me_body("17841405793187218", "other")).await;
    let answer = sign_up(&app, "IGT-43").await;
    assert_eq!(error_message(&answer), INVALID);
    me.assert_async().await;
}

#[actix_web::test]
async fn before_save_with_instagram_down_is_an_error_that_is_not_invalid_auth() {
    let (app, me) = app_where_me_retried("IGT-44", 503, "unavailable").await;
    let answer = sign_up(&app, "IGT-44").await;
    let message = error_message(&answer);
    assert_ne!(message, INVALID);
    assert_eq!(message, UNVERIFIABLE);
    me.assert_async().await;
}

#[actix_web::test]
async fn before_save_with_a_wrong_webhook_key_is_refused_before_instagram() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let object = signup_object(&validate_params(BIG_ID, "IGT-45"));
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Parse-Webhook-Key", "nope"),
    ];
    let body = trigger_call("beforeSave", &object);
    let answer = app.post_with(USER_TRIGGER, &headers, &body).await;
    assert_eq!(error_message(&answer), UNVERIFIABLE);
    assert_all(&never).await;
}

#[actix_web::test]
async fn before_save_reads_a_chunked_body() {
    let (app, me) = app_where_me("IGT-46", 200, &me_body(BIG_ID, "jay")).await;
    let object = signup_object(&validate_params(BIG_ID, "IGT-46"));
    let body = trigger_call("beforeSave", &object);
    // 64-byte chunks: boundaries fall anywhere, including inside the multi-byte eagle.
    let answer = app.webhook_chunked(USER_TRIGGER, &body, 64).await;
    assert_pass(&answer);
    me.assert_async().await;
}

#[actix_web::test]
async fn before_login_with_valid_instagram_answers_an_empty_object() {
    let (app, me) = app_where_me("IGT-47", 200, &me_body(BIG_ID, "jay")).await;
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
    let (app, me) = app_where_me("IGT-48", 400, EXPIRED_TOKEN_BODY).await;
    let answer = before_login(&app, "IGT-48").await;
    assert_pass(&answer);
    me.assert_async().await;
}

/// Parse runs beforeLogin on password logins too, with the stored user: with no verdict
/// (Instagram down) the trigger cannot judge anything, so it lets the login through.
#[actix_web::test]
async fn before_login_with_instagram_down_passes() {
    let (app, me) = app_where_me_retried("IGT-50", 503, "unavailable").await;
    let answer = before_login(&app, "IGT-50").await;
    assert_pass(&answer);
    me.assert_async().await;
}

/// A stored token that belongs to someone else cannot be explained by expiry: refused.
#[actix_web::test]
async fn before_login_with_a_stored_token_of_another_user_is_an_error() {
    let (app, me) = app_where_me("IGT-49", 200, &me_body("42", "other")).await;
    let answer = before_login(&app, "IGT-49").await;
    assert_eq!(error_message(&answer), INVALID);
    me.assert_async().await;
}

/// A profile edit carries the stored authData along unchanged; it was checked when written.
#[actix_web::test]
async fn before_save_with_unchanged_authdata_passes_without_asking_instagram() {
    let (app, never) = spawn_app_unasked(&[]).await;
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
    let (app, me) = app_where_me("IGT-new", 400, INVALID_TOKEN_BODY).await;
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
    let (app, never) = spawn_app_unasked(&[]).await;
    let object = r#"{"authData":{"instagram":{"authData":{"id":"222","access_token":"IGT-attacker"}}},"className":"_User"}"#;
    let answer = before_save(&app, object).await;
    assert!(
        error_message(&answer).contains("Invalid Instagram authData"),
        "{}",
        answer.text
    );
    assert_all(&never).await;
}
