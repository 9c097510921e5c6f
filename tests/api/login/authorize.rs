//! `GET /v1/authorize`: the redirect to Instagram with a signed state and a binding cookie, the
//! `return_to` allow-list, and the 503 and 429 answers that come before any login starts.

use crate::helpers::login::*;
use crate::helpers::*;

#[actix_web::test]
async fn authorize_sends_the_browser_to_instagram_with_a_signed_state_and_a_binding_cookie() {
    let mut app = spawn_flow(&[]).await;
    let idle = app.instagram_never_called().await;
    let started = start(&app, APP_RETURN).await;
    let q = &started.instagram_query;
    assert_eq!(q["client_id"], "1234567890");
    assert_eq!(q["redirect_uri"], CALLBACK_URL);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "instagram_business_basic");
    assert_eq!(q.len(), 5, "{q:?}");
    assert!(!started.state.contains(APP_RETURN), "the state is encoded");
    assert!(!q.contains_key("client_secret"));

    let set_cookie = started.answer.header("set-cookie").unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        started.cookie.starts_with("__Host-igauth-login-"),
        "{set_cookie}"
    );
    assert_eq!(started.answer.header("cache-control"), Some("no-store"));

    let again = start(&app, APP_RETURN).await;
    assert_ne!(again.state, started.state, "every login gets its own state");
    assert_ne!(again.cookie, started.cookie);
    assert_all(&idle).await;
}

#[actix_web::test]
async fn authorize_with_custom_scopes_keeps_the_authorize_urls_own_query() {
    let app = spawn_flow(&[
        (
            "IGAUTH_INSTAGRAM__AUTHORIZE_URL",
            "https://www.instagram.example/oauth/authorize?force_reauth=true",
        ),
        (
            "IGAUTH_INSTAGRAM__SCOPES",
            "instagram_business_basic,instagram_business_content_publish",
        ),
        (
            "IGAUTH_INSTAGRAM__CALLBACK_URL",
            "http://127.0.0.1:9/v1/callback",
        ),
    ])
    .await;
    let answer = get(
        &app,
        &format!("/v1/authorize?return_to={}&{PKCE}", enc(WEB_RETURN)),
        None,
    )
    .await;
    assert_eq!(answer.status, 302, "{}", answer.text);
    let location = answer.header("location").unwrap();
    let query = location
        .strip_prefix("https://www.instagram.example/oauth/authorize?")
        .unwrap();
    let q = pairs(query);
    assert_eq!(q["force_reauth"], "true");
    assert_eq!(
        q["scope"],
        "instagram_business_basic,instagram_business_content_publish"
    );
    // Over plain http (local development) the cookie cannot be Secure or __Host-.
    let set_cookie = answer.header("set-cookie").unwrap();
    assert!(set_cookie.starts_with("igauth-login-"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
}

#[actix_web::test]
async fn authorize_is_503_until_the_flow_is_configured() {
    for (name, value) in [
        ("IGAUTH_INSTAGRAM__CLIENT_ID", ""),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", ""),
        ("IGAUTH_INSTAGRAM__CALLBACK_URL", ""),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", ""),
        ("IGAUTH_SERVER__STATE_SECRET", ""),
        ("IGAUTH_SERVER__STATE_SECRET", "too-short-to-sign-with"),
    ] {
        let mut app = spawn_flow(&[(name, value)]).await;
        let idle = app.instagram_never_called().await;
        let answer = get(
            &app,
            &format!("/v1/authorize?return_to={}&{PKCE}", enc(APP_RETURN)),
            None,
        )
        .await;
        assert_eq!(answer.status, 503, "{name}={value:?}: {}", answer.text);
        assert_eq!(answer.error_code(), "login_flow_not_configured");
        assert!(
            answer.text.contains(name),
            "names what to set: {}",
            answer.text
        );
        assert!(answer.header("location").is_none());

        // The callback cannot verify anything either: a page, not a redirect.
        let (state, cookie) = signed_state(APP_RETURN, now());
        let answer = callback(&app, &format!("code={CODE}&state={state}"), Some(&cookie)).await;
        assert_eq!(answer.status, 503, "{name}={value:?}");
        assert!(answer.header("location").is_none());
        assert_all(&idle).await;
    }
}

#[actix_web::test]
async fn foreign_return_to_is_refused_with_no_redirect() {
    let mut app = spawn_flow(&[(
        "IGAUTH_INSTAGRAM__RETURN_URLS",
        "myapp://auth,https://app.example",
    )])
    .await;
    let idle = app.instagram_never_called().await;
    for foreign in [
        "https://evil.example/",
        "https://app.example.evil.com",
        "https://app.example.evil.com/done",
        "https://app.example@evil.com",
        "https://app.example:444",
        "http://app.example",
        "myapp://authx",
        "myapp://auth.evil.com",
        "otherapp://auth",
        "//evil.example",
        "javascript:alert(1)//https://app.example",
    ] {
        let answer = get(
            &app,
            &format!("/v1/authorize?return_to={}&{PKCE}", enc(foreign)),
            None,
        )
        .await;
        assert_eq!(answer.status, 400, "{foreign}: {}", answer.text);
        assert_eq!(answer.error_code(), "return_to_not_allowed", "{foreign}");
        assert!(answer.header("location").is_none(), "{foreign}");
        assert!(answer.header("set-cookie").is_none(), "{foreign}");
    }
    for (query, code) in [
        ("", "invalid_request"),
        ("return_to=", "invalid_request"),
        (
            "return_to=https%3A%2F%2Fapp.example%2F%0D%0ASet-Cookie%3Ax",
            "invalid_request",
        ),
        // A fragment could plant a result ahead of ours, so none is accepted.
        (
            "return_to=https%3A%2F%2Fapp.example%23%2Flogin",
            "invalid_request",
        ),
    ] {
        let answer = get(&app, &format!("/v1/authorize?{query}&{PKCE}"), None).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        assert_eq!(answer.error_code(), code, "{query}");
    }
    for allowed in [
        "myapp://auth",
        "myapp://auth/ig?app_state=xyz",
        "https://app.example",
        "https://app.example/",
        "https://app.example/login/done?next=%2Fhome",
    ] {
        let answer = get(
            &app,
            &format!("/v1/authorize?return_to={}&{PKCE}", enc(allowed)),
            None,
        )
        .await;
        assert_eq!(answer.status, 302, "{allowed}: {}", answer.text);
    }
    let answer = browser()
        .post(app.url("/v1/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 405);
    assert_all(&idle).await;
}

#[actix_web::test]
async fn authorize_and_callback_are_rate_limited_per_client() {
    let app = spawn_flow(&[
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "1"),
        ("IGAUTH_LIMITS__EXCHANGE_BURST", "1"),
    ])
    .await;
    let _ = start(&app, APP_RETURN).await;
    let answer = get(
        &app,
        &format!("/v1/authorize?return_to={}&{PKCE}", enc(APP_RETURN)),
        None,
    )
    .await;
    assert_envelope(&answer, 429, "rate_limited");
    let answer = callback(&app, "code=x&state=y", None).await;
    assert_eq!(answer.status, 429);
    assert!(answer.header("retry-after").is_some());
    assert!(answer.header("location").is_none());
}
