//! `GET /v1/demo`: a page that runs the whole login flow and shows what an app would receive
//! (only with `IGAUTH_SERVER__DEMO=true`). It runs under its own strict policy: its one inline
//! script and one inline style, allowed by hash, and nothing else.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::super::csp::inline_hash;
use crate::error::ApiError;
use crate::state::AppState;

const DEMO_HTML: &str = include_str!("demo.html");

pub(crate) async fn demo(state: web::Data<AppState>) -> HttpResponse {
    if !state.settings.server.demo {
        return ApiError::NotFound.error_answer();
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, demo_csp()))
        .body(DEMO_HTML)
}

/// The demo's own policy: its one inline script and one inline style, by hash, and nothing else
/// (network access only to igauth itself, for `/v1/token`; navigation is what the login needs).
fn demo_csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        format!(
            "default-src 'none'; script-src {}; style-src {}; img-src data:; connect-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            inline_hash(DEMO_HTML, "<script>", "</script>"),
            inline_hash(DEMO_HTML, "<style>", "</style>"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_page_has_exactly_one_script_and_one_style() {
        assert_eq!(DEMO_HTML.matches("<script").count(), 1);
        assert_eq!(DEMO_HTML.matches("<style").count(), 1);
        assert!(DEMO_HTML.contains("id=\"login\""));
        assert!(DEMO_HTML.contains("id=\"result\""));
        assert!(DEMO_HTML.contains("id=\"error\""));
        // The exact call, with the provider's authData unwrapped: `{ authData }` over the
        // wrapped object is Parse error 101.
        assert!(DEMO_HTML.contains("id=\"call\""));
        assert!(DEMO_HTML.contains(
            r#"'Parse.User.logInWith("instagram", {authData: ' + JSON.stringify(body.authData.instagram)"#
        ));
        assert!(!DEMO_HTML.contains("{ authData })"));
        assert!(!demo_csp().contains("'none';  ") && !demo_csp().contains("unsafe"));
    }
}
