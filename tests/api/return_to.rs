//! `return_to` and `IGAUTH_INSTAGRAM__RETURN_URLS` through the real app (issue 11, items 3-5):
//! no climbing out of a path-scoped entry, no planted fragment or result in the query, and no
//! entry that admits more than a place.

use std::process::Command;

use igauth::settings::{Settings, Sources};

use crate::helpers::login::{redeem, PKCE, VERIFIER};
use crate::helpers::{
    assert_all, base_env, grant_body, spawn_app_with, Answer, JsonAnswer, TestApp, BIG_ID,
};

const STATE_SECRET: &str = "test-state-secret-0123456789abcdef0123";
const CALLBACK_URL: &str = "https://igauth.example/v1/callback";
const AUTHORIZE_URL: &str = "https://www.instagram.example/oauth/authorize";
const RETURN_URLS: &str =
    "myapp://auth, https://app.example/login/done, https://app.example/done, com.example.app:/oauth2redirect";
const CODE: &str = "AQB-returnto-code-71c3";
const TOKEN: &str = "IGAA-returnto-short-5d2e";

fn flow_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("IGAUTH_SERVER__BIND", "127.0.0.1:0"),
        ("IGAUTH_SERVER__STATE_SECRET", STATE_SECRET),
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "1234567890"),
        ("IGAUTH_INSTAGRAM__CALLBACK_URL", CALLBACK_URL),
        ("IGAUTH_INSTAGRAM__AUTHORIZE_URL", AUTHORIZE_URL),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", RETURN_URLS),
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "0"),
    ]
}

fn enc(value: &str) -> String {
    serde_urlencoded::to_string([("", value)]).unwrap()[1..].to_string()
}

/// GET without following redirects.
async fn get(app: &TestApp, path_and_query: &str, cookie: Option<&str>) -> Answer {
    let client = crate::helpers::login::browser();
    let mut req = client.get(app.url(path_and_query));
    if let Some(cookie) = cookie {
        req = req.insert_header(("Cookie", cookie));
    }
    Answer::read(req.send().await.expect("app answers")).await
}

async fn authorize(app: &TestApp, return_to: &str) -> Answer {
    get(
        app,
        &format!("/v1/authorize?return_to={}&{PKCE}", enc(return_to)),
        None,
    )
    .await
}

#[actix_web::test]
async fn the_audits_targets_are_refused_with_no_redirect_and_no_cookie() {
    let mut app = spawn_app_with(&flow_env()).await;
    let idle = app.instagram_never_called().await;
    for (return_to, code, says) in [
        // Item 3: out of /login/done by dot-segments, in every spelling.
        (
            "https://app.example/login/done/../../open-redirect?to=https://evil.example",
            "invalid_request",
            "'..'",
        ),
        (
            "https://app.example/login/done/%2e%2e/%2e%2e/open-redirect",
            "invalid_request",
            "'..'",
        ),
        (
            "https://app.example/login/done/%2E%2e/%2e%2E/open-redirect",
            "invalid_request",
            "'..'",
        ),
        (
            "https://app.example/login/done/.%2e/%2e./open-redirect",
            "invalid_request",
            "'..'",
        ),
        (
            "https://app.example/login/done/%252e%252e/open-redirect",
            "invalid_request",
            "'..'",
        ),
        (
            "https://app.example/login/done/%2e/x",
            "invalid_request",
            "'.'",
        ),
        (
            "https://app.example/login/done%2f..%2f..%2fopen-redirect",
            "invalid_request",
            "'..'",
        ),
        (
            "https://app.example/login/done/..\\..\\open-redirect",
            "invalid_request",
            "backslash",
        ),
        (
            "https://app.example/login/done/..%5c..%5copen-redirect",
            "invalid_request",
            "backslash",
        ),
        (
            "https://app.example/login/done/..;/open-redirect",
            "invalid_request",
            "';'",
        ),
        (
            "https://app.example/login/done;x=1",
            "invalid_request",
            "';'",
        ),
        (
            "https://app.example/login/donex",
            "return_to_not_allowed",
            "",
        ),
        (
            "https://app.example/open-redirect",
            "return_to_not_allowed",
            "",
        ),
        (
            "https://user@app.example/login/done",
            "return_to_not_allowed",
            "",
        ),
        (
            "https://app.example:8443/login/done",
            "return_to_not_allowed",
            "",
        ),
        // Item 4: a planted result, in the fragment or the query.
        (
            "https://app.example/done#id=666&access_token=IGT-666&",
            "invalid_request",
            "fragment",
        ),
        ("https://app.example/done#", "invalid_request", "fragment"),
        ("myapp://auth#/welcome", "invalid_request", "fragment"),
        (
            "https://app.example/done?id=666&access_token=IGT-666",
            "invalid_request",
            "\"id\"",
        ),
        (
            "myapp://auth?app_state=1&access_token=IGT-666",
            "invalid_request",
            "\"access_token\"",
        ),
        ("myapp://auth?state=x", "invalid_request", "\"state\""),
    ] {
        let answer = authorize(&app, return_to).await;
        assert_eq!(answer.status, 400, "{return_to}: {}", answer.text);
        assert_eq!(answer.error_code(), code, "{return_to}");
        assert!(
            answer.error_text().contains(says),
            "{return_to}: {}",
            answer.text
        );
        assert!(answer.header("location").is_none(), "{return_to}");
        assert!(answer.header("set-cookie").is_none(), "{return_to}");
    }
    for mock in idle {
        mock.assert_async().await;
    }
}

