//! `POST /v1/exchange`: trades a one-time OAuth code for a token on the server, so the app
//! secret never ships inside an app, and answers with authData ready for
//! `Parse.User.logInWith("instagram", authData)`. Public (apps call it), so rate limited per
//! client IP. The id in authData comes from `/me`, the authority Parse compares with.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::{body_kind, read_body, BodyKind};
use crate::domain::{AuthCode, Lookup};
use crate::error::ApiError;
use crate::instagram::{InstagramClient, UpstreamError};
use crate::startup::AppState;

/// What a caller asks for, whatever the body encoding.
#[derive(Debug, Default)]
pub struct ExchangeRequest {
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub long_lived: Option<bool>,
}

impl ExchangeRequest {
    pub fn from_json(value: &Value) -> Result<ExchangeRequest, ApiError> {
        let object = value.as_object().ok_or_else(|| {
            ApiError::InvalidRequest("The body must be a JSON object with a code.".into())
        })?;
        let string = |field: &str| -> Result<Option<String>, ApiError> {
            match object.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ApiError::InvalidRequest(format!(
                    "{field} must be a string"
                ))),
            }
        };
        let long_lived = match object.get("long_lived") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(ApiError::InvalidRequest(
                    "long_lived must be true or false".into(),
                ))
            }
        };
        Ok(ExchangeRequest {
            code: string("code")?,
            redirect_uri: string("redirect_uri")?,
            long_lived,
        })
    }

    fn from_form(body: &[u8]) -> Result<ExchangeRequest, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| ApiError::InvalidRequest("The form body could not be decoded.".into()))?;
        let mut request = ExchangeRequest::default();
        for (key, value) in pairs {
            match key.as_str() {
                "code" => request.code = Some(value),
                "redirect_uri" => request.redirect_uri = Some(value),
                "long_lived" => {
                    request.long_lived = Some(match value.as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(ApiError::InvalidRequest(
                                "long_lived must be true or false".into(),
                            ))
                        }
                    })
                }
                _ => {}
            }
        }
        Ok(request)
    }
}

#[derive(Serialize)]
pub struct ExchangeAnswer {
    pub access_token: String,
    pub user_id: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub permissions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(rename = "authData")]
    pub auth_data: AuthDataOut,
}

#[derive(Serialize)]
pub struct AuthDataOut {
    pub instagram: InstagramAuthData,
}

#[derive(Serialize)]
pub struct InstagramAuthData {
    pub id: String,
    pub access_token: String,
}

/// Picks the redirect URI to send: the caller's if it is allowed, or the only configured one.
fn redirect_uri<'a>(state: &'a AppState, requested: Option<&str>) -> Result<&'a str, ApiError> {
    let allowed = &state.settings.instagram.redirect_uris;
    match requested.map(str::trim) {
        Some(uri) => allowed
            .iter()
            .find(|a| a.as_str() == uri)
            .map(String::as_str)
            .ok_or(ApiError::RedirectUriNotAllowed),
        None => match allowed.as_slice() {
            [only] => Ok(only.as_str()),
            [] => Err(ApiError::RedirectUriNotAllowed),
            _ => Err(ApiError::InvalidRequest(
                "redirect_uri is required: more than one redirect URI is configured".into(),
            )),
        },
    }
}

/// The exchange itself, shared by `/v1/exchange`, the Parse function webhook and the login flow.
pub async fn perform(
    state: &AppState,
    client: &InstagramClient,
    request: ExchangeRequest,
    fixed_redirect_uri: Option<&str>,
) -> Result<ExchangeAnswer, ApiError> {
    if !state.settings.exchange_configured() {
        return Err(not_configured());
    }
    let raw_code = request
        .code
        .ok_or_else(|| ApiError::InvalidRequest("code is required".into()))?;
    let code =
        AuthCode::parse(&raw_code).map_err(|e| ApiError::InvalidRequest(format!("code {e}")))?;
    let redirect_uri = match fixed_redirect_uri {
        Some(uri) => uri,
        None => redirect_uri(state, request.redirect_uri.as_deref())?,
    };
    let grant = client
        .exchange_code(&code, redirect_uri)
        .await
        .map_err(|e| ApiError::from_grant(e, ApiError::InvalidCode))?;
    let (access_token, expires_in) = if request
        .long_lived
        .unwrap_or(state.settings.instagram.long_lived)
    {
        let long = client
            .long_lived(&grant.access_token)
            .await
            .map_err(|e| ApiError::from_grant(e, ApiError::InvalidToken))?;
        (long.access_token, long.expires_in)
    } else {
        (grant.access_token, None)
    };
    // The token is fresh from Instagram; /me names its owner (and warms the cache for the
    // login that follows).
    let owner = match state.validator.lookup(client, &access_token).await? {
        Lookup::Owner(owner) => owner,
        Lookup::Rejected(_) => {
            return Err(ApiError::Upstream(UpstreamError::Unusable(
                "/me refused the token the exchange just issued",
            )))
        }
    };
    let token = access_token.expose().to_string();
    Ok(ExchangeAnswer {
        access_token: token.clone(),
        user_id: grant.user_id.as_str().to_string(),
        id: owner.id().to_string(),
        username: owner.username().map(str::to_string),
        permissions: grant.permissions,
        expires_in,
        auth_data: AuthDataOut {
            instagram: InstagramAuthData {
                id: owner.id().to_string(),
                access_token: token,
            },
        },
    })
}

pub fn not_configured() -> ApiError {
    ApiError::NotConfigured(
        "exchange_not_configured",
        "Code exchange is not configured on this server: the operator must set \
         IGAUTH_INSTAGRAM__CLIENT_ID, IGAUTH_INSTAGRAM__CLIENT_SECRET and \
         IGAUTH_INSTAGRAM__REDIRECT_URIS.",
    )
}

pub async fn exchange(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    client: web::Data<InstagramClient>,
) -> Result<HttpResponse, ApiError> {
    state.limit_client(&req, "exchange")?;
    // Say so before judging the body: no body can make an unconfigured exchange work.
    if !state.settings.exchange_configured() {
        return Err(not_configured());
    }
    let kind = body_kind(&req, &[BodyKind::Json, BodyKind::Form])?;
    let body = read_body(&req, payload, state.settings.limits.max_body_bytes).await?;
    let request = match kind {
        BodyKind::Json => {
            let value: Value = serde_json::from_slice(&body).map_err(|e| {
                ApiError::InvalidRequest(format!("The body is not valid JSON: {e}"))
            })?;
            ExchangeRequest::from_json(&value)?
        }
        BodyKind::Form => ExchangeRequest::from_form(&body)?,
    };
    let answer = perform(&state, &client, request, None).await?;
    Ok(HttpResponse::Ok().json(answer))
}
