//! `igauth doctor` against local stand-ins: mockito plays Instagram's hosts and Parse. (The
//! end-to-end suite runs it against a real Parse Server.)

use crate::helpers::binary::igauth_async;

const MASTER_KEY: &str = "doctor-master-key-0123456789";

/// Instagram's three hosts at `instagram`, Parse at `parse`.
fn env(instagram: &str, parse: &str) -> Vec<(&'static str, String)> {
    vec![
        ("IGAUTH_INSTAGRAM__API_URL", instagram.to_string()),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", instagram.to_string()),
        (
            "IGAUTH_INSTAGRAM__AUTHORIZE_URL",
            format!("{instagram}/oauth/authorize"),
        ),
        ("IGAUTH_INSTAGRAM__CONNECT_TIMEOUT_MS", "1000".into()),
        ("IGAUTH_PARSE__SERVER_URL", parse.to_string()),
        ("IGAUTH_PARSE__APP_ID", "doctor-app".into()),
        ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY.into()),
    ]
}

async fn doctor(env: &[(&'static str, String)]) -> crate::helpers::binary::Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    igauth_async(&["doctor"], &env).await
}

#[actix_web::test]
async fn all_good_exits_0_with_one_ok_line_per_check() {
    let instagram = mockito::Server::new_async().await;
    let mut parse = mockito::Server::new_async().await;
    let _health = parse
        .mock("GET", "/parse/health")
        .with_body(r#"{"status":"ok"}"#)
        .create_async()
        .await;
    let schemas = parse
        .mock("GET", "/parse/schemas")
        .match_header("x-parse-application-id", "doctor-app")
        .match_header("x-parse-master-key", MASTER_KEY)
        .with_body(r#"{"results":[]}"#)
        .create_async()
        .await;
    let run = doctor(&env(&instagram.url(), &format!("{}/parse", parse.url()))).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(!run.stdout.contains("PROBLEM"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("ok      Instagram host http://127.0.0.1:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("GET /schemas with the master key answers 200"),
        "{}",
        run.stdout
    );
    schemas.assert_async().await;
    assert!(!run.all().contains(MASTER_KEY));
}

#[actix_web::test]
async fn a_parse_url_without_its_mount_path_and_a_refused_master_key_are_named() {
    let instagram = mockito::Server::new_async().await;
    let mut parse = mockito::Server::new_async().await;
    // Without /parse, Parse's Express app answers 404 for /health.
    let _not_mounted = parse
        .mock("GET", "/health")
        .with_status(404)
        .create_async()
        .await;
    let run = doctor(&env(&instagram.url(), &parse.url())).await;
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stdout.contains("PROBLEM")
            && run
                .stdout
                .contains("does IGAUTH_PARSE__SERVER_URL end with"),
        "{}",
        run.stdout
    );

    let _health = parse
        .mock("GET", "/parse/health")
        .with_body("{}")
        .create_async()
        .await;
    let _schemas = parse
        .mock("GET", "/parse/schemas")
        .with_status(403)
        .with_body(r#"{"error":"unauthorized"}"#)
        .create_async()
        .await;
    let run = doctor(&env(&instagram.url(), &format!("{}/parse", parse.url()))).await;
    assert_eq!(run.code, Some(1), "{}", run.all());
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("PROBLEM"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        line.contains("IGAUTH_PARSE__MASTER_KEY") && line.contains("masterKeyIps"),
        "{line}"
    );
}

#[actix_web::test]
async fn unreachable_instagram_hosts_say_which_step_failed_and_http_public_urls_are_problems() {
    let mut env = env("http://doctor-test.invalid", "");
    env.retain(|(k, _)| !k.starts_with("IGAUTH_PARSE__"));
    env[2].1 = "http://127.0.0.1:1/oauth/authorize".into();
    env.push(("IGAUTH_SERVER__PUBLIC_URL", "http://auth.example".into()));
    let run = doctor(&env).await;
    assert_eq!(run.code, Some(1), "{}", run.all());
    let problem = |needle: &str| {
        run.stdout
            .lines()
            .any(|l| l.starts_with("PROBLEM") && l.contains(needle))
    };
    assert!(problem("DNS: doctor-test.invalid"), "{}", run.stdout);
    assert!(problem("connect: 127.0.0.1:1"), "{}", run.stdout);
    assert!(problem("IGAUTH_SERVER__PUBLIC_URL"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("skipped Parse: IGAUTH_PARSE__SERVER_URL is not set"),
        "{}",
        run.stdout
    );
}
