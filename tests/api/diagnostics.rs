//! What people paste and what callers are told: a code with Instagram's `#_` URL-encoded
//! (`%23_`) is sent clean, and an unknown code is "not found or already used".

use crate::helpers::{assert_all, me_body, spawn_app, JsonAnswer, REDIRECT_URI};

#[actix_web::test]
async fn a_code_ending_in_an_encoded_fragment_marker_is_sent_clean() {
    let mut app = spawn_app().await;
    // The mock matches only the clean code: "AQB-enc%23_" (or "AQB-enc#_") would miss it.
    let grant = app
        .code_exchange_of("AQB-enc")
        .with_header("content-type", "application/json")
        .with_body(r#"{"access_token":"IGAA-enc","user_id":27640875392278831}"#)
        .create_async()
        .await;
    let me = app
        .mock_me("IGAA-enc", 200, &me_body("27640875392278831", "enc"))
        .await;
    let body = format!(r#"{{"code":"AQB-enc%23_","redirect_uri":"{REDIRECT_URI}"}}"#);
    let headers = [("Content-Type", "application/json")];
    let answer = app.post_with("/v1/exchange", &headers, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_all(&[grant, me]).await;
}

#[actix_web::test]
async fn an_unknown_code_is_not_found_or_already_used() {
    let mut app = spawn_app().await;
    let unknown = r#"{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}"#;
    let _grant = app
        .code_exchange()
        .answer(400, unknown)
        .create_async()
        .await;
    let body = format!(r#"{{"code":"AQB-unknown","redirect_uri":"{REDIRECT_URI}"}}"#);
    let headers = [("Content-Type", "application/json")];
    let answer = app.post_with("/v1/exchange", &headers, &body).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    let message = answer.error_text();
    assert!(
        message.contains("not found or was already used"),
        "{message}"
    );
}
