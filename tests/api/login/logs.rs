//! The real binary at `RUST_LOG=trace` through logins, errors and refreshes: it logs method, path
//! and status, and never a code, token, state or secret.

use mockito::Matcher;

use crate::helpers::login::*;
use crate::helpers::*;

/// The binary at `RUST_LOG=trace`, through a whole login, a denial, a used code, a forged state
/// and refreshes: no code, token, state or secret in its output, only method, path and status.
#[actix_web::test]
async fn the_login_flow_logs_nothing_but_method_path_and_status() {
    let mut ig = mockito::Server::new_async().await;
    let code_used = "AQB-flow-used-7c6d5e";
    // Each Instagram call of the flow: the code (POST) or token (GET) it is about, and its answer.
    let calls = [
        ("POST", "/oauth/access_token", CODE, 200, short_grant()),
        (
            "POST",
            "/oauth/access_token",
            code_used,
            400,
            USED_CODE_BODY.into(),
        ),
        (
            "GET",
            "/access_token",
            SHORT_TOKEN,
            200,
            long_grant(LONG_TOKEN),
        ),
        // Asked about the short-lived token, beside the long-lived exchange.
        ("GET", "/me", SHORT_TOKEN, 200, me_body(BIG_ID, "jay")),
        (
            "GET",
            "/refresh_access_token",
            LONG_TOKEN,
            200,
            long_grant(REFRESHED_TOKEN),
        ),
        (
            "GET",
            "/refresh_access_token",
            SHORT_TOKEN,
            400,
            INVALID_TOKEN_BODY.into(),
        ),
    ];
    let mut mocks = Vec::new();
    for (method, path, about, status, body) in calls {
        let mock = ig.mock(method, path).with_status(status).with_body(body);
        let mock = match method {
            "POST" => mock.match_body(Matcher::UrlEncoded("code".into(), about.into())),
            _ => mock.match_query(Matcher::UrlEncoded("access_token".into(), about.into())),
        };
        mocks.push(mock.create_async().await);
    }

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

    // A whole login, a used code and a denial, each from its own authorize.
    for (query, want) in [
        (format!("code={CODE}"), "#code="),
        (format!("code={code_used}"), "invalid_code"),
        (
            "error=access_denied&error_reason=user_denied".to_string(),
            "access_denied",
        ),
    ] {
        let (status, location, set_cookie) = app
            .get(
                &format!("/v1/authorize?return_to={}&{PKCE}", enc(APP_RETURN)),
                None,
            )
            .await;
        assert_eq!(status, 302);
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
        if let Some((_, code)) = location.split_once("#code=") {
            secrets.push(code.to_string());
            assert_eq!(app.post_token(code).await, 200);
        }
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
        "POST /v1/token 200 ",
        "POST /v1/refresh 200 ",
        "POST /v1/refresh 400 ",
    ] {
        assert!(stderr.contains(access), "no {access:?} line:\n{stderr}");
    }
    assert!(!stderr.contains("return_to="), "{stderr}");
    assert!(!stderr.contains(APP_RETURN), "{stderr}");
    drop(mocks);
}
