//! One error type for the whole API, mapped to one envelope:
//! `{"error": {"code": "...", "message": "...", "request_id": "..."}}` and the right HTTP status.
//!
//! Codes are stable and machine-readable; messages say what was wrong and what to do. Nothing
//! here ever includes a token, code, secret or upstream URL: upstream trouble arrives as an
//! [`UpstreamError`], which carries none.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::login_state::MIN_SECRET_LEN;
use crate::domain::SignedRequestError;
use crate::exchange::{ExchangeError, RefreshError};
use crate::instagram::{Refusal, UpstreamError};
use crate::logging;
use crate::meta_callbacks::MetaError;
use crate::parse_api::ParseError;
use crate::sessions::{SessionError, SignInError};

/// How long a throttled caller should wait: as long as igauth itself pauses its calls.
const RATE_LIMIT_RETRY_SECS: u64 = crate::instagram::THROTTLE_PAUSE.as_secs();

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 400: the request is malformed; the message names the field.
    InvalidRequest(String),
    /// 400: Instagram refused the code (bad, expired or already used).
    InvalidCode(Refusal),
    /// 400: Instagram refused the token offered for a refresh or long-lived exchange.
    InvalidToken(Refusal),
    /// 400: the redirect_uri is not in the configured allow-list.
    RedirectUriNotAllowed,
    /// 400: the login flow's return_to is not in the configured allow-list.
    ReturnToNotAllowed,
    /// 400: a cross-origin request CORS does not allow; carries the CORS layer's reason.
    CorsNotAllowed(String),
    /// 401: missing or wrong service API key.
    Unauthorized,
    /// 403: no API key is configured and the caller is not on this machine.
    ProtectedMode,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 408: the body did not arrive within `IGAUTH_LIMITS__BODY_TIMEOUT_MS`.
    RequestTimeout,
    /// 413: body over the size limit.
    PayloadTooLarge(usize),
    /// 415: wrong Content-Type.
    UnsupportedMediaType(&'static str),
    /// 429: per-client rate limit; retry after this many seconds.
    TooManyRequests(u64),
    /// 503: the operator has not configured the code exchange.
    ExchangeNotConfigured,
    /// 503: the operator has not configured the login flow.
    LoginFlowNotConfigured,
    /// 503: the login flow is configured, but not as registered at Meta (the callback URL).
    LoginFlowMisconfigured,
    /// 400: a Meta callback whose signed_request is not Meta's (or malformed); nothing was done.
    InvalidSignedRequest(SignedRequestError),
    /// 404: no data-deletion request has this confirmation code.
    UnknownConfirmationCode,
    /// 503: Meta's callbacks need this setting.
    MetaCallbacksNotConfigured(&'static str),
    /// 502: Parse Server did not do what a callback needed; Meta's retry will try again.
    ParseUnavailable,
    /// 502/503/504: Instagram did not give a usable answer.
    Upstream(UpstreamError),
    /// 400: a handoff code that is unknown, used, expired, or not bound to this verifier. One
    /// variant for all of them, so nothing tells them apart.
    InvalidGrant,
    /// 409: the Instagram account is linked to another Parse user.
    AlreadyLinked,
    /// 401: the `X-Parse-Session-Token` sent to link with is not a live Parse session.
    InvalidSessionToken,
    /// 502/503/504: Parse did not sign the person in; nothing half-made was left behind.
    Parse(ParseError),
}

impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Exchange(e) => e.into(),
            SignInError::InvalidGrant => ApiError::InvalidGrant,
            SignInError::Session(e) => e.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::AlreadyLinked => ApiError::AlreadyLinked,
            SessionError::InvalidSessionToken => ApiError::InvalidSessionToken,
            SessionError::Parse(e) => {
                log::error!("Parse sign-in failed: {e}");
                ApiError::Parse(e)
            }
            SessionError::NoRandomness => ApiError::LoginFlowNotConfigured,
        }
    }
}

impl From<UpstreamError> for ApiError {
    fn from(e: UpstreamError) -> Self {
        ApiError::Upstream(e)
    }
}

