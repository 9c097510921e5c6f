//! The real binary, at `RUST_LOG=trace`, driven through every route with known secret values:
//! none of them may appear in its output, every request gets an access log line
//! (method, path, status), and SIGTERM ends it with exit code 0.

use std::collections::BTreeMap;
use std::time::Duration;

use mockito::Matcher;

use crate::helpers::{
    grant_body, http_client, me_body, ChildApp, Exited, JsonAnswer, BIG_ID, INVALID_TOKEN_BODY,
    USED_CODE_BODY,
};

const CLIENT_ID: &str = "1234567890";
const CLIENT_SECRET: &str = "cs-LOG-secret-5a1e7f";
const API_KEY: &str = "ak-LOG-key-8c3b20-4f9e1d7a2b6c0e3f5a";
const WEBHOOK_KEY: &str = "wk-LOG-key-d94e61";
const WRONG_WEBHOOK_KEY: &str = "wk-LOG-wrong-3f8a17";
const REDIRECT_URI: &str = "https://app.example/auth/instagram";

const TOKEN_VALID: &str = "IGT-LOG-valid-7f3a9c";
const TOKEN_INVALID: &str = "IGT-LOG-invalid-2b8e44";
const TOKEN_DOWN: &str = "IGT-LOG-down-c41d09";
const TOKEN_INTROSPECT: &str = "IGT-LOG-introspect-9a0f31";
const TOKEN_FN: &str = "IGT-LOG-function-6e2c5b";
const TOKEN_TRIGGER: &str = "IGT-LOG-trigger-0b7d18";
const TOKEN_IN_QUERY: &str = "IGT-LOG-query-73c1aa";
const CODE_OK: &str = "AQB-LOG-code-ok-5e6f70";
const CODE_USED: &str = "AQB-LOG-code-used-1a2b3c";
const CODE_PLATFORM: &str = "AQB-LOG-code-platform-4d5e";
const CODE_ODD: &str = "AQB-LOG-code-odd-7c8d9e";
const CODE_FN: &str = "AQB-LOG-code-fn-8f9a0b";
const ISSUED_TOKEN: &str = "IGAA-LOG-issued-d7c8e9";
const ISSUED_FN_TOKEN: &str = "IGAA-LOG-fn-issued-a1b2c3";

const SECRETS: &[&str] = &[
    CLIENT_SECRET,
    API_KEY,
    WEBHOOK_KEY,
    WRONG_WEBHOOK_KEY,
    TOKEN_VALID,
    TOKEN_INVALID,
    TOKEN_DOWN,
    TOKEN_INTROSPECT,
    TOKEN_FN,
    TOKEN_TRIGGER,
    TOKEN_IN_QUERY,
    CODE_OK,
    CODE_USED,
    CODE_PLATFORM,
    CODE_ODD,
    CODE_FN,
    ISSUED_TOKEN,
    ISSUED_FN_TOKEN,
];

/// Instagram as mockito, for every call the drive below makes.
async fn fake_instagram(ig: &mut mockito::ServerGuard) -> Vec<mockito::Mock> {
    let mut mocks = Vec::new();
    for (token, status, body) in [
        (TOKEN_VALID, 200, me_body(BIG_ID, "jay")),
        (TOKEN_INVALID, 400, INVALID_TOKEN_BODY.to_string()),
        (TOKEN_DOWN, 500, "<html>down</html>".to_string()),
        (TOKEN_INTROSPECT, 200, me_body(BIG_ID, "jay")),
        (TOKEN_FN, 200, me_body(BIG_ID, "jay")),
        (TOKEN_TRIGGER, 200, me_body(BIG_ID, "jay")),
        (ISSUED_TOKEN, 200, me_body(BIG_ID, "jay")),
        (ISSUED_FN_TOKEN, 200, me_body(BIG_ID, "jay")),
    ] {
        mocks.push(
            ig.mock("GET", "/me")
                .match_query(Matcher::UrlEncoded("access_token".into(), token.into()))
                .answer(status, body)
                .expect_at_least(1)
                .create_async()
                .await,
        );
    }
    for (code, status, body) in [
        (CODE_OK, 200, grant_body(ISSUED_TOKEN)),
        (
            CODE_FN,
            200,
            format!(
                r#"{{"data":[{{"access_token":"{ISSUED_FN_TOKEN}","user_id":"{BIG_ID}","permissions":"instagram_business_basic"}}]}}"#
            ),
        ),
        (CODE_USED, 400, USED_CODE_BODY.to_string()),
        (
            CODE_PLATFORM,
            400,
            r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid platform app"}"#
                .to_string(),
        ),
        (
            CODE_ODD,
            400,
            r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid grant_type"}"#
                .to_string(),
        ),
    ] {
        mocks.push(
            ig.mock("POST", "/oauth/access_token")
                .match_body(Matcher::AllOf(vec![
                    Matcher::UrlEncoded("code".into(), code.into()),
                    Matcher::UrlEncoded("client_secret".into(), CLIENT_SECRET.into()),
                ]))
                .answer(status, body)
                .expect(1)
                .create_async()
                .await,
        );
    }
    mocks
}