#[actix_web::test]
async fn targets_under_an_entry_with_a_query_still_go_to_instagram() {
    let app = spawn_app_with(&flow_env()).await;
    for return_to in [
        "myapp://auth",
        "myapp://auth?app_state=abc",
        "https://app.example/done?x=1",
        "https://app.example/login/done",
        "https://app.example/login/done/step2?next=%2F..%2Fhome",
        "HTTPS://APP.EXAMPLE:443/login/done",
        "com.example.app:/oauth2redirect",
        "com.example.app:/oauth2redirect?app_state=abc",
    ] {
        let answer = authorize(&app, return_to).await;
        assert_eq!(answer.status, 302, "{return_to}: {}", answer.text);
        let location = answer.header("location").unwrap();
        assert!(
            location.starts_with(&format!("{AUTHORIZE_URL}?")),
            "{location}"
        );
        assert!(answer.header("set-cookie").is_some(), "{return_to}");
    }
}

/// The handoff code is the whole fragment, after the target's own query.
#[actix_web::test]
async fn a_login_ends_at_the_target_and_its_query_with_only_a_code_as_the_fragment() {
    let mut app = spawn_app_with(&flow_env()).await;
    let exchange = app
        .code_exchange_of(CODE)
        .answer(200, grant_body(TOKEN))
        .expect(1)
        .create_async()
        .await;
    let me = app.me_ok(TOKEN).await;
    let return_to = "https://app.example/done?app_state=abc";
    let started = authorize(&app, return_to).await;
    assert_eq!(started.status, 302, "{}", started.text);
    let location = started.header("location").unwrap();
    let state =
        serde_urlencoded::from_str::<Vec<(String, String)>>(location.split_once('?').unwrap().1)
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1;
    let cookie = started
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let answer = get(
        &app,
        &format!("/v1/callback?code={CODE}&state={}", enc(&state)),
        Some(&cookie),
    )
    .await;
    assert_eq!(answer.status, 302, "{}", answer.text);
    let location = answer.header("location").unwrap();
    let code = location
        .strip_prefix(&format!("{return_to}#code="))
        .unwrap_or_else(|| panic!("{location}"));
    assert_eq!(code.len(), 43, "256 random bits, base64url: {code}");
    assert!(!code.contains(['&', '=', '#']), "{code}");
    let result = redeem(&app, code, VERIFIER).await;
    assert_eq!(result.json()["id"], BIG_ID, "{}", result.text);
    assert_eq!(result.json()["access_token"], TOKEN);
    assert_eq!(result.json()["username"], "jay");
    assert_all(&[exchange, me]).await;
}

fn settings_with_return_urls(value: &str) -> Result<Settings, String> {
    let mut env = base_env("http://127.0.0.1:9");
    env.extend(
        flow_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env.push(("IGAUTH_INSTAGRAM__RETURN_URLS".into(), value.into()));
    Settings::from_sources(Sources {
        file: None,
        env: Some(env),
    })
}

#[actix_web::test]
async fn a_return_url_that_is_not_a_place_stops_startup() {
    assert!(settings_with_return_urls(RETURN_URLS).is_ok());
    for (entry, says) in [
        ("https://", "has no host"),
        ("https:app.example", "has no host"),
        ("myapp:", "neither a host nor a path"),
        ("app.example/done", "scheme"),
        ("https://app.example/done#", "fragment"),
        ("https://app.example/#/login", "fragment"),
        ("https://user@app.example/done", "names a user"),
        ("https://app.example/login/../admin", "'..'"),
        ("https://app.example/login/%2E%2E/admin", "'..'"),
        ("https://app.example/done?x=1", "query"),
        ("javascript:/alert(1)/", "scheme"),
    ] {
        let err = settings_with_return_urls(&format!("myapp://auth, {entry}")).unwrap_err();
        assert!(
            err.contains("IGAUTH_INSTAGRAM__RETURN_URLS"),
            "{entry}: {err}"
        );
        assert!(err.contains(&format!("{entry:?}")), "{entry}: {err}");
        assert!(err.contains(says), "{entry}: {err}");
    }
}

#[test]
fn check_config_names_the_bad_return_url() {
    let output = Command::new(env!("CARGO_BIN_EXE_igauth"))
        .arg("check-config")
        .env_clear()
        .envs(flow_env())
        .env("IGAUTH_INSTAGRAM__RETURN_URLS", "myapp://auth,https://")
        .output()
        .expect("the igauth binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("IGAUTH_INSTAGRAM__RETURN_URLS") && stderr.contains("\"https://\""),
        "{stderr}"
    );
}
