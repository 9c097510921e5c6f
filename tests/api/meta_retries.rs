//! Deletions finish: a deletion Meta was answered for while Parse failed is carried out by
//! igauth itself once Parse recovers, without a new request from Meta, also across a restart;
//! what an earlier run did counts, so it ends `completed`, not `no_data`; the person sees
//! "in progress" meanwhile, and the operator's cause goes only to the log.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::meta_store::FakeStatusClass;
use crate::helpers::parse::*;
use crate::helpers::{metric, Answer, ChildApp, CLIENT_SECRET};

const IG_ID: &str = "17841405793187219";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// Parse finds user u1, who has no sessions; deleting u1 answers `status` (500: Parse fails).
async fn parse_users(parse: &mut mockito::ServerGuard, delete_status: usize) -> Vec<mockito::Mock> {
    vec![
        parse_mock(
            parse,
            "GET",
            "/parse/classes/_Session",
            json!({"results": []}),
        )
        .await,
        parse
            .mock("DELETE", "/parse/users/u1")
            .with_status(delete_status)
            .with_body(r#"{"code":1,"error":"Internal server error (directAccess)"}"#)
            .create_async()
            .await,
    ]
}

/// Polls `get` until the status JSON says `want` (panics after `within`).
async fn wait_for_status<F, Fut>(get: F, want: &str, within: Duration) -> serde_json::Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let deadline = Instant::now() + within;
    loop {
        let answer = get().await;
        let status = answer.json();
        if status["status"] == want {
            return status;
        }
        assert!(Instant::now() < deadline, "still {status} after {within:?}");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn a_deletion_acknowledged_while_parse_failed_completes_once_parse_recovers() {
    let mut parse = mockito::Server::new_async().await;
    let app = app_with_parse(&parse, &[("IGAUTH_PARSE__ON_DATA_DELETION", "delete_user")]).await;
    let store = FakeStatusClass::install(&mut parse).await;
    let found = parse_mock(
        &mut parse,
        "GET",
        "/parse/classes/_User",
        json!({"results": [{"objectId": "u1"}]}),
    )
    .await;
    let failing = parse_users(&mut parse, 500).await;
    let answer = post(&app, "/v1/meta/data-deletion", &signed(IG_ID)).await;
    assert_eq!(answer.status, 200, "Meta gets its code: {}", answer.text);
    let code = answer.json()["confirmation_code"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/meta/data-deletion/{code}");
    let status = app
        .get_with(&path, &[("Accept", "application/json")])
        .await
        .json();
    assert_eq!(status["status"], "received", "{status}");
    let page = app.get_with(&path, &[]).await.text;
    assert!(page.contains("In progress"), "{page}");
    assert!(
        !page.contains("directAccess") && !page.contains("IGAUTH_"),
        "{page}"
    );
    assert!(
        metric(&app.scrape().await, "igauth_meta_deletions_pending").is_some(),
        "the pending gauge is exported"
    );
    // Parse recovers, and the user was in fact deleted by the failed run: found no more.
    drop((found, failing));
    let _gone = parse_mock(
        &mut parse,
        "GET",
        "/parse/classes/_User",
        json!({"results": []}),
    )
    .await;
    let _ok = parse_users(&mut parse, 200).await;
    let started = Instant::now();
    let done = wait_for_status(
        || app.get_with(&path, &[("Accept", "application/json")]),
        "completed",
        Duration::from_secs(20),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "the first retry comes within 10 s"
    );
    assert_eq!(
        done["users"], 1,
        "the user an earlier run found still counts: {done}"
    );
    let records = store.records();
    assert!(records[0].get("pending").is_none() && records[0].get("targets").is_none());
    assert!(
        !records[0].to_string().contains(IG_ID),
        "a settled record holds no Instagram id"
    );
}

#[actix_web::test]
async fn a_pending_deletion_survives_a_restart_and_the_next_process_finishes_it() {
    let mut parse = mockito::Server::new_async().await;
    let _store = FakeStatusClass::install(&mut parse).await;
    let found = parse_mock(
        &mut parse,
        "GET",
        "/parse/classes/_User",
        json!({"results": [{"objectId": "u1"}]}),
    )
    .await;
    let failing = parse_users(&mut parse, 500).await;
    let server_url = format!("{}/parse", parse.url());
    let env = [
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        ("IGAUTH_SERVER__PUBLIC_URL", "https://auth.example"),
        ("IGAUTH_PARSE__SERVER_URL", server_url.as_str()),
        ("IGAUTH_PARSE__APP_ID", APP_ID),
        ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY),
    ];
    let first = ChildApp::spawn(&env).await;
    let http = awc::Client::default();
    let res = http
        .post(first.url("/v1/meta/data-deletion"))
        .insert_header(FORM)
        .send_body(signed_form(&signed(IG_ID)))
        .await
        .unwrap();
    let answer = Answer::read(res).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let code = answer.json()["confirmation_code"]
        .as_str()
        .unwrap()
        .to_string();
    let exited = first.terminate().await;
    let log = format!("{}{}", exited.stdout, exited.stderr);
    assert!(
        log.contains(&format!("data deletion {code}: run 1 did not finish")),
        "{log}"
    );
    drop((found, failing));
    let _gone = parse_mock(
        &mut parse,
        "GET",
        "/parse/classes/_User",
        json!({"results": []}),
    )
    .await;
    let _ok = parse_users(&mut parse, 200).await;
    let second = ChildApp::spawn(&env).await;
    let url = second.url(&format!("/v1/meta/data-deletion/{code}"));
    let done = wait_for_status(
        || async {
            let res = http
                .get(url.as_str())
                .insert_header(("Accept", "application/json"))
                .send()
                .await
                .unwrap();
            Answer::read(res).await
        },
        "completed",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(done["users"], 1, "{done}");
    second.terminate().await;
}
