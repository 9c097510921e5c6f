//! Browser safety on every answer: the security headers (errors and refusals included), and
//! `Cache-Control: no-store` on every answer that carries a token.

use crate::helpers::limits::{exchange, TIGHT};
use crate::helpers::*;

#[actix_web::test]
async fn every_answer_carries_the_security_headers() {
    let mut app = spawn_app_with(&TIGHT).await;
    let _me = app.me_ok("IGT-ok").await;
    let _bad = app.mock_me("IGT-bad", 400, INVALID_TOKEN_BODY).await;
    let _broken = app.mock_me("IGT-broken", 500, "{}").await;
    let _codes = refuse_codes(&mut app).await;

    let mut answers = vec![
        Answer::read(app.http.get(app.url("/healthz")).send().await.unwrap()).await,
        Answer::read(app.http.get(app.url("/nowhere")).send().await.unwrap()).await,
        Answer::read(app.http.get(app.url("/v1/validate")).send().await.unwrap()).await,
        Answer::read(
            app.http
                .post(app.url("/v1/validate"))
                .insert_header(("Content-Type", "application/json"))
                .send_body(r#"{"id":"1","access_token":"IGT-ok"}"#)
                .await
                .unwrap(),
        )
        .await, // 401
        app.validate(BIG_ID, "IGT-ok").await,
        app.validate(BIG_ID, "IGT-bad").await,
        app.validate(BIG_ID, "IGT-broken").await,
        app.post_json("/v1/validate", "{not json").await,
        app.post_form("/v1/validate", "id=1").await, // 415
        app.post_form("/v1/introspect", "token=IGT-ok").await,
        app.post_form("/v1/introspect", "token=IGT-bad").await,
    ];
    for _ in 0..3 {
        answers.push(exchange(&app, None).await); // 400, 400, 429
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [200, 404, 405, 401, 200, 200, 502, 400, 415, 200, 200, 400, 400, 429]
    );
    for answer in &answers {
        assert_security_headers(answer);
        assert_no_store(answer);
    }
}

#[actix_web::test]
async fn token_bearing_answers_are_not_stored() {
    let mut app = spawn_app().await;
    let _grant = app
        .code_exchange()
        .answer(200, grant_body("IGAA-fresh"))
        .create_async()
        .await;
    let _me = app.me_ok("IGAA-fresh").await;

    let body = serde_json::json!({ "code": "AQB-good#_", "redirect_uri": REDIRECT_URI });
    let answer = app.post_json("/v1/exchange", &body.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["access_token"], "IGAA-fresh");
    assert_no_store(&answer);
    assert_security_headers(&answer);

    let answer = app.post_form("/v1/introspect", "token=IGAA-fresh").await;
    assert_eq!(answer.json()["active"], true, "{}", answer.text);
    assert_no_store(&answer);

    let answer = app.validate(BIG_ID, "IGAA-fresh").await;
    assert_eq!(answer.json()["valid"], true, "{}", answer.text);
    assert_no_store(&answer);
}
