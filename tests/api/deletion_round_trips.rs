//! What one data deletion costs Parse: every call it makes, counted with a mockito Parse that
//! answers only the calls the deletion needs. The status row is read once; its objectId then
//! travels with the record, so the "received" and final writes go straight to it (8 calls for a
//! user with one session, where looking the row up before each write made 10).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mockito::Matcher;
use serde_json::json;

use crate::helpers::{spawn_app_with, CLIENT_SECRET};

const MASTER_KEY: &str = "master-key-of-the-round-trip-test-1";
const IG_ID: &str = "17841405793187219";

fn signed_form(user_id: &str) -> String {
    let payload =
        format!(r#"{{"algorithm":"HMAC-SHA256","issued_at":1732000000,"user_id":"{user_id}"}}"#);
    let encoded = URL_SAFE_NO_PAD.encode(payload);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, CLIENT_SECRET.as_bytes());
    let sig = ring::hmac::sign(&key, encoded.as_bytes());
    let signed = format!("{}.{encoded}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
    serde_urlencoded::to_string([("signed_request", signed)]).unwrap()
}

/// One expected Parse call, answered with `body`, that must happen exactly once.
async fn once(
    parse: &mut mockito::ServerGuard,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> mockito::Mock {
    parse
        .mock(method, path)
        .match_header("x-parse-master-key", MASTER_KEY)
        .match_query(Matcher::Any)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .expect(1)
        .create_async()
        .await
}

#[actix_web::test]
async fn a_data_deletion_makes_eight_parse_calls() {
    let mut parse = mockito::Server::new_async().await;
    let server_url = format!("{}/parse", parse.url());
    let app = spawn_app_with(&[
        ("IGAUTH_SERVER__PUBLIC_URL", "https://auth.example/igauth"),
        ("IGAUTH_PARSE__SERVER_URL", server_url.as_str()),
        ("IGAUTH_PARSE__APP_ID", "app-round-trips"),
        ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY),
        ("IGAUTH_PARSE__ON_DATA_DELETION", "delete_user"),
    ])
    .await;
    let status = "/parse/classes/InstagramDataDeletion";
    let expected = [
        once(
            &mut parse,
            "POST",
            "/parse/schemas/InstagramDataDeletion",
            json!({}),
        )
        .await,
        once(&mut parse, "GET", status, json!({"results": []})).await,
        once(&mut parse, "POST", status, json!({"objectId": "st1"})).await,
        once(
            &mut parse,
            "GET",
            "/parse/classes/_User",
            json!({"results": [{"objectId": "u1"}]}),
        )
        .await,
        once(
            &mut parse,
            "GET",
            "/parse/classes/_Session",
            json!({"results": [{"objectId": "s1"}]}),
        )
        .await,
        once(
            &mut parse,
            "DELETE",
            "/parse/classes/_Session/s1",
            json!({}),
        )
        .await,
        once(&mut parse, "DELETE", "/parse/users/u1", json!({})).await,
        once(&mut parse, "PUT", &format!("{status}/st1"), json!({})).await,
    ];
    // Anything else is one call too many; created last, so only unexpected calls reach it.
    let mut extra = Vec::new();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        extra.push(
            parse
                .mock(method, Matcher::Any)
                .with_status(500)
                .expect(0)
                .create_async()
                .await,
        );
    }
    let answer = app
        .post_with(
            "/v1/meta/data-deletion",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &signed_form(IG_ID),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(expected.len(), 8);
    for mock in expected.iter().chain(&extra) {
        mock.assert_async().await;
    }
}
