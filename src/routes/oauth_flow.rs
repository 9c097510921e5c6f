//! The browser login flow, for apps that want "Log in with Instagram" without holding the client
//! secret or writing the OAuth dance themselves:
//!
//! 1. `GET /v1/authorize?return_to=URL` checks `return_to` against the allow-list, signs a
//!    `state` that carries it ([`crate::domain::login_state`]), binds that state to this browser
//!    with a short-lived cookie, and redirects to Instagram's consent window.
//! 2. Instagram sends the browser to `GET /v1/callback?code=..&state=..` (or `?error=..`). The
//!    state is verified before anything else; then the code is exchanged (optionally for a
//!    long-lived token), `/me` names the owner, and the browser goes back to `return_to` with the
//!    result in the URL *fragment*, which browsers never send to a server.
//! 3. `POST /v1/refresh` keeps a long-lived token alive.
//! 4. `GET /v1/demo` (off by default) is a page that runs the whole flow.
//!
//! Where the callback cannot trust the return target (a forged state, or one that no longer
//! matches the allow-list) it answers with a small HTML page and redirects nowhere, so it can
//! never be used as an open redirect. Nothing from the callback's query is ever logged.
//!
//! Why a cookie as well as the signature: anyone can obtain a validly signed state from
//! `/v1/authorize`, consent with their own Instagram account, and send the resulting callback
//! link to someone else, who would then be logged in to the app as the sender (login CSRF). The
//! cookie, set on the browser that started the login and required on the callback, stops that.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::exchange::{perform, ExchangeRequest};
use super::{body_kind, read_body, BodyKind};
use crate::domain::login_state::{b64url_encode, Nonce, OpenedState, VerifiedState, STATE_TTL};
use crate::domain::{AccessToken, ReturnTo, ReturnToError, StateError};
use crate::error::ApiError;
use crate::instagram::InstagramClient;
use crate::logging;
use crate::settings::Settings;
use crate::shared_cache;
use crate::startup::AppState;

const DEMO_HTML: &str = include_str!("demo.html");

fn not_configured() -> ApiError {
    ApiError::NotConfigured(
        "login_flow_not_configured",
        "The login flow is not configured on this server: the operator must set \
         IGAUTH_INSTAGRAM__CLIENT_ID, IGAUTH_INSTAGRAM__CLIENT_SECRET, \
         IGAUTH_INSTAGRAM__CALLBACK_URL, IGAUTH_INSTAGRAM__RETURN_URLS and \
         IGAUTH_SERVER__STATE_SECRET (at least 32 characters).",
    )
}

/// Everything `/v1/authorize` and `/v1/callback` need before they can do anything useful.
fn flow_configured(state: &AppState) -> bool {
    let ig = &state.settings.instagram;
    state.settings.exchange_configured()
        && !ig.callback_url.is_empty()
        && !ig.return_urls.is_empty()
        && state.login_states.is_configured()
}

/// Our error envelope for a code [`ApiError`] has no variant for.
fn envelope(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "error": {
            "code": code,
            "message": message,
            "request_id": logging::current_request_id(),
        }
    }))
}

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

/// The cookie that ties a state to the browser that started the login. `__Host-` (Secure, no
/// Domain, Path=/) when the callback is https, so a sibling subdomain cannot plant one.
fn binding_cookie_name(settings: &Settings, nonce: &Nonce) -> String {
    if secure_cookies(settings) {
        format!("__Host-igauth-login-{}", nonce.id())
    } else {
        format!("igauth-login-{}", nonce.id())
    }
}

fn secure_cookies(settings: &Settings) -> bool {
    settings.instagram.callback_url.starts_with("https://")
}

/// `Set-Cookie` for the binding cookie; `max_age` 0 deletes it.
fn binding_cookie(settings: &Settings, nonce: &Nonce, max_age: u64) -> String {
    format!(
        "{}={}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{}",
        binding_cookie_name(settings, nonce),
        if max_age == 0 { "" } else { "1" },
        if secure_cookies(settings) {
            "; Secure"
        } else {
            ""
        }
    )
}

fn has_cookie(req: &HttpRequest, name: &str) -> bool {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k == name && !v.is_empty())
        })
}

