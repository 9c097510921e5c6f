//! CORS only for configured origins: no headers by default, a listed origin echoed (never a
//! wildcard), preflights answered, and refusals in the error envelope.

use actix_web::http::Method;

use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

const APP_ORIGIN: &str = "https://app.example";

const EVIL_ORIGIN: &str = "https://evil.example";

async fn from_origin(app: &TestApp, origin: &str) -> Answer {
    let body = serde_json::json!({ "code": "AQB-cors", "redirect_uri": REDIRECT_URI });
    let headers = [("Content-Type", "application/json"), ("Origin", origin)];
    app.post_with("/v1/exchange", &headers, &body.to_string())
        .await
}

async fn preflight(app: &TestApp, origin: &str) -> Answer {
    preflight_with(app, origin, "content-type").await
}

async fn preflight_with(app: &TestApp, origin: &str, headers: &str) -> Answer {
    let req = app
        .http
        .request(Method::OPTIONS, app.url("/v1/exchange"))
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header(("Access-Control-Request-Headers", headers));
    Answer::read(req.send().await.expect("app answers")).await
}

fn cors_headers(answer: &Answer) -> Vec<String> {
    answer
        .headers
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

#[actix_web::test]
async fn no_cors_headers_unless_origins_are_configured() {
    let mut app = spawn_app().await;
    let _codes = refuse_codes(&mut app).await;
    let answer = from_origin(&app, APP_ORIGIN).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.headers);

    let answer = preflight(&app, APP_ORIGIN).await;
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.headers);
    assert!(
        !(200..300).contains(&answer.status),
        "a preflight must not succeed without CORS: {}",
        answer.status
    );
    assert_security_headers(&answer);
}

#[actix_web::test]
async fn cors_echoes_only_a_listed_origin() {
    let origins = "https://app.example, https://admin.example";
    let mut app = spawn_app_with(&[("IGAUTH_SERVER__CORS_ORIGINS", origins)]).await;
    let _codes = refuse_codes(&mut app).await;

    for origin in [APP_ORIGIN, "https://admin.example"] {
        let answer = from_origin(&app, origin).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.header("access-control-allow-origin"), Some(origin));
        assert_security_headers(&answer);

        let answer = preflight(&app, origin).await;
        answer.assert_status_in(200..300, &format!("preflight from {origin}"));
        assert_eq!(answer.header("access-control-allow-origin"), Some(origin));
        let methods = answer
            .header("access-control-allow-methods")
            .unwrap_or_default();
        assert!(methods.contains("POST"), "{methods}");
        let headers = answer
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(headers.contains("content-type"), "{headers}");
        // A web app that links the account to its logged-in Parse user sends this one.
        let linking = preflight_with(&app, origin, "content-type, x-parse-session-token").await;
        linking.assert_status_in(200..300, "a preflight for linking");
    }

    // An unlisted origin is never echoed, and never gets a wildcard.
    let answer = from_origin(&app, EVIL_ORIGIN).await;
    assert!(answer.status < 500, "{}", answer.text);
    assert_ne!(
        answer.header("access-control-allow-origin"),
        Some(EVIL_ORIGIN)
    );
    assert_ne!(answer.header("access-control-allow-origin"), Some("*"));
    let answer = preflight(&app, EVIL_ORIGIN).await;
    answer.assert_status_in(400..500, "preflight from an unlisted origin");
    assert!(answer.header("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn cors_refusals_answer_in_the_error_envelope() {
    let (app, never) = spawn_app_unasked(&[("IGAUTH_SERVER__CORS_ORIGINS", APP_ORIGIN)]).await;
    for (answer, reason) in [
        (preflight(&app, EVIL_ORIGIN).await, "origin"),
        (preflight_with(&app, APP_ORIGIN, "x-custom").await, "header"),
    ] {
        assert_envelope(&answer, 400, "cors_not_allowed");
        let message = answer.error_text();
        assert!(
            message.to_ascii_lowercase().contains(reason)
                && message.contains("IGAUTH_SERVER__CORS_ORIGINS"),
            "{message}"
        );
        assert!(answer.header("access-control-allow-origin").is_none());
        assert_security_headers(&answer);
        let request_id = answer.header("x-request-id").expect("an X-Request-Id");
        assert_eq!(answer.json()["error"]["request_id"], request_id);
    }
    assert_all(&never).await;
}
