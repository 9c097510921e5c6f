//! igauth signs people into Parse itself (`IGAUTH_PARSE__SESSIONS`), seen through `/v1/exchange`
//! with mockito as Instagram and as Parse: what Parse is asked for a first login, and what Parse
//! trouble answers (a 5xx with our codes, never a user left without its link, never a session).
//! The same flow against a real Parse Server is tests/e2e/sessions.test.mjs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mockito::Matcher;
use serde_json::json;

use crate::helpers::grants::*;
use crate::helpers::parse::*;
use crate::helpers::*;

const CODE: &str = "AQB-sessions";
const TOKEN: &str = "IGAA-sessions";
const LINKS: &str = "/parse/classes/InstagramAccount";

/// A link row as igauth writes it: its MAC (HMAC-SHA256 keyed with the master key) covers the
/// Instagram id and the user.
fn link_row(object_id: &str, user: &str) -> serde_json::Value {
    use base64::Engine;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, MASTER_KEY.as_bytes());
    let message = format!("igauth-link\n{FLAT_USER_ID}\n{user}");
    let mac = ring::hmac::sign(&key, message.as_bytes());
    json!({
        "objectId": object_id,
        "user": {"__type": "Pointer", "className": "_User", "objectId": user},
        "instagramId": FLAT_USER_ID,
        "mac": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.as_ref()),
    })
}

/// The link class: `before` until igauth makes a link, `after` from then on.
async fn links(
    parse: &mut mockito::ServerGuard,
    before: serde_json::Value,
    after: serde_json::Value,
    user: &str,
    made_id: &'static str,
) -> Vec<mockito::Mock> {
    let links_made = Arc::new(AtomicUsize::new(0));
    let made = links_made.clone();
    let (ours, theirs) = (link_row(made_id, user), link_row(made_id, user));
    vec![
        parse
            .mock("GET", LINKS)
            .match_header("x-parse-master-key", MASTER_KEY)
            .match_query(Matcher::Any)
            .with_body_from_request(move |_| {
                let rows = match made.load(Ordering::SeqCst) {
                    0 => &before,
                    _ => &after,
                };
                json!({ "results": rows }).to_string().into()
            })
            .create_async()
            .await,
        parse
            .mock("POST", LINKS)
            .match_header("x-parse-master-key", MASTER_KEY)
            .match_body(Matcher::PartialJson(json!({
                "user": ours["user"],
                "instagramId": FLAT_USER_ID,
                "mac": theirs["mac"],
            })))
            .with_status(201)
            .with_body_from_request(move |_| {
                links_made.fetch_add(1, Ordering::SeqCst);
                json!({ "objectId": made_id }).to_string().into()
            })
            .create_async()
            .await,
    ]
}

/// An app that signs people in, its Instagram ready for one exchange of [`CODE`].
async fn app_signing_in(parse: &mockito::ServerGuard) -> (TestApp, Vec<mockito::Mock>) {
    let mut app = app_with_parse(parse, &[("IGAUTH_PARSE__SESSIONS", "true")]).await;
    let grant = mock_exchange(&mut app, CODE, 200, &flat_grant(TOKEN)).await;
    let me = app.mock_me(TOKEN, 200, &me_body(FLAT_USER_ID, "jay")).await;
    (app, vec![grant, me])
}

