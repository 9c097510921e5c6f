//! Parse Server played by mockito, and Meta's signed requests: an app whose Parse is a mock,
//! mocks that check the master key and app id, and `signed_request`s signed the way Meta signs
//! them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mockito::Matcher;

use super::{spawn_app_with, Answer, TestApp, CLIENT_SECRET};

pub const MASTER_KEY: &str = "master-key-of-the-api-tests-7d41";
pub const APP_ID: &str = "app-api-tests";
pub const PUBLIC_URL: &str = "https://auth.example/igauth";

/// `base64url(HMAC-SHA256(secret, payload_b64)) + "." + payload_b64`, as Meta documents.
pub fn sign_with(secret: &str, payload: &str) -> String {
    let encoded = URL_SAFE_NO_PAD.encode(payload);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let sig = ring::hmac::sign(&key, encoded.as_bytes());
    format!("{}.{encoded}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// Seconds since the epoch: signed requests must be fresh.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A request Meta signed at `issued_at` (seconds since the epoch).
pub fn signed_at(user_id: &str, issued_at: u64) -> String {
    sign_with(
        CLIENT_SECRET,
        &format!(r#"{{"algorithm":"HMAC-SHA256","issued_at":{issued_at},"user_id":"{user_id}"}}"#),
    )
}

/// A request Meta signed just now.
pub fn signed(user_id: &str) -> String {
    signed_at(user_id, now_secs())
}

/// The form body Meta posts: `signed_request=...`.
pub fn signed_form(signed_request: &str) -> String {
    serde_urlencoded::to_string([("signed_request", signed_request)]).unwrap()
}

/// Meta's POST of `signed_request` to one of its callbacks.
pub async fn post(app: &TestApp, path: &str, signed_request: &str) -> Answer {
    app.post_with(
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &signed_form(signed_request),
    )
    .await
}

/// An app whose Parse is `parse` (a mockito server), statuses kept there.
pub async fn app_with_parse(parse: &mockito::ServerGuard, extra: &[(&str, &str)]) -> TestApp {
    let server_url = format!("{}/parse", parse.url());
    let mut vars = vec![
        ("IGAUTH_SERVER__PUBLIC_URL", PUBLIC_URL),
        ("IGAUTH_PARSE__SERVER_URL", server_url.as_str()),
        ("IGAUTH_PARSE__APP_ID", APP_ID),
        ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY),
    ];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

/// A Parse call with the master key and app id, answering `body`.
pub async fn parse_mock(
    parse: &mut mockito::ServerGuard,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> mockito::Mock {
    parse
        .mock(method, path)
        .match_header("x-parse-master-key", MASTER_KEY)
        .match_header("x-parse-application-id", APP_ID)
        .match_query(Matcher::Any)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create_async()
        .await
}

/// Catch-all: Parse must not be called at all (but for the deletion retries' sweep, which looks
/// for deletions to resume at start). Create after specific mocks.
pub async fn parse_never_called(parse: &mut mockito::ServerGuard) -> Vec<mockito::Mock> {
    let mut mocks = Vec::new();
    mocks.push(
        parse
            .mock("POST", "/parse/schemas/InstagramDataDeletion")
            .with_body("{}")
            .expect_at_most(1)
            .create_async()
            .await,
    );
    mocks.push(
        parse
            .mock("GET", "/parse/classes/InstagramDataDeletion")
            .match_query(Matcher::UrlEncoded(
                "where".into(),
                r#"{"pending":true}"#.into(),
            ))
            .with_body(r#"{"results":[]}"#)
            .expect_at_most(2)
            .create_async()
            .await,
    );
    for method in ["GET", "POST", "PUT", "DELETE"] {
        mocks.push(
            parse
                .mock(method, Matcher::Any)
                .with_status(500)
                .expect(0)
                .create_async()
                .await,
        );
    }
    mocks
}

/// Mocks that must see no call: (method, path regex).
pub async fn forbidden(
    parse: &mut mockito::ServerGuard,
    calls: &[(&str, &str)],
) -> Vec<mockito::Mock> {
    let mut mocks = Vec::new();
    for (method, path) in calls {
        mocks.push(
            parse
                .mock(method, Matcher::Regex(format!("^{path}$")))
                .match_query(Matcher::Any)
                .with_status(500)
                .expect(0)
                .create_async()
                .await,
        );
    }
    mocks
}
