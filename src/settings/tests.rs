//! The settings' rules, through [`Settings::from_sources`]: what loads, what is refused with
//! which variable named, and what each half-configured feature reports.

use super::*;

fn with_env(vars: &[(&str, &str)]) -> Result<Settings, String> {
    Settings::from_sources(Sources {
        file: None,
        env: Some(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
    })
}

#[test]
fn defaults_start_a_validator_without_credentials() {
    let s = with_env(&[]).unwrap();
    assert_eq!(s.server.bind, "0.0.0.0:8080");
    assert_eq!(s.instagram.graph_url, "https://graph.instagram.com");
    assert_eq!(s.instagram.timeout_ms, 5000);
    assert!(!s.features.exchange);
}

#[test]
fn env_overrides_and_lists_split_on_commas() {
    let s = with_env(&[
        (
            "IGAUTH_INSTAGRAM__REDIRECT_URIS",
            "https://a.example/cb, https://b.example/cb",
        ),
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "0123"),
        ("IGAUTH_INSTAGRAM__TIMEOUT_MS", "250"),
    ])
    .unwrap();
    assert_eq!(
        s.instagram.redirect_uris,
        vec!["https://a.example/cb", "https://b.example/cb"]
    );
    assert_eq!(s.instagram.client_id, "0123", "ids keep leading zeros");
    assert_eq!(s.instagram.timeout_ms, 250);
}

#[test]
fn bad_values_name_the_variable() {
    let err = with_env(&[("IGAUTH_INSTAGRAM__TIMEOUT_MS", "soon")]).unwrap_err();
    assert!(err.contains("IGAUTH_INSTAGRAM__TIMEOUT_MS"), "{err}");
    let err = with_env(&[("IGAUTH_SERVER__BIND", "nowhere")]).unwrap_err();
    assert!(err.contains("IGAUTH_SERVER__BIND"), "{err}");
    let err = with_env(&[("IGAUTH_SERVER__METRICS_BIND", "9090")]).unwrap_err();
    assert!(err.contains("IGAUTH_SERVER__METRICS_BIND"), "{err}");
    let err = with_env(&[("IGAUTH_SERVER__METRICS_BIND", "0.0.0.0:8080")]).unwrap_err();
    assert!(err.contains("must differ"), "{err}");
    let s = with_env(&[("IGAUTH_SERVER__METRICS_BIND", "127.0.0.1:9090")]).unwrap();
    assert_eq!(
        s.metrics_bind_addr(),
        Ok(Some("127.0.0.1:9090".parse().unwrap()))
    );
}

#[test]
fn durations_are_bounded() {
    let err = with_env(&[("IGAUTH_INSTAGRAM__TIMEOUT_MS", "18446744073709551615")]).unwrap_err();
    assert!(
        err.contains("IGAUTH_INSTAGRAM__TIMEOUT_MS must be at most"),
        "{err}"
    );
    let err = with_env(&[("IGAUTH_CACHE__TTL_SECS", "99999999999")]).unwrap_err();
    assert!(err.contains("IGAUTH_CACHE__TTL_SECS"), "{err}");
}

#[test]
fn cors_origins_must_be_origins() {
    assert!(with_env(&[("IGAUTH_SERVER__CORS_ORIGINS", "https://app.example, *")]).is_ok());
    let err = with_env(&[("IGAUTH_SERVER__CORS_ORIGINS", "https://app.example/path")]).unwrap_err();
    assert!(err.contains("IGAUTH_SERVER__CORS_ORIGINS"), "{err}");
}

#[test]
fn debug_output_redacts_secrets() {
    let s = with_env(&[
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t-value"),
        (
            "IGAUTH_SERVER__API_KEY",
            "k3y-value-0123456789abcdef-0123456789",
        ),
    ])
    .unwrap();
    let printed = format!("{s:?}");
    assert!(!printed.contains("s3cr3t-value") && !printed.contains("k3y-value"));
    assert!(printed.contains("[redacted]"));
}

fn setup_errors(vars: &[(&str, &str)]) -> Vec<String> {
    with_env(vars).unwrap().setup_errors()
}

const STATE_SECRET: &str = "0123456789abcdef0123456789abcdef";
const REDIS_SECRET: &str = "redis-secret-0123456789abcdef-0123";

