//! What each error says, in our own words: what went wrong and what to change. Upstream text never
//! appears here (it goes only to the log); codes and statuses sit beside the variants in `mod.rs`.

use super::{is_busy, ApiError};
use crate::domain::login_state::MIN_SECRET_LEN;
use crate::instagram::{Refusal, UpstreamError};
use crate::parse_api::ParseError;

impl ApiError {
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
}
