//! A long-lived login is two upstream round trips, not three: after the code exchange, `/me`
//! (for the short-lived token) and the long-lived exchange run at once, and the owner `/me` named
//! is remembered under the long-lived token, so the app's first validation of it asks nothing
//! upstream. Either concurrent call failing still fails the exchange. (`/v1/exchange` and the
//! login callback share this code: `exchange::perform`.)

use std::time::{Duration, Instant};

use mockito::Matcher;

use crate::helpers::grants::*;
use crate::helpers::login::{
    long_grant, mock_code_exchange, mock_long_lived, short_grant, spawn_flow, CALLBACK_URL, CODE,
    LONG_TOKEN, SHORT_TOKEN,
};
use crate::helpers::upstream::{raw_upstream, Conduct};
use crate::helpers::*;

const LONG: &str = "IGAA-long-lived-7f6e5d";
/// How long each of the two concurrent calls takes.
const DELAY: Duration = Duration::from_millis(500);

fn long_exchange_body() -> String {
    format!(r#"{{"code":"AQB-long","redirect_uri":"{REDIRECT_URI}","long_lived":true}}"#)
}

#[actix_web::test]
async fn me_and_the_long_lived_exchange_run_at_once_and_the_long_token_is_known() {
    // One raw upstream plays both hosts, a connection per request: the code exchange answers at
    // once; the next two (/me and the long-lived exchange, in either order) answer after DELAY
    // with a body each reader accepts (unknown fields are ignored by both).
    let both = format!(
        r#"{{"id":"{BIG_ID}","username":"jay","access_token":"{LONG}","token_type":"bearer","expires_in":5183944}}"#
    );
    let upstream = raw_upstream(move |n| Conduct::Answer {
        delay: if n == 0 { Duration::ZERO } else { DELAY },
        status: 200,
        body: if n == 0 {
            grant_body("IGAA-short-1a2b")
        } else {
            both.clone()
        },
        short: false,
    })
    .await;
    let app = spawn_app_with(&[
        ("IGAUTH_INSTAGRAM__API_URL", &upstream.url),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", &upstream.url),
    ])
    .await;
    let started = Instant::now();
    let answer = app.post_json("/v1/exchange", &long_exchange_body()).await;
    let took = started.elapsed();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["access_token"], LONG);
    assert_eq!(answer.json()["id"], BIG_ID);
    assert_eq!(upstream.connections(), 3);
    assert!(
        took >= DELAY && took < DELAY * 2 - Duration::from_millis(150),
        "two {DELAY:?} calls took {took:?} together: they did not overlap"
    );

    let answer = app.validate(BIG_ID, LONG).await;
    assert_valid(&answer);
    assert_eq!(
        upstream.connections(),
        3,
        "the first validation of the long-lived token asked Instagram"
    );
}

/// The code exchange on the mock, answering a short-lived token.
async fn mock_code(app: &mut TestApp) -> mockito::Mock {
    app.code_exchange()
        .answer(200, grant_body("IGAA-short-9z8y"))
        .create_async()
        .await
}

async fn mock_long(app: &mut TestApp, status: usize, body: &str) -> mockito::Mock {
    app.instagram
        .mock("GET", "/access_token")
        .match_query(Matcher::Any)
        .answer(status, body)
        .create_async()
        .await
}