/// Parse for a person it has never seen: no link, no adapter user; the user made is `u1`.
/// The link class answers nothing until a link is made, then the link `l1` to `u1`.
async fn parse_for_a_newcomer(parse: &mut mockito::ServerGuard) -> Vec<mockito::Mock> {
    let mut mocks = no_adapter_user(parse).await;
    mocks.push(
        parse
            .mock("POST", "/parse/classes/_User")
            .match_header("x-parse-master-key", MASTER_KEY)
            .match_body(Matcher::PartialJson(
                json!({"username": format!("instagram-{FLAT_USER_ID}"), "instagramUsername": "jay"}),
            ))
            .with_status(201)
            .with_body(r#"{"objectId":"u1"}"#)
            .expect(1)
            .create_async()
            .await,
    );
    mocks.extend(links(parse, json!([]), json!([link_row("l1", "u1")]), "u1", "l1").await);
    mocks
}

/// The link class can be made master-key only, and nobody signed up through Parse's adapter.
async fn no_adapter_user(parse: &mut mockito::ServerGuard) -> Vec<mockito::Mock> {
    vec![
        parse_mock(parse, "POST", "/parse/schemas/InstagramAccount", json!({})).await,
        parse_mock(parse, "GET", "/parse/classes/_User", json!({"results": []})).await,
    ]
}

/// One session created with the master key, its body holding `fields`.
async fn session_made(
    parse: &mut mockito::ServerGuard,
    fields: serde_json::Value,
) -> mockito::Mock {
    parse
        .mock("POST", "/parse/classes/_Session")
        .match_header("x-parse-master-key", MASTER_KEY)
        .match_body(Matcher::PartialJson(fields))
        .with_status(201)
        .with_body(r#"{"objectId":"s1"}"#)
        .expect(1)
        .create_async()
        .await
}

/// Parse must not see a session created: each test names what went wrong before one was.
async fn no_session(parse: &mut mockito::ServerGuard) -> mockito::Mock {
    parse
        .mock("POST", "/parse/classes/_Session")
        .expect(0)
        .create_async()
        .await
}

/// `DELETE path` with the master key, exactly once.
async fn deleted_once(parse: &mut mockito::ServerGuard, path: &str) -> mockito::Mock {
    parse
        .mock("DELETE", path)
        .match_header("x-parse-master-key", MASTER_KEY)
        .with_body("{}")
        .expect(1)
        .create_async()
        .await
}

/// `/v1/exchange` of [`CODE`] by a logged-in user (`session_token`) who links the account.
async fn exchange_linking(app: &TestApp, session_token: &str) -> Answer {
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Parse-Session-Token", session_token),
    ];
    app.post_with("/v1/exchange", &headers, r#"{"code":"AQB-sessions"}"#)
        .await
}

/// Whatever else igauth asks Parse at start (the Meta deletions' sweep) is answered empty.
async fn parse_background(parse: &mut mockito::ServerGuard) -> Vec<mockito::Mock> {
    vec![
        parse_mock(
            parse,
            "POST",
            "/parse/schemas/InstagramDataDeletion",
            json!({}),
        )
        .await,
        parse_mock(
            parse,
            "GET",
            "/parse/classes/InstagramDataDeletion",
            json!({"results": []}),
        )
        .await,
    ]
}

#[actix_web::test]
async fn a_first_login_creates_one_linked_user_and_a_master_key_session() {
    let mut parse = mockito::Server::new_async().await;
    let _newcomer = parse_for_a_newcomer(&mut parse).await;
    let _background = parse_background(&mut parse).await;
    let session = session_made(
        &mut parse,
        json!({
            "user": {"__type": "Pointer", "className": "_User", "objectId": "u1"},
            "createdWith": {"action": "login", "authProvider": "instagram"},
            "restricted": false,
            "installationId": "3f9c2a6e-0d1b-4c55-9a7e-2b8d1e4f6a70",
        }),
    )
    .await;
    let (app, _instagram) = app_signing_in(&parse).await;

    let answer = exchange_json(
        &app,
        r#"{"code":"AQB-sessions","installation_id":"3f9c2a6e-0d1b-4c55-9a7e-2b8d1e4f6a70"}"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["objectId"], "u1");
    assert_eq!(body["isNew"], true);
    let token = body["sessionToken"].as_str().unwrap();
    assert!(
        token.starts_with("r:") && token.len() == 66,
        "a random r: token: {token}"
    );
    assert_eq!(body["authData"]["instagram"]["id"], FLAT_USER_ID);
    session.assert_async().await;
}

#[actix_web::test]
async fn a_link_that_cannot_be_made_leaves_no_user_behind_and_no_session() {
    let mut parse = mockito::Server::new_async().await;
    let failing_link = parse
        .mock("POST", LINKS)
        .with_status(500)
        .with_body(r#"{"code":1,"error":"Internal server error."}"#)
        .create_async()
        .await;
    let _newcomer = parse_for_a_newcomer(&mut parse).await;
    let _background = parse_background(&mut parse).await;
    let undo = deleted_once(&mut parse, "/parse/users/u1").await;
    let no_session = no_session(&mut parse).await;
    let (app, _instagram) = app_signing_in(&parse).await;

    let answer = exchange_json(&app, r#"{"code":"AQB-sessions"}"#).await;
    assert_no_grant(&answer, 502, "parse_error");
    answer.assert_has("nothing was created");
    failing_link.assert_async().await;
    undo.assert_async().await;
    no_session.assert_async().await;
}

#[actix_web::test]
async fn parse_out_of_reach_is_504_parse_timeout_and_a_dead_session_token_401() {
    let mut app = spawn_app_with(&[
        ("IGAUTH_PARSE__SERVER_URL", "http://127.0.0.1:9/parse"),
        ("IGAUTH_PARSE__APP_ID", APP_ID),
        ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY),
        ("IGAUTH_PARSE__SESSIONS", "true"),
    ])
    .await;
    let _grant = mock_exchange(&mut app, CODE, 200, &flat_grant(TOKEN)).await;
    let _me = app.mock_me(TOKEN, 200, &me_body(FLAT_USER_ID, "jay")).await;
    let answer = exchange_json(&app, r#"{"code":"AQB-sessions"}"#).await;
    assert_no_grant(&answer, 504, "parse_timeout");

    // Linking to a session Parse does not know: asked with that token, never the master key.
    let mut parse = mockito::Server::new_async().await;
    let _background = parse_background(&mut parse).await;
    let me = parse
        .mock("GET", "/parse/users/me")
        .match_header("x-parse-session-token", "r:not-a-live-session")
        .match_header("x-parse-master-key", Matcher::Missing)
        .with_status(400)
        .with_body(r#"{"code":209,"error":"Invalid session token"}"#)
        .expect(1)
        .create_async()
        .await;
    let (app, instagram) = app_signing_in(&parse).await;
    let answer = exchange_linking(&app, "r:not-a-live-session").await;
    assert_envelope(&answer, 401, "invalid_session_token");
    me.assert_async().await;
    // Checked before the code was spent: the app may retry it (without the stale token).
    assert!(
        !instagram[0].matched_async().await,
        "the code was not exchanged"
    );
    // The retry spends it (Instagram is asked once), then goes on to Parse, which here has
    // nothing set up beyond the session check: 502.
    let again = app
        .post_json("/v1/exchange", r#"{"code":"AQB-sessions"}"#)
        .await;
    assert_eq!(again.status, 502, "{}", again.text);
    instagram[0].assert_async().await;
}

#[actix_web::test]
async fn a_link_row_igauth_did_not_write_is_ignored() {
    let mut parse = mockito::Server::new_async().await;
    // Planted while the class was open to clients: the attacker's Instagram id, the victim's
    // user, no MAC (and one with a MAC made with another key). Created first, so it answers.
    let mut forged = link_row("p2", "victim");
    forged["mac"] = json!("AAAA");
    let planted = parse
        .mock("GET", LINKS)
        .match_query(Matcher::Any)
        .with_body(
            json!({"results": [
                {"objectId": "p1", "user": {"objectId": "victim"}, "instagramId": FLAT_USER_ID},
                forged,
            ]})
            .to_string(),
        )
        .create_async()
        .await;
    let _newcomer = parse_for_a_newcomer(&mut parse).await;
    let _background = parse_background(&mut parse).await;
    let session = session_made(
        &mut parse,
        json!({"user": {"__type": "Pointer", "className": "_User", "objectId": "u1"}}),
    )
    .await;
    let (app, _instagram) = app_signing_in(&parse).await;

    let answer = exchange_json(&app, r#"{"code":"AQB-sessions"}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["objectId"], "u1", "{}", answer.text);
    assert_eq!(answer.json()["isNew"], true);
    planted.assert_async().await;
    session.assert_async().await;
}

#[actix_web::test]
async fn linking_that_loses_a_race_to_another_user_is_409_and_makes_no_session() {
    let mut parse = mockito::Server::new_async().await;
    let _background = parse_background(&mut parse).await;
    let mut mocks = no_adapter_user(&mut parse).await;
    mocks.push(
        parse
            .mock("GET", "/parse/users/me")
            .match_header("x-parse-session-token", "r:alice")
            .with_body(r#"{"objectId":"uA"}"#)
            .create_async()
            .await,
    );
    // Alice links the account; reading back, an older link (to Bob) was made meanwhile.
    let raced = json!([link_row("l0", "uB"), link_row("l1", "uA")]);
    mocks.extend(links(&mut parse, json!([]), raced, "uA", "l1").await);
    let ours_removed = deleted_once(&mut parse, "/parse/classes/InstagramAccount/l1").await;
    let no_session = no_session(&mut parse).await;
    let (app, _instagram) = app_signing_in(&parse).await;

    let answer = exchange_linking(&app, "r:alice").await;
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(answer.error_code(), "already_linked");
    ours_removed.assert_async().await;
    no_session.assert_async().await;
}
