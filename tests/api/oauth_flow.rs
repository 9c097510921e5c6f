//! The login flow (issue 7): `/v1/authorize`, `/v1/callback`, `/v1/refresh`, `/v1/demo`.
//!
//! Every redirect is read, never followed. Besides what each test checks, every answer goes
//! through [`assert_clean`]: no client secret, state secret, code or Instagram token anywhere in
//! a `Location` header or a body, except the user's own token in the fragment of the final
//! redirect to their own app.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use igauth::domain::{LoginStates, ReturnTo};
use igauth::settings::Secret;
use mockito::Matcher;

use crate::helpers::{
    assert_all, grant_body, me_body, spawn_app_with, Answer, ChildApp, Exited, TestApp, BIG_ID,
    CLIENT_SECRET, INVALID_TOKEN_BODY,
};

const STATE_SECRET: &str = "test-state-secret-0123456789abcdef0123";
const CALLBACK_URL: &str = "https://igauth.example/v1/callback";
const AUTHORIZE_URL: &str = "https://www.instagram.example/oauth/authorize";
const APP_RETURN: &str = "myapp://auth";
const WEB_RETURN: &str = "https://app.example/done";
const RETURN_URLS: &str = "myapp://auth, https://app.example/done";
const CODE: &str = "AQB-flow-code-4f1d2e";
const SHORT_TOKEN: &str = "IGAA-flow-short-9b8c7d";
const LONG_TOKEN: &str = "IGAA-flow-long-3e2f1a";
const REFRESHED_TOKEN: &str = "IGAA-flow-refreshed-6a5b4c";
const LONG_LIVED_SECS: &str = "5183944";

/// Everything the flow needs, rate limits off (tests drive many logins from one IP).
fn flow_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("IGAUTH_SERVER__STATE_SECRET", STATE_SECRET),
        ("IGAUTH_INSTAGRAM__CALLBACK_URL", CALLBACK_URL),
        ("IGAUTH_INSTAGRAM__AUTHORIZE_URL", AUTHORIZE_URL),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", RETURN_URLS),
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0"),
    ]
}

async fn spawn_flow(extra: &[(&str, &str)]) -> TestApp {
    let mut env = flow_env();
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// A client that shows redirects instead of following them.
fn browser() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish()
}

async fn get(app: &TestApp, path_and_query: &str, cookie: Option<&str>) -> Answer {
    let mut req = browser().get(app.url(path_and_query));
    if let Some(cookie) = cookie {
        req = req.insert_header(("Cookie", cookie));
    }
    let answer = Answer::read(req.send().await.expect("app answers")).await;
    // The user's own tokens may be in the fragment of a redirect; tests that know which one
    // check again with exactly that one.
    assert_clean(&answer, &[SHORT_TOKEN, LONG_TOKEN]);
    answer
}

fn enc(value: &str) -> String {
    serde_urlencoded::to_string([("", value)]).unwrap()[1..].to_string()
}

fn pairs(encoded: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(encoded)
        .unwrap()
        .into_iter()
        .collect()
}

/// Secrets must not appear in any Location or body; `allowed` are the user's own tokens, which
/// may appear only in the fragment of a redirect.
fn assert_clean(answer: &Answer, allowed: &[&str]) {
    let never = [CLIENT_SECRET, STATE_SECRET, CODE];
    let tokens = [SHORT_TOKEN, LONG_TOKEN, REFRESHED_TOKEN];
    let location = answer.header("location").unwrap_or("");
    let (before_fragment, fragment) = location.split_once('#').unwrap_or((location, ""));
    for secret in never {
        assert!(
            !location.contains(secret),
            "{secret} in Location {location}"
        );
        assert!(
            !answer.text.contains(secret),
            "{secret} in body {}",
            answer.text
        );
    }
    for token in tokens {
        assert!(
            !before_fragment.contains(token),
            "{token} outside the fragment: {location}"
        );
        if !allowed.contains(&token) {
            assert!(!fragment.contains(token), "{token} in {location}");
        }
        // Tokens go in bodies only as the JSON answer of /v1/refresh and /v1/exchange.
        if !answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
        {
            assert!(!answer.text.contains(token), "{token} in a page");
        }
    }
    for cookie in answer.headers.get_all("set-cookie") {
        let cookie = cookie.to_str().unwrap();
        for secret in never.iter().chain(tokens.iter()) {
            assert!(!cookie.contains(secret), "{secret} in Set-Cookie {cookie}");
        }
    }
}

