//! `GET /v1/meta/data-deletion/{code}`: where the URL Meta shows a person leads. A person gets a
//! small self-contained page (`status.html`: no external assets, its one inline style allowed by
//! hash and nothing else); `Accept: application/json` gets the record as JSON. An unknown or
//! malformed code is 404.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;

use crate::domain::{iso8601, ConfirmationCode, DeletionRecord, DeletionStatus};
use crate::error::ApiError;
use crate::state::Worker;

const STATUS_HTML: &str = include_str!("status.html");

#[derive(Serialize)]
struct StatusAnswer<'a> {
    confirmation_code: &'a str,
    status: &'static str,
    requested_at: String,
    completed_at: Option<String>,
    users: usize,
    action: &'a str,
    function_called: bool,
    message: &'a str,
}

pub(crate) async fn status(
    req: HttpRequest,
    code: web::Path<String>,
    worker: Worker,
) -> Result<HttpResponse, ApiError> {
    let json = wants_json(&req);
    let record = match ConfirmationCode::parse(&code) {
        Some(code) => worker.deletion_status(&code).await?,
        None => None,
    };
    let Some(record) = record else {
        return Ok(if json {
            ApiError::UnknownConfirmationCode.error_answer()
        } else {
            page(
                StatusCode::NOT_FOUND,
                "This confirmation code is not known here; check the link Meta gave you.",
                None,
            )
        });
    };
    let mut answer = if json {
        HttpResponse::Ok().json(StatusAnswer {
            confirmation_code: &record.confirmation_code,
            status: record.status.as_str(),
            requested_at: iso8601(record.requested_at_ms),
            completed_at: record.completed_at_ms.map(iso8601),
            users: record.users,
            action: &record.action,
            function_called: record.function_called,
            message: &record.message,
        })
    } else {
        page(StatusCode::OK, &record.message, Some(&record))
    };
    answer
        .headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    Ok(answer)
}

/// JSON for callers that ask for it; browsers (which never list JSON) get the page.
fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|t| t.trim().starts_with("application/json"))
        })
}

/// The page for `record` (or, without one, for an unknown code).
fn page(status: StatusCode, message: &str, record: Option<&DeletionRecord>) -> HttpResponse {
    let (code, state, words, requested, completed) = match record {
        Some(r) => (
            r.confirmation_code.as_str(),
            r.status.as_str(),
            status_words(r.status),
            iso8601(r.requested_at_ms),
            r.completed_at_ms.map_or_else(
                || "not yet".to_string(),
                |ms| {
                    let at = iso8601(ms);
                    format!("<time datetime=\"{at}\">{at}</time>")
                },
            ),
        ),
        None => ("unknown", "failed", "Not found", "-".into(), "-".into()),
    };
    let body = STATUS_HTML
        .replace("{message}", &escape(message))
        .replace("{code}", &escape(code))
        .replace("{status_words}", words)
        .replace("{status}", state)
        .replace("{requested_at}", &requested)
        .replace("{completed}", &completed);
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, csp()))
        .body(body)
}

fn status_words(status: DeletionStatus) -> &'static str {
    match status {
        DeletionStatus::Received => "Received, in progress",
        DeletionStatus::Completed => "Completed",
        DeletionStatus::NoData => "Completed: no data found",
        DeletionStatus::Failed => "Failed, will be retried",
    }
}

/// Only our own texts reach the page, but escaping keeps it that way if one ever changes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page's policy: its one inline style by hash, and nothing else at all.
fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let start = STATUS_HTML
            .find("<style>")
            .map_or(0, |i| i + "<style>".len());
        let end = STATUS_HTML.find("</style>").unwrap_or(start);
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            &STATUS_HTML.as_bytes()[start..end.max(start)],
        );
        format!(
            "default-src 'none'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
            STANDARD.encode(digest.as_ref())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_style_by_hash_and_nothing_else() {
        let policy = csp();
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!policy.contains("unsafe") && !policy.contains("script-src"));
        assert!(!STATUS_HTML.contains("<script") && !STATUS_HTML.contains("http"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
