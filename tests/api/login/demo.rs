//! `GET /v1/demo`: the built-in login page, off unless enabled, under its own strict policy.

use crate::helpers::login::*;
use crate::helpers::*;

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
    // The web recipe: PKCE made in the page, the code redeemed at /v1/token.
    assert!(answer.text.contains("'authorize?'"));
    assert!(answer.text.contains("code_challenge_method: 'S256'"));
    assert!(answer.text.contains("crypto.subtle.digest('SHA-256'"));
    assert!(answer.text.contains("fetch('token'"));
    let csp: Vec<_> = answer.headers.get_all("content-security-policy").collect();
    assert_eq!(csp.len(), 1, "one policy, the page's own: {csp:?}");
    let csp = csp[0].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(csp.contains("style-src 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("connect-src 'self'"),
        "only igauth itself: {csp}"
    );
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
