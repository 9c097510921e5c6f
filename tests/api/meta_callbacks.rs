//! Meta's compliance callbacks through the public surface: the real app on port 0, mockito
//! playing Parse Server. Signed requests are made the way Meta makes them.

use mockito::Matcher;
use serde_json::json;

use crate::helpers::parse::*;
use crate::helpers::{
    assert_all, assert_envelope, assert_metric_at_least, metric, spawn_app_with, ChildApp,
    CLIENT_SECRET,
};

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

#[actix_web::test]
async fn without_a_client_secret_or_a_public_url_the_callbacks_say_what_to_set() {
    let app = spawn_app_with(&[("IGAUTH_INSTAGRAM__CLIENT_SECRET", "")]).await;
    for path in [DEAUTHORIZE, DATA_DELETION] {
        let answer = post(&app, path, &signed(IG_ID)).await;
        assert_eq!(answer.status, 503, "{path}: {}", answer.text);
        assert_eq!(answer.error_code(), "meta_callbacks_not_configured");
        answer.assert_has("IGAUTH_INSTAGRAM__CLIENT_SECRET");
    }
    // The secret, but nowhere to point the status link: only the deletion route is off.
    let app = spawn_app_with(&[]).await;
    let answer = post(&app, DATA_DELETION, &signed(IG_ID)).await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    answer.assert_has("IGAUTH_SERVER__PUBLIC_URL");
    let answer = post(&app, DEAUTHORIZE, &signed(IG_ID)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // The callback URL's origin is the default public URL.
    let app = spawn_app_with(&[(
        "IGAUTH_INSTAGRAM__CALLBACK_URL",
        "https://login.example:8443/v1/callback",
    )])
    .await;
    let answer = post(&app, DATA_DELETION, &signed(IG_ID)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let url = answer.json()["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with("https://login.example:8443/v1/meta/data-deletion/"),
        "{url}"
    );
}

#[actix_web::test]
async fn forged_tampered_foreign_and_garbage_requests_are_400_and_touch_nothing() {
    let (mut parse, app) = parse_and_app(&[DEAUTHORIZE_DELETES]).await;
    let never = parse_never_called(&mut parse).await;
    let good = signed(IG_ID);
    let (sig, _) = good.split_once('.').unwrap();
    let (_, other_payload) = signed("1")
        .split_once('.')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap();
    let cases = [
        (
            "another secret",
            sign_with(
                "not-the-app-secret",
                r#"{"algorithm":"HMAC-SHA256","user_id":"1"}"#,
            ),
        ),
        (
            "another algorithm",
            sign_with(CLIENT_SECRET, r#"{"algorithm":"HMAC-SHA1","user_id":"1"}"#),
        ),
        ("a tampered payload", format!("{sig}.{other_payload}")),
        ("garbage", "garbage".to_string()),
        ("padding", format!("{good}==")),
        ("extra dots", format!("{good}.x")),
        ("huge", format!("{sig}.{}", "A".repeat(6000))),
        ("signed non-JSON", sign_with(CLIENT_SECRET, "not json")),
    ];
    for path in [DEAUTHORIZE, DATA_DELETION] {
        for (what, raw) in &cases {
            let answer = post(&app, path, raw).await;
            assert_eq!(answer.status, 400, "{path} {what}: {}", answer.text);
            assert_eq!(answer.error_code(), "invalid_signed_request", "{what}");
            answer.assert_has("Nothing was done");
            assert!(answer.json()["error"]["request_id"].is_string());
        }
        let missing = app.post_with(path, &[FORM], "other=1").await;
        assert_envelope(&missing, 400, "invalid_request");
        let headers = [("Content-Type", "application/json")];
        let body = r#"{"signed_request":"x"}"#;
        let json = app.post_with(path, &headers, body).await;
        json.assert_status(415, "Meta posts a form");
    }
    assert_all(&never).await;
    let scrape = app.scrape().await;
    assert_metric_at_least(
        &scrape,
        r#"igauth_meta_callbacks_total{outcome="invalid",route="deauthorize"}"#,
        8.0,
    );
}

#[actix_web::test]
async fn a_deletion_finds_users_by_either_id_revokes_sessions_deletes_and_records_in_parse() {
    let (mut parse, app) =
        parse_and_app(&[("IGAUTH_PARSE__DELETION_FUNCTION", "purgeInstagram")]).await;
    let schema_body = parse
        .mock("POST", "/parse/schemas/InstagramDataDeletion")
        .match_body(Matcher::PartialJson(json!({"classLevelPermissions": {
            "find": {}, "get": {}, "create": {}, "update": {}, "delete": {}, "addField": {}}})))
        .with_status(201)
        .with_body("{}")
        // Once per process, but the retries' sweep at start may race the deletion to it.
        .expect_at_least(1)
        .create_async()
        .await;
    let no_status = finds(&mut parse, STATUS_CLASS, &[]).await;
    let write_status = parse_mock(&mut parse, "POST", STATUS_CLASS, json!({"objectId": "st1"}));
    let write_status = write_status.await;
    // The row the first write created is where the outcome goes.
    let updated = json!({"updatedAt": "2026-01-01T00:00:00.000Z"});
    let row = format!("{STATUS_CLASS}/st1");
    let update_status = parse_mock(&mut parse, "PUT", &row, updated).await;
    let or = json!({"authData.instagram.id": IG_ID});
    let users = parse
        .mock("GET", "/parse/classes/_User")
        .match_header("x-parse-master-key", MASTER_KEY)
        .match_query(Matcher::UrlEncoded("where".into(), or.to_string()))
        .with_body(json!({"results": [{"objectId": "u1"}]}).to_string())
        .expect(1)
        .create_async()
        .await;
    let function_any = parse
        .mock("POST", "/parse/functions/purgeInstagram")
        .match_header("x-parse-master-key", MASTER_KEY)
        .match_body(Matcher::PartialJson(
            json!({"instagram_id": IG_ID, "users": ["u1"]}),
        ))
        .with_body(r#"{"result":"ok"}"#)
        .expect(1)
        .create_async()
        .await;
    let pointer = json!({"user": {"__type": "Pointer", "className": "_User", "objectId": "u1"}});
    let sessions = parse
        .mock("GET", "/parse/classes/_Session")
        .match_query(Matcher::UrlEncoded("where".into(), pointer.to_string()))
        .with_body(json!({"results": [{"objectId": "s1"}, {"objectId": "s2"}]}).to_string())
        .expect(1)
        .create_async()
        .await;
    let one_of_two = Matcher::Regex("^/parse/classes/_Session/s[12]$".into());
    let revoke = called(&mut parse, "DELETE", one_of_two, 2).await;
    let delete = called(&mut parse, "DELETE", "/parse/users/u1", 1).await;
    let answer = post(&app, DATA_DELETION, &signed(IG_ID)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let code = confirmation_code(&answer);
    assert_eq!(code.len(), 40);
    let url = answer.json()["url"].as_str().map(str::to_string);
    assert_eq!(url, Some(format!("{PUBLIC_URL}{DATA_DELETION}/{code}")));
    drop((no_status, write_status, update_status));
    for mock in [schema_body, users, function_any, sessions, revoke, delete] {
        mock.assert_async().await;
    }
    let scrape = app.scrape().await;
    for series in [
        r#"igauth_parse_actions_total{kind="delete_user",result="ok"}"#,
        r#"igauth_parse_actions_total{kind="revoke_session",result="ok"}"#,
        r#"igauth_parse_actions_total{kind="function",result="ok"}"#,
        r#"igauth_meta_callbacks_total{outcome="completed",route="data_deletion"}"#,
    ] {
        assert_metric_at_least(&scrape, series, 1.0);
    }
}

#[actix_web::test]
async fn a_failing_cloud_function_fails_the_request_and_skips_the_action() {
    let (mut parse, app) =
        parse_and_app(&[("IGAUTH_PARSE__DELETION_FUNCTION", "purgeInstagram")]).await;
    let _schema = parse_mock(&mut parse, "POST", STATUS_SCHEMA, json!({})).await;
    let _no_status = finds(&mut parse, STATUS_CLASS, &[]).await;
    // First "received", then still in progress with one failed run: igauth retries it.
    let mut writes = Vec::new();
    for attempts in [0, 1] {
        let attempts = Matcher::Regex(format!(r#"\\"attempts\\":{attempts}"#));
        let write = parse.mock("POST", STATUS_CLASS).match_body(attempts);
        writes.push(write.with_body("{}").expect(1).create_async().await);
    }
    let _users = finds(&mut parse, USERS, &["u1"]).await;
    let function = parse
        .mock("POST", "/parse/functions/purgeInstagram")
        .with_status(400)
        .with_body(r#"{"code":141,"error":"boom"}"#)
        .expect(1)
        .create_async()
        .await;
    // No deletion, no unlink (and, below, no session listing).
    let never = forbidden(&mut parse, &[("DELETE", ".*"), ("PUT", ".*")]).await;
    let answer = post(&app, DATA_DELETION, &signed(IG_ID)).await;
    answer.assert_status(200, "Meta still gets its code");
    function.assert_async().await;
    assert_all(&writes).await;
    assert_all(&never).await;
    let scrape = app.scrape().await;
    assert!(
        metric(
            &scrape,
            r#"igauth_parse_actions_total{kind="function",result="failed"}"#
        ) == Some(1.0),
        "{scrape}"
    );
    assert!(!scrape.contains(r#"kind="list_sessions""#), "{scrape}");
}

#[actix_web::test]
async fn without_parse_a_deletion_is_no_data_replays_get_the_same_code_and_the_status_shows() {
    let app = spawn_app_with(&[("IGAUTH_SERVER__PUBLIC_URL", PUBLIC_URL)]).await;
    let raw = signed(IG_ID);
    let first = post(&app, DATA_DELETION, &raw).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = post(&app, DATA_DELETION, &raw).await;
    assert_eq!(again.status, 200, "{}", again.text);
    let code = confirmation_code(&first);
    assert_eq!(
        again.json()["confirmation_code"],
        code.as_str(),
        "a replay gets the same code"
    );
    let other = post(&app, DATA_DELETION, &signed("5")).await;
    assert_ne!(other.json()["confirmation_code"], code.as_str());

    let path = format!("{DATA_DELETION}/{code}");
    let json = app.deletion_status(&code).await;
    assert_eq!(json.status, 200, "{}", json.text);
    let status = json.json();
    assert_eq!(status["confirmation_code"], code.as_str());
    assert_eq!(status["status"], "no_data");
    assert!(status["requested_at"].as_str().unwrap().ends_with('Z'));
    assert!(status["completed_at"].as_str().is_some());
    assert!(
        !json.text.contains(IG_ID),
        "the status shows no Instagram id"
    );

    let html = app
        .get_with(&path, &[("Accept", "text/html,*/*;q=0.8")])
        .await;
    assert_eq!(html.status, 200);
    assert!(html
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    html.assert_has(&code);
    html.assert_has("no data found");
    let csp = html.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert_eq!(html.header("vary"), Some("Accept"));

    for unknown in [
        "0123456789abcdef01234567",
        "0123456789abcdef012345670123456789abcdef",
        "nope",
        "%3Cscript%3E",
    ] {
        let json = app.deletion_status(unknown).await;
        assert_eq!(json.status, 404, "{unknown}: {}", json.text);
        assert_eq!(json.error_code(), "not_found");
        let html = app
            .get_with(&format!("{DATA_DELETION}/{unknown}"), &[])
            .await;
        assert_eq!(html.status, 404);
        assert!(!html.text.contains("<script"), "{}", html.text);
    }
}

#[actix_web::test]
async fn deauthorize_revokes_sessions_when_configured_and_parse_trouble_is_502() {
    let (mut parse, app) = parse_and_app(&[DEAUTHORIZE_REVOKES]).await;
    let _users = finds(&mut parse, USERS, &["u1"]).await;
    let _sessions = finds(&mut parse, SESSIONS, &["s1"]).await;
    let store = crate::helpers::meta_store::FakeStatusClass::install(&mut parse).await;
    let revoke = called(&mut parse, "DELETE", "/parse/classes/_Session/s1", 1).await;
    let never = forbidden(&mut parse, &[("DELETE", "/parse/users/.*")]).await;
    let raw = signed(IG_ID);
    for users in [1, 0] {
        let answer = post(&app, DEAUTHORIZE, &raw).await;
        answer.assert_status(200, "a replay is answered again, without acting");
        assert_eq!(answer.json()["users"], users);
    }
    revoke.assert_async().await;
    assert_all(&never).await;
    assert_eq!(
        store.records().len(),
        1,
        "one record of the handled request"
    );

    let down = spawn_app_with(&[
        ("IGAUTH_PARSE__SERVER_URL", "http://127.0.0.1:9/parse"),
        ("IGAUTH_PARSE__APP_ID", APP_ID),
        ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY),
        DEAUTHORIZE_DELETES,
        ("IGAUTH_PARSE__TIMEOUT_MS", "2000"),
    ])
    .await;
    let answer = post(&down, DEAUTHORIZE, &signed(IG_ID)).await;
    assert_envelope(&answer, 502, "parse_unavailable");
    assert!(
        !answer.text.contains("127.0.0.1"),
        "no Parse URL in answers: {}",
        answer.text
    );
}

/// The real binary at `RUST_LOG=trace`: the master key, the signed request and its parts never
/// reach the output; the confirmation code and the number of users do.
#[actix_web::test]
async fn the_master_key_and_the_signed_request_never_reach_the_log() {
    let mut parse = mockito::Server::new_async().await;
    let mut any = Vec::new();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        any.push(
            parse
                .mock(method, Matcher::Any)
                .with_status(200)
                .with_body(r#"{"results":[{"objectId":"u1"}]}"#)
                .create_async()
                .await,
        );
    }
    let server_url = server_url(&parse);
    let mut env = parse_env(&server_url);
    env.extend([("RUST_LOG", "trace"), DEAUTHORIZE_REVOKES]);
    let child = ChildApp::spawn(&env).await;
    let mut code = String::new();
    for (route, raw) in [
        (DATA_DELETION, signed(IG_ID)),
        // Another request: one signed request acts on one callback only.
        (DEAUTHORIZE, signed_at(IG_ID, now_secs() - 1)),
    ] {
        let answer = post_to(&child, route, &raw).await;
        assert_eq!(answer.status, 200, "{route}: {}", answer.text);
        if route == DATA_DELETION {
            code = confirmation_code(&answer);
        }
    }
    let exited = child.terminate().await;
    let output = format!("{}{}", exited.stdout, exited.stderr);
    let raw = signed(IG_ID);
    let (sig, payload) = raw.split_once('.').unwrap();
    for secret in [MASTER_KEY, CLIENT_SECRET, sig, payload] {
        assert!(!output.contains(secret), "{secret} leaked:\n{output}");
    }
    assert!(
        output.contains(&format!("data deletion {code}: 1 user(s), completed")),
        "{output}"
    );
    assert!(output.contains("statuses are kept in Parse"), "{output}");
}
