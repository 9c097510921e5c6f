//! The exchange's per-client limit seen from a client: tight settings, and an exchange that can
//! claim to come from elsewhere.

use super::{Answer, TestApp, REDIRECT_URI};

/// POSTs an exchange, optionally claiming to come from `forwarded_for`.
pub async fn exchange(app: &TestApp, forwarded_for: Option<&str>) -> Answer {
    let mut req = app
        .http
        .post(app.url("/v1/exchange"))
        .insert_header(("Content-Type", "application/json"));
    if let Some(xff) = forwarded_for {
        req = req.insert_header(("X-Forwarded-For", xff));
    }
    let body = serde_json::json!({ "code": "AQB-guess", "redirect_uri": REDIRECT_URI });
    Answer::read(req.send_body(body.to_string()).await.expect("app answers")).await
}

/// A limit of two a minute, two at once.
pub const TIGHT: [(&str, &str); 2] = [
    ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "2"),
    ("IGAUTH_LIMITS__EXCHANGE_BURST", "2"),
];

/// The exchange limit at `per_minute` with a burst of `burst`.
pub fn exchange_limit(
    per_minute: &'static str,
    burst: &'static str,
) -> [(&'static str, &'static str); 2] {
    [
        ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", per_minute),
        ("IGAUTH_LIMITS__EXCHANGE_BURST", burst),
    ]
}
