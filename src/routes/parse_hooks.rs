//! Parse Server Cloud Code webhooks (registered through Parse's Hooks API or Back4App's
//! dashboard). Parse's protocol, always: HTTP 200 with `{"success": ...}` (a trigger's pass is
//! `{}`) or `{"error": "<message>"}`, which Parse turns into `Parse.Error(141, message)`.
//!
//! Parse relays error messages to the app's end users, so they never name this service, its
//! configuration or its upstream trouble: when we cannot decide, the user reads
//! `UNVERIFIABLE`, and the reason goes to our log (without tokens, keys or bodies).
//!
//! Each call must carry Parse's `webhookKey` in `X-Parse-Webhook-Key` when one is configured.
//! Parse sends these bodies chunked, with no Content-Length; [`ReadBody`] reads them either way.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::answers::{ExchangeAnswer, ValidateAnswer};
use super::body::{Fields, FromFields, ReadBody};
use super::guards::{check_rate, keys_match, unprotected};
use crate::domain::{AuthData, RejectReason, Verdict};
use crate::error::ApiError;
use crate::exchange::{ExchangeError, ExchangeRequest};
use crate::state::{AppState, Worker};

const INVALID_AUTH: &str = "Instagram auth is invalid for this user.";
/// What an end user reads when no verdict could be had (the reason is logged, not shown).
const UNVERIFIABLE: &str = "Instagram login could not be verified right now; please try again.";
/// What an end user reads when this network made too many logins in a short time.
const TOO_MANY: &str =
    "Too many Instagram logins from this network; please wait a minute and try again.";

fn success(value: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "success": value }))
}

fn failure(message: impl Into<String>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "error": message.into() }))
}

/// What to tell Parse when we could not decide: never success, and never "invalid". The
/// reason goes to the log only: it names upstream trouble an end user cannot act on.
fn undecided(e: &ApiError) -> String {
    log::warn!(
        "Parse webhook: no verdict on Instagram authData, refused: {}",
        e.message()
    );
    UNVERIFIABLE.into()
}

/// One webhook call from Parse: its key checked, its body read (bounded in size and time).
pub(crate) struct WebhookCall {
    body: actix_web::web::Bytes,
}

/// Why a webhook's body was not read, answered in Parse's protocol, except for a body that
/// stalled past its deadline, which gets the 408 that closes the connection.
#[derive(Debug)]
pub(crate) enum Refused {
    Timeout,
    Message(String),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Timeout => f.write_str("webhook body timed out"),
            Refused::Message(m) => f.write_str(m),
        }
    }
}

impl ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        match self {
            Refused::Timeout => StatusCode::REQUEST_TIMEOUT,
            Refused::Message(_) => StatusCode::OK,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Refused::Timeout => ApiError::RequestTimeout.error_answer(),
            Refused::Message(message) => failure(message.as_str()),
        }
    }
}

impl FromRequest for WebhookCall {
    type Error = Refused;
    type Future = ReadWebhook;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let payload = payload.take();
        let read = match req.app_data::<Worker>() {
            Some(worker) => match key_refusal(req, worker.app()) {
                None => {
                    let limits = &worker.settings().limits;
                    ReadBody::new(
                        req,
                        payload,
                        limits.webhook_max_body_bytes,
                        limits.body_timeout(),
                    )
                }
                Some(refused) => ReadBody::refused(payload, refused),
            },
            None => ReadBody::refused(payload, ApiError::NotFound),
        };
        ReadWebhook { read }
    }
}

/// Reading a webhook's body (a named future: no box per call).
pub(crate) struct ReadWebhook {
    read: ReadBody,
}

