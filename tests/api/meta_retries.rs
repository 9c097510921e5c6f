//! Deletions finish: a deletion Meta was answered for while Parse failed is carried out by
//! igauth itself once Parse recovers, without a new request from Meta, also across a restart;
//! what an earlier run did counts, so it ends `completed`, not `no_data`; the person sees
//! "in progress" meanwhile, and the operator's cause goes only to the log.

use std::time::{Duration, Instant};

use crate::helpers::meta_store::FakeStatusClass;
use crate::helpers::parse::*;
use crate::helpers::{metric, Answer, ChildApp};

/// Parse finds user u1 (`found`), who has no sessions; deleting u1 answers `delete_status`
/// (500: Parse fails).
async fn parse_users(
    parse: &mut mockito::ServerGuard,
    found: &[&str],
    delete_status: usize,
) -> Vec<mockito::Mock> {
    let failure = r#"{"code":1,"error":"Internal server error (directAccess)"}"#;
    let delete = parse
        .mock("DELETE", "/parse/users/u1")
        .with_status(delete_status);
    vec![
        finds(parse, USERS, found).await,
        finds(parse, SESSIONS, &[]).await,
        delete.with_body(failure).create_async().await,
    ]
}

/// A data deletion Meta was answered 200 for while Parse failed to delete u1, by an igauth that
/// then stopped: the request's code and that process's log. Parse's failing mocks are gone.
async fn acknowledged_then_stopped(
    parse: &mut mockito::ServerGuard,
    env: &[(&str, &str)],
) -> (String, String) {
    let failing = parse_users(parse, &["u1"], 500).await;
    let first = ChildApp::spawn(env).await;
    let answer = post_to(&first, DATA_DELETION, &signed(IG_ID)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let code = confirmation_code(&answer);
    let exited = first.terminate().await;
    drop(failing);
    (code, format!("{}{}", exited.stdout, exited.stderr))
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
    let (mut parse, app, store) = parse_with_store(&[DELETION_DELETES]).await;
    let failing = parse_users(&mut parse, &["u1"], 500).await;
    let answer = post(&app, DATA_DELETION, &signed(IG_ID)).await;
    answer.assert_status(200, "Meta gets its code");
    let code = confirmation_code(&answer);
    let path = format!("{DATA_DELETION}/{code}");
    let status = app.deletion_status(&code).await.json();
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
    drop(failing);
    let _ok = parse_users(&mut parse, &[], 200).await;
    let started = Instant::now();
    let done = wait_for_status(
        || app.deletion_status(&code),
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
    let server_url = server_url(&parse);
    let env = parse_env(&server_url);
    let (code, log) = acknowledged_then_stopped(&mut parse, &env).await;
    assert!(
        log.contains(&format!("data deletion {code}: run 1 did not finish")),
        "{log}"
    );
    let _ok = parse_users(&mut parse, &[], 200).await;
    let second = ChildApp::spawn(&env).await;
    let path = format!("{DATA_DELETION}/{code}");
    let done = wait_for_status(
        || second.get_with(&path, &[("Accept", "application/json")]),
        "completed",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(done["users"], 1, "{done}");
    second.terminate().await;
}

#[actix_web::test]
async fn a_waiting_deletion_edited_in_parse_is_never_acted_on() {
    let mut parse = mockito::Server::new_async().await;
    let store = FakeStatusClass::install(&mut parse).await;
    let server_url = server_url(&parse);
    let env = parse_env(&server_url);
    let (code, _) = acknowledged_then_stopped(&mut parse, &env).await;

    // Someone who can write the class points the waiting deletion at another person.
    const VICTIM: &str = "17841400000000666";
    store.tamper(|record| record.replace(IG_ID, VICTIM));
    let victim_found = parse
        .mock("GET", USERS)
        .match_query(mockito::Matcher::Regex(VICTIM.into()))
        .with_body(r#"{"results":[{"objectId":"v1"}]}"#)
        .expect(0)
        .create_async()
        .await;
    let _others = parse_users(&mut parse, &[], 200).await;
    let second = ChildApp::spawn(&env).await;
    // A sweep has run (and read the row) before anything is judged.
    let swept = r#"igauth_parse_actions_total{kind="status_due",result="ok"}"#;
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&second.get_with("/metrics", &[]).await.text, swept).is_none() {
        assert!(Instant::now() < deadline, "no sweep ran");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let status = second
        .get_with(
            &format!("{DATA_DELETION}/{code}"),
            &[("Accept", "application/json")],
        )
        .await;
    assert_eq!(
        status.status, 404,
        "an edited record is not believed: {}",
        status.text
    );
    second.terminate().await;
    victim_found.assert_async().await;
}
