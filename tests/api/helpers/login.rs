//! The login flow's harness (`/v1/authorize`, `/v1/callback`, `/v1/refresh`): an app set up for
//! it, a browser that reads redirects instead of following them, a login's steps, Instagram's
//! side of them, and states signed outside the app.
//!
//! Besides what each test checks, every answer read through [`get`] or [`post_refresh`] goes
//! through [`assert_clean`]: no client secret, state secret, code or Instagram token anywhere in
//! a `Location` header or a page. A login ends with `#code=<handoff code>`, which [`landed`]
//! redeems at `/v1/token` with the PKCE verifier the login started with.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// The login harness's only import from the library itself: keep it here, in one place.
use igauth::testing::signed_login_state;

use super::{grant_body, instagram_call, spawn_app_with, Answer, TestApp, BIG_ID, CLIENT_SECRET};

pub const STATE_SECRET: &str = "test-state-secret-0123456789abcdef0123";
pub const CALLBACK_URL: &str = "https://igauth.example/v1/callback";
pub const AUTHORIZE_URL: &str = "https://www.instagram.example/oauth/authorize";
pub const APP_RETURN: &str = "myapp://auth";
pub const WEB_RETURN: &str = "https://app.example/done";
pub const RETURN_URLS: &str = "myapp://auth, https://app.example/done";
pub const CODE: &str = "AQB-flow-code-4f1d2e";
pub const SHORT_TOKEN: &str = "IGAA-flow-short-9b8c7d";
pub const LONG_TOKEN: &str = "IGAA-flow-long-3e2f1a";
pub const REFRESHED_TOKEN: &str = "IGAA-flow-refreshed-6a5b4c";
pub const LONG_LIVED_SECS: &str = "5183944";
/// The app's PKCE verifier (RFC 7636 appendix B) and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// What `/v1/authorize` needs besides `return_to`.
pub const PKCE: &str =
    "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

// --- spawning and browsing -------------------------------------------------------------------

/// Everything the flow needs, rate limits off (tests drive many logins from one IP).
pub fn flow_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("IGAUTH_SERVER__STATE_SECRET", STATE_SECRET),
        ("IGAUTH_INSTAGRAM__CALLBACK_URL", CALLBACK_URL),
        ("IGAUTH_INSTAGRAM__AUTHORIZE_URL", AUTHORIZE_URL),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", RETURN_URLS),
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0"),
    ]
}

pub async fn spawn_flow(extra: &[(&str, &str)]) -> TestApp {
    let mut env = flow_env();
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// A client that shows redirects instead of following them.
pub fn browser() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish()
}

pub async fn get(app: &TestApp, path_and_query: &str, cookie: Option<&str>) -> Answer {
    let mut req = browser().get(app.url(path_and_query));
    if let Some(cookie) = cookie {
        req = req.insert_header(("Cookie", cookie));
    }
    let answer = Answer::read(req.send().await.expect("app answers")).await;
    assert_clean(&answer);
    answer
}

pub fn enc(value: &str) -> String {
    serde_urlencoded::to_string([("", value)]).unwrap()[1..].to_string()
}

pub fn pairs(encoded: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(encoded)
        .unwrap()
        .into_iter()
        .collect()
}

