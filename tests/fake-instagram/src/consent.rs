//! The consent page at `/oauth/authorize`: what a browser sees before Instagram redirects back.

use std::sync::atomic::Ordering::Relaxed;

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse};

use crate::answers::*;
use crate::graph::param;
use crate::state::Shared;

/// The consent window. Values from the query end up in HTML and in URLs, so they are escaped for
/// each; only http(s) redirect URIs are followed (never `javascript:`).
pub(crate) async fn authorize(req: HttpRequest, state: Shared) -> HttpResponse {
    let query = req.query_string();
    let field = |name| param(query, name).unwrap_or_default();
    let redirect_uri = field("redirect_uri");
    let problem = if field("client_id") != state.client_id {
        Some("Invalid app ID")
    } else if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        Some("Invalid redirect_uri")
    } else if field("response_type") != "code" {
        Some("Invalid response_type")
    } else {
        None
    };
    if let Some(problem) = problem {
        return HttpResponse::BadRequest()
            .insert_header(ContentType::html())
            .body(format!(
                "<!DOCTYPE html><html><head><title>Error</title></head><body>\
                 <h1 id=\"error\">{problem}</h1></body></html>"
            ));
    }
    let state_param = field("state");
    let scope = field("scope");
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let n = state.serial.fetch_add(1, Relaxed);
    let allow = format!(
        "{redirect_uri}{sep}{}#_",
        serde_urlencoded::to_string([
            ("code", format!("CODE-{CONSENT_USER}-{n}").as_str()),
            ("state", &state_param),
        ])
        .unwrap_or_default()
    );
    let cancel = format!(
        "{redirect_uri}{sep}error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+request.&{}",
        serde_urlencoded::to_string([("state", &*state_param)]).unwrap_or_default()
    );
    let page = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Log in with Instagram</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:28em;margin:3em auto;text-align:center}}
button{{font-size:1.1em;padding:.5em 1.5em;margin:.5em}}#allow{{background:#0095f6;color:#fff;border:0;border-radius:6px}}</style>
</head><body>
<h1>Instagram (fake)</h1>
<p>An app wants to use your account <b>user{CONSENT_USER}</b>.</p>
<p>Requested permissions: <span id="scope">{}</span></p>
<button id="allow" type="button" data-href="{}">Allow</button>
<button id="cancel" type="button" data-href="{}">Cancel</button>
<script>
for (const b of document.querySelectorAll('button[data-href]'))
  b.addEventListener('click', () => {{ window.location.href = b.dataset.href; }});
</script>
</body></html>
"#,
        html_escape(&scope),
        html_escape(&allow),
        html_escape(&cancel),
    );
    HttpResponse::Ok()
        .insert_header(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .body(page)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