impl From<ExchangeError> for ApiError {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::NotConfigured => ApiError::ExchangeNotConfigured,
            ExchangeError::RedirectUriNotAllowed => ApiError::RedirectUriNotAllowed,
            ExchangeError::RedirectUriRequired => ApiError::InvalidRequest(
                "redirect_uri is required: more than one redirect URI is configured".into(),
            ),
            ExchangeError::CodeRefused(refusal) => ApiError::InvalidCode(refusal),
            ExchangeError::CallbackNotRegistered => ApiError::LoginFlowMisconfigured,
            ExchangeError::TokenRefused(refusal) => ApiError::InvalidToken(refusal),
            ExchangeError::Upstream(e) => ApiError::Upstream(e),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Refused(refusal) => ApiError::InvalidToken(refusal),
            RefreshError::Upstream(e) => ApiError::Upstream(e),
        }
    }
}

impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> ApiError {
        match e {
            MetaError::NotConfigured(setting) => ApiError::MetaCallbacksNotConfigured(setting),
            MetaError::Invalid(e) => ApiError::InvalidSignedRequest(e),
            MetaError::Parse(_) => ApiError::ParseUnavailable,
        }
    }
}

impl ApiError {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::InvalidCode(_) => "invalid_code",
            ApiError::InvalidToken(_) => "invalid_token",
            ApiError::RedirectUriNotAllowed => "redirect_uri_not_allowed",
            ApiError::ReturnToNotAllowed => "return_to_not_allowed",
            ApiError::CorsNotAllowed(_) => "cors_not_allowed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::ProtectedMode => "protected_mode",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooManyRequests(_) => "rate_limited",
            ApiError::ExchangeNotConfigured => "exchange_not_configured",
            ApiError::LoginFlowNotConfigured => "login_flow_not_configured",
            // The login flow's error code at the app (RFC 6749's for "the server's fault").
            ApiError::LoginFlowMisconfigured => "server_error",
            ApiError::InvalidSignedRequest(_) => "invalid_signed_request",
            ApiError::UnknownConfirmationCode => "not_found",
            ApiError::MetaCallbacksNotConfigured(_) => "meta_callbacks_not_configured",
            ApiError::ParseUnavailable => "parse_unavailable",
            ApiError::InvalidGrant => "invalid_grant",
            ApiError::AlreadyLinked => "already_linked",
            ApiError::InvalidSessionToken => "invalid_session_token",
            ApiError::Parse(e) => match e {
                ParseError::Unreachable => "parse_timeout",
                ParseError::Refused(status, _) if is_busy(*status) => "parse_unavailable",
                _ => "parse_error",
            },
            ApiError::Upstream(e) => match e {
                UpstreamError::Timeout => "upstream_timeout",
                UpstreamError::RateLimited => "upstream_rate_limited",
                UpstreamError::CircuitOpen(_) => "upstream_unavailable",
                _ => "upstream_error",
            },
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            ApiError::InvalidRequest(m) => m.clone(),
            ApiError::InvalidCode(refusal) => format!(
                "Instagram refused the authorization code: {}",
                match refusal {
                    Refusal::CodeUsed =>
                        "it was not found or was already used (Instagram does not tell \
                         these apart). Codes are single-use; start the Instagram login again to \
                         get a new one.",
                    Refusal::RedirectMismatch =>
                        "the redirect_uri differs from the one the \
                         login was started with. Send the exact redirect URI your app opened the \
                         Instagram login with.",
                    _ =>
                        "it is not valid or has expired. Codes are single-use and expire after \
                         an hour; start the Instagram login again to get a new one.",
                }
            ),
            ApiError::InvalidToken(refusal) => format!(
                "Instagram refused the access token: {}",
                match refusal {
                    Refusal::TokenExpired =>
                        "it has expired; the user must log in with \
                         Instagram again.",
                    _ =>
                        "it is not a valid token for this app (a refresh needs a long-lived \
                         token that is at least 24 hours old and unexpired).",
                }
            ),
            ApiError::RedirectUriNotAllowed => "redirect_uri is not one of the redirect URIs \
                 configured in IGAUTH_INSTAGRAM__REDIRECT_URIS; send the exact URI your app \
                 used for the Instagram login."
                .into(),
            ApiError::ReturnToNotAllowed => "return_to is not one of the URLs configured in \
                 IGAUTH_INSTAGRAM__RETURN_URLS: it needs the scheme, host and port of a \
                 configured URL and a path at or below that URL's path (a query may follow)."
                .into(),
            ApiError::CorsNotAllowed(reason) => format!(
                "Cross-origin request refused: {reason}. Allowed origins are listed in \
                 IGAUTH_SERVER__CORS_ORIGINS; only GET and POST with Content-Type and \
                 Authorization headers are allowed."
            ),
            ApiError::Unauthorized => {
                "Send the service API key as 'Authorization: Bearer <key>'.".into()
            }
            ApiError::ProtectedMode => "This server has no API key, so it answers this route only \
                 for callers on its own machine (protected mode). The operator must set \
                 IGAUTH_SERVER__API_KEY (callers then send 'Authorization: Bearer <key>'), or, \
                 on a network only trusted callers can reach, set \
                 IGAUTH_SERVER__PROTECTED_MODE=false."
                .into(),
            ApiError::NotFound => "No such route; see /openapi.yaml for the API.".into(),
            ApiError::MethodNotAllowed => {
                "This route does not support that method; see /openapi.yaml.".into()
            }
            ApiError::RequestTimeout => "The request body did not arrive in time; send it \
                 whole, without pauses, and retry."
                .into(),
            ApiError::PayloadTooLarge(limit) => {
                format!("The request body is larger than {limit} bytes.")
            }
            ApiError::UnsupportedMediaType(expected) => {
                format!("Send the body as {expected}.")
            }
            ApiError::TooManyRequests(secs) => {
                let unit = if *secs == 1 { "second" } else { "seconds" };
                format!("Too many requests from this client; retry in {secs} {unit}.")
            }
            ApiError::ExchangeNotConfigured => "Code exchange is not configured on this server: \
                 the operator must set IGAUTH_INSTAGRAM__CLIENT_ID, \
                 IGAUTH_INSTAGRAM__CLIENT_SECRET and IGAUTH_INSTAGRAM__REDIRECT_URIS."
                .into(),
            ApiError::LoginFlowMisconfigured => "The login could not finish because of how this \
                 service is set up, not because of anything the app or the person did; its \
                 operator has been told. Try again later."
                .into(),
            ApiError::LoginFlowNotConfigured => format!(
                "The login flow is not configured on this server: the operator must set \
                 IGAUTH_INSTAGRAM__CLIENT_ID, IGAUTH_INSTAGRAM__CLIENT_SECRET, \
                 IGAUTH_INSTAGRAM__CALLBACK_URL, IGAUTH_INSTAGRAM__RETURN_URLS and \
                 IGAUTH_SERVER__STATE_SECRET (at least {MIN_SECRET_LEN} characters)."
            ),
            ApiError::InvalidSignedRequest(e) => format!(
                "{e}. Nothing was done. Only Meta calls this route, with a signed_request \
                 signed with this app's secret (IGAUTH_INSTAGRAM__CLIENT_SECRET)."
            ),
            ApiError::UnknownConfirmationCode => "No data deletion request has this \
                 confirmation code; check the link Meta gave you."
                .into(),
            ApiError::MetaCallbacksNotConfigured(setting) => format!(
                "Meta's callbacks are not configured on this server: the operator must set \
                 {setting}."
            ),
            ApiError::ParseUnavailable => "The app's Parse Server did not complete the \
                 request; nothing is lost, retry later."
                .into(),
            ApiError::InvalidGrant => "The code is not valid: it is unknown, was already \
                 used, has expired (codes live 60 seconds), or the code_verifier is not the one \
                 the login was started with. Start the login again."
                .into(),
            ApiError::AlreadyLinked => "This Instagram account is already linked to another \
                 user of this app; log in with Instagram alone to use that account."
                .into(),
            ApiError::InvalidSessionToken => "X-Parse-Session-Token is not a live session of \
                 this app; log the user in again, or send the request without it."
                .into(),
            ApiError::Parse(e) => match e {
                ParseError::Unreachable => "The app's Parse Server did not answer in time; \
                     nothing was created. Start the login again."
                    .into(),
                ParseError::Refused(403, _) => "The app's Parse Server refused igauth's master \
                     key: the operator must check IGAUTH_PARSE__MASTER_KEY and Parse's \
                     masterKeyIps. Nothing was created."
                    .into(),
                ParseError::Refused(status, _) if is_busy(*status) => "The app's Parse Server \
                     is unavailable; nothing was created. Retry later."
                    .into(),
                _ => "The app's Parse Server could not sign the user in; nothing was created. \
                     Start the login again."
                    .into(),
            },
            ApiError::Upstream(e) => match e {
                UpstreamError::Timeout => {
                    "Instagram did not answer in time; nothing was decided. Retry later.".into()
                }
                UpstreamError::RateLimited => {
                    "Instagram is rate limiting this app; nothing was decided. Retry later.".into()
                }
                UpstreamError::CircuitOpen(_) => "Instagram has been failing; calls are paused \
                     for a short cool-down. Nothing was decided. Retry later."
                    .into(),
                UpstreamError::Misconfigured => "Instagram refused this service's app \
                     credentials; the operator must check the configured client id and secret."
                    .into(),
                UpstreamError::ServerError(status) => format!(
                    "Instagram answered with HTTP {status}; nothing was decided. Retry later."
                ),
                UpstreamError::Connect => {
                    "Could not reach Instagram; nothing was decided. Retry later.".into()
                }
                UpstreamError::Unusable(what) | UpstreamError::Unexpected(what) => {
                    format!("Instagram gave an unusable answer ({what}); nothing was decided.")
                }
            },
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests(secs) => Some(*secs),
            ApiError::Upstream(UpstreamError::CircuitOpen(secs)) => Some(*secs),
            ApiError::Upstream(UpstreamError::RateLimited) => Some(RATE_LIMIT_RETRY_SECS),
            _ => None,
        }
    }
}