#[actix_web::test]
async fn a_failing_me_fails_the_long_lived_exchange_closed() {
    let mut app = spawn_app().await;
    let _code = mock_code(&mut app).await;
    let _long = mock_long(
        &mut app,
        200,
        &format!(r#"{{"access_token":"{LONG}","expires_in":5183944}}"#),
    )
    .await;
    let _me = app.mock_me("IGAA-short-9z8y", 500, "{}").await;
    let answer = app.post_json("/v1/exchange", &long_exchange_body()).await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert!(!answer.text.contains(LONG), "{}", answer.text);
    // Nothing was remembered for the long token: validating it asks Instagram, which refuses it.
    let _me_long = app.mock_me(LONG, 400, INVALID_TOKEN_BODY).await;
    let answer = app.validate(BIG_ID, LONG).await;
    assert_eq!(answer.json()["valid"], false, "{}", answer.text);
}

#[actix_web::test]
async fn a_refused_long_lived_exchange_fails_even_when_me_answers() {
    let mut app = spawn_app().await;
    let _code = mock_code(&mut app).await;
    let _long = mock_long(&mut app, 400, INVALID_TOKEN_BODY).await;
    let _me = app.me_ok("IGAA-short-9z8y").await;
    let answer = app.post_json("/v1/exchange", &long_exchange_body()).await;
    assert_envelope(&answer, 400, "invalid_token");
    assert!(!answer.text.contains("IGAA-short"), "{}", answer.text);
}

#[actix_web::test]
async fn long_lived_goes_through_ig_exchange_token_and_returns_expires_in() {
    let mut app = spawn_app().await;
    let grant = mock_exchange(&mut app, "AQB-long", 200, &flat_grant("IGAA-short")).await;
    let long = app
        .instagram
        .mock("GET", "/access_token")
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("grant_type".into(), "ig_exchange_token".into()),
            Matcher::UrlEncoded("client_secret".into(), CLIENT_SECRET.into()),
            Matcher::UrlEncoded("access_token".into(), "IGAA-short".into()),
        ]))
        .answer(
            200,
            r#"{"access_token":"IGAA-long","token_type":"bearer","expires_in":5183944}"#,
        )
        .create_async()
        .await;
    // /me is asked about the short-lived token, at the same time as the long-lived exchange.
    let me = app.me_is("IGAA-short", FLAT_USER_ID).await;
    let answer = exchange_json(&app, r#"{"code":"AQB-long","long_lived":true}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["access_token"], "IGAA-long");
    assert_eq!(body["expires_in"], 5183944);
    assert_eq!(body["authData"]["instagram"]["access_token"], "IGAA-long");
    assert_eq!(body["authData"]["instagram"]["id"], FLAT_USER_ID);
    assert_all(&[grant, long, me]).await;
}

// --- long_lived, with the login flow's callback URL as the only redirect_uri -----------------

#[actix_web::test]
async fn exchange_with_long_lived_answers_the_long_token_and_its_lifetime() {
    let mut app = spawn_flow(&[("IGAUTH_INSTAGRAM__REDIRECT_URIS", CALLBACK_URL)]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let long = mock_long_lived(&mut app, 200, &long_grant(LONG_TOKEN)).await;
    let me = app.me_ok(SHORT_TOKEN).await;
    let body = format!(r#"{{"code":"{CODE}","long_lived":true}}"#);
    let answer = app.post_json("/v1/exchange", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["access_token"], LONG_TOKEN);
    assert_eq!(body["expires_in"], 5183944);
    assert_eq!(body["authData"]["instagram"]["access_token"], LONG_TOKEN);
    assert_eq!(body["authData"]["instagram"]["id"], BIG_ID);
    assert!(!answer.text.contains(SHORT_TOKEN));
    assert_all(&[exchange, long, me]).await;
}

#[actix_web::test]
async fn exchange_with_a_refused_long_lived_step_is_invalid_token() {
    let mut app = spawn_flow(&[("IGAUTH_INSTAGRAM__REDIRECT_URIS", CALLBACK_URL)]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let long = mock_long_lived(&mut app, 400, INVALID_TOKEN_BODY).await;
    let body = format!(r#"{{"code":"{CODE}","long_lived":true}}"#);
    let answer = app.post_json("/v1/exchange", &body).await;
    assert_envelope(&answer, 400, "invalid_token");
    assert!(!answer.text.contains(SHORT_TOKEN));
    assert_all(&[exchange, long]).await;
}
