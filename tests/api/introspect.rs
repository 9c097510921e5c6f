//! `POST /v1/introspect`: RFC 7662 for Parse Server's OAuth2 adapter (`useridField: "sub"`).
//! A token Instagram refuses is exactly `{"active":false}`; upstream trouble is a 5xx so Parse
//! fails closed with "introspection request failed", not "invalid token".

use crate::helpers::*;

async fn introspect(app: &TestApp, form: &str) -> Answer {
    app.post_form("/v1/introspect", form).await
}

/// `token` introspected on a fresh app whose `/me` for it answers `status` with `body`; checks
/// that Instagram was asked exactly once (`retried`: at least once).
async fn introspected(token: &str, status: usize, body: &str, retried: bool) -> Answer {
    let mut app = spawn_app().await;
    let me = app.mock_me(token, status, body).await;
    let me = if retried { me.expect_at_least(1) } else { me };
    let answer = introspect(&app, &format!("token={token}")).await;
    me.assert_async().await;
    answer
}

#[actix_web::test]
async fn live_token_is_active_with_sub_username_and_token_type() {
    let answer = introspected("IGT-live", 200, &me_body(BIG_ID, "jay"), false).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // sub is the exact 64-bit id as a string.
    answer.assert_has(r#""sub":"17841405793187219""#);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "active": true,
            "sub": BIG_ID,
            "username": "jay",
            "token_type": "bearer",
        })
    );
}

#[actix_web::test]
async fn sub_stays_exact_when_me_answers_a_numeric_id() {
    let numeric = r#"{"id":17841405793187219,"username":"jay"}"#;
    let answer = introspected("IGT-num", 200, numeric, false).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.assert_has(r#""sub":"17841405793187219""#);
}

#[actix_web::test]
async fn token_instagram_rejects_is_exactly_inactive() {
    let mut app = spawn_app().await;
    for (token, body) in [
        ("IGT-invalid", INVALID_TOKEN_BODY),
        ("IGT-expired", EXPIRED_TOKEN_BODY),
    ] {
        let me = app.mock_me(token, 400, body).await;
        let answer = introspect(&app, &format!("token={token}")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.text, r#"{"active":false}"#, "{token}");
        me.assert_async().await;
    }
}

#[actix_web::test]
async fn token_type_hint_is_ignored() {
    let mut app = spawn_app().await;
    let me = app.me_ok("IGT-hint").await.expect_at_least(1);
    for form in [
        "token=IGT-hint&token_type_hint=access_token",
        "token_type_hint=refresh_token&token=IGT-hint",
        "token=IGT-hint&token_type_hint=something_else",
    ] {
        let answer = introspect(&app, form).await;
        assert_eq!(answer.status, 200, "{form}: {}", answer.text);
        assert_eq!(answer.json()["active"], true, "{form}: {}", answer.text);
        assert_eq!(answer.json()["sub"], BIG_ID, "{form}");
    }
    me.assert_async().await;
}

#[actix_web::test]
async fn missing_token_is_400_invalid_request() {
    let (app, never) = spawn_app_unasked(&[]).await;
    for form in ["", "token=", "token_type_hint=access_token"] {
        let answer = introspect(&app, form).await;
        assert_eq!(answer.status, 400, "{form:?}: {}", answer.text);
        assert_eq!(answer.error_code(), "invalid_request", "{form:?}");
        answer.assert_has("token");
    }
    assert_all(&never).await;
}

#[actix_web::test]
async fn upstream_500_is_a_5xx_and_never_inactive() {
    let answer = introspected("IGT-down", 500, "<html>down</html>", true).await;
    answer.assert_status_in(500..600, "upstream trouble must be a 5xx");
    assert_eq!(answer.error_code(), "upstream_error");
    assert!(!answer.text.contains("active"), "{}", answer.text);
}

#[actix_web::test]
async fn upstream_throttling_is_a_5xx_and_never_inactive() {
    let answer = introspected("IGT-throttled", 400, RATE_LIMITED_BODY, false).await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(!answer.text.contains("active"), "{}", answer.text);
}

#[actix_web::test]
async fn missing_or_wrong_api_key_is_401() {
    let (app, never) = spawn_app_unasked(&[]).await;
    for headers in [
        vec![("Content-Type", "application/x-www-form-urlencoded")],
        vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", "Bearer not-the-key"),
        ],
    ] {
        let answer = app
            .post_with("/v1/introspect", &headers, "token=IGT-nokey")
            .await;
        assert_unauthorized(&answer);
    }
    assert_all(&never).await;
}

#[actix_web::test]
async fn json_body_is_415() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", BEARER),
    ];
    let answer = app
        .post_with("/v1/introspect", &headers, r#"{"token":"IGT-json"}"#)
        .await;
    assert_envelope(&answer, 415, "unsupported_media_type");
    assert_all(&never).await;
}
