//! What one data deletion costs Parse: every call it makes, counted with a mockito Parse that
//! answers only the calls the deletion needs. The status row is read once; its objectId then
//! travels with the record, so the "received" and final writes go straight to it (8 calls for a
//! user with one session, where looking the row up before each write made 10).

use mockito::Matcher;
use serde_json::json;

use crate::helpers::parse::*;

const IG_ID: &str = "17841405793187219";

/// One expected Parse call, answered with `body`, that must happen exactly once.
async fn once(
    parse: &mut mockito::ServerGuard,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> mockito::Mock {
    parse
        .mock(method, path)
        .match_header("x-parse-master-key", MASTER_KEY)
        .match_query(Matcher::Any)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .expect(1)
        .create_async()
        .await
}

#[actix_web::test]
async fn a_data_deletion_makes_eight_parse_calls() {
    let mut parse = mockito::Server::new_async().await;
    let app = app_with_parse(&parse, &[("IGAUTH_PARSE__ON_DATA_DELETION", "delete_user")]).await;
    let status = "/parse/classes/InstagramDataDeletion";
    // The retries' sweep looks for deletions to resume once at start (not part of the count).
    let sweep = parse
        .mock("GET", status)
        .match_query(Matcher::UrlEncoded(
            "where".into(),
            r#"{"pending":true}"#.into(),
        ))
        .with_body(r#"{"results":[]}"#)
        .create_async()
        .await;
    let expected = [
        once(
            &mut parse,
            "POST",
            "/parse/schemas/InstagramDataDeletion",
            json!({}),
        )
        .await,
        parse
            .mock("GET", status)
            .match_header("x-parse-master-key", MASTER_KEY)
            .match_query(Matcher::Regex("confirmation_code".into()))
            .with_body(r#"{"results":[]}"#)
            .expect(1)
            .create_async()
            .await,
        once(&mut parse, "POST", status, json!({"objectId": "st1"})).await,
        once(
            &mut parse,
            "GET",
            "/parse/classes/_User",
            json!({"results": [{"objectId": "u1"}]}),
        )
        .await,
        once(
            &mut parse,
            "GET",
            "/parse/classes/_Session",
            json!({"results": [{"objectId": "s1"}]}),
        )
        .await,
        once(
            &mut parse,
            "DELETE",
            "/parse/classes/_Session/s1",
            json!({}),
        )
        .await,
        once(&mut parse, "DELETE", "/parse/users/u1", json!({})).await,
        once(&mut parse, "PUT", &format!("{status}/st1"), json!({})).await,
    ];
    // Anything else is one call too many; created last, so only unexpected calls reach it.
    let mut extra = Vec::new();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        extra.push(
            parse
                .mock(method, Matcher::Any)
                .with_status(500)
                .expect(0)
                .create_async()
                .await,
        );
    }
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
    let answer = app
        .post_with(
            "/v1/meta/data-deletion",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &signed_form(&signed(IG_ID)),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(expected.len(), 8);
    for mock in expected.iter().chain(&extra) {
        mock.assert_async().await;
    }
}