/// Secrets and tokens must not appear in any Location, page or cookie.
pub fn assert_clean(answer: &Answer) {
    let never = [CLIENT_SECRET, STATE_SECRET, CODE];
    let tokens = [SHORT_TOKEN, LONG_TOKEN, REFRESHED_TOKEN];
    let location = answer.header("location").unwrap_or("");
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
        assert!(!location.contains(token), "{token} in {location}");
        // Tokens go in bodies only as the JSON answer of /v1/token, /v1/refresh, /v1/exchange.
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

// --- a login: start, callback, where it lands ------------------------------------------------

/// A started login: the state sent to Instagram and the cookie the browser got.
pub struct Started {
    pub state: String,
    pub cookie: String,
    pub instagram_query: HashMap<String, String>,
    pub answer: Answer,
}

pub async fn start(app: &TestApp, return_to: &str) -> Started {
    let answer = get(
        app,
        &format!("/v1/authorize?return_to={}&{PKCE}", enc(return_to)),
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

pub async fn callback(app: &TestApp, query: &str, cookie: Option<&str>) -> Answer {
    get(app, &format!("/v1/callback?{query}"), cookie).await
}

/// A login as the browser makes it: authorize, then the callback with Instagram's code and the
/// state and cookie authorize gave.
pub async fn log_in_with_code(app: &TestApp, return_to: &str) -> Answer {
    let started = start(app, return_to).await;
    callback(
        app,
        &format!("code={CODE}&state={}", started.state),
        Some(&started.cookie),
    )
    .await
}

/// `(target before '#', fragment pairs)` of a redirect.
pub fn landing(answer: &Answer) -> (String, HashMap<String, String>) {
    assert_eq!(answer.status, 302, "{}", answer.text);
    let location = answer.header("location").expect("a Location");
    let (target, fragment) = location
        .split_once('#')
        .unwrap_or_else(|| panic!("no fragment in {location}"));
    (target.to_string(), pairs(fragment))
}

/// A login that ended well: its Location carries only `#code=<handoff code>` (no token, id or
/// name), and `/v1/token` trades that code and [`VERIFIER`] for the result, given back as the
/// fragment used to carry it (text values). `(target before '#', result)`.
pub async fn landed(app: &TestApp, answer: &Answer) -> (String, HashMap<String, String>) {
    let (target, fragment) = landing(answer);
    assert_eq!(
        fragment.keys().collect::<Vec<_>>(),
        ["code"],
        "only a code: {fragment:?}"
    );
    let location = answer.header("location").unwrap();
    for leak in [BIG_ID, "jay", SHORT_TOKEN, LONG_TOKEN] {
        assert!(!location.contains(leak), "{leak} in {location}");
    }
    let redeemed = redeem(app, &fragment["code"], VERIFIER).await;
    assert_eq!(redeemed.status, 200, "{}", redeemed.text);
    let result = redeemed
        .json()
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k.clone(), s.clone())),
            serde_json::Value::Number(n) => Some((k.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    (target, result)
}

/// `POST /v1/token` with a JSON body.
pub async fn redeem(app: &TestApp, code: &str, verifier: &str) -> Answer {
    let body = serde_json::json!({"code": code, "code_verifier": verifier});
    app.post_json("/v1/token", &body.to_string()).await
}

pub fn assert_error_page(answer: &Answer) {
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

// --- Instagram's side ------------------------------------------------------------------------

pub async fn mock_code_exchange(app: &mut TestApp, status: usize, body: &str) -> mockito::Mock {
    let fields = [
        ("client_id", "1234567890"),
        ("client_secret", CLIENT_SECRET),
        ("grant_type", "authorization_code"),
        ("redirect_uri", CALLBACK_URL),
        ("code", CODE),
    ];
    instagram_call(
        &mut app.instagram,
        "POST",
        "/oauth/access_token",
        &fields,
        status,
        body,
    )
    .expect(1)
    .create_async()
    .await
}

pub fn short_grant() -> String {
    grant_body(SHORT_TOKEN)
}

pub async fn mock_long_lived(app: &mut TestApp, status: usize, body: &str) -> mockito::Mock {
    let fields = [
        ("grant_type", "ig_exchange_token"),
        ("client_secret", CLIENT_SECRET),
        ("access_token", SHORT_TOKEN),
    ];
    instagram_call(
        &mut app.instagram,
        "GET",
        "/access_token",
        &fields,
        status,
        body,
    )
    .expect(1)
    .create_async()
    .await
}

pub fn long_grant(token: &str) -> String {
    format!(r#"{{"access_token":"{token}","token_type":"bearer","expires_in":{LONG_LIVED_SECS}}}"#)
}

pub async fn mock_refresh(app: &mut TestApp, status: usize, body: &str) -> mockito::Mock {
    let fields = [
        ("grant_type", "ig_refresh_token"),
        ("access_token", LONG_TOKEN),
    ];
    instagram_call(
        &mut app.instagram,
        "GET",
        "/refresh_access_token",
        &fields,
        status,
        body,
    )
    .expect(1)
    .create_async()
    .await
}

pub async fn post_refresh(app: &TestApp, content_type: &str, body: &str) -> Answer {
    let res = browser()
        .post(app.url("/v1/refresh"))
        .insert_header(("Content-Type", content_type))
        .send_body(body.to_string())
        .await
        .expect("app answers");
    let answer = Answer::read(res).await;
    assert_clean(&answer);
    answer
}

// --- states signed outside the app -----------------------------------------------------------

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A state signed with the server's secret, as the server would have issued it at `issued_at`
/// for `return_to` (which need not be allowed now).
pub fn signed_state(return_to: &str, issued_at: u64) -> (String, String) {
    let (state, nonce) =
        signed_login_state(STATE_SECRET, return_to, VERIFIER, issued_at).expect("a valid state");
    let cookie = format!("__Host-igauth-login-{nonce}=1");
    (state, cookie)
}

/// A state signed with a secret that is not the server's.
pub fn signed_with_another_secret() -> String {
    let secret = "someone-elses-secret-0123456789abcdef";
    signed_login_state(secret, "https://evil.example", VERIFIER, now())
        .expect("a valid state")
        .0
}

// --- the app as a child process, seen from a browser -----------------------------------------

/// The app under `helpers::ChildApp`, seen from a browser.
pub struct Browser {
    pub base: String,
}

impl Browser {
    /// GET without following redirects: (status, Location, Set-Cookie).
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> (u16, String, String) {
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

    /// Redeems a handoff code with [`VERIFIER`]: the status.
    pub async fn post_token(&self, code: &str) -> u16 {
        let mut res = browser()
            .post(format!("{}/v1/token", self.base))
            .insert_header(("Content-Type", "application/json"))
            .send_body(format!(
                r#"{{"code":"{code}","code_verifier":"{VERIFIER}"}}"#
            ))
            .await
            .expect("igauth answers");
        let _ = res.body().await;
        res.status().as_u16()
    }

    pub async fn post_refresh(&self, token: &str) -> u16 {
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
