//! The browser login flow, for apps that want "Log in with Instagram" without holding the client
//! secret or writing the OAuth dance themselves:
//!
//! 1. `GET /v1/authorize?return_to=URL` ([`authorize`]) checks `return_to` against the
//!    allow-list, signs a `state` that carries it ([`crate::domain::login_state`]), binds that
//!    state to this browser with a short-lived cookie ([`cookie`]), and redirects to Instagram's
//!    consent window.
//! 2. Instagram sends the browser to `GET /v1/callback?code=..&state=..` (or `?error=..`)
//!    ([`callback`]). The state is verified before anything else; then the code is exchanged
//!    (optionally for a long-lived token), `/me` names the owner, and the browser goes back to
//!    `return_to` with the result in the URL *fragment*, which browsers never send to a server.
//! 3. `GET /v1/demo` ([`demo`], off by default) is a page that runs the whole flow.
//!
//! (`POST /v1/refresh`, which keeps a long-lived token alive, is its own face: `routes/refresh.rs`.)
//!
//! Where the callback cannot trust the return target (a forged state, or one that no longer
//! matches the allow-list) it answers with a small HTML page ([`page`]) and redirects nowhere, so
//! it can never be used as an open redirect. Nothing from the callback's query is ever logged.
//!
//! Why a cookie as well as the signature: anyone can obtain a validly signed state from
//! `/v1/authorize`, consent with their own Instagram account, and send the resulting callback
//! link to someone else, who would then be logged in to the app as the sender (login CSRF). The
//! cookie, set on the browser that started the login and required on the callback, stops that.

pub(crate) mod authorize;
pub(crate) mod callback;
mod cookie;
pub(crate) mod demo;
mod page;

use actix_web::HttpRequest;

use crate::error::ApiError;

/// The query's pairs, decoded. Repeated names: the first wins.
fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ApiError::InvalidRequest("The query string could not be decoded.".into()))
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