#[test]
fn tls_redis_is_accepted_and_a_ca_file_must_hold_a_certificate() {
    let redis = |url: &str, ca: &str| {
        with_env(&[
            ("IGAUTH_CACHE__BACKEND", "redis"),
            ("IGAUTH_CACHE__REDIS_URL", url),
            ("IGAUTH_CACHE__REDIS_SECRET", REDIS_SECRET),
            ("IGAUTH_CACHE__REDIS_CA_FILE", ca),
        ])
    };
    assert!(redis("rediss://default:pw@cache.example:6380", "").is_ok());
    let err = redis("redis://cache:6379", "/etc/hostname").unwrap_err();
    assert!(err.contains("not a rediss://"), "{err}");
    let err = redis("rediss://cache:6380", "/nonexistent/ca.pem").unwrap_err();
    assert!(
        err.contains("IGAUTH_CACHE__REDIS_CA_FILE: cannot read"),
        "{err}"
    );
    let err = redis("rediss://cache:6380", "/etc/hostname").unwrap_err();
    assert!(err.contains("no PEM certificate"), "{err}");
}

#[test]
fn the_redis_secret_is_required_long_and_clean() {
    let redis = |secret: &str| {
        with_env(&[
            ("IGAUTH_CACHE__BACKEND", "redis"),
            ("IGAUTH_CACHE__REDIS_URL", "redis://cache:6379"),
            ("IGAUTH_CACHE__REDIS_SECRET", secret),
        ])
    };
    assert!(redis("")
        .unwrap_err()
        .contains("IGAUTH_CACHE__REDIS_SECRET is required"));
    assert!(redis("short").unwrap_err().contains("too short"));
    let padded = format!(" {REDIS_SECRET}\n");
    assert!(redis(&padded).unwrap_err().contains("whitespace"));
    let s = redis(REDIS_SECRET).unwrap();
    assert!(!format!("{s:?}").contains(REDIS_SECRET), "redacted");
    let err = with_env(&[("IGAUTH_CACHE__REDIS_SECRET_PREVIOUS", "short")]).unwrap_err();
    assert!(err.contains("IGAUTH_CACHE__REDIS_SECRET_PREVIOUS"), "{err}");
}

#[test]
fn redis_backend_needs_a_usable_url() {
    let err = with_env(&[("IGAUTH_CACHE__BACKEND", "redis")]).unwrap_err();
    assert!(err.contains("IGAUTH_CACHE__REDIS_URL is required"), "{err}");
    for (url, wanted) in [
        ("http://cache:6379", "must look like redis[s]://"),
        ("redis://:hunter2pw@[::1:6379", "not a valid"),
    ] {
        let err = with_env(&[
            ("IGAUTH_CACHE__BACKEND", "redis"),
            ("IGAUTH_CACHE__REDIS_URL", url),
            ("IGAUTH_CACHE__REDIS_SECRET", REDIS_SECRET),
        ])
        .unwrap_err();
        assert!(err.contains(wanted), "{url}: {err}");
        assert!(!err.contains("hunter2pw"), "the password leaked: {err}");
    }
    let s = with_env(&[
        ("IGAUTH_CACHE__BACKEND", "redis"),
        ("IGAUTH_CACHE__REDIS_URL", "redis://:pw@cache:6379/2"),
        ("IGAUTH_CACHE__REDIS_SECRET", REDIS_SECRET),
    ])
    .unwrap();
    assert_eq!(s.cache.backend, CacheBackend::Redis);
    assert_eq!(s.cache.redis_timeout_ms, 50, "the default budget");
    assert!(!format!("{s:?}").contains(":pw@"), "the URL is redacted");
}

#[test]
fn redis_timeout_is_bounded() {
    for bad in ["0", "5001"] {
        let err = with_env(&[("IGAUTH_CACHE__REDIS_TIMEOUT_MS", bad)]).unwrap_err();
        assert!(err.contains("IGAUTH_CACHE__REDIS_TIMEOUT_MS"), "{err}");
    }
    let s = with_env(&[("IGAUTH_CACHE__REDIS_TIMEOUT_MS", "20")]).unwrap();
    assert_eq!(s.cache.redis_timeout_ms, 20);
}

#[test]
fn a_validation_only_setup_has_no_setup_errors() {
    assert!(setup_errors(&[]).is_empty());
    assert!(setup_errors(&[
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "0123"),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t"),
        ("IGAUTH_INSTAGRAM__REDIRECT_URIS", "https://app.example/cb"),
    ])
    .is_empty());
}

#[test]
fn half_of_the_client_credentials_is_an_error() {
    let errors = setup_errors(&[("IGAUTH_INSTAGRAM__CLIENT_ID", "0123")]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("CLIENT_SECRET is not"), "{errors:?}");
    let errors = setup_errors(&[("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t")]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("CLIENT_ID is not"), "{errors:?}");
    assert!(
        !errors[0].contains("s3cr3t"),
        "messages name variables, not values"
    );
}