/// A started login: the state sent to Instagram and the cookie the browser got.
struct Started {
    state: String,
    cookie: String,
    instagram_query: HashMap<String, String>,
    answer: Answer,
}

async fn start(app: &TestApp, return_to: &str) -> Started {
    let answer = get(
        app,
        &format!("/v1/authorize?return_to={}", enc(return_to)),
        None,
    )
    .await;
    assert_eq!(answer.status, 302, "{}", answer.text);
    let location = answer.header("location").expect("a Location").to_string();
    let query = location
        .strip_prefix(&format!("{AUTHORIZE_URL}?"))
        .unwrap_or_else(|| panic!("not Instagram's authorize URL: {location}"));
    let instagram_query = pairs(query);
    let cookie = answer
        .header("set-cookie")
        .expect("a binding cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    Started {
        state: instagram_query["state"].clone(),
        cookie,
        instagram_query,
        answer,
    }
}

async fn callback(app: &TestApp, query: &str, cookie: Option<&str>) -> Answer {
    get(app, &format!("/v1/callback?{query}"), cookie).await
}

/// `(target before '#', fragment pairs)` of a redirect.
fn landing(answer: &Answer) -> (String, HashMap<String, String>) {
    assert_eq!(answer.status, 302, "{}", answer.text);
    let location = answer.header("location").expect("a Location");
    let (target, fragment) = location
        .split_once('#')
        .unwrap_or_else(|| panic!("no fragment in {location}"));
    (target.to_string(), pairs(fragment))
}

fn assert_error_page(answer: &Answer) {
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.header("location").is_none(), "no redirect at all");
    assert!(answer
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    assert!(answer.text.contains("<h1>"), "{}", answer.text);
    for target in [APP_RETURN, WEB_RETURN, "evil"] {
        assert!(!answer.text.contains(target), "{}", answer.text);
    }
}

async fn mock_code_exchange(app: &mut TestApp, status: usize, body: &str) -> mockito::Mock {
    app.instagram
        .mock("POST", "/oauth/access_token")
        .match_body(Matcher::AllOf(vec![
            Matcher::UrlEncoded("client_id".into(), "1234567890".into()),
            Matcher::UrlEncoded("client_secret".into(), CLIENT_SECRET.into()),
            Matcher::UrlEncoded("grant_type".into(), "authorization_code".into()),
            Matcher::UrlEncoded("redirect_uri".into(), CALLBACK_URL.into()),
            Matcher::UrlEncoded("code".into(), CODE.into()),
        ]))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body)
        .expect(1)
        .create_async()
        .await
}

fn short_grant() -> String {
    grant_body(SHORT_TOKEN)
}

async fn mock_long_lived(app: &mut TestApp, status: usize, body: &str) -> mockito::Mock {
    app.instagram
        .mock("GET", "/access_token")
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("grant_type".into(), "ig_exchange_token".into()),
            Matcher::UrlEncoded("client_secret".into(), CLIENT_SECRET.into()),
            Matcher::UrlEncoded("access_token".into(), SHORT_TOKEN.into()),
        ]))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body)
        .expect(1)
        .create_async()
        .await
}

