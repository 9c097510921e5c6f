//! Request bodies: a size limit on every route (413 in our envelope, Parse's protocol on its
//! webhooks, chunked bodies counted as they come), configurable, large enough for Parse's
//! payloads; and only the content types a route reads (415).

use crate::helpers::*;

fn oversized_body() -> String {
    format!(
        r#"{{"id":"{BIG_ID}","access_token":"IGT-big","pad":"{}"}}"#,
        "a".repeat(9000)
    )
}

#[actix_web::test]
async fn body_over_the_limit_is_413_with_the_envelope() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let answer = app.post_json("/v1/validate", &oversized_body()).await;
    assert_envelope(&answer, 413, "payload_too_large");
    assert_all(&never).await;
}

#[actix_web::test]
async fn chunked_body_over_the_limit_without_content_length_is_413() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let body = oversized_body();
    let chunks = body.as_bytes().chunks(1000).map(<[u8]>::to_vec).collect();
    let answer = app
        .post_chunked("/v1/validate", &json_headers(), chunks)
        .await;
    assert_envelope(&answer, 413, "payload_too_large");
    assert_all(&never).await;
}

#[actix_web::test]
async fn chunked_body_under_the_limit_is_read() {
    let mut app = spawn_app().await;
    let me = app.me_ok("IGT-chunk").await;
    let body = format!(r#"{{"id":"{BIG_ID}","access_token":"IGT-chunk"}}"#);
    let (a, b) = body.split_at(10);
    let answer = app
        .post_chunked("/v1/validate", &json_headers(), vec![a.into(), b.into()])
        .await;
    assert_valid(&answer);
    me.assert_async().await;
}

#[actix_web::test]
async fn text_plain_body_is_415() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let headers = [("Content-Type", "text/plain"), ("Authorization", BEARER)];
    let body = format!(r#"{{"id":"{BIG_ID}","access_token":"IGT"}}"#);
    let answer = app.post_with("/v1/validate", &headers, &body).await;
    assert_envelope(&answer, 415, "unsupported_media_type");
    assert_all(&never).await;
}

#[actix_web::test]
async fn bodies_over_the_limit_get_413() {
    let webhooks_take_8k = ("IGAUTH_LIMITS__WEBHOOK_MAX_BODY_BYTES", "8192");
    let unlimited = ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0");
    let app = spawn_app_with(&[unlimited, webhooks_take_8k]).await;
    let padding = "x".repeat(9000);
    let json = format!(r#"{{"id":"{BIG_ID}","access_token":"IGT","pad":"{padding}"}}"#);
    for answer in [
        app.post_json("/v1/validate", &json).await,
        app.post_json("/v1/exchange", &json).await,
        app.post_form("/v1/introspect", &format!("token=IGT&pad={padding}"))
            .await,
    ] {
        assert_envelope(&answer, 413, "payload_too_large");
        assert_security_headers(&answer);
    }

    // Chunked, with no Content-Length to refuse up front.
    let chunks = (0..10).map(|_| {
        Ok::<_, std::io::Error>(actix_web::web::Bytes::from(format!(
            r#"{{"pad":"{}"}}"#,
            "y".repeat(1000)
        )))
    });
    let res = app
        .http
        .post(app.url("/v1/validate"))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("Authorization", format!("Bearer {API_KEY}")))
        .send_stream(futures_util::stream::iter(chunks))
        .await
        .expect("app answers");
    let answer = Answer::read(res).await;
    assert_envelope(&answer, 413, "payload_too_large");

    // Parse's webhooks keep Parse's protocol: 200 with an error message.
    let answer = app.webhook("/v1/parse/functions/validate", &json).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.json()["error"]
        .as_str()
        .unwrap()
        .contains("larger than"));
}

#[actix_web::test]
async fn the_request_body_limit_is_configurable() {
    let app = spawn_app_with(&[("IGAUTH_LIMITS__MAX_BODY_BYTES", "512")]).await;
    let body = format!(
        r#"{{"id":"{BIG_ID}","access_token":"IGT","pad":"{}"}}"#,
        "x".repeat(600)
    );
    let answer = app.post_json("/v1/validate", &body).await;
    assert_envelope(&answer, 413, "payload_too_large");
}

/// Parse's trigger payloads carry the whole user, its original, headers and log context: far
/// over the 8 KiB that an authData body may take, and still accepted by default.
#[actix_web::test]
async fn webhooks_accept_parse_sized_payloads() {
    let app = spawn_app().await;
    let object = format!(
        r#"{{"nickname":"{}","className":"_User"}}"#,
        "n".repeat(40_000)
    );
    let body = format!(r#"{{"triggerName":"beforeSave","object":{object}}}"#);
    let req = app
        .http
        .post(app.url("/v1/parse/triggers/user"))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("X-Parse-Webhook-Key", WEBHOOK_KEY));
    let answer = Answer::read(req.send_body(body).await.unwrap()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, "{}", "a pass");
}
