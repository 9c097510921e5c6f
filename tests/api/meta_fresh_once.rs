//! Meta's signed requests act only while fresh, and once, on one callback; status codes cost
//! nothing to guess; the status page speaks to the person. mockito plays Parse, with a status
//! class that remembers ([`crate::helpers::meta_store`]).

use crate::helpers::parse::*;
use crate::helpers::{assert_all, assert_envelope, spawn_app_with, CLIENT_SECRET};

const DAY: u64 = 86_400;

#[actix_web::test]
async fn stale_future_and_non_numeric_issued_at_act_on_nobody() {
    let (mut parse, app, store) = parse_with_store(&[DEAUTHORIZE_DELETES, DELETION_DELETES]).await;
    let never = forbidden(
        &mut parse,
        &[
            ("GET", "/parse/classes/_.*"),
            ("DELETE", ".*"),
            ("PUT", "/parse/users/.*"),
        ],
    )
    .await;
    let now = now_secs();
    let payload = |issued_at: &str| {
        format!(r#"{{"algorithm":"HMAC-SHA256","issued_at":{issued_at},"user_id":"{IG_ID}"}}"#)
    };
    let refused = [
        signed_at(IG_ID, now - 400 * DAY),
        signed_at(IG_ID, now - DAY - 60),
        signed_at(IG_ID, now + 365 * DAY),
        signed_at(IG_ID, now + 600),
        sign_with(CLIENT_SECRET, &payload(r#""yesterday""#)),
        sign_with(CLIENT_SECRET, &payload(&format!(r#""{now}""#))),
        sign_with(
            CLIENT_SECRET,
            &format!(r#"{{"algorithm":"HMAC-SHA256","user_id":"{IG_ID}"}}"#),
        ),
    ];
    for raw in &refused {
        for route in [DEAUTHORIZE, DATA_DELETION] {
            let answer = post(&app, route, raw).await;
            assert_eq!(answer.status, 400, "{route}: {}", answer.text);
            assert_eq!(answer.error_code(), "invalid_signed_request", "{route}");
        }
    }
    assert!(store.records().is_empty(), "{:?}", store.records());
    assert_all(&never).await;
    // Within the window (an hour old, or a minute ahead of our clock) it acts.
    let users = finds(&mut parse, USERS, &[]).await.expect(2);
    for raw in [signed_at(IG_ID, now - 3600), signed_at(IG_ID, now + 60)] {
        let answer = post(&app, DEAUTHORIZE, &raw).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    users.assert_async().await;
}

#[actix_web::test]
async fn a_replayed_request_acts_once_and_never_on_the_other_callback() {
    let (mut parse, app, store) = parse_with_store(&[DEAUTHORIZE_REVOKES, DELETION_DELETES]).await;
    let _users = finds(&mut parse, USERS, &["u1"]).await;
    let _sessions = finds(&mut parse, SESSIONS, &["s1"]).await;
    let revoke = called(&mut parse, "DELETE", "/parse/classes/_Session/s1", 2).await;
    let delete = called(&mut parse, "DELETE", "/parse/users/u1", 1).await;
    let now = now_secs();
    // A deauthorization, replayed three times, then posted as a deletion request.
    let deauthorize = signed_at(IG_ID, now - 10);
    for users in [1, 0, 0, 0] {
        let answer = post(&app, DEAUTHORIZE, &deauthorize).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["users"], users, "a replay acts on nobody");
    }
    let crossed = post(&app, DATA_DELETION, &deauthorize).await;
    assert_envelope(&crossed, 400, "invalid_signed_request");
    // A deletion request, replayed, then posted as a deauthorization.
    let deletion = signed_at(IG_ID, now - 5);
    let first = post(&app, DATA_DELETION, &deletion).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = post(&app, DATA_DELETION, &deletion).await;
    assert_eq!(
        again.json()["confirmation_code"],
        first.json()["confirmation_code"]
    );
    let crossed = post(&app, DEAUTHORIZE, &deletion).await;
    assert_eq!(crossed.status, 400, "{}", crossed.text);
    // One revocation each for the deauthorization and the deletion; one deletion.
    assert_all(&[revoke, delete]).await;
    let kinds: Vec<String> = store
        .records()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["deauthorize", "data_deletion"]);
    assert!(
        store.records()[0]["expires_at_ms"].as_u64().unwrap() <= (now + DAY + 300) * 1000,
        "a deauthorization is kept only while it could be fresh"
    );
}

#[actix_web::test]
async fn guessed_status_codes_cost_no_lookup_and_the_route_is_rate_limited() {
    let (mut parse, app, store) = parse_with_store(&[
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "60"),
        ("IGAUTH_LIMITS__EXCHANGE_BURST", "40"),
    ])
    .await;
    let _users = finds(&mut parse, USERS, &[]).await;
    let answer = post(&app, DATA_DELETION, &signed(IG_ID)).await;
    let code = confirmation_code(&answer);
    let before = store.lookups();
    // The right id with a wrong MAC, and random codes of the right shape.
    let mut guesses = vec![format!("{}{}", &code[..24], "0".repeat(16))];
    for i in 0..30u64 {
        guesses.push(format!(
            "{:040x}",
            0x1234_5678_9abc_def0_u128 * u128::from(i + 1)
        ));
    }
    for guess in &guesses {
        let answer = app.deletion_status(guess).await;
        assert_eq!(answer.status, 404, "{guess}: {}", answer.text);
    }
    assert_eq!(store.lookups(), before, "no guess reached Parse");
    let real = format!("{DATA_DELETION}/{code}");
    let found = app.deletion_status(&code).await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(store.lookups(), before + 1);
    // The burst spent, the route answers 429 like the other public routes.
    let mut limited = false;
    for _ in 0..20 {
        let answer = app.get_with(&real, &[]).await;
        if answer.status == 429 {
            assert_eq!(answer.error_code(), "rate_limited");
            limited = true;
            break;
        }
    }
    assert!(limited, "the status route is rate limited per client");
}

#[actix_web::test]
async fn the_status_page_names_the_app_links_its_team_and_names_no_setting() {
    let app = spawn_app_with(&[
        ("IGAUTH_SERVER__PUBLIC_URL", "https://auth.example"),
        ("IGAUTH_META__APP_NAME", "Snapgram <Beta>"),
        (
            "IGAUTH_META__CONTACT_URL",
            "mailto:privacy@snapgram.example",
        ),
    ])
    .await;
    let answer = post(&app, DATA_DELETION, &signed(IG_ID)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let code = confirmation_code(&answer);
    for path in [
        format!("/v1/meta/data-deletion/{code}"),
        "/v1/meta/data-deletion/0123456789abcdef012345670123456789abcdef".to_string(),
    ] {
        let page = app.get_with(&path, &[]).await;
        assert!(page.text.contains("Snapgram &lt;Beta&gt;"), "{}", page.text);
        assert!(
            page.text.contains(
                r#"<a href="mailto:privacy@snapgram.example">Contact Snapgram &lt;Beta&gt;</a>"#
            ),
            "{}",
            page.text
        );
        for operator_words in ["IGAUTH_", "directAccess", "Parse", "master key"] {
            assert!(
                !page.text.contains(operator_words),
                "{operator_words}: {}",
                page.text
            );
        }
    }
    for (name, value) in [
        ("IGAUTH_META__CONTACT_URL", "javascript:alert(1)"),
        ("IGAUTH_META__CONTACT_URL", "http://plain.example"),
        ("IGAUTH_META__APP_NAME", "two\nlines"),
        ("IGAUTH_META__SIGNED_REQUEST_MAX_AGE_SECS", "0"),
    ] {
        let mut env = crate::helpers::base_env("http://127.0.0.1:9");
        env.push((name.to_string(), value.to_string()));
        let err = igauth::settings::Settings::from_sources(igauth::settings::Sources {
            file: None,
            env: Some(env),
        })
        .err()
        .unwrap_or_default();
        assert!(err.contains(name), "{name}={value:?}: {err}");
    }
}
