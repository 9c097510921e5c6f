//! One WARN line naming the setting, for each mistake that crosses a boundary: a Parse URL
//! without its mount path (404), a master key Parse refuses (403), Instagram unreachable (with
//! the step that failed), and a login whose callback URL Instagram does not know. The real
//! binary's log is read, so each test also proves the line is written at all.

use std::collections::HashMap;

use crate::helpers::binary::igauth_async;
use crate::helpers::{ChildApp, API_KEY, CLIENT_SECRET};

const MASTER_KEY: &str = "boundary-master-key-0123456789";

/// igauth acting on the Parse at `parse_url`, and `meta-test data-deletion` sent to it.
async fn delete_through(parse_url: &str) -> String {
    let env = [
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        ("IGAUTH_SERVER__PUBLIC_URL", "https://auth.example"),
        ("IGAUTH_PARSE__SERVER_URL", parse_url),
        ("IGAUTH_PARSE__APP_ID", "boundary-app"),
        ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY),
        ("IGAUTH_PARSE__TIMEOUT_MS", "2000"),
    ];
    let app = ChildApp::spawn(&env).await;
    let url = app.url("");
    igauth_async(&["meta-test", "data-deletion", "42", "--url", &url], &env).await;
    app.terminate().await.stderr
}

#[actix_web::test]
async fn parse_without_its_mount_path_names_the_server_url_setting() {
    let mut parse = mockito::Server::new_async().await;
    // Express, not Parse, answers under the wrong path: HTML, no Parse error code.
    let _any = parse
        .mock("GET", mockito::Matcher::Any)
        .with_status(404)
        .with_body("<pre>Cannot GET</pre>")
        .create_async()
        .await;
    let _post = parse
        .mock("POST", mockito::Matcher::Any)
        .with_status(404)
        .with_body("<pre>Cannot POST</pre>")
        .create_async()
        .await;
    let log = delete_through(&parse.url()).await;
    let warns: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("Parse answered HTTP 404 ("))
        .collect();
    assert_eq!(warns.len(), 1, "one line, however many calls:\n{log}");
    assert!(
        warns[0].contains("does IGAUTH_PARSE__SERVER_URL end with Parse's mount path"),
        "{log}"
    );
    assert!(!log.contains(MASTER_KEY));
}

#[actix_web::test]
async fn a_refused_master_key_names_the_key_and_master_key_ips() {
    let mut parse = mockito::Server::new_async().await;
    for method in ["GET", "POST", "PUT", "DELETE"] {
        parse
            .mock(method, mockito::Matcher::Any)
            .with_status(403)
            .with_body(r#"{"error":"unauthorized"}"#)
            .create_async()
            .await;
    }
    let log = delete_through(&format!("{}/parse", parse.url())).await;
    let warn = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("Parse answered HTTP 403 ("))
        .unwrap_or_else(|| panic!("no 403 line:\n{log}"));
    assert!(
        warn.contains("IGAUTH_PARSE__MASTER_KEY") && warn.contains("masterKeyIps"),
        "{warn}"
    );
}

/// A validation against an Instagram host that cannot be reached, and the log's one line.
async fn unreachable_line(graph_url: &str) -> String {
    let app = ChildApp::spawn(&[
        ("IGAUTH_SERVER__API_KEY", API_KEY),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", graph_url),
        ("IGAUTH_INSTAGRAM__CONNECT_TIMEOUT_MS", "1000"),
    ])
    .await;
    let http = awc::Client::new();
    for _ in 0..3 {
        let res = http
            .post(app.url("/v1/validate"))
            .insert_header(("Authorization", format!("Bearer {API_KEY}")))
            .send_json(&serde_json::json!({"id": "42", "access_token": "IGT-unreachable"}))
            .await
            .unwrap();
        assert!(res.status().is_server_error(), "{}", res.status());
    }
    let log = app.terminate().await.stderr;
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Instagram is unreachable"))
        .collect();
    assert_eq!(lines.len(), 1, "one line a minute:\n{log}");
    assert!(lines[0].contains("IGAUTH_INSTAGRAM__GRAPH_URL"), "{log}");
    lines[0].to_string()
}

#[actix_web::test]
async fn unreachable_instagram_says_which_step_failed() {
    let refused = unreachable_line("http://127.0.0.1:1").await;
    assert!(refused.contains("(connect: "), "{refused}");
    let unresolved = unreachable_line("http://igauth-boundary-test.invalid").await;
    assert!(unresolved.contains("(DNS: "), "{unresolved}");
}

/// A login whose callback URL is not registered at Meta: the app hears it is the service's
/// setup (not something to send), the operator reads which setting.
#[actix_web::test]
async fn a_callback_url_instagram_does_not_know_is_the_operators_to_fix() {
    let mut ig = mockito::Server::new_async().await;
    let _exchange = ig
        .mock("POST", "/oauth/access_token")
        .with_status(400)
        .with_body(
            r#"{"error_type":"OAuthException","code":400,"error_message":"Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"}"#,
        )
        .create_async()
        .await;
    let app = ChildApp::spawn(&[
        ("IGAUTH_INSTAGRAM__API_URL", &ig.url()),
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "1234567890"),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        (
            "IGAUTH_INSTAGRAM__CALLBACK_URL",
            "https://igauth.example/v1/callback",
        ),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", "https://app.example/done"),
        (
            "IGAUTH_SERVER__STATE_SECRET",
            "boundary-state-secret-0123456789abcdef",
        ),
    ])
    .await;
    let browser = awc::Client::builder().disable_redirects().finish();
    // PKCE parameters ride along: a flow that asks for them finds them, one that does not ignores them.
    let start = browser
        .get(app.url(
            "/v1/authorize?return_to=https%3A%2F%2Fapp.example%2Fdone\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 302);
    let location = start.headers().get("location").unwrap().to_str().unwrap();
    let state: HashMap<String, String> =
        serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    let cookie = start.headers().get("set-cookie").unwrap().to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let query = serde_urlencoded::to_string([("code", "AQB-boundary"), ("state", &state["state"])])
        .unwrap();
    let back = browser
        .get(app.url(&format!("/v1/callback?{query}")))
        .insert_header(("Cookie", cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 302);
    let landing = back.headers().get("location").unwrap().to_str().unwrap();
    let fragment: HashMap<String, String> =
        serde_urlencoded::from_str(landing.split_once('#').unwrap().1).unwrap();
    assert_eq!(fragment["error"], "server_error", "{landing}");
    let description = &fragment["error_description"];
    assert!(
        description.contains("because of how this service is set up")
            && !description.contains("redirect"),
        "the app is not told to send anything: {description}"
    );
    let log = app.terminate().await.stderr;
    let warn = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("IGAUTH_INSTAGRAM__CALLBACK_URL must equal"))
        .unwrap_or_else(|| panic!("no WARN for the operator:\n{log}"));
    assert!(warn.contains("Valid OAuth Redirect URIs"), "{warn}");
}
