//! Checks many files make of an answer: our error envelope, the security headers, no-store.

use super::Answer;

/// An error envelope with `code` at `status`, and no verdict anywhere in it.
pub fn assert_envelope(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.error_code(), code, "{}", answer.text);
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        answer.text
    );
    assert!(answer.json().get("valid").is_none(), "{}", answer.text);
}

/// A 401 for a missing or wrong API key, naming the scheme to use.
pub fn assert_unauthorized(answer: &Answer) {
    assert_envelope(answer, 401, "unauthorized");
    assert_eq!(
        answer.header("www-authenticate"),
        Some("Bearer"),
        "{}",
        answer.text
    );
}

pub fn assert_security_headers(answer: &Answer) {
    let context = format!("{} {}", answer.status, answer.text);
    assert_eq!(
        answer.header("x-content-type-options"),
        Some("nosniff"),
        "{context}"
    );
    assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{context}");
    let csp = answer
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP: {context}"));
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        answer.header("referrer-policy").is_some(),
        "no Referrer-Policy: {context}"
    );
}

pub fn assert_no_store(answer: &Answer) {
    let cache_control = answer.header("cache-control").unwrap_or_default();
    assert!(
        cache_control.contains("no-store"),
        "token-bearing answer without Cache-Control: no-store ({cache_control:?}): {}",
        answer.text
    );
}

/// A yes from `/v1/validate`: 200, `valid: true`, for [`BIG_ID`].
pub fn assert_valid(answer: &Answer) {
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["valid"], true, "{}", answer.text);
    assert_eq!(answer.json()["id"], super::BIG_ID, "{}", answer.text);
}

/// `/v1/validate`'s refusal for `reason`: 200, `valid: false`.
pub fn assert_rejected(answer: &Answer, reason: &str) {
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["valid"], false, "{}", answer.text);
    assert_eq!(answer.json()["reason"], reason, "{}", answer.text);
}