#[test]
fn exchange_without_redirect_uris_is_an_error_unless_the_login_flow_uses_the_credentials() {
    let creds = [
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "0123"),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t"),
    ];
    let errors = setup_errors(&creds);
    assert!(
        errors.len() == 1 && errors[0].contains("IGAUTH_INSTAGRAM__REDIRECT_URIS"),
        "{errors:?}"
    );
    let mut flow = creds.to_vec();
    flow.extend([
        (
            "IGAUTH_INSTAGRAM__CALLBACK_URL",
            "https://auth.example/v1/callback",
        ),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", "https://app.example/"),
        ("IGAUTH_SERVER__STATE_SECRET", STATE_SECRET),
    ]);
    let s = with_env(&flow).unwrap();
    assert!(s.setup_errors().is_empty(), "{:?}", s.setup_errors());
    assert!(
        s.warnings()
            .iter()
            .any(|w| w.contains("IGAUTH_INSTAGRAM__REDIRECT_URIS")),
        "still a warning: {:?}",
        s.warnings()
    );
}

#[test]
fn a_partly_configured_login_flow_names_what_is_missing() {
    let errors = setup_errors(&[(
        "IGAUTH_INSTAGRAM__CALLBACK_URL",
        "https://auth.example/v1/callback",
    )]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    for var in [
        "CLIENT_ID",
        "CLIENT_SECRET",
        "IGAUTH_INSTAGRAM__RETURN_URLS",
        "IGAUTH_SERVER__STATE_SECRET",
    ] {
        assert!(errors[0].contains(var), "{var}: {errors:?}");
    }
    assert!(!errors[0].contains("CALLBACK_URL"), "{errors:?}");

    let errors = setup_errors(&[
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "0123"),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t"),
        (
            "IGAUTH_INSTAGRAM__CALLBACK_URL",
            "https://auth.example/v1/callback",
        ),
        ("IGAUTH_INSTAGRAM__RETURN_URLS", "https://app.example/"),
        ("IGAUTH_SERVER__STATE_SECRET", "too-short"),
    ]);
    assert!(
        errors.len() == 1 && errors[0].contains("STATE_SECRET (at least 32"),
        "{errors:?}"
    );

    let errors = setup_errors(&[("IGAUTH_SERVER__DEMO", "true")]);
    assert!(
        errors.len() == 1 && errors[0].contains("CALLBACK_URL"),
        "the demo needs the flow: {errors:?}"
    );
}

#[test]
fn callback_url_must_be_http() {
    let errors = setup_errors(&[("IGAUTH_INSTAGRAM__CALLBACK_URL", "auth.example/cb")]);
    assert!(
        errors.iter().any(|e| e.contains("must be the http(s) URL")),
        "{errors:?}"
    );
}

#[test]
fn redis_with_the_cache_off_is_an_error() {
    let errors = setup_errors(&[
        ("IGAUTH_CACHE__BACKEND", "redis"),
        ("IGAUTH_CACHE__REDIS_URL", "redis://cache:6379"),
        ("IGAUTH_CACHE__REDIS_SECRET", REDIS_SECRET),
        ("IGAUTH_CACHE__TTL_SECS", "0"),
    ]);
    assert!(
        errors.len() == 1 && errors[0].contains("IGAUTH_CACHE__TTL_SECS=0"),
        "{errors:?}"
    );
}

#[test]
fn keys_with_whitespace_short_keys_and_placeholders_are_refused_naming_the_variable() {
    let long = "0123456789abcdef0123456789abcdef";
    for (var, value, says) in [
        ("IGAUTH_SERVER__API_KEY", format!("{long} "), "whitespace"),
        ("IGAUTH_SERVER__API_KEY", format!("\t{long}"), "whitespace"),
        (
            "IGAUTH_SERVER__API_KEY",
            "only-twenty-chars-ok".into(),
            "at least 32",
        ),
        (
            "IGAUTH_PARSE__WEBHOOK_KEY",
            "fifteen-chars-x".into(),
            "at least 16",
        ),
        (
            "IGAUTH_SERVER__STATE_SECRET",
            "REPLACE_ME_state_secret_at_least_32_characters".into(),
            "placeholder",
        ),
        (
            "IGAUTH_SERVER__API_KEY",
            format!("{long}-Change-Me"),
            "placeholder",
        ),
        (
            "IGAUTH_INSTAGRAM__CLIENT_SECRET",
            "replace_me".into(),
            "placeholder",
        ),
        (
            "IGAUTH_INSTAGRAM__CLIENT_SECRET",
            "abc\n".into(),
            "whitespace",
        ),
    ] {
        let err = with_env(&[(var, value.as_str())]).unwrap_err();
        assert!(
            err.starts_with(var) && err.contains(says),
            "{var}={value:?}: {err}"
        );
        assert!(!err.contains(value.trim()), "the value leaked: {err}");
    }
    assert!(with_env(&[
        ("IGAUTH_SERVER__API_KEY", long),
        ("IGAUTH_PARSE__WEBHOOK_KEY", "sixteen-chars-ok"),
    ])
    .is_ok());
}

