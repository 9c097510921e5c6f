//! `GET /v1/meta/data-deletion/{code}`: where the URL Meta shows a person leads. A person gets a
//! small self-contained page (`status.html`: no external assets, its one inline style allowed by
//! hash and nothing else); `Accept: application/json` gets the record as JSON. An unknown or
//! malformed code is 404, and costs no lookup: a code carries its own MAC, checked first. The
//! route is rate limited per client like the login flow. The page speaks to the person who
//! asked: the app's name (`IGAUTH_META__APP_NAME`), a contact link (`IGAUTH_META__CONTACT_URL`)
//! and plain words; no setting name or operator advice ever reaches it.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::super::csp::inline_hash;
use super::super::guards::WithinRateLimit;
use crate::domain::{iso8601, DeletionRecord, DeletionStatus};
use crate::error::ApiError;
use crate::settings::Settings;
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
    // Public and unauthenticated like the login flow: limited per client the same way.
    _: WithinRateLimit,
) -> Result<HttpResponse, ApiError> {
    let json = wants_json(&req);
    let record = worker.deletion_status(&code).await?;
    let Some(record) = record else {
        return Ok(if json {
            ApiError::UnknownConfirmationCode.error_answer()
        } else {
            page(
                worker.settings(),
                StatusCode::NOT_FOUND,
                "This confirmation code is not known here. Check that the link is the one you \
                 were given, in full.",
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
        page(
            worker.settings(),
            StatusCode::OK,
            &record.message,
            Some(&record),
        )
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

/// The page for `record` (or, without one, for an unknown code): words for the person, the
/// app's name and how to reach its team, never a setting or operator advice.
fn page(
    settings: &Settings,
    status: StatusCode,
    message: &str,
    record: Option<&DeletionRecord>,
) -> HttpResponse {
    let meta = &settings.meta;
    let app = if meta.app_name.trim().is_empty() {
        "this app".to_string()
    } else {
        escape(meta.app_name.trim())
    };
    let contact = if meta.contact_url.is_empty() {
        format!("Questions about your request? Contact {app} through the app.")
    } else {
        format!(
            "Questions about your request? <a href=\"{}\">Contact {app}</a>.",
            escape(&meta.contact_url)
        )
    };
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
    // The settings' texts go in last, so nothing in them is taken for a placeholder.
    let body = STATUS_HTML
        .replace("{message}", &escape(message))
        .replace("{code}", &escape(code))
        .replace("{status_words}", words)
        .replace("{status}", state)
        .replace("{requested_at}", &requested)
        .replace("{completed}", &completed)
        .replace("{contact}", &contact)
        .replace("{app}", &app);
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, csp()))
        .body(body)
}

fn status_words(status: DeletionStatus) -> &'static str {
    match status {
        DeletionStatus::Received => "In progress",
        DeletionStatus::Completed => "Completed",
        DeletionStatus::NoData => "Completed: no data found",
        DeletionStatus::Failed => "Not completed: the app's team is on it",
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
        format!(
            "default-src 'none'; style-src {}; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
            inline_hash(STATUS_HTML, "<style>", "</style>")
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
