//! The pages the login flow shows a person when there is nowhere safe to send them.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::logging;

/// A small self-contained page; `title` and `message` are our own constant texts.
pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let reference = logging::current_request_id()
        .map(|id| format!("<p>Reference: <code>{id}</code></p>\n"))
        .unwrap_or_default();
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<p>{message}</p>\n\
             {reference}</body></html>\n"
        ))
}

/// For a state we did not issue (or whose target is no longer allowed): no redirect anywhere.
pub(crate) fn untrusted_state() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "This login link is not valid",
        "The link that brought you here was not issued by this server or was altered. \
         Go back to the app and start the Instagram login again.",
    )
}
