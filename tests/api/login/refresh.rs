//! `POST /v1/refresh`: a long-lived token traded for a new one; bad requests never reach Instagram.

use std::time::Duration;

use mockito::Matcher;

use crate::helpers::login::*;
use crate::helpers::*;

#[actix_web::test]
async fn refresh_answers_a_new_long_lived_token() {
    let mut app = spawn_flow(&[]).await;
    let refresh = mock_refresh(&mut app, 200, &long_grant(REFRESHED_TOKEN)).await;
    let answer = refresh_long(&app).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "access_token": REFRESHED_TOKEN,
            "expires_in": 5183944,
            "token_type": "bearer",
        })
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_all(&[refresh]).await;
}

#[actix_web::test]
async fn refresh_accepts_a_form_body_too() {
    let mut app = spawn_flow(&[]).await;
    let refresh = mock_refresh(&mut app, 200, &long_grant(REFRESHED_TOKEN)).await;
    let answer = post_refresh(
        &app,
        "application/x-www-form-urlencoded",
        &format!("access_token={LONG_TOKEN}"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["access_token"], REFRESHED_TOKEN);
    assert_all(&[refresh]).await;
}

#[actix_web::test]
async fn refresh_of_a_refused_token_is_invalid_token() {
    let mut app = spawn_flow(&[]).await;
    let refresh = mock_refresh(&mut app, 400, INVALID_TOKEN_BODY).await;
    let answer = refresh_long(&app).await;
    assert_envelope(&answer, 400, "invalid_token");
    assert!(!answer.text.contains(LONG_TOKEN));
    assert_all(&[refresh]).await;
}

#[actix_web::test]
async fn refresh_when_instagram_fails_is_a_5xx_not_a_verdict() {
    for (status, body, want, code) in [
        (500, "<html>oops</html>", 502, "upstream_error"),
        (400, RATE_LIMITED_BODY, 503, "upstream_rate_limited"),
    ] {
        let mut app = spawn_flow(&[]).await;
        let refresh = mock_refresh(&mut app, status, body).await;
        let answer = refresh_long(&app).await;
        assert_eq!(answer.status, want, "{}", answer.text);
        assert_eq!(answer.error_code(), code);
        assert_all(&[refresh]).await;
    }
}

#[actix_web::test]
async fn refresh_timeout_is_504() {
    let mut app = spawn_flow(&[("IGAUTH_INSTAGRAM__TIMEOUT_MS", "200")]).await;
    let slow = app.instagram.mock("GET", "/refresh_access_token");
    let _slow = slow
        .match_query(Matcher::Any)
        .with_chunked_body(|w| {
            std::thread::sleep(Duration::from_millis(800));
            w.write_all(b"{}")
        })
        .create_async()
        .await;
    let answer = refresh_long(&app).await;
    assert_envelope(&answer, 504, "upstream_timeout");
}

#[actix_web::test]
async fn refresh_refuses_bad_requests_without_calling_instagram() {
    let mut app = spawn_flow(&[]).await;
    let idle = app.instagram_never_called().await;
    for (content_type, body, status, code) in [
        ("application/json", "{}", 400, "invalid_request"),
        (
            "application/json",
            r#"{"access_token":""}"#,
            400,
            "invalid_request",
        ),
        (
            "application/json",
            r#"{"access_token":42}"#,
            400,
            "invalid_request",
        ),
        (
            "application/json",
            r#"{"access_token":"a b"}"#,
            400,
            "invalid_request",
        ),
        ("application/json", "[1]", 400, "invalid_request"),
        ("application/json", "{", 400, "invalid_request"),
        (
            "text/plain",
            "access_token=x",
            415,
            "unsupported_media_type",
        ),
    ] {
        let answer = post_refresh(&app, content_type, body).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
        assert_eq!(answer.error_code(), code, "{body}");
    }
    let answer = browser().get(app.url("/v1/refresh")).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 405);
    assert_all(&idle).await;
}