fn long_grant(token: &str) -> String {
    format!(r#"{{"access_token":"{token}","token_type":"bearer","expires_in":{LONG_LIVED_SECS}}}"#)
}

const USED_CODE_BODY: &str = r#"{"error_type":"OAuthException","code":400,"error_message":"This authorization code has been used"}"#;
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A state signed with the server's secret, as the server would have issued it at `issued_at`
/// for `return_to` (which need not be allowed now).
fn signed_state(return_to: &str, issued_at: u64) -> (String, String) {
    let states = LoginStates::new(&Secret::new(STATE_SECRET));
    let target = ReturnTo::parse(return_to, &[return_to.to_string()]).unwrap();
    let issued = states.issue_at(&target, issued_at).unwrap();
    let cookie = format!("__Host-igauth-login-{}=1", issued.nonce.id());
    (issued.value, cookie)
}

// --- /v1/authorize ---------------------------------------------------------------------------

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
        &format!("/v1/authorize?return_to={}", enc(WEB_RETURN)),
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
            &format!("/v1/authorize?return_to={}", enc(APP_RETURN)),
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
            &format!("/v1/authorize?return_to={}", enc(foreign)),
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
    ] {
        let answer = get(&app, &format!("/v1/authorize?{query}"), None).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        assert_eq!(answer.error_code(), code, "{query}");
    }
    for allowed in [
        "myapp://auth",
        "myapp://auth/ig?app_state=xyz",
        "https://app.example",
        "https://app.example/",
        "https://app.example/login/done?next=%2Fhome",
        "https://app.example#/login",
    ] {
        let answer = get(
            &app,
            &format!("/v1/authorize?return_to={}", enc(allowed)),
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
        &format!("/v1/authorize?return_to={}", enc(APP_RETURN)),
        None,
    )
    .await;
    assert_eq!(answer.status, 429, "{}", answer.text);
    assert_eq!(answer.error_code(), "rate_limited");
    let answer = callback(&app, "code=x&state=y", None).await;
    assert_eq!(answer.status, 429);
    assert!(answer.header("retry-after").is_some());
    assert!(answer.header("location").is_none());
}

// --- /v1/callback ----------------------------------------------------------------------------