impl Future for ReadWebhook {
    type Output = Result<WebhookCall, Refused>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.get_mut().read).poll(cx) {
            Poll::Ready(Ok(body)) => Poll::Ready(Ok(WebhookCall { body })),
            Poll::Ready(Err(ApiError::RequestTimeout)) => Poll::Ready(Err(Refused::Timeout)),
            // A refused key arrives as `Unauthorized`; the reason is already logged.
            Poll::Ready(Err(ApiError::Unauthorized)) => {
                Poll::Ready(Err(Refused::Message(UNVERIFIABLE.into())))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(Refused::Message(e.message()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Why this caller may not use the webhooks, if it may not (logged here, answered as
/// [`UNVERIFIABLE`]).
fn key_refusal(req: &HttpRequest, state: &AppState) -> Option<ApiError> {
    let expected = &state.settings.parse.webhook_key;
    if !expected.is_set() && state.settings.server.api_key.is_set() {
        // The API key protects /v1/validate; open webhooks beside it would be a way around it
        // (and a public, unthrottled code exchange). Parse cannot send our API key, so it must
        // send its webhook key.
        if let Some(count) = state.webhook_refusals.tick() {
            log::warn!(
                "Parse webhook refused ({count} since the last such line, logged at most once a \
                 minute): webhooks are disabled because this server has an API key but no \
                 webhook key; set IGAUTH_PARSE__WEBHOOK_KEY to Parse's webhookKey"
            );
        }
        return Some(ApiError::Unauthorized);
    }
    if !expected.is_set() && !unprotected(req, state) {
        if let Some(count) = state.webhook_refusals.tick() {
            log::warn!(
                "Parse webhook refused ({count} since the last such line, logged at most once a \
                 minute): this server has no webhook key, so webhooks answer only callers on \
                 this machine (protected mode); set IGAUTH_PARSE__WEBHOOK_KEY to Parse's \
                 webhookKey, or IGAUTH_SERVER__PROTECTED_MODE=false on a private network"
            );
        }
        return Some(ApiError::Unauthorized);
    }
    if expected.is_set() {
        let given = req
            .headers()
            .get("x-parse-webhook-key")
            .map(|v| v.as_bytes())
            .unwrap_or(b"");
        if !keys_match(given, expected.expose().as_bytes()) {
            state.metrics.wrong_key("webhook_key");
            if let Some(count) = state.webhook_refusals.tick() {
                log::warn!(
                    "Parse webhook refused: the X-Parse-Webhook-Key is {} ({count} refused since \
                     the last such line; counted in igauth_wrong_key_total, logged at most once \
                     a minute). Parse's webhookKey must equal IGAUTH_PARSE__WEBHOOK_KEY",
                    if given.is_empty() { "missing" } else { "wrong" }
                );
            }
            return Some(ApiError::Unauthorized);
        }
    }
    None
}

#[derive(Deserialize)]
struct FunctionCall {
    params: Option<Value>,
}

impl WebhookCall {
    /// A Cloud function call's `params`.
    fn params(&self) -> Result<Value, String> {
        serde_json::from_slice::<FunctionCall>(&self.body)
            .ok()
            .and_then(|call| call.params)
            .ok_or_else(|| "The webhook body must be a JSON object with params.".into())
    }
}

/// Parse's answer for a webhook outcome.
fn reply<T: serde::Serialize>(outcome: Result<T, String>) -> HttpResponse {
    match outcome {
        Ok(value) => success(value),
        Err(message) => failure(message),
    }
}

/// `POST /v1/parse/functions/validate`: `params` is the authData.
pub(crate) async fn validate_function(worker: Worker, call: WebhookCall) -> HttpResponse {
    let outcome = async {
        let params = call.params()?;
        let auth = AuthData::from_value(&params).map_err(|e| format!("Invalid request: {e}"))?;
        match worker.validate(&auth).await {
            // Never `{"success": null}`: Parse crashes on it. Serializing this answer cannot
            // fail, and if it did the caller would get an error, not a success.
            Ok(verdict @ Verdict::Valid(_)) => {
                serde_json::to_value(ValidateAnswer::from_verdict(&verdict))
                    .map_err(|e| format!("Could not write the answer: {e}"))
            }
            Ok(Verdict::Rejected(_)) => Err(INVALID_AUTH.to_string()),
            Err(e) => Err(undecided(&e.into())),
        }
    };
    reply(outcome.await)
}

/// What Parse may relay to an end user about a failed exchange: the request's own mistakes and
/// Instagram's refusal of the code; configuration and upstream trouble go to the log instead.
fn exchange_message(e: ExchangeError) -> String {
    match e {
        ExchangeError::RedirectUriRequired
        | ExchangeError::CodeRefused(_)
        | ExchangeError::TokenRefused(_) => ApiError::from(e).message(),
        ExchangeError::RedirectUriNotAllowed => {
            log::warn!(
                "Parse exchange webhook refused: {}",
                ApiError::from(e).message()
            );
            "redirect_uri is not one of this app's redirect URIs.".into()
        }
        ExchangeError::NotConfigured
        | ExchangeError::CallbackNotRegistered
        | ExchangeError::Upstream(_) => {
            log::warn!(
                "Parse exchange webhook failed: {}",
                ApiError::from(e).message()
            );
            UNVERIFIABLE.into()
        }
    }
}

/// `POST /v1/parse/functions/exchange`: `params` is `{code, redirect_uri?}`.
pub(crate) async fn exchange_function(
    req: HttpRequest,
    worker: Worker,
    call: WebhookCall,
) -> HttpResponse {
    let outcome = async {
        // Without a webhook key anyone allowed to call this is anonymous: then it is a public
        // code exchange and shares /v1/exchange's per-client limit.
        if !worker.settings().parse.webhook_key.is_set() && check_rate(&req).is_err() {
            return Err(TOO_MANY.to_string());
        }
        let params = call.params()?;
        let fields = Fields::from_json(params, ExchangeRequest::NEEDS).map_err(|e| e.message())?;
        // Said before the params are judged: no params can make an unconfigured exchange work.
        if !worker.settings().features.exchange {
            return Err(exchange_message(ExchangeError::NotConfigured));
        }
        let request = ExchangeRequest::from_fields(&fields).map_err(|e| e.message())?;
        let exchanged = worker.exchange(request).await.map_err(exchange_message)?;
        serde_json::to_value(ExchangeAnswer::new(&exchanged, None))
            .map_err(|e| format!("Could not write the answer: {e}"))
    };
    reply(outcome.await)
}

#[derive(Deserialize)]
struct TriggerCall<'a> {
    #[serde(rename = "triggerName")]
    trigger_name: Option<String>,
    #[serde(borrow)]
    object: Option<&'a RawValue>,
    original: Option<UserView>,
}

#[derive(Deserialize)]
struct UserView {
    #[serde(rename = "authData")]
    auth_data: Option<AuthDataView>,
}

#[derive(Deserialize)]
struct AuthDataView {
    instagram: Option<Value>,
}

impl UserView {
    /// The Instagram authData, if any (`null` is how Parse unlinks it).
    fn instagram(self) -> Option<Value> {
        self.auth_data
            .and_then(|a| a.instagram)
            .filter(|v| !v.is_null())
    }
}

/// `POST /v1/parse/triggers/user`: `beforeSave` / `beforeLogin` on `_User`.
///
/// A pass answers `{}` (no `success` key): Parse then keeps the write exactly as the client sent
/// it. A `success` object would REPLACE the write, and Parse would report every field in it as
/// changed by the trigger, so each `_User` save answer would carry the whole user back to the
/// client (its authData token, its ACL, every custom field).
///
/// What is checked follows what Parse sends. On `beforeSave`, Instagram authData that is new or
/// changed (signup, link) must be valid; authData carried along unchanged by a profile edit was
/// checked when it was written, and its short-lived token may have expired since. On
/// `beforeLogin`, Parse sends the user as stored (before it looks at the login's own authData),
/// so only what an expired token cannot explain is refused: a stored token that belongs to
/// another user. That check cannot tell a password login from an Instagram one, so when no
/// verdict can be had it lets the login through (and logs why) rather than lock everyone out.
pub(crate) async fn user_trigger(worker: Worker, call: WebhookCall) -> HttpResponse {
    let Ok(TriggerCall {
        trigger_name,
        object: Some(object),
        original,
    }) = serde_json::from_slice::<TriggerCall>(&call.body)
    else {
        return failure("The trigger body must be a JSON object with an object.");
    };
    let instagram = match serde_json::from_str::<UserView>(object.get()) {
        Ok(view) => view.instagram(),
        Err(_) => return failure("The trigger's object must be a JSON object."),
    };
    let login = trigger_name.as_deref() == Some("beforeLogin");
    let unchanged = original.and_then(UserView::instagram) == instagram;
    if let Some(instagram) = instagram.filter(|_| login || !unchanged) {
        let auth = match AuthData::from_instagram_value(&instagram) {
            Ok(auth) => auth,
            Err(e) => return failure(format!("Invalid Instagram authData: {e}")),
        };
        match worker.validate(&auth).await {
            Ok(Verdict::Valid(_)) => {}
            Ok(Verdict::Rejected(RejectReason::IdMismatch)) => return failure(INVALID_AUTH),
            Ok(Verdict::Rejected(_)) if login => {}
            Ok(Verdict::Rejected(_)) => return failure(INVALID_AUTH),
            Err(e) if login => {
                let e: ApiError = e.into();
                log::warn!(
                    "Parse beforeLogin webhook: no verdict on the stored Instagram authData, \
                     login let through: {}",
                    e.message()
                );
            }
            Err(e) => return failure(undecided(&e.into())),
        }
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .body("{}")
}
