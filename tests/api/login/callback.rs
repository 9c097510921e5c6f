//! `GET /v1/callback`: where a login ends. The code exchange and its outcomes, consent errors, and
//! the state checks (tampering, expiry, replay, the binding cookie).

use crate::helpers::login::*;
use crate::helpers::*;

#[actix_web::test]
async fn a_login_ends_at_the_app_with_the_result_in_the_fragment() {
    let mut app = spawn_flow(&[]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let me = app.mock_me(SHORT_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let started = start(&app, APP_RETURN).await;

    // Instagram appends `#_`; a client that forwards it along must not break the exchange.
    let query = format!("code={}&state={}", enc(&format!("{CODE}#_")), started.state);
    let answer = callback(&app, &query, Some(&started.cookie)).await;
    assert_clean(&answer);
    let (target, result) = landed(&app, &answer).await;
    assert_eq!(target, APP_RETURN, "nothing in the query string");
    assert_eq!(result["id"], BIG_ID, "exact 64-bit id from /me");
    assert_eq!(result["access_token"], SHORT_TOKEN);
    assert_eq!(result["username"], "jay");
    assert!(
        !result.contains_key("expires_in"),
        "short-lived: unknown lifetime"
    );
    let deleted = answer.header("set-cookie").expect("the cookie is cleared");
    assert!(deleted.starts_with(&format!("{}=;", started.cookie.split('=').next().unwrap())));
    assert!(deleted.contains("Max-Age=0"), "{deleted}");
    assert_all(&[exchange, me]).await;
}

#[actix_web::test]
async fn a_web_return_target_keeps_its_query() {
    let mut app = spawn_flow(&[]).await;
    let _exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let _me = app.mock_me(SHORT_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let return_to = "https://app.example/done?next=%2Fhome";
    let answer = log_in_with_code(&app, return_to).await;
    assert_clean(&answer);
    let (target, result) = landed(&app, &answer).await;
    assert_eq!(target, "https://app.example/done?next=%2Fhome");
    assert_eq!(result["id"], BIG_ID);
    assert_eq!(result["access_token"], SHORT_TOKEN);
}

#[actix_web::test]
async fn with_long_lived_on_the_callback_returns_a_60_day_token() {
    let mut app = spawn_flow(&[("IGAUTH_INSTAGRAM__LONG_LIVED", "true")]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let long = mock_long_lived(&mut app, 200, &long_grant(LONG_TOKEN)).await;
    // /me is asked about the short-lived token, at the same time as the long-lived exchange.
    let me = app.mock_me(SHORT_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let answer = log_in_with_code(&app, WEB_RETURN).await;
    assert_clean(&answer);
    let (target, result) = landed(&app, &answer).await;
    assert_eq!(target, WEB_RETURN);
    assert_eq!(result["access_token"], LONG_TOKEN);
    assert_eq!(result["expires_in"], LONG_LIVED_SECS);
    assert_eq!(result["id"], BIG_ID);
    assert_all(&[exchange, long, me]).await;
}

#[actix_web::test]
async fn a_refused_long_lived_exchange_ends_at_the_app_with_an_error() {
    let mut app = spawn_flow(&[("IGAUTH_INSTAGRAM__LONG_LIVED", "true")]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let long = mock_long_lived(&mut app, 400, INVALID_TOKEN_BODY).await;
    let answer = log_in_with_code(&app, APP_RETURN).await;
    let (target, result) = landing(&answer);
    assert_eq!(target, APP_RETURN);
    assert_eq!(result["error"], "invalid_token");
    assert!(!result.contains_key("access_token"));
    assert_all(&[exchange, long]).await;
}

#[actix_web::test]
async fn denied_consent_ends_at_the_app_with_access_denied() {
    let mut app = spawn_flow(&[]).await;
    let idle = app.instagram_never_called().await;
    let started = start(&app, APP_RETURN).await;
    let query = format!(
        "error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+request.&state={}",
        started.state
    );
    let answer = callback(&app, &query, Some(&started.cookie)).await;
    let (target, result) = landing(&answer);
    assert_eq!(target, APP_RETURN);
    assert_eq!(result["error"], "access_denied");
    assert!(
        result["error_description"].contains("declined"),
        "{result:?}"
    );
    assert!(!result.contains_key("access_token"));
    assert_all(&idle).await;
}

#[actix_web::test]
async fn instagram_error_text_is_never_reflected_to_the_app() {
    let app = spawn_flow(&[]).await;
    let started = start(&app, APP_RETURN).await;
    let query = format!(
        "error=%3Cscript%3Ex&error_description=%3Cb%3Ephish%3C%2Fb%3E&state={}",
        started.state
    );
    let answer = callback(&app, &query, Some(&started.cookie)).await;
    let (_, result) = landing(&answer);
    assert_eq!(result["error"], "server_error");
    assert!(!answer.header("location").unwrap().contains("phish"));
}

#[actix_web::test]
async fn a_used_code_ends_at_the_app_with_invalid_code() {
    let mut app = spawn_flow(&[]).await;
    let exchange = mock_code_exchange(&mut app, 400, USED_CODE_BODY).await;
    let answer = log_in_with_code(&app, APP_RETURN).await;
    let (target, result) = landing(&answer);
    assert_eq!(target, APP_RETURN);
    assert_eq!(result["error"], "invalid_code");
    assert!(
        result["error_description"].contains("already used"),
        "{result:?}"
    );
    assert_all(&[exchange]).await;
}

#[actix_web::test]
async fn upstream_trouble_ends_at_the_app_with_an_upstream_error() {
    let mut app = spawn_flow(&[]).await;
    let exchange = mock_code_exchange(&mut app, 500, "<html>oops</html>").await;
    let answer = log_in_with_code(&app, APP_RETURN).await;
    let (_, result) = landing(&answer);
    assert_eq!(result["error"], "upstream_error");
    assert!(!result["error_description"].contains("http"), "{result:?}");
    assert_all(&[exchange]).await;
}

#[actix_web::test]
async fn a_callback_with_neither_code_nor_error_ends_at_the_app() {
    let mut app = spawn_flow(&[]).await;
    let idle = app.instagram_never_called().await;
    let started = start(&app, APP_RETURN).await;
    let answer = callback(
        &app,
        &format!("state={}", started.state),
        Some(&started.cookie),
    )
    .await;
    let (_, result) = landing(&answer);
    assert_eq!(result["error"], "invalid_request");
    assert_all(&idle).await;
}

// --- the state: tampering, expiry, replay, browser binding -----------------------------------

#[actix_web::test]
async fn a_tampered_state_gets_an_error_page_and_no_redirect() {
    let mut app = spawn_flow(&[]).await;
    let idle = app.instagram_never_called().await;
    let started = start(&app, APP_RETURN).await;
    let (payload, tag) = started.state.split_once('.').unwrap();
    let flip = |s: &str, at: usize| {
        let mut bytes = s.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let forged = [
        format!("{}.{tag}", flip(payload, 3)),
        format!("{}.{tag}", flip(payload, payload.len() - 2)),
        format!("{payload}.{}", flip(tag, 0)),
        format!("{payload}.{}", flip(tag, tag.len() - 1)),
        format!("{payload}."),
        payload.to_string(),
        signed_with_another_secret(),
        "not-a-state".into(),
        String::new(),
    ];
    for state in &forged {
        let answer = callback(
            &app,
            &format!("code={CODE}&state={}", enc(state)),
            Some(&started.cookie),
        )
        .await;
        assert_error_page(&answer);
    }
    let answer = callback(&app, &format!("code={CODE}"), Some(&started.cookie)).await;
    assert_error_page(&answer);
    // Denials with a forged state do not redirect either.
    let answer = callback(
        &app,
        &format!("error=access_denied&state={}", enc(&forged[0])),
        None,
    )
    .await;
    assert_error_page(&answer);
    assert_all(&idle).await;
}

#[actix_web::test]
async fn an_expired_state_ends_at_the_app_with_expired_state() {
    let mut app = spawn_flow(&[]).await;
    let idle = app.instagram_never_called().await;
    let (state, cookie) = signed_state(APP_RETURN, now() - 601);
    let answer = callback(&app, &format!("code={CODE}&state={state}"), Some(&cookie)).await;
    let (target, result) = landing(&answer);
    assert_eq!(target, APP_RETURN);
    assert_eq!(result["error"], "expired_state");
    assert_all(&idle).await;
}

#[actix_web::test]
async fn a_replayed_state_is_refused_and_the_code_is_not_exchanged_twice() {
    let mut app = spawn_flow(&[]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let me = app.mock_me(SHORT_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let started = start(&app, APP_RETURN).await;
    let query = format!("code={CODE}&state={}", started.state);
    let first = callback(&app, &query, Some(&started.cookie)).await;
    assert_eq!(landed(&app, &first).await.1["access_token"], SHORT_TOKEN);

    let again = callback(&app, &query, Some(&started.cookie)).await;
    let (target, result) = landing(&again);
    assert_eq!(target, APP_RETURN);
    assert_eq!(result["error"], "invalid_state");
    assert!(
        result["error_description"].contains("already"),
        "{result:?}"
    );
    assert!(!again.header("location").unwrap().contains(SHORT_TOKEN));
    assert_all(&[exchange, me]).await;
}

#[actix_web::test]
async fn concurrent_uses_of_one_state_exchange_the_code_once() {
    let mut app = spawn_flow(&[]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let _me = app.mock_me(SHORT_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let started = start(&app, APP_RETURN).await;
    let query = format!("code={CODE}&state={}", started.state);
    let answers = futures_util::future::join_all(
        (0..8).map(|_| callback(&app, &query, Some(&started.cookie))),
    )
    .await;
    let won = answers
        .iter()
        .filter(|a| landing(a).1.contains_key("code"))
        .count();
    assert_eq!(won, 1);
    assert_all(&[exchange]).await;
}

#[actix_web::test]
async fn a_callback_from_a_browser_that_did_not_start_the_login_is_refused() {
    // Login CSRF: someone starts a login, consents with their own account, and sends the
    // callback link to a victim. The victim's browser lacks the cookie, so nothing is exchanged,
    // and the attempt does not use up the state either.
    let mut app = spawn_flow(&[]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let me = app.mock_me(SHORT_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let idle = app.instagram_never_called().await;
    let started = start(&app, APP_RETURN).await;
    let query = format!("code={CODE}&state={}", started.state);
    let other_login = start(&app, APP_RETURN).await;
    let (name, _) = started.cookie.split_once('=').unwrap();
    let empty = format!("{name}=");
    for cookie in [
        None,
        Some(other_login.cookie.as_str()),
        Some("__Host-igauth-login-=1"),
        Some(empty.as_str()),
    ] {
        let answer = callback(&app, &query, cookie).await;
        let (target, result) = landing(&answer);
        assert_eq!(target, APP_RETURN);
        assert_eq!(result["error"], "invalid_state", "{cookie:?}");
        assert!(
            result["error_description"].contains("not started in this browser"),
            "{result:?}"
        );
    }

    // The browser that started it still can finish it.
    let cookies = format!("theme=dark; {}; other=1", started.cookie);
    let answer = callback(&app, &query, Some(&cookies)).await;
    assert_eq!(landed(&app, &answer).await.1["access_token"], SHORT_TOKEN);
    assert_all(&[exchange, me]).await;
    assert_all(&idle).await;
}

#[actix_web::test]
async fn a_signed_state_for_a_target_no_longer_allowed_gets_an_error_page() {
    // Even a state we signed cannot send anyone to a target the allow-list does not (or no
    // longer) name: the allow-list is checked again on the way back.
    let mut app = spawn_flow(&[]).await;
    let idle = app.instagram_never_called().await;
    for (state, cookie) in [
        signed_state("https://evil.example/steal", now()),
        signed_state("https://evil.example/steal", now() - 601),
    ] {
        for query in [
            format!("code={CODE}&state={state}"),
            format!("error=access_denied&state={state}"),
        ] {
            let answer = callback(&app, &query, Some(&cookie)).await;
            assert_error_page(&answer);
        }
    }
    assert_all(&idle).await;
}
