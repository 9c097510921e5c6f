//! `igauth check-config`: the settings as the variables people set, and the same findings
//! `serve` logs; configurations that can never work stop both.

use crate::helpers::binary::igauth;
use crate::helpers::ChildApp;

const API_KEY: &str = "cc-api-key-0123456789abcdef-0123456789";
const CLIENT_SECRET: &str = "cc-client-secret-abcdef";
const MASTER_KEY: &str = "cc-master-key-0123456789";

#[test]
fn settings_print_as_igauth_variables_with_secrets_redacted() {
    let run = igauth(
        &["check-config"],
        &[
            ("IGAUTH_SERVER__API_KEY", API_KEY),
            ("IGAUTH_INSTAGRAM__CLIENT_ID", "990011"),
            ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
            (
                "IGAUTH_INSTAGRAM__REDIRECT_URIS",
                "https://a.example/cb,https://b.example/cb",
            ),
            ("IGAUTH_PARSE__SERVER_URL", "https://parse.example/parse"),
            ("IGAUTH_PARSE__APP_ID", "cc-app"),
            ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY),
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    let out = &run.stdout;
    assert!(!out.contains("Settings {"), "{out}");
    for line in [
        "IGAUTH_SERVER__BIND=0.0.0.0:8080\n",
        "IGAUTH_INSTAGRAM__CLIENT_ID=990011\n",
        "IGAUTH_INSTAGRAM__REDIRECT_URIS=https://a.example/cb,https://b.example/cb\n",
        "IGAUTH_INSTAGRAM__SCOPES=instagram_business_basic\n",
        "IGAUTH_SERVER__API_KEY=<redacted>\n",
        "IGAUTH_INSTAGRAM__CLIENT_SECRET=<redacted>\n",
        "IGAUTH_PARSE__MASTER_KEY=<redacted>\n",
        "IGAUTH_PARSE__SERVER_URL=https://parse.example/parse\n",
        "IGAUTH_PARSE__WEBHOOK_KEY=\n",
        "configuration OK",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    for secret in [API_KEY, CLIENT_SECRET, MASTER_KEY] {
        assert!(!run.all().contains(secret), "{secret} leaked:\n{out}");
    }
    let settings = out.lines().filter(|l| l.starts_with("IGAUTH_")).count();
    assert!(
        settings >= 50,
        "every setting is printed ({settings}):\n{out}"
    );
}

#[test]
fn a_password_in_a_url_stops_startup_without_being_printed() {
    for name in ["IGAUTH_PARSE__SERVER_URL", "IGAUTH_SERVER__PUBLIC_URL"] {
        let run = igauth(
            &["check-config"],
            &[(name, "https://admin:parse-pw-1@parse.example/parse")],
        );
        assert_eq!(run.code, Some(2), "{name}: {}", run.all());
        assert!(
            run.stderr.contains(name) && run.stderr.contains("user:pass@"),
            "{}",
            run.all()
        );
        assert!(!run.all().contains("parse-pw-1"), "leaked:\n{}", run.all());
    }
}

#[test]
fn dead_scopes_stop_startup_naming_the_scope_to_use() {
    for scopes in [
        "user_profile,user_media",
        "instagram_business_basic,business_basic",
    ] {
        let env = [("IGAUTH_INSTAGRAM__SCOPES", scopes)];
        let check = igauth(&["check-config"], &env);
        assert_eq!(check.code, Some(2), "{scopes}: {}", check.all());
        assert!(
            check.stderr.contains("IGAUTH_INSTAGRAM__SCOPES")
                && check.stderr.contains("instagram_business_basic"),
            "{scopes}: {}",
            check.stderr
        );
        // `serve` (the default command) refuses the same configuration before listening.
        let serve = igauth(&[], &[env[0], ("IGAUTH_SERVER__BIND", "127.0.0.1:0")]);
        assert_eq!(serve.code, Some(2), "{scopes}: {}", serve.all());
        assert_eq!(serve.stderr, check.stderr);
    }
}

/// A callback path igauth does not answer and a demo that cannot return to itself load, but are
/// warned about, by both commands, in the same words.
#[actix_web::test]
async fn serve_logs_every_finding_check_config_prints() {
    let env = [
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "990011"),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        (
            "IGAUTH_INSTAGRAM__CALLBACK_URL",
            "https://auth.example/instagram/cb",
        ),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", "https://app.example/done"),
        (
            "IGAUTH_SERVER__STATE_SECRET",
            "cc-state-secret-0123456789abcdef",
        ),
        ("IGAUTH_SERVER__DEMO", "true"),
    ];
    let check = igauth(&["check-config"], &env);
    assert_eq!(check.code, Some(0), "{}", check.all());
    let findings: Vec<&str> = check
        .stdout
        .lines()
        .filter(|l| l.starts_with("warning: ") || l.starts_with("error: "))
        .collect();
    let path = findings
        .iter()
        .find(|l| l.contains("IGAUTH_INSTAGRAM__CALLBACK_URL's path is \"/instagram/cb\""));
    assert!(
        path.is_some_and(|l| l.contains("/v1/callback")),
        "{findings:?}"
    );
    let demo = findings
        .iter()
        .find(|l| l.contains("IGAUTH_SERVER__DEMO=true"));
    assert!(
        demo.is_some_and(|l| l.contains("https://auth.example/v1/demo")),
        "{findings:?}"
    );

    let served = ChildApp::spawn(&env).await.terminate().await;
    for finding in &findings {
        assert!(
            served.stderr.contains(finding),
            "serve did not log {finding:?}:\n{}",
            served.stderr
        );
    }
}
