//! Parse Cloud Code webhook calls as Parse Server 9.10 sends them (parse-server.md §3), and
//! checks of Parse's protocol in the answers: `{"success": ...}`, `{}` for a trigger's pass, or
//! `{"error": "<message>"}` in our own words.

use super::{Answer, TestApp, BIG_ID};

pub const INVALID: &str = "Instagram auth is invalid for this user.";

/// What an end user reads when there is no verdict: Parse relays webhook errors to the app.
pub const UNVERIFIABLE: &str = "Instagram login could not be verified right now; please try again.";

pub const VALIDATE_FN: &str = "/v1/parse/functions/validate";

pub const EXCHANGE_FN: &str = "/v1/parse/functions/exchange";

pub const USER_TRIGGER: &str = "/v1/parse/triggers/user";

/// A function call as Parse 9.10 sends it.
pub fn function_call(function_name: &str, params: &str) -> String {
    format!(
        r#"{{"params":{params},"master":false,"isReadOnly":false,"log":{{"options":{{"jsonLogs":false,"logsFolder":"./logs"}},"appId":"app"}},"headers":{{"host":"127.0.0.1:1337","x-parse-application-id":"app","content-type":"application/json","x-parse-session-token":"r:abc"}},"ip":"127.0.0.1","functionName":"{function_name}","context":{{}}}}"#
    )
}

/// A `_User` trigger call as Parse 9.10 sends it, around `object` (raw JSON text).
pub fn trigger_call(trigger_name: &str, object: &str) -> String {
    format!(
        r#"{{"triggerName":"{trigger_name}","object":{object},"master":false,"isReadOnly":false,"log":{{"options":{{"jsonLogs":false}},"appId":"app"}},"headers":{{"host":"127.0.0.1:1337","x-parse-application-id":"app","content-type":"application/json"}},"ip":"127.0.0.1","context":{{}}}}"#
    )
}

pub fn validate_params(id: &str, token: &str) -> String {
    format!(r#"{{"id":"{id}","access_token":"{token}"}}"#)
}

/// Parse's call of the `validate` function (`igValidate`) for `id` and `token`.
pub async fn validate_fn(app: &TestApp, id: &str, token: &str) -> Answer {
    let call = function_call("igValidate", &validate_params(id, token));
    app.webhook(VALIDATE_FN, &call).await
}

/// Parse's call of the `exchange` function (`igExchange`) with `params` (raw JSON text).
pub async fn exchange_fn(app: &TestApp, params: &str) -> Answer {
    app.webhook(EXCHANGE_FN, &function_call("igExchange", params))
        .await
}

/// A trigger's pass: HTTP 200, a JSON body that is exactly `{}` (no `success` key: its object
/// would replace the write and come back to the client in full).
pub fn assert_pass(answer: &Answer) {
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
pub fn assert_no_operator_details(message: &str) {
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
pub fn error_message(answer: &Answer) -> String {
    answer.assert_status(200, "Parse's protocol is always 200");
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

// --- triggers/user

/// A signup object with custom fields, nesting, escapes, non-ASCII and a number no 64-bit type
/// holds; odd spacing on purpose (an echo of it, which Parse would store, would have to be exact).
pub fn signup_object(instagram: &str) -> String {
    format!(
        r#"{{"nickname":"kestrel", "score": 123456789012345678901,"ratio":0.1000000000000000055511151231257827,"bio":"caf\u00e9 \"quoted\" 🦅","prefs":{{"theme":"dark","tags":["a",{{"deep":[1,2,{{"x":null}}]}}]}},"authData":{{"instagram":{instagram},"facebook":{{"id":"9","access_token":"FB"}}}},"className":"_User"}}"#
    )
}

/// The `beforeLogin` call Parse makes for a stored user of [`BIG_ID`] whose stored Instagram
/// token is `token`.
pub async fn before_login(app: &TestApp, token: &str) -> Answer {
    let object = format!(
        r#"{{"username":"x7Hk2","authData":{{"instagram":{{"id":"{BIG_ID}","access_token":"{token}"}}}},"objectId":"Abc123","className":"_User"}}"#
    );
    app.webhook(USER_TRIGGER, &trigger_call("beforeLogin", &object))
        .await
}

/// The `beforeSave` call Parse makes on `_User` for `object`.
pub async fn before_save(app: &TestApp, object: &str) -> Answer {
    app.webhook(USER_TRIGGER, &trigger_call("beforeSave", object))
        .await
}

/// The `beforeSave` of a sign-up ([`signup_object`]) with Instagram authData for [`BIG_ID`] and
/// `token`.
pub async fn sign_up(app: &TestApp, token: &str) -> Answer {
    before_save(app, &signup_object(&validate_params(BIG_ID, token))).await
}