/// `GET /v1/authorize?return_to=URL`: to Instagram's consent window with a signed state.
pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.limit_client(&req, "authorize")?;
    if !flow_configured(&state) {
        return Err(not_configured());
    }
    let pairs = query_pairs(&req)?;
    let return_to = match ReturnTo::parse(
        first(&pairs, "return_to").unwrap_or(""),
        &state.settings.instagram.return_urls,
    ) {
        Ok(return_to) => return_to,
        Err(ReturnToError::NotAllowed) => {
            return Ok(envelope(
                StatusCode::BAD_REQUEST,
                "return_to_not_allowed",
                "return_to is not one of the URLs configured in IGAUTH_INSTAGRAM__RETURN_URLS \
                 (an exact URL, or one that continues a configured URL after '/', '?' or '#').",
            ))
        }
        Err(e) => return Err(ApiError::InvalidRequest(e.to_string())),
    };
    let issued = state
        .login_states
        .issue(&return_to)
        .map_err(|_| not_configured())?;
    Ok(HttpResponse::Found()
        .insert_header((
            header::LOCATION,
            crate::instagram::authorize_url(&state.settings.instagram, &issued.value),
        ))
        .insert_header((
            header::SET_COOKIE,
            binding_cookie(&state.settings, &issued.nonce, STATE_TTL.as_secs()),
        ))
        .finish())
}

/// A page for the person in the browser, when there is nowhere safe to send them.
fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
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

fn untrusted_state() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "This login link is not valid",
        "The link that brought you here was not issued by this server or was altered. \
         Go back to the app and start the Instagram login again.",
    )
}

/// Back to the app with `#error=..&error_description=..`, if the target is still allowed.
fn to_app_with_error(
    settings: &Settings,
    return_to: &str,
    code: &str,
    description: &str,
) -> HttpResponse {
    let Ok(target) = ReturnTo::parse(return_to, &settings.instagram.return_urls) else {
        return untrusted_state();
    };
    let params = serde_urlencoded::to_string([("error", code), ("error_description", description)])
        .unwrap_or_default();
    redirect(&target.with_fragment(&params))
}

fn redirect(location: &str) -> HttpResponse {
    match HeaderValue::from_str(location) {
        Ok(value) => HttpResponse::Found()
            .insert_header((header::LOCATION, value))
            .finish(),
        // ReturnTo admits only printable ASCII and the fragment is urlencoded, so unreachable.
        Err(_) => untrusted_state(),
    }
}

/// What Instagram's `error` parameter becomes at the app. Only the codes RFC 6749 defines for
/// this leg pass through; the description is always ours, never text from the query.
fn consent_error(error: &str) -> (&'static str, &'static str) {
    match error {
        "access_denied" => (
            "access_denied",
            "The user declined to log in with Instagram.",
        ),
        "invalid_request" => ("invalid_request", "Instagram refused the login request."),
        "unauthorized_client" => (
            "unauthorized_client",
            "Instagram refused this app; the operator must check the app's settings.",
        ),
        "unsupported_response_type" => (
            "unsupported_response_type",
            "Instagram refused the response type.",
        ),
        "invalid_scope" => (
            "invalid_scope",
            "Instagram refused the requested permissions (IGAUTH_INSTAGRAM__SCOPES).",
        ),
        "temporarily_unavailable" => (
            "temporarily_unavailable",
            "Instagram is temporarily unavailable; try again later.",
        ),
        _ => (
            "server_error",
            "Instagram ended the login with an error; try again.",
        ),
    }
}

#[derive(Serialize)]
struct LoginResult<'a> {
    id: &'a str,
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
}

