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

use crate::domain::SignedRequestError;
use crate::exchange::{ExchangeError, RefreshError};
use crate::instagram::{Refusal, UpstreamError};
use crate::logging;
use crate::meta_callbacks::MetaError;
use crate::parse_api::ParseError;
use crate::sessions::{SessionError, SignInError};

mod messages;

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