#[test]
fn unknown_variables_stop_startup_with_the_closest_name() {
    let err =
        with_env(&[("IGAUTH_SERVER__APIKEY", "0123456789abcdef0123456789abcdef")]).unwrap_err();
    assert!(
        err.contains("did you mean IGAUTH_SERVER__API_KEY?"),
        "{err}"
    );
    // What Kubernetes injects for a Service named igauth is not a setting.
    assert!(with_env(&[
        ("IGAUTH_SERVICE_HOST", "10.0.0.1"),
        ("IGAUTH_PORT", "tcp://x")
    ])
    .is_ok());
}

#[test]
fn meta_callback_settings_are_checked_and_named() {
    let parse = [
        ("IGAUTH_PARSE__SERVER_URL", "https://parse.example/parse"),
        ("IGAUTH_PARSE__APP_ID", "app"),
        ("IGAUTH_PARSE__MASTER_KEY", "0123456789abcdef0123"),
    ];
    let s = with_env(&parse).unwrap();
    assert!(s.features.parse_api && !s.features.meta_callbacks);
    assert_eq!(s.parse.on_data_deletion, ParseAction::DeleteUser);
    assert_eq!(s.parse.on_deauthorize, ParseAction::None);
    for (var, value, named) in [
        (
            "IGAUTH_PARSE__MASTER_KEY",
            "short",
            "IGAUTH_PARSE__MASTER_KEY is too short",
        ),
        (
            "IGAUTH_PARSE__MASTER_KEY",
            " 0123456789abcdef0123",
            "whitespace",
        ),
        (
            "IGAUTH_PARSE__ON_DATA_DELETION",
            "revoke_sessions",
            "IGAUTH_PARSE__ON_DATA_DELETION",
        ),
        ("IGAUTH_PARSE__ON_DEAUTHORIZE", "wipe", "on_deauthorize"),
        (
            "IGAUTH_PARSE__DELETION_FUNCTION",
            "a/b",
            "IGAUTH_PARSE__DELETION_FUNCTION",
        ),
        (
            "IGAUTH_SERVER__PUBLIC_URL",
            "auth.example",
            "IGAUTH_SERVER__PUBLIC_URL",
        ),
        (
            "IGAUTH_PARSE__SERVER_URL",
            "parse.example",
            "IGAUTH_PARSE__SERVER_URL",
        ),
    ] {
        let err = with_env(&[(var, value)]).unwrap_err();
        assert!(err.contains(named), "{var}={value}: {err}");
    }
    let partial = setup_errors(&[("IGAUTH_PARSE__APP_ID", "app")]);
    assert!(
        partial
            .iter()
            .any(|e| e.contains("IGAUTH_PARSE__SERVER_URL")
                && e.contains("IGAUTH_PARSE__MASTER_KEY")),
        "{partial:?}"
    );
    let s = with_env(&[(
        "IGAUTH_INSTAGRAM__CALLBACK_URL",
        "https://auth.example:8443/v1/callback",
    )])
    .unwrap();
    assert_eq!(
        s.status_url_base().as_deref(),
        Some("https://auth.example:8443/v1/meta/data-deletion/")
    );
    let s = with_env(&[("IGAUTH_SERVER__PUBLIC_URL", "https://x.example/igauth/")]).unwrap();
    assert_eq!(
        s.status_url_base().as_deref(),
        Some("https://x.example/igauth/v1/meta/data-deletion/")
    );
    assert_eq!(with_env(&[]).unwrap().status_url_base(), None);
}

#[test]
fn urls_with_a_password_are_refused_naming_the_variable_not_the_password() {
    for var in ["IGAUTH_PARSE__SERVER_URL", "IGAUTH_SERVER__PUBLIC_URL"] {
        let err = with_env(&[(var, "https://admin:hunter2@host.example/parse")]).unwrap_err();
        assert!(err.contains(var), "{err}");
        assert!(!err.contains("hunter2") && !err.contains("admin"), "{err}");
    }
}
