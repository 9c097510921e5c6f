//! The code exchange use case: a one-time OAuth code becomes a token (optionally a long-lived one)
//! and the owner `/me` names for it. `/v1/exchange`, the Parse exchange webhook and the login
//! callback all call [`perform`]; each writes the outcome in its own wire shape.
//!
//! The id handed out comes from `/me`, the authority Parse compares with, not from the exchange's
//! own `user_id` (the two have been seen to disagree). The app secret is only ever sent to
//! Instagram, and the redirect URI sent is always one the operator configured.

use futures_util::future::join;

use crate::domain::{AccessToken, AuthCode, Lookup, TokenOwner};
use crate::error::ApiError;
use crate::instagram::{InstagramClient, UpstreamError};
use crate::settings::Settings;
use crate::validator::Validator;

/// What a caller asks for, whatever the body encoding.
#[derive(Debug, Default)]
pub(crate) struct ExchangeRequest {
    pub(crate) code: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) long_lived: Option<bool>,
}

/// Where the code was issued for: the caller's choice (checked against
/// `IGAUTH_INSTAGRAM__REDIRECT_URIS`), or one igauth fixes itself (its own callback).
pub(crate) enum RedirectUri<'a> {
    Requested,
    Fixed(&'a str),
}

/// A successful exchange.
pub(crate) struct Exchanged {
    pub(crate) access_token: AccessToken,
    /// The exchange's own `user_id` (Instagram's professional-account id), as text.
    pub(crate) user_id: String,
    /// Who `/me` says owns the token.
    pub(crate) owner: TokenOwner,
    pub(crate) permissions: Vec<String>,
    /// Seconds, for a long-lived token.
    pub(crate) expires_in: Option<u64>,
}

/// Who `/me` says owns a token Instagram has just issued; a refusal of it is upstream trouble.
async fn owner_of(
    validator: &Validator,
    client: &InstagramClient,
    token: &AccessToken,
) -> Result<TokenOwner, ApiError> {
    match validator.lookup(client, token).await? {
        Lookup::Owner(owner) => Ok(owner),
        Lookup::Rejected(_) => Err(ApiError::Upstream(UpstreamError::Unusable(
            "/me refused the token the exchange just issued",
        ))),
    }
}

/// Picks the redirect URI to send: the caller's if it is allowed, or the only configured one.
fn redirect_uri<'a>(allowed: &'a [String], requested: Option<&str>) -> Result<&'a str, ApiError> {
    match requested.map(str::trim) {
        Some(uri) => allowed
            .iter()
            .find(|a| a.as_str() == uri)
            .map(String::as_str)
            .ok_or(ApiError::RedirectUriNotAllowed),
        None => match allowed {
            [only] => Ok(only.as_str()),
            [] => Err(ApiError::RedirectUriNotAllowed),
            _ => Err(ApiError::InvalidRequest(
                "redirect_uri is required: more than one redirect URI is configured".into(),
            )),
        },
    }
}

/// The exchange: code, then (when asked) the long-lived token, then `/me` for its owner.
pub(crate) async fn perform(
    settings: &Settings,
    validator: &Validator,
    client: &InstagramClient,
    request: ExchangeRequest,
    redirect: RedirectUri<'_>,
) -> Result<Exchanged, ApiError> {
    if !settings.features.exchange {
        return Err(ApiError::ExchangeNotConfigured);
    }
    let raw_code = request
        .code
        .ok_or_else(|| ApiError::InvalidRequest("code is required".into()))?;
    let code =
        AuthCode::parse(&raw_code).map_err(|e| ApiError::InvalidRequest(format!("code {e}")))?;
    let redirect_uri = match redirect {
        RedirectUri::Fixed(uri) => uri,
        RedirectUri::Requested => redirect_uri(
            &settings.instagram.redirect_uris,
            request.redirect_uri.as_deref(),
        )?,
    };
    let grant = client
        .exchange_code(&code, redirect_uri)
        .await
        .map_err(|e| ApiError::from_grant(e, ApiError::InvalidCode))?;
    let long_lived = request.long_lived.unwrap_or(settings.instagram.long_lived);
    // /me names the owner of the fresh token (and warms the cache for the login that follows).
    // The long-lived exchange needs nothing from it, so the two run at once: a login is two
    // upstream round trips, not three. Either failing fails the whole exchange.
    let short = grant.access_token;
    let (owner, long) = if long_lived {
        let (owner, long) = join(
            owner_of(validator, client, &short),
            client.long_lived(&short),
        )
        .await;
        let long = long.map_err(|e| ApiError::from_grant(e, ApiError::InvalidToken))?;
        (owner?, Some(long))
    } else {
        (owner_of(validator, client, &short).await?, None)
    };
    let (access_token, expires_in) = match long {
        Some(long) => {
            // Issued for the same user as the short-lived token: the app's first validation
            // of it needs no upstream call.
            validator
                .remember(&long.access_token, Lookup::Owner(owner.clone()))
                .await;
            (long.access_token, long.expires_in)
        }
        None => (short, None),
    };
    Ok(Exchanged {
        access_token,
        user_id: grant.user_id.as_str().to_string(),
        owner,
        permissions: grant.permissions,
        expires_in,
    })
}