async fn send(req: awc::ClientRequest, body: String) -> u16 {
    let mut res = req.send_body(body).await.expect("igauth answers");
    let _ = res.body().await;
    res.status().as_u16()
}

#[actix_web::test]
async fn trace_logs_show_every_request_and_no_secret_and_sigterm_exits_zero() {
    let mut ig = mockito::Server::new_async().await;
    let mocks = fake_instagram(&mut ig).await;

    let url = ig.url();
    let app = ChildApp::spawn(&[
        ("RUST_LOG", "trace"),
        ("IGAUTH_SERVER__WORKERS", "2"),
        ("IGAUTH_SERVER__API_KEY", API_KEY),
        ("IGAUTH_PARSE__WEBHOOK_KEY", WEBHOOK_KEY),
        ("IGAUTH_INSTAGRAM__API_URL", &url),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", &url),
        ("IGAUTH_INSTAGRAM__CLIENT_ID", CLIENT_ID),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        ("IGAUTH_INSTAGRAM__REDIRECT_URIS", REDIRECT_URI),
        ("IGAUTH_INSTAGRAM__TIMEOUT_MS", "3000"),
    ])
    .await;
    let http = http_client(10);
    let base = app.url("");

    let bearer = format!("Bearer {API_KEY}");
    let json = |path: &str| {
        http.post(format!("{base}{path}"))
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("Authorization", bearer.as_str()))
    };
    let form = |path: &str| {
        http.post(format!("{base}{path}"))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .insert_header(("Authorization", bearer.as_str()))
    };
    let hook = |path: &str| {
        http.post(format!("{base}{path}"))
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("X-Parse-Webhook-Key", WEBHOOK_KEY))
    };
    let authdata = |token: &str| format!(r#"{{"id":"{BIG_ID}","access_token":"{token}"}}"#);

    // (method, path, status) of every request, in order.
    let mut sent: Vec<(&str, &str, u16)> = Vec::new();
    let mut expect = |method, path, got: u16, want: u16| {
        assert_eq!(got, want, "{method} {path}");
        sent.push((method, path, got));
    };

    let s = send(json("/v1/validate"), authdata(TOKEN_VALID)).await;
    expect("POST", "/v1/validate", s, 200);
    let s = send(json("/v1/validate"), authdata(TOKEN_INVALID)).await;
    expect("POST", "/v1/validate", s, 200);
    let s = send(json("/v1/validate"), authdata(TOKEN_DOWN)).await;
    expect("POST", "/v1/validate", s, 502);
    let s = send(
        form("/v1/introspect"),
        format!("token={TOKEN_INTROSPECT}&token_type_hint=access_token"),
    )
    .await;
    expect("POST", "/v1/introspect", s, 200);
    let s = send(
        json("/v1/exchange"),
        format!(r#"{{"code":"{CODE_OK}#_","redirect_uri":"{REDIRECT_URI}"}}"#),
    )
    .await;
    expect("POST", "/v1/exchange", s, 200);
    let s = send(form("/v1/exchange"), format!("code={CODE_USED}")).await;
    expect("POST", "/v1/exchange", s, 400);
    let s = send(
        json("/v1/exchange"),
        format!(r#"{{"code":"{CODE_PLATFORM}"}}"#),
    )
    .await;
    expect("POST", "/v1/exchange", s, 502);
    let s = send(json("/v1/exchange"), format!(r#"{{"code":"{CODE_ODD}"}}"#)).await;
    expect("POST", "/v1/exchange", s, 400);
    let s = send(
        hook("/v1/parse/functions/validate"),
        format!(
            r#"{{"params":{},"functionName":"igValidate","master":false,"context":{{}}}}"#,
            authdata(TOKEN_FN)
        ),
    )
    .await;
    expect("POST", "/v1/parse/functions/validate", s, 200);
    let s = send(
        hook("/v1/parse/functions/exchange"),
        format!(r#"{{"params":{{"code":"{CODE_FN}"}},"functionName":"igExchange","master":false,"context":{{}}}}"#),
    )
    .await;
    expect("POST", "/v1/parse/functions/exchange", s, 200);
    let s = send(
        hook("/v1/parse/triggers/user"),
        format!(
            r#"{{"triggerName":"beforeSave","object":{{"nickname":"kestrel","authData":{{"instagram":{}}},"className":"_User"}},"master":false,"context":{{}}}}"#,
            authdata(TOKEN_TRIGGER)
        ),
    )
    .await;
    expect("POST", "/v1/parse/triggers/user", s, 200);
    // Refusals the end user reads only as "could not be verified": the reason is logged.
    let s = send(
        hook("/v1/parse/triggers/user"),
        format!(
            r#"{{"triggerName":"beforeSave","object":{{"authData":{{"instagram":{}}},"className":"_User"}}}}"#,
            authdata(TOKEN_DOWN)
        ),
    )
    .await;
    expect("POST", "/v1/parse/triggers/user", s, 200);
    let s = send(
        http.post(format!("{base}/v1/parse/functions/validate"))
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("X-Parse-Webhook-Key", WRONG_WEBHOOK_KEY)),
        format!(r#"{{"params":{}}}"#, authdata(TOKEN_FN)),
    )
    .await;
    expect("POST", "/v1/parse/functions/validate", s, 200);
    let s = send(
        hook("/v1/parse/triggers/user"),
        format!(
            r#"{{"triggerName":"beforeLogin","object":{{"authData":{{"instagram":{}}},"objectId":"Abc123","className":"_User"}}}}"#,
            authdata(TOKEN_DOWN)
        ),
    )
    .await;
    expect("POST", "/v1/parse/triggers/user", s, 200);
    let s = send(
        http.get(format!("{base}/nope?access_token={TOKEN_IN_QUERY}")),
        String::new(),
    )
    .await;
    expect("GET", "/nope", s, 404);

    let Exited {
        status,
        stdout,
        stderr,
    } = app.terminate().await;
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");

    for secret in SECRETS {
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "{secret} appears in the output:\n{stderr}{stdout}"
        );
    }
    let warned = |what: &str| {
        stderr
            .lines()
            .any(|l| l.contains(" WARN ") && l.contains(what))
    };
    assert!(
        warned("no verdict on Instagram authData, refused: Instagram answered with HTTP 500"),
        "the reason for an undecided refusal is logged:\n{stderr}"
    );
    assert!(
        warned(
            "beforeLogin webhook: no verdict on the stored Instagram authData, login let \
                through: Instagram answered with HTTP 500"
        ),
        "a login let through without a verdict is logged:\n{stderr}"
    );
    assert!(
        warned("the X-Parse-Webhook-Key is wrong"),
        "a wrong webhook key is logged:\n{stderr}"
    );
    // Instagram's own words reach the operator's log, never the caller.
    assert!(
        warned("Instagram's token endpoint says: Invalid platform app"),
        "{stderr}"
    );
    assert!(
        warned("does not recognise (OAuthException, code Some(400), HTTP 400): Invalid grant_type"),
        "an unrecognised refusal is logged for the operator:\n{stderr}"
    );
    assert!(
        !stderr.contains("fields=id"),
        "an upstream query string was logged:\n{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(" DEBUG ") || l.contains(" TRACE ")),
        "RUST_LOG=trace should have produced debug/trace lines:\n{stderr}"
    );

    let mut wanted: BTreeMap<String, usize> = BTreeMap::new();
    for (method, path, status) in &sent {
        *wanted
            .entry(format!("{method} {path} {status} "))
            .or_default() += 1;
    }
    for (access, count) in &wanted {
        let logged = stderr
            .lines()
            .filter(|l| l.contains(access.as_str()))
            .count();
        assert_eq!(logged, *count, "access log lines for {access:?}:\n{stderr}");
    }
    assert!(
        stderr.lines().any(|l| l.contains("GET /readyz 200 ")),
        "{stderr}"
    );
    for mock in &mocks {
        mock.assert_async().await;
    }
}

/// Requests actix cannot parse are answered by actix itself (400, 431). Each is one INFO line,
/// never an ERROR: any client can send them, and they must not fill the error log.
#[actix_web::test]
async fn unparsable_requests_are_not_logged_as_errors() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = ChildApp::spawn(&[]).await;
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(200_000));
    for garbage in [
        long_line.as_str(),
        "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        "GARBAGE\r\n\r\n",
    ] {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .unwrap();
        let _ = stream.write_all(garbage.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 431"),
            "{answer}"
        );
    }
    let Exited { stderr, .. } = app.terminate().await;
    assert!(
        !stderr.lines().any(|l| l.contains(" ERROR ")),
        "a client's garbage was logged at ERROR:\n{stderr}"
    );
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains(" INFO ") && l.contains("request parse error"))
            .count(),
        3,
        "{stderr}"
    );
}
