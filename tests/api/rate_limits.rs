//! Abuse limits: the per-client-IP limit on `/v1/exchange` (on by default, off at 0, never on
//! the server-to-server routes), and `X-Forwarded-For` believed only from trusted proxies.

use crate::helpers::limits::{exchange, exchange_limit, TIGHT};
use crate::helpers::*;

fn assert_rate_limited(answer: &Answer) {
    assert_envelope(answer, 429, "rate_limited");
    let retry = answer.retry_after_secs();
    assert!(retry >= 1, "Retry-After {retry}");
    assert_security_headers(answer);
}

fn assert_passed(answer: &Answer) {
    assert_ne!(answer.status, 429, "{}", answer.text);
    assert_envelope(answer, 400, "invalid_code");
}

#[actix_web::test]
async fn exchange_is_rate_limited_per_client_after_the_burst() {
    let mut app = spawn_app_with(&TIGHT).await;
    let codes = app.code_exchange().answer(400, BAD_CODE_BODY).expect(2);
    let codes = codes.create_async().await;
    assert_passed(&exchange(&app, None).await);
    assert_passed(&exchange(&app, None).await);
    for _ in 0..3 {
        assert_rate_limited(&exchange(&app, None).await);
    }
    // A limited request never reaches Instagram.
    codes.assert_async().await;
}

#[actix_web::test]
async fn exchange_rate_limit_is_on_by_default() {
    let mut app = spawn_app().await;
    let _codes = refuse_codes(&mut app).await;
    assert_passed(&exchange(&app, None).await);
    let mut limited = None;
    for n in 1..60 {
        let answer = exchange(&app, None).await;
        if answer.status == 429 {
            limited = Some((n, answer));
            break;
        }
        assert_passed(&answer);
    }
    let (n, answer) = limited.expect("no 429 within 60 rapid exchanges with default settings");
    assert_rate_limited(&answer);
    assert!(
        n >= 3,
        "the default allows a small burst, limited after {n}"
    );
}

#[actix_web::test]
async fn zero_turns_the_exchange_rate_limit_off() {
    let mut app = spawn_app_with(&exchange_limit("0", "1")).await;
    let _codes = refuse_codes(&mut app).await;
    for _ in 0..40 {
        assert_passed(&exchange(&app, None).await);
    }
}

#[actix_web::test]
async fn validate_introspect_and_webhooks_are_never_rate_limited() {
    let mut app = spawn_app_with(&exchange_limit("1", "1")).await;
    let _me = app.me_ok("IGT-busy").await;
    let _codes = refuse_codes(&mut app).await;
    let validate_params =
        serde_json::json!({ "params": { "id": BIG_ID, "access_token": "IGT-busy" } });
    let trigger = serde_json::json!({
        "object": { "username": "jay", "authData": { "instagram": { "id": BIG_ID, "access_token": "IGT-busy" } } }
    });
    let exchange_params = serde_json::json!({ "params": { "code": "AQB-hook" } });
    for _ in 0..30 {
        let answer = app.validate(BIG_ID, "IGT-busy").await;
        assert_valid(&answer);

        let answer = app.post_form("/v1/introspect", "token=IGT-busy").await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["active"], true);

        let answer = app
            .webhook("/v1/parse/functions/validate", &validate_params.to_string())
            .await;
        assert_eq!(answer.json()["success"]["valid"], true, "{}", answer.text);

        let answer = app
            .webhook("/v1/parse/triggers/user", &trigger.to_string())
            .await;
        assert_eq!(answer.text, "{}", "a pass");

        // The exchange webhook is called by Parse Server, not by browsers: not limited either.
        let answer = app
            .webhook("/v1/parse/functions/exchange", &exchange_params.to_string())
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let message = answer.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains("authorization code") && !message.contains("Too many"),
            "{}",
            answer.text
        );
    }
}

#[actix_web::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_pick_a_new_bucket() {
    let mut app = spawn_app_with(&TIGHT).await;
    let _codes = refuse_codes(&mut app).await;
    assert_passed(&exchange(&app, Some("203.0.113.1")).await);
    assert_passed(&exchange(&app, Some("203.0.113.2")).await);
    // Every claimed address shares the peer's (127.0.0.1) bucket, which is empty now.
    for xff in ["203.0.113.3", "198.51.100.7, 203.0.113.4", "2001:db8::1"] {
        assert_rate_limited(&exchange(&app, Some(xff)).await);
    }
    assert_rate_limited(&exchange(&app, None).await);
}

/// Clients 203.0.113.1 and .2, forwarded by a trusted proxy, each have their own bucket of two.
async fn assert_own_buckets(app: &TestApp) {
    for client in ["203.0.113.1", "203.0.113.2"] {
        assert_passed(&exchange(app, Some(client)).await);
        assert_passed(&exchange(app, Some(client)).await);
        assert_rate_limited(&exchange(app, Some(client)).await);
    }
}

#[actix_web::test]
async fn forwarded_for_from_a_trusted_proxy_gives_each_client_its_bucket() {
    let mut app = spawn_app_with(&[
        TIGHT[0],
        TIGHT[1],
        ("IGAUTH_LIMITS__TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let _codes = refuse_codes(&mut app).await;
    assert_own_buckets(&app).await;
    // The client is the nearest untrusted hop: an address a client prepends changes nothing.
    assert_rate_limited(&exchange(&app, Some("10.9.9.9, 203.0.113.1")).await);
    // A third client still has its own full bucket.
    assert_passed(&exchange(&app, Some("203.0.113.3")).await);
}

#[actix_web::test]
async fn a_cidr_proxy_seen_through_a_dual_stack_listener_is_trusted() {
    // Bound to [::], the app sees this IPv4 client as ::ffff:127.0.0.1; the trusted range is
    // written in IPv4, as operators write their pod CIDR.
    let mut app = spawn_app_with(&[
        TIGHT[0],
        TIGHT[1],
        ("IGAUTH_SERVER__BIND", "[::]:0"),
        ("IGAUTH_LIMITS__TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.0/8"),
    ])
    .await;
    let _codes = refuse_codes(&mut app).await;
    assert_own_buckets(&app).await;
    // Hops inside a trusted range are skipped: the client is 203.0.113.3 and has a full bucket.
    assert_passed(&exchange(&app, Some("203.0.113.3, 10.4.5.6")).await);
}

#[actix_web::test]
async fn trusted_proxies_that_are_not_addresses_or_ranges_stop_startup() {
    for (entry, says) in [
        ("ingress", "not an IP address"),
        ("10.1.2.3/8", "10.0.0.0/8"),
    ] {
        let err = igauth::settings::Settings::from_sources(igauth::settings::Sources {
            file: None,
            env: Some(vec![(
                "IGAUTH_LIMITS__TRUSTED_PROXIES".into(),
                format!("127.0.0.1, {entry}"),
            )]),
        })
        .unwrap_err();
        assert!(
            err.contains("IGAUTH_LIMITS__TRUSTED_PROXIES") && err.contains(says),
            "{err}"
        );
    }
}
