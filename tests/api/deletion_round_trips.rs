//! What one data deletion costs Parse: every call it makes, counted with a mockito Parse that
//! answers only the calls the deletion needs. The status row is read once; its objectId then
//! travels with the record, so the "received" and final writes go straight to it (8 calls for a
//! user with one session, where looking the row up before each write made 10).

use mockito::Matcher;
use serde_json::json;

use crate::helpers::parse::*;

#[actix_web::test]
async fn a_data_deletion_makes_eight_parse_calls() {
    let (mut parse, app) = parse_and_app(&[DELETION_DELETES]).await;
    // The retries' sweep looks for deletions to resume once at start (not part of the count).
    let sweep = parse.mock("GET", STATUS_CLASS).match_query(pending());
    let sweep = sweep.with_body(r#"{"results":[]}"#).create_async().await;
    let by_code = Matcher::Regex("confirmation_code".into());
    let lookup = parse.mock("GET", STATUS_CLASS).match_query(by_code);
    let lookup = lookup.match_header("x-parse-master-key", MASTER_KEY);
    let row = format!("{STATUS_CLASS}/st1");
    // Each call the deletion needs, exactly once.
    let expected = [
        parse_mock(&mut parse, "POST", STATUS_SCHEMA, json!({})).await,
        lookup.with_body(r#"{"results":[]}"#).create_async().await,
        parse_mock(&mut parse, "POST", STATUS_CLASS, json!({"objectId": "st1"})).await,
        finds(&mut parse, USERS, &["u1"]).await,
        finds(&mut parse, SESSIONS, &["s1"]).await,
        parse_mock(
            &mut parse,
            "DELETE",
            "/parse/classes/_Session/s1",
            json!({}),
        )
        .await,
        parse_mock(&mut parse, "DELETE", "/parse/users/u1", json!({})).await,
        parse_mock(&mut parse, "PUT", &row, json!({})).await,
    ]
    .map(|mock| mock.expect(1));
    // Anything else is one call too many; created last, so only unexpected calls reach it.
    let any = [
        ("GET", ".*"),
        ("POST", ".*"),
        ("PUT", ".*"),
        ("DELETE", ".*"),
    ];
    let extra = forbidden(&mut parse, &any).await;
    // The sweep has run (and made the status class) before the deletion is counted.
    for _ in 0..200 {
        if crate::helpers::metric(
            &app.scrape().await,
            r#"igauth_parse_actions_total{kind="status_due",result="ok"}"#,
        )
        .is_some()
        {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    drop(sweep);
    let answer = post(&app, DATA_DELETION, &signed(IG_ID)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(expected.len(), 8);
    for mock in expected.iter().chain(&extra) {
        mock.assert_async().await;
    }
}