/// `GET /v1/callback`: where Instagram sends the browser back. Ends at the app's `return_to`
/// with the result in the fragment, or at an error page when the state cannot be trusted.
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
) -> HttpResponse {
    if let Err(e) = state.limit_client(&req, "callback") {
        let mut page = error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many login attempts",
            "Too many logins from this network in a short time. Wait a minute and try again.",
        );
        if let ApiError::TooManyRequests(secs) = e {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                page.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        return page;
    }
    let settings = &state.settings;
    if !flow_configured(&state) {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Instagram login is not available",
            "This server is not configured for the Instagram login flow; the operator must \
             finish its configuration.",
        );
    }
    let Ok(pairs) = query_pairs(&req) else {
        return untrusted_state();
    };
    // The state first: nothing else in the query is looked at until it proves itself.
    let opened = match state
        .login_states
        .open(first(&pairs, "state").unwrap_or(""))
    {
        Ok(opened) => opened,
        Err(StateError::Forged | StateError::NotConfigured) => return untrusted_state(),
        Err(StateError::Expired { return_to }) => {
            return to_app_with_error(
                settings,
                &return_to,
                "expired_state",
                "The login took longer than 10 minutes; start it again.",
            )
        }
        Err(StateError::Replayed { return_to }) => {
            return to_app_with_error(
                settings,
                &return_to,
                "invalid_state",
                "This login was already completed once; start it again.",
            )
        }
    };
    let Ok(target) = ReturnTo::parse(&opened.return_to, &settings.instagram.return_urls) else {
        // Signed by us, but the operator has since removed the target from the allow-list.
        return untrusted_state();
    };
    // Checked before the state is spent, so someone who merely saw a state cannot burn it.
    if !has_cookie(&req, &binding_cookie_name(settings, &opened.nonce)) {
        return to_app_with_error(
            settings,
            target.as_str(),
            "invalid_state",
            "This login was not started in this browser (or its cookies are blocked); start it \
             again from the app. Apps must open /v1/authorize on the same host as \
             IGAUTH_INSTAGRAM__CALLBACK_URL.",
        );
    }
    let clear_cookie = binding_cookie(settings, &opened.nonce, 0);
    let mut answer = match spend(&state, opened).await {
        Ok(_) => finish(&state, &client, &target, &pairs).await,
        // Lost a race with a concurrent use of the same state, here or on another replica.
        Err(_) => to_app_with_error(
            settings,
            target.as_str(),
            "invalid_state",
            "This login was already completed once; start it again.",
        ),
    };
    if let Ok(value) = HeaderValue::from_str(&clear_cookie) {
        answer.headers_mut().append(header::SET_COOKIE, value);
    }
    answer
}

/// Uses up a state: in this process, then (with Redis) for the whole fleet. When Redis cannot
/// answer, the login goes on rather than failing: the state is still signed, in time and bound to
/// this browser, and the code that comes with it is single-use at Instagram, so a replay to
/// another replica gains nothing; Redis stays an optimisation, never a dependency.
async fn spend(state: &AppState, opened: OpenedState) -> Result<VerifiedState, StateError> {
    let verified = state.login_states.spend(opened).await?;
    if let Some(shared) = &state.shared {
        let key = shared_cache::state_key(&verified.nonce.id());
        if shared
            .claim(&key, state.login_states.remembered_for())
            .await
            == Some(false)
        {
            return Err(StateError::Replayed {
                return_to: verified.return_to,
            });
        }
    }
    Ok(verified)
}

/// The callback after the state checked out: consent error, or code exchange and `/me`.
async fn finish(
    state: &AppState,
    client: &InstagramClient,
    target: &ReturnTo,
    pairs: &[(String, String)],
) -> HttpResponse {
    let settings = &state.settings;
    if let Some(error) = first(pairs, "error") {
        let (code, description) = consent_error(error);
        return to_app_with_error(settings, target.as_str(), code, description);
    }
    let Some(code) = first(pairs, "code") else {
        return to_app_with_error(
            settings,
            target.as_str(),
            "invalid_request",
            "Instagram sent neither a code nor an error; start the login again.",
        );
    };
    let request = ExchangeRequest {
        code: Some(code.to_string()),
        redirect_uri: None,
        long_lived: None,
    };
    match perform(
        state,
        client,
        request,
        Some(settings.instagram.callback_url.as_str()),
    )
    .await
    {
        Ok(answer) => {
            let params = serde_urlencoded::to_string(LoginResult {
                id: &answer.id,
                access_token: &answer.access_token,
                expires_in: answer.expires_in,
                username: answer.username.as_deref(),
            })
            .unwrap_or_default();
            redirect(&target.with_fragment(&params))
        }
        Err(e) => to_app_with_error(settings, target.as_str(), e.code(), &e.message()),
    }
}

#[derive(Serialize)]
struct RefreshAnswer<'a> {
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    token_type: &'static str,
}

