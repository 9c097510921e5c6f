//! Operational surface: health, readiness, the API description, and what every answer carries
//! (`X-Content-Type-Options: nosniff`, `X-Request-Id`), errors included.

use crate::helpers::webhooks::VALIDATE_FN;
use crate::helpers::*;

/// `GET path` answers 200 with `{"status": word}`.
async fn assert_probe(path: &str, word: &str) {
    let answer = spawn_app().await.get_with(path, &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["status"], word);
}

#[actix_web::test]
async fn healthz_is_200() {
    assert_probe("/healthz", "ok").await;
}

#[actix_web::test]
async fn readyz_is_200() {
    assert_probe("/readyz", "ready").await;
}

#[actix_web::test]
async fn openapi_yaml_is_served() {
    let app = spawn_app().await;
    let answer = app.get_with("/openapi.yaml", &[]).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.text.starts_with("openapi: 3.1"),
        "{}",
        &answer.text[..answer.text.len().min(80)]
    );
}

#[actix_web::test]
async fn unknown_route_is_404_with_the_envelope() {
    let app = spawn_app().await;
    for path in ["/nope", "/v1/validat", "/v2/validate", "/v1/validate/extra"] {
        let answer = app.get_with(path, &[]).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text);
        assert_eq!(answer.error_code(), "not_found", "{path}");
    }
    let answer = app
        .post_with("/v1/nope", &[("Content-Type", "application/json")], "{}")
        .await;
    assert_envelope(&answer, 404, "not_found");
}

#[actix_web::test]
async fn wrong_method_is_405_with_the_envelope() {
    let posted_to = [
        "/v1/validate",
        "/v1/exchange",
        "/v1/introspect",
        VALIDATE_FN,
    ];
    let (app, never) = spawn_app_unasked(&[]).await;
    for path in posted_to {
        let answer = app.get_with(path, &[]).await;
        assert_eq!(answer.status, 405, "GET {path}: {}", answer.text);
        assert_eq!(answer.error_code(), "method_not_allowed", "GET {path}");
    }
    let answer = app.post_with("/healthz", &[], "").await;
    answer.assert_status(405, "POST /healthz");
    assert_eq!(answer.error_code(), "method_not_allowed");
    assert_all(&never).await;
}

/// One answer of each kind: success, our 4xx envelopes, upstream 5xx, Parse webhook.
async fn one_of_each(app: &mut TestApp) -> Vec<(&'static str, Answer)> {
    let _me = app.me_ok("IGT-ops").await;
    let _down = app.mock_me("IGT-down", 500, "down").await;
    vec![
        ("healthz", app.get_with("/healthz", &[]).await),
        ("readyz", app.get_with("/readyz", &[]).await),
        ("openapi", app.get_with("/openapi.yaml", &[]).await),
        ("valid", app.validate(BIG_ID, "IGT-ops").await),
        ("400", app.post_json("/v1/validate", "[]").await),
        ("401", app.post_with("/v1/validate", &[], "{}").await),
        ("404", app.get_with("/nope", &[]).await),
        ("405", app.get_with("/v1/validate", &[]).await),
        ("502", app.validate(BIG_ID, "IGT-down").await),
        (
            "webhook",
            app.webhook(
                "/v1/parse/functions/validate",
                &format!(r#"{{"params":{{"id":"{BIG_ID}","access_token":"IGT-ops"}}}}"#),
            )
            .await,
        ),
    ]
}

#[actix_web::test]
async fn every_answer_has_nosniff_and_a_request_id() {
    let mut app = spawn_app().await;
    for (what, answer) in one_of_each(&mut app).await {
        assert_eq!(
            answer.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        let id = answer
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{what}: no X-Request-Id"));
        assert!(!id.is_empty(), "{what}");
    }
}

#[actix_web::test]
async fn request_ids_differ_between_requests() {
    let app = spawn_app().await;
    let a = app.get_with("/healthz", &[]).await;
    let b = app.get_with("/healthz", &[]).await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
}

#[actix_web::test]
async fn a_sent_request_id_is_echoed() {
    let app = spawn_app().await;
    let answer = app
        .get_with("/healthz", &[("X-Request-Id", "caller-id-123")])
        .await;
    assert_eq!(answer.header("x-request-id"), Some("caller-id-123"));
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Request-Id", "caller-id-456"),
    ];
    let answer = app.post_with("/v1/validate", &headers, "{}").await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.header("x-request-id"), Some("caller-id-456"));
    assert_eq!(answer.json()["error"]["request_id"], "caller-id-456");
}

#[actix_web::test]
async fn error_envelopes_carry_the_request_id_of_their_answer() {
    let mut app = spawn_app().await;
    for (what, answer) in one_of_each(&mut app).await {
        if answer.status < 400 || what == "webhook" {
            continue;
        }
        let header = answer
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{what}: no X-Request-Id"))
            .to_string();
        let body = answer.json();
        assert!(body["error"]["code"].is_string(), "{what}: {}", answer.text);
        assert!(
            body["error"]["message"].is_string(),
            "{what}: {}",
            answer.text
        );
        assert_eq!(
            body["error"]["request_id"], header,
            "{what}: {}",
            answer.text
        );
    }
}
