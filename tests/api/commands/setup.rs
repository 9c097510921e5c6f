//! `igauth setup`: what to paste into Meta's dashboard and into Parse, from the configuration.

use crate::helpers::binary::igauth;

const API_KEY: &str = "setup-api-key-0123456789abcdef-0123456789";
const CLIENT_SECRET: &str = "setup-client-secret-abcdef";
const MASTER_KEY: &str = "setup-master-key-0123456789";

fn complete() -> Vec<(&'static str, &'static str)> {
    vec![
        ("IGAUTH_SERVER__PUBLIC_URL", "https://auth.example"),
        ("IGAUTH_SERVER__API_KEY", API_KEY),
        (
            "IGAUTH_SERVER__STATE_SECRET",
            "setup-state-secret-0123456789abcdef",
        ),
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "990011"),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        (
            "IGAUTH_INSTAGRAM__CALLBACK_URL",
            "https://auth.example/v1/callback",
        ),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", "https://app.example/done"),
        ("IGAUTH_PARSE__SERVER_URL", "https://parse.example/parse"),
        ("IGAUTH_PARSE__APP_ID", "setup-app"),
        ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY),
        ("IGAUTH_PARSE__WEBHOOK_KEY", "setup-webhook-key-0123"),
    ]
}

#[test]
fn a_complete_configuration_prints_every_url_to_paste_and_no_secret() {
    let run = igauth(&["setup"], &complete());
    assert_eq!(run.code, Some(0), "{}", run.all());
    let out = &run.stdout;
    for expected in [
        // Meta's dashboard
        "Valid OAuth Redirect URIs): https://auth.example/v1/callback",
        "Deauthorize callback URL:                       https://auth.example/v1/meta/deauthorize",
        "Data deletion request URL:                      https://auth.example/v1/meta/data-deletion",
        "IGAUTH_INSTAGRAM__CLIENT_ID=990011",
        // Parse, way 1: the exact auth.instagram JSON
        r#"{"instagram": {"oauth2": true,"#,
        r#""tokenIntrospectionEndpointUrl": "https://auth.example/v1/introspect","#,
        r#""useridField": "sub","#,
        r#""authorizationHeader": "Bearer <the value of IGAUTH_SERVER__API_KEY>"}}"#,
        // sessions, webhooks
        "IGAUTH_PARSE__SERVER_URL=https://parse.example/parse",
        "IGAUTH_PARSE__SESSIONS=true",
        "https://auth.example/v1/parse/functions/validate",
        // where an app starts a login
        "https://auth.example/v1/authorize?return_to=https%3A%2F%2Fapp.example%2Fdone\
         &code_challenge=<CHALLENGE>&code_challenge_method=S256",
        // ... and where it trades the code that comes back, with its PKCE verifier
        "return_to#code=<one-time code>",
        "POST https://auth.example/v1/token with code and code_verifier",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("<set IGAUTH"), "nothing is missing:\n{out}");
    for secret in [API_KEY, CLIENT_SECRET, MASTER_KEY] {
        assert!(!run.all().contains(secret), "a secret was printed:\n{out}");
    }
}

#[test]
fn what_is_missing_is_marked_with_its_variable_and_setup_still_exits_0() {
    let run = igauth(&["setup"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    for marker in [
        "<set IGAUTH_INSTAGRAM__CALLBACK_URL>",
        "<set IGAUTH_SERVER__PUBLIC_URL>",
        "<set IGAUTH_SERVER__API_KEY>",
        "<set IGAUTH_INSTAGRAM__CLIENT_ID>",
        "<set IGAUTH_PARSE__MASTER_KEY>",
        "<set IGAUTH_INSTAGRAM__RETURN_URLS>",
        // the path stays, so the reader still sees which URL goes where
        "<set IGAUTH_SERVER__PUBLIC_URL>/v1/meta/data-deletion",
        "<set IGAUTH_SERVER__PUBLIC_URL>/v1/introspect",
    ] {
        assert!(
            run.stdout.contains(marker),
            "missing {marker:?} in:\n{}",
            run.stdout
        );
    }
}