/// `POST /v1/refresh` `{"access_token": LONG_LIVED}`: a fresh long-lived token (60 more days).
pub async fn refresh(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
) -> Result<HttpResponse, ApiError> {
    state.limit_client(&req, "refresh")?;
    let kind = body_kind(&req, &[BodyKind::Json, BodyKind::Form])?;
    let body = read_body(&req, payload, state.settings.limits.max_body_bytes).await?;
    let raw = match kind {
        BodyKind::Json => {
            let value: Value = serde_json::from_slice(&body).map_err(|e| {
                ApiError::InvalidRequest(format!("The body is not valid JSON: {e}"))
            })?;
            let object = value.as_object().ok_or_else(|| {
                ApiError::InvalidRequest(
                    "The body must be a JSON object with an access_token.".into(),
                )
            })?;
            match object.get("access_token") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    return Err(ApiError::InvalidRequest(
                        "access_token must be a string".into(),
                    ))
                }
            }
        }
        BodyKind::Form => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&body).map_err(|_| {
                    ApiError::InvalidRequest("The form body could not be decoded.".into())
                })?;
            first(&pairs, "access_token").map(str::to_string)
        }
    };
    let raw = raw.ok_or_else(|| ApiError::InvalidRequest("access_token is required".into()))?;
    let token = AccessToken::parse(raw.trim())
        .map_err(|e| ApiError::InvalidRequest(format!("access_token {e}")))?;
    let grant = client
        .refresh(&token)
        .await
        .map_err(|e| ApiError::from_grant(e, ApiError::InvalidToken))?;
    Ok(HttpResponse::Ok().json(RefreshAnswer {
        access_token: grant.access_token.expose(),
        expires_in: grant.expires_in,
        token_type: "bearer",
    }))
}

/// `GET /v1/demo`: a page that runs the whole flow (only with `IGAUTH_SERVER__DEMO=true`).
pub async fn demo(state: web::Data<AppState>) -> HttpResponse {
    if !state.settings.server.demo {
        return ApiError::NotFound.error_answer();
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, demo_csp()))
        .body(DEMO_HTML)
}

/// The demo's own policy: its one inline script and one inline style, by hash, and nothing else
/// (no network access from the page; navigation is what the login needs).
fn demo_csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        format!(
            "default-src 'none'; script-src {}; style-src {}; img-src data:; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
            inline_hash(DEMO_HTML, "<script>", "</script>"),
            inline_hash(DEMO_HTML, "<style>", "</style>"),
        )
    })
}

/// `'sha256-<base64>'` of the text between `open` and `close`, as CSP hashes inline elements.
fn inline_hash(html: &str, open: &str, close: &str) -> String {
    let Some(start) = html.find(open).map(|i| i + open.len()) else {
        return "'none'".into();
    };
    let Some(len) = html[start..].find(close) else {
        return "'none'".into();
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, &html.as_bytes()[start..start + len]);
    // CSP wants standard base64 with padding.
    let mut b64 = b64url_encode(digest.as_ref())
        .replace('-', "+")
        .replace('_', "/");
    while !b64.len().is_multiple_of(4) {
        b64.push('=');
    }
    format!("'sha256-{b64}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_hashes_use_standard_base64() {
        // printf 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            inline_hash("<script>alert(1)</script>", "<script>", "</script>"),
            "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
        assert_eq!(inline_hash("<p>", "<script>", "</script>"), "'none'");
    }

    #[test]
    fn the_demo_page_has_exactly_one_script_and_one_style() {
        assert_eq!(DEMO_HTML.matches("<script").count(), 1);
        assert_eq!(DEMO_HTML.matches("<style").count(), 1);
        assert!(DEMO_HTML.contains("id=\"login\""));
        assert!(DEMO_HTML.contains("id=\"result\""));
        assert!(DEMO_HTML.contains("id=\"error\""));
        assert!(!demo_csp().contains("'none';  ") && !demo_csp().contains("unsafe"));
    }

    #[test]
    fn consent_errors_never_reflect_the_query() {
        assert_eq!(consent_error("access_denied").0, "access_denied");
        assert_eq!(consent_error("<script>").0, "server_error");
    }
}
