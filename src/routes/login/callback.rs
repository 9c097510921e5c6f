//! `GET /v1/callback`: where Instagram sends the browser back. Ends at the app's `return_to` with
//! a one-time handoff code (`#code=...`, redeemed at `/v1/token` with the PKCE verifier) or an
//! error in the URL fragment, or at an error page when the state cannot be trusted. No token,
//! id, user name or session is ever put in a URL. The state is checked before anything else in the query is looked at, and the browser
//! binding before the state is spent.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use super::page::{error_page, untrusted_state};
use super::{cookie, first, query_pairs};
use crate::domain::login_state::OpenedState;
use crate::domain::login_state::{StateError, STATE_TTL};
use crate::domain::{AuthCode, ReturnTo};
use crate::error::ApiError;
use crate::routes::extract::{Enabled, LoginFlow};
use crate::routes::guards::WithinRateLimit;
use crate::settings::Settings;
use crate::state::Worker;

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

/// The person is in a browser here, so even the rate limit answers with a page, not JSON.
pub(crate) async fn callback(
    limit: Result<WithinRateLimit, ApiError>,
    worker: Worker,
    enabled: Result<Enabled<LoginFlow>, ApiError>,
    req: HttpRequest,
) -> HttpResponse {
    if let Err(e) = limit {
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
    let settings = worker.settings();
    if enabled.is_err() {
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
    let opened = match worker.open_login(first(&pairs, "state").unwrap_or("")) {
        Ok(opened) => opened,
        Err(StateError::Forged | StateError::NotConfigured) => return untrusted_state(),
        Err(StateError::Expired { return_to }) => {
            let description = format!(
                "The login took longer than {} minutes; start it again.",
                STATE_TTL.as_secs() / 60
            );
            return to_app_with_error(settings, &return_to, "expired_state", &description);
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
    if !cookie::present(&req, &cookie::name(settings, &opened.nonce)) {
        return to_app_with_error(
            settings,
            target.as_str(),
            "invalid_state",
            "This login was not started in this browser (or its cookies are blocked); start it \
             again from the app. Apps must open /v1/authorize on the same host as \
             IGAUTH_INSTAGRAM__CALLBACK_URL.",
        );
    }
    let clear_cookie = cookie::binding(settings, &opened.nonce, 0);
    let mut answer = match worker.spend_login(&opened).await {
        Ok(_) => finish(&worker, &target, &opened, &pairs).await,
        // Lost a race with a concurrent use of the same state, here or on another replica.
        Err(_) => to_app_with_error(
            settings,
            target.as_str(),
            "invalid_state",
            "This login was already completed once; start it again.",
        ),
    };
    if let Ok(value) = HeaderValue::from_str(&clear_cookie.to_string()) {
        answer.headers_mut().append(header::SET_COOKIE, value);
    }
    answer
}

/// The callback after the state checked out: consent error, or the code exchange.
async fn finish(
    worker: &Worker,
    target: &ReturnTo,
    opened: &OpenedState,
    pairs: &[(String, String)],
) -> HttpResponse {
    let settings = worker.settings();
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
    let code = match AuthCode::parse(code) {
        Ok(code) => code,
        Err(e) => {
            let e = ApiError::InvalidRequest(format!("code {e}"));
            return to_app_with_error(settings, target.as_str(), e.code(), &e.message());
        }
    };
    match worker.exchange_for_login(code).await {
        Ok(exchanged) => {
            match worker.hand_off(exchanged, opened).await {
                // 43 base64url characters: nothing to escape.
                Some(code) => redirect(&target.with_fragment(&format!("code={}", code.expose()))),
                None => to_app_with_error(
                    settings,
                    target.as_str(),
                    "server_error",
                    "The login could not be completed; start it again.",
                ),
            }
        }
        Err(e) => {
            let e = ApiError::from(e);
            to_app_with_error(settings, target.as_str(), e.code(), &e.message())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_errors_never_reflect_the_query() {
        assert_eq!(consent_error("access_denied").0, "access_denied");
        assert_eq!(consent_error("<script>").0, "server_error");
    }
}