/// Parse (or what is in front of it) says it is overloaded or down for now.
fn is_busy(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

impl ApiError {
    /// The error as a response, for places that answer directly rather than return `Err`.
    pub(crate) fn error_answer(&self) -> HttpResponse {
        ResponseError::error_response(self)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_)
            | ApiError::InvalidCode(_)
            | ApiError::InvalidToken(_)
            | ApiError::RedirectUriNotAllowed
            | ApiError::ReturnToNotAllowed
            | ApiError::CorsNotAllowed(_)
            | ApiError::InvalidSignedRequest(_)
            | ApiError::InvalidGrant => StatusCode::BAD_REQUEST,
            ApiError::AlreadyLinked => StatusCode::CONFLICT,
            ApiError::InvalidSessionToken => StatusCode::UNAUTHORIZED,
            ApiError::Parse(e) => match e {
                ParseError::Unreachable => StatusCode::GATEWAY_TIMEOUT,
                ParseError::Refused(status, _) if is_busy(*status) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => StatusCode::BAD_GATEWAY,
            },
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::ProtectedMode => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::UnknownConfirmationCode => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ExchangeNotConfigured
            | ApiError::LoginFlowNotConfigured
            | ApiError::LoginFlowMisconfigured
            | ApiError::MetaCallbacksNotConfigured(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::ParseUnavailable => StatusCode::BAD_GATEWAY,
            ApiError::Upstream(e) => match e {
                UpstreamError::Timeout => StatusCode::GATEWAY_TIMEOUT,
                UpstreamError::RateLimited | UpstreamError::CircuitOpen(_) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => StatusCode::BAD_GATEWAY,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after() {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if *self == ApiError::RequestTimeout {
            // The rest of a stalled body may still arrive: drop the connection, not just the
            // request.
            response.force_close();
        }
        if *self == ApiError::Unauthorized {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(Envelope {
            error: Body {
                code: self.code(),
                message: self.message(),
                request_id: logging::current_request_id(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ApiError;

    #[test]
    fn one_second_is_singular() {
        assert!(ApiError::TooManyRequests(1)
            .message()
            .ends_with("retry in 1 second."));
        assert!(ApiError::TooManyRequests(7)
            .message()
            .ends_with("retry in 7 seconds."));
    }
}