#[actix_web::test]
async fn a_login_ends_at_the_app_with_the_result_in_the_fragment() {
    let mut app = spawn_flow(&[]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let me = app.mock_me(SHORT_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let started = start(&app, APP_RETURN).await;

    // Instagram appends `#_`; a client that forwards it along must not break the exchange.
    let query = format!("code={}&state={}", enc(&format!("{CODE}#_")), started.state);
    let answer = callback(&app, &query, Some(&started.cookie)).await;
    assert_clean(&answer, &[SHORT_TOKEN]);
    let (target, result) = landing(&answer);
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
async fn a_web_return_target_keeps_its_query_and_fragment() {
    let mut app = spawn_flow(&[]).await;
    let _exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let _me = app.mock_me(SHORT_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let return_to = "https://app.example/done?next=%2Fhome#/welcome";
    let started = start(&app, return_to).await;
    let answer = callback(
        &app,
        &format!("code={CODE}&state={}", started.state),
        Some(&started.cookie),
    )
    .await;
    assert_clean(&answer, &[SHORT_TOKEN]);
    let location = answer.header("location").unwrap();
    let prefix = "https://app.example/done?next=%2Fhome#/welcome&";
    assert!(location.starts_with(prefix), "{location}");
    let result = pairs(&location[prefix.len()..]);
    assert_eq!(result["id"], BIG_ID);
    assert_eq!(result["access_token"], SHORT_TOKEN);
}

#[actix_web::test]
async fn with_long_lived_on_the_callback_returns_a_60_day_token() {
    let mut app = spawn_flow(&[("IGAUTH_INSTAGRAM__LONG_LIVED", "true")]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let long = mock_long_lived(&mut app, 200, &long_grant(LONG_TOKEN)).await;
    let me = app.mock_me(LONG_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let started = start(&app, WEB_RETURN).await;
    let answer = callback(
        &app,
        &format!("code={CODE}&state={}", started.state),
        Some(&started.cookie),
    )
    .await;
    assert_clean(&answer, &[LONG_TOKEN]);
    let (target, result) = landing(&answer);
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
    let started = start(&app, APP_RETURN).await;
    let answer = callback(
        &app,
        &format!("code={CODE}&state={}", started.state),
        Some(&started.cookie),
    )
    .await;
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
    let started = start(&app, APP_RETURN).await;
    let answer = callback(
        &app,
        &format!("code={CODE}&state={}", started.state),
        Some(&started.cookie),
    )
    .await;
    let (target, result) = landing(&answer);
    assert_eq!(target, APP_RETURN);
    assert_eq!(result["error"], "invalid_code");
    assert!(
        result["error_description"].contains("has been used"),
        "{result:?}"
    );
    assert_all(&[exchange]).await;
}

#[actix_web::test]
async fn upstream_trouble_ends_at_the_app_with_an_upstream_error() {
    let mut app = spawn_flow(&[]).await;
    let exchange = mock_code_exchange(&mut app, 500, "<html>oops</html>").await;
    let started = start(&app, APP_RETURN).await;
    let answer = callback(
        &app,
        &format!("code={CODE}&state={}", started.state),
        Some(&started.cookie),
    )
    .await;
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

// --- the state: tampering, expiry, replay, browser binding ------------------------------------

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

fn signed_with_another_secret() -> String {
    let states = LoginStates::new(&Secret::new("someone-elses-secret-0123456789abcdef"));
    let target = ReturnTo::parse("https://evil.example", &["https://evil.example".into()]).unwrap();
    states.issue_at(&target, now()).unwrap().value
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
    assert_eq!(landing(&first).1["access_token"], SHORT_TOKEN);

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
        .filter(|a| landing(a).1.contains_key("access_token"))
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
    assert_eq!(landing(&answer).1["access_token"], SHORT_TOKEN);
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

// --- /v1/exchange with long_lived, and /v1/refresh --------------------------------------------

#[actix_web::test]
async fn exchange_with_long_lived_answers_the_long_token_and_its_lifetime() {
    let mut app = spawn_flow(&[("IGAUTH_INSTAGRAM__REDIRECT_URIS", CALLBACK_URL)]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let long = mock_long_lived(&mut app, 200, &long_grant(LONG_TOKEN)).await;
    let me = app.mock_me(LONG_TOKEN, 200, &me_body(BIG_ID, "jay")).await;
    let answer = app
        .post_json(
            "/v1/exchange",
            &format!(r#"{{"code":"{CODE}","long_lived":true}}"#),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["access_token"], LONG_TOKEN);
    assert_eq!(body["expires_in"], 5183944);
    assert_eq!(body["authData"]["instagram"]["access_token"], LONG_TOKEN);
    assert_eq!(body["authData"]["instagram"]["id"], BIG_ID);
    assert!(!answer.text.contains(SHORT_TOKEN));
    assert_all(&[exchange, long, me]).await;
}

#[actix_web::test]
async fn exchange_with_a_refused_long_lived_step_is_invalid_token() {
    let mut app = spawn_flow(&[("IGAUTH_INSTAGRAM__REDIRECT_URIS", CALLBACK_URL)]).await;
    let exchange = mock_code_exchange(&mut app, 200, &short_grant()).await;
    let long = mock_long_lived(&mut app, 400, INVALID_TOKEN_BODY).await;
    let answer = app
        .post_json(
            "/v1/exchange",
            &format!(r#"{{"code":"{CODE}","long_lived":true}}"#),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.error_code(), "invalid_token");
    assert!(!answer.text.contains(SHORT_TOKEN));
    assert_all(&[exchange, long]).await;
}

async fn mock_refresh(app: &mut TestApp, status: usize, body: &str) -> mockito::Mock {
    app.instagram
        .mock("GET", "/refresh_access_token")
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("grant_type".into(), "ig_refresh_token".into()),
            Matcher::UrlEncoded("access_token".into(), LONG_TOKEN.into()),
        ]))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body)
        .expect(1)
        .create_async()
        .await
}

async fn post_refresh(app: &TestApp, content_type: &str, body: &str) -> Answer {
    let res = browser()
        .post(app.url("/v1/refresh"))
        .insert_header(("Content-Type", content_type))
        .send_body(body.to_string())
        .await
        .expect("app answers");
    let answer = Answer::read(res).await;
    assert_clean(&answer, &[]);
    answer
}

#[actix_web::test]
async fn refresh_answers_a_new_long_lived_token() {
    let mut app = spawn_flow(&[]).await;
    let refresh = mock_refresh(&mut app, 200, &long_grant(REFRESHED_TOKEN)).await;
    let answer = post_refresh(
        &app,
        "application/json",
        &format!(r#"{{"access_token":"{LONG_TOKEN}"}}"#),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "access_token": REFRESHED_TOKEN,
            "expires_in": 5183944,
            "token_type": "bearer",
        })
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_all(&[refresh]).await;
}

#[actix_web::test]
async fn refresh_accepts_a_form_body_too() {
    let mut app = spawn_flow(&[]).await;
    let refresh = mock_refresh(&mut app, 200, &long_grant(REFRESHED_TOKEN)).await;
    let answer = post_refresh(
        &app,
        "application/x-www-form-urlencoded",
        &format!("access_token={LONG_TOKEN}"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["access_token"], REFRESHED_TOKEN);
    assert_all(&[refresh]).await;
}

#[actix_web::test]
async fn refresh_of_a_refused_token_is_invalid_token() {
    let mut app = spawn_flow(&[]).await;
    let refresh = mock_refresh(&mut app, 400, INVALID_TOKEN_BODY).await;
    let answer = post_refresh(
        &app,
        "application/json",
        &format!(r#"{{"access_token":"{LONG_TOKEN}"}}"#),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.error_code(), "invalid_token");
    assert!(!answer.text.contains(LONG_TOKEN));
    assert_all(&[refresh]).await;
}

#[actix_web::test]
async fn refresh_when_instagram_fails_is_a_5xx_not_a_verdict() {
    for (status, body, want, code) in [
        (500, "<html>oops</html>", 502, "upstream_error"),
        (
            400,
            r#"{"error":{"message":"Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"x"}}"#,
            503,
            "upstream_rate_limited",
        ),
    ] {
        let mut app = spawn_flow(&[]).await;
        let refresh = mock_refresh(&mut app, status, body).await;
        let answer = post_refresh(
            &app,
            "application/json",
            &format!(r#"{{"access_token":"{LONG_TOKEN}"}}"#),
        )
        .await;
        assert_eq!(answer.status, want, "{}", answer.text);
        assert_eq!(answer.error_code(), code);
        assert_all(&[refresh]).await;
    }
}

#[actix_web::test]
async fn refresh_timeout_is_504() {
    let mut app = spawn_flow(&[("IGAUTH_INSTAGRAM__TIMEOUT_MS", "200")]).await;
    let _slow = app
        .instagram
        .mock("GET", "/refresh_access_token")
        .match_query(Matcher::Any)
        .with_chunked_body(|w| {
            std::thread::sleep(Duration::from_millis(800));
            w.write_all(b"{}")
        })
        .create_async()
        .await;
    let answer = post_refresh(
        &app,
        "application/json",
        &format!(r#"{{"access_token":"{LONG_TOKEN}"}}"#),
    )
    .await;
    assert_eq!(answer.status, 504, "{}", answer.text);
    assert_eq!(answer.error_code(), "upstream_timeout");
}

#[actix_web::test]
async fn refresh_refuses_bad_requests_without_calling_instagram() {
    let mut app = spawn_flow(&[]).await;
    let idle = app.instagram_never_called().await;
    for (content_type, body, status, code) in [
        ("application/json", "{}", 400, "invalid_request"),
        (
            "application/json",
            r#"{"access_token":""}"#,
            400,
            "invalid_request",
        ),
        (
            "application/json",
            r#"{"access_token":42}"#,
            400,
            "invalid_request",
        ),
        (
            "application/json",
            r#"{"access_token":"a b"}"#,
            400,
            "invalid_request",
        ),
        ("application/json", "[1]", 400, "invalid_request"),
        ("application/json", "{", 400, "invalid_request"),
        (
            "text/plain",
            "access_token=x",
            415,
            "unsupported_media_type",
        ),
    ] {
        let answer = post_refresh(&app, content_type, body).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
        assert_eq!(answer.error_code(), code, "{body}");
    }
    let answer = browser().get(app.url("/v1/refresh")).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 405);
    assert_all(&idle).await;
}

// --- /v1/demo --------------------------------------------------------------------------------

#[actix_web::test]
async fn the_demo_page_is_off_unless_enabled() {
    let app = spawn_flow(&[]).await;
    let answer = get(&app, "/v1/demo", None).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.error_code(), "not_found");
}

#[actix_web::test]
async fn the_demo_page_runs_its_own_script_under_a_strict_policy() {
    let app = spawn_flow(&[("IGAUTH_SERVER__DEMO", "true")]).await;
    let answer = get(&app, "/v1/demo", None).await;
    assert_eq!(answer.status, 200);
    assert!(answer
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    assert!(answer.text.contains(r#"id="login""#));
    assert!(answer.text.contains(r#"id="result""#));
    assert!(answer.text.contains("authorize?return_to="));
    let csp: Vec<_> = answer.headers.get_all("content-security-policy").collect();
    assert_eq!(csp.len(), 1, "one policy, the page's own: {csp:?}");
    let csp = csp[0].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(csp.contains("style-src 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    for secret in [CLIENT_SECRET, STATE_SECRET, "1234567890"] {
        assert!(!answer.text.contains(secret));
    }
    // Everything else keeps the global policy.
    let other = get(&app, "/healthz", None).await;
    assert_eq!(
        other.header("content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
}

// --- logs --------------------------------------------------------------------------------------

/// The binary at `RUST_LOG=trace`, through a whole login, a denial, a used code, a forged state
/// and refreshes: no code, token, state or secret in its output, only method, path and status.
#[actix_web::test]
async fn the_login_flow_logs_nothing_but_method_path_and_status() {
    let mut ig = mockito::Server::new_async().await;
    let code_used = "AQB-flow-used-7c6d5e";
    let mut mocks = vec![
        ig.mock("POST", "/oauth/access_token")
            .match_body(Matcher::UrlEncoded("code".into(), CODE.into()))
            .with_status(200)
            .with_body(short_grant())
            .create_async()
            .await,
        ig.mock("POST", "/oauth/access_token")
            .match_body(Matcher::UrlEncoded("code".into(), code_used.into()))
            .with_status(400)
            .with_body(USED_CODE_BODY)
            .create_async()
            .await,
        ig.mock("GET", "/access_token")
            .match_query(Matcher::UrlEncoded(
                "access_token".into(),
                SHORT_TOKEN.into(),
            ))
            .with_status(200)
            .with_body(long_grant(LONG_TOKEN))
            .create_async()
            .await,
        ig.mock("GET", "/me")
            .match_query(Matcher::UrlEncoded(
                "access_token".into(),
                LONG_TOKEN.into(),
            ))
            .with_status(200)
            .with_body(me_body(BIG_ID, "jay"))
            .create_async()
            .await,
    ];
    mocks.push(
        ig.mock("GET", "/refresh_access_token")
            .match_query(Matcher::UrlEncoded(
                "access_token".into(),
                LONG_TOKEN.into(),
            ))
            .with_status(200)
            .with_body(long_grant(REFRESHED_TOKEN))
            .create_async()
            .await,
    );
    mocks.push(
        ig.mock("GET", "/refresh_access_token")
            .match_query(Matcher::UrlEncoded(
                "access_token".into(),
                SHORT_TOKEN.into(),
            ))
            .with_status(400)
            .with_body(INVALID_TOKEN_BODY)
            .create_async()
            .await,
    );

    let url = ig.url();
    let child = ChildApp::spawn(&[
        ("RUST_LOG", "trace"),
        ("IGAUTH_SERVER__WORKERS", "1"),
        ("IGAUTH_INSTAGRAM__API_URL", &url),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", &url),
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "1234567890"),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        ("IGAUTH_INSTAGRAM__CALLBACK_URL", CALLBACK_URL),
        ("IGAUTH_INSTAGRAM__AUTHORIZE_URL", AUTHORIZE_URL),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", RETURN_URLS),
        ("IGAUTH_INSTAGRAM__LONG_LIVED", "true"),
        ("IGAUTH_SERVER__STATE_SECRET", STATE_SECRET),
        ("IGAUTH_SERVER__DEMO", "true"),
    ])
    .await;
    let app = Browser {
        base: child.url(""),
    };

    let mut secrets: Vec<String> = [
        CLIENT_SECRET,
        STATE_SECRET,
        CODE,
        code_used,
        SHORT_TOKEN,
        LONG_TOKEN,
        REFRESHED_TOKEN,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();

    let (status, location, set_cookie) = app
        .get(
            &format!("/v1/authorize?return_to={}", enc(APP_RETURN)),
            None,
        )
        .await;
    assert_eq!(status, 302);
    let state = pairs(location.split_once('?').unwrap().1)["state"].clone();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    secrets.push(state.clone());
    let (status, location, _) = app
        .get(
            &format!("/v1/callback?code={CODE}&state={state}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(status, 302);
    assert!(location.contains(LONG_TOKEN), "{location}");

    for (query, want) in [
        (format!("code={code_used}"), "invalid_code"),
        (
            "error=access_denied&error_reason=user_denied".to_string(),
            "access_denied",
        ),
    ] {
        let (_, location, set_cookie) = app
            .get(
                &format!("/v1/authorize?return_to={}", enc(APP_RETURN)),
                None,
            )
            .await;
        let state = pairs(location.split_once('?').unwrap().1)["state"].clone();
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        secrets.push(state.clone());
        let (status, location, _) = app
            .get(
                &format!("/v1/callback?{query}&state={state}"),
                Some(&cookie),
            )
            .await;
        assert_eq!(status, 302);
        assert!(location.contains(want), "{location}");
    }
    let (status, _, _) = app
        .get(
            &format!("/v1/callback?code={CODE}&state=forged.state"),
            None,
        )
        .await;
    assert_eq!(status, 400);
    for token in [LONG_TOKEN, SHORT_TOKEN] {
        let status = app.post_refresh(token).await;
        assert!(status == 200 || status == 400, "{status}");
    }

    let Exited { stdout, stderr, .. } = child.terminate().await;
    for secret in &secrets {
        assert!(
            !stderr.contains(secret.as_str()) && !stdout.contains(secret.as_str()),
            "{secret} appears in the output:\n{stderr}{stdout}"
        );
    }
    for access in [
        "GET /v1/authorize 302 ",
        "GET /v1/callback 302 ",
        "GET /v1/callback 400 ",
        "POST /v1/refresh 200 ",
        "POST /v1/refresh 400 ",
    ] {
        assert!(stderr.contains(access), "no {access:?} line:\n{stderr}");
    }
    assert!(!stderr.contains("return_to="), "{stderr}");
    assert!(!stderr.contains(APP_RETURN), "{stderr}");
    drop(mocks);
}

/// The app under [`ChildApp`], seen from a browser.
struct Browser {
    base: String,
}

impl Browser {
    /// GET without following redirects: (status, Location, Set-Cookie).
    async fn get(&self, path: &str, cookie: Option<&str>) -> (u16, String, String) {
        let mut req = browser().get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            req = req.insert_header(("Cookie", cookie));
        }
        let mut res = req.send().await.expect("igauth answers");
        let _ = res.body().await;
        let header = |name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        (
            res.status().as_u16(),
            header("location"),
            header("set-cookie"),
        )
    }

    async fn post_refresh(&self, token: &str) -> u16 {
        let mut res = browser()
            .post(format!("{}/v1/refresh", self.base))
            .insert_header(("Content-Type", "application/json"))
            .send_body(format!(r#"{{"access_token":"{token}"}}"#))
            .await
            .expect("igauth answers");
        let _ = res.body().await;
        res.status().as_u16()
    }
}
