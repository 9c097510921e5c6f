//! Instagram's answers as it writes them, and the JSON response they go out in.

use actix_web::http::{header::ContentType, StatusCode};
use actix_web::HttpResponse;

pub(crate) const INVALID_TOKEN: &str = r#"{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}"#;

pub(crate) const EXPIRED_TOKEN: &str = r#"{"error":{"message":"Error validating access token: Session has expired on Friday, 01-Jan-26 00:00:00 PST.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC"}}"#;

pub(crate) const RATE_LIMITED: &str = r#"{"error":{"message":"Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"x"}}"#;

pub(crate) const SERVER_ERROR: &str = r#"{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","code":2,"fbtrace_id":"AbC"}}"#;

pub(crate) const UNAVAILABLE: &str = r#"{"error":{"message":"Service unavailable","code":2}}"#;

pub(crate) const BAD_GATEWAY_HTML: &str = "<!DOCTYPE html><html><head><title>Error</title></head><body><h1>502 Bad Gateway</h1><p>Sorry, something went wrong.</p></body></html>";

pub(crate) const TRUNCATED: &str = r#"{"id":"12"#;

pub(crate) const INVALID_APP: &str =
    r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid platform app"}"#;

pub(crate) const CODE_USED: &str = r#"{"error_type":"OAuthException","code":400,"error_message":"This authorization code has been used"}"#;

pub(crate) const CODE_UNKNOWN: &str = r#"{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}"#;

pub(crate) const BAD_GRANT_TYPE: &str =
    r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid grant_type"}"#;

pub(crate) const LONG_LIVED_SECS: u64 = 5_183_944;

/// The id the consent page hands out codes for: above 2^53 and odd, so a double would round it.
pub(crate) const CONSENT_USER: &str = "17841405793187219";

pub(crate) fn json(
    status: StatusCode,
    body: impl actix_web::body::MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(ContentType::json())
        .body(body)
}

pub(crate) fn bad_request(body: &'static str) -> HttpResponse {
    json(StatusCode::BAD_REQUEST, body)
}
