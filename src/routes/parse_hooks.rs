//! Parse Server Cloud Code webhooks (registered through Parse's Hooks API or Back4App's
//! dashboard). Parse's protocol, always: HTTP 200 with `{"success": ...}` (a trigger's pass is
//! `{}`) or `{"error": "<message>"}`, which Parse turns into `Parse.Error(141, message)`.
//!
//! Parse relays error messages to the app's end users, so they never name this service, its
//! configuration or its upstream trouble: when we cannot decide, the user reads
//! `UNVERIFIABLE`, and the reason goes to our log (without tokens, keys or bodies).
//!
//! Each call must carry Parse's `webhookKey` in `X-Parse-Webhook-Key` when one is configured.
//! Parse sends these bodies chunked, with no Content-Length; [`read_limited`] reads them either way.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::answers::{ExchangeAnswer, ValidateAnswer};
use super::body::{exchange_request, read_limited, Fields};
use super::guards::{check_rate, keys_match, unprotected};
use crate::domain::{AuthData, RejectReason, Verdict};
use crate::error::ApiError;
use crate::exchange::{self, RedirectUri};
use crate::instagram::InstagramClient;
use crate::state::AppState;

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

/// Checks the webhook key and reads the body; `Err` is the answer to send instead: Parse's
/// protocol, except for a body that stalled past its deadline, which gets the 408 that closes
/// the connection.
async fn webhook_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<web::Bytes, HttpResponse> {
    let body = checked_body(req, payload, state).await;
    body.map_err(|e| match e {
        Refused::Timeout => ApiError::RequestTimeout.error_answer(),
        Refused::Message(message) => failure(message),
    })
}

/// Why a webhook's body was not read.
enum Refused {
    Timeout,
    Message(String),
}

async fn checked_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<web::Bytes, Refused> {
    let expected = &state.settings.parse.webhook_key;
    if !expected.is_set() && state.settings.server.api_key.is_set() {
        // The API key protects /v1/validate; open webhooks beside it would be a way around it
        // (and a public, unthrottled code exchange). Parse cannot send our API key, so it must
        // send its webhook key.
        log::warn!(
            "Parse webhook refused: webhooks are disabled because this server has an API key \
             but no webhook key; set IGAUTH_PARSE__WEBHOOK_KEY to Parse's webhookKey"
        );
        return Err(Refused::Message(UNVERIFIABLE.into()));
    }
    if !expected.is_set() && !unprotected(req, state) {
        log::warn!(
            "Parse webhook refused: this server has no webhook key, so webhooks answer only \
             callers on this machine (protected mode); set IGAUTH_PARSE__WEBHOOK_KEY to Parse's \
             webhookKey, or IGAUTH_SERVER__PROTECTED_MODE=false on a private network"
        );
        return Err(Refused::Message(UNVERIFIABLE.into()));
    }
    if expected.is_set() {
        let given = req
            .headers()
            .get("x-parse-webhook-key")
            .map(|v| v.as_bytes())
            .unwrap_or(b"");
        if !keys_match(given, expected.expose().as_bytes()) {
            log::warn!(
                "Parse webhook refused: the X-Parse-Webhook-Key is {} (Parse's webhookKey must \
                 equal IGAUTH_PARSE__WEBHOOK_KEY)",
                if given.is_empty() { "missing" } else { "wrong" }
            );
            return Err(Refused::Message(UNVERIFIABLE.into()));
        }
    }
    let limits = &state.settings.limits;
    read_limited(
        req,
        payload,
        limits.webhook_max_body_bytes,
        limits.body_timeout(),
    )
    .await
    .map_err(|e| match e {
        ApiError::RequestTimeout => Refused::Timeout,
        e => Refused::Message(e.message()),
    })
}

#[derive(Deserialize)]
struct FunctionCall {
    params: Option<Value>,
}

fn params(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice::<FunctionCall>(body)
        .ok()
        .and_then(|call| call.params)
        .ok_or_else(|| "The webhook body must be a JSON object with params.".into())
}

/// Parse's answer for a webhook outcome.
fn reply<T: serde::Serialize>(outcome: Result<T, String>) -> HttpResponse {
    match outcome {
        Ok(value) => success(value),
        Err(message) => failure(message),
    }
}

/// `POST /v1/parse/functions/validate`: `params` is the authData.
pub(crate) async fn validate_function(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
) -> HttpResponse {
    let body = match webhook_body(&req, payload, &state).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let outcome = async {
        let params = params(&body)?;
        let auth = AuthData::from_value(&params).map_err(|e| format!("Invalid request: {e}"))?;
        match state.validator.validate(&client, &auth).await {
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
fn exchange_message(e: ApiError) -> String {
    match e {
        ApiError::InvalidRequest(_) | ApiError::InvalidCode(_) | ApiError::InvalidToken(_) => {
            e.message()
        }
        ApiError::RedirectUriNotAllowed => {
            log::warn!("Parse exchange webhook refused: {}", e.message());
            "redirect_uri is not one of this app's redirect URIs.".into()
        }
        e => {
            log::warn!("Parse exchange webhook failed: {}", e.message());
            UNVERIFIABLE.into()
        }
    }
}

/// `POST /v1/parse/functions/exchange`: `params` is `{code, redirect_uri?}`.
pub(crate) async fn exchange_function(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
) -> HttpResponse {
    let body = match webhook_body(&req, payload, &state).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let outcome = async {
        // Without a webhook key anyone allowed to call this is anonymous: then it is a public
        // code exchange and shares /v1/exchange's per-client limit.
        if !state.settings.parse.webhook_key.is_set() && check_rate(&req).is_err() {
            return Err(TOO_MANY.to_string());
        }
        let params = params(&body)?;
        let request = Fields::from_json(params, "a code")
            .and_then(|fields| exchange_request(&fields))
            .map_err(|e| e.message())?;
        let exchanged = exchange::perform(
            &state.settings,
            &state.validator,
            &client,
            request,
            RedirectUri::Requested,
        )
        .await
        .map_err(exchange_message)?;
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
pub(crate) async fn user_trigger(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
) -> HttpResponse {
    let body = match webhook_body(&req, payload, &state).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let Ok(TriggerCall {
        trigger_name,
        object: Some(object),
        original,
    }) = serde_json::from_slice::<TriggerCall>(&body)
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
        match state.validator.validate(&client, &auth).await {
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
