//! The code exchange use case: a one-time OAuth code becomes a token (optionally a long-lived one)
//! and the owner `/me` names for it. `/v1/exchange`, the Parse exchange webhook and the login
//! callback all call [`perform`]; each writes the outcome in its own wire shape, and each decides
//! what of an [`ExchangeError`] its caller may read. The refresh of a long-lived token
//! ([`refresh`]) lives here too: it is the same kind of grant, refused in the same terms.
//!
//! The id handed out comes from `/me`, the authority Parse compares with, not from the exchange's
//! own `user_id` (the two have been seen to disagree). The app secret is only ever sent to
//! Instagram, and the redirect URI sent is always one the operator configured.

use futures_util::future::join;

use crate::domain::{AccessToken, AuthCode, Lookup, TokenOwner};
use crate::instagram::{GrantError, InstagramClient, Refusal, TokenGrant, UpstreamError};
use crate::logging::LogThrottle;
use crate::settings::Settings;
use crate::validator::Validator;

/// What a caller asks for, whatever the body encoding (read at the face).
#[derive(Debug)]
pub(crate) struct ExchangeRequest {
    pub(crate) code: AuthCode,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) long_lived: Option<bool>,
}

/// Why an exchange gave no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExchangeError {
    /// The operator has not configured the client id and secret.
    NotConfigured,
    /// The redirect_uri asked for is not one the operator configured (or none is).
    RedirectUriNotAllowed,
    /// No redirect_uri was sent, and more than one is configured.
    RedirectUriRequired,
    /// Instagram refused the code.
    CodeRefused(Refusal),
    /// The login flow's callback URL is not a redirect URI registered for the Instagram app:
    /// no login can finish until the operator fixes it (logged for them).
    CallbackNotRegistered,
    /// Instagram refused the short-lived token it had just issued (for a long-lived one).
    TokenRefused(Refusal),
    /// Instagram did not give a usable answer.
    Upstream(UpstreamError),
}

impl From<UpstreamError> for ExchangeError {
    fn from(e: UpstreamError) -> Self {
        ExchangeError::Upstream(e)
    }
}

impl ExchangeError {
    fn from_grant(e: GrantError, refused: fn(Refusal) -> ExchangeError) -> ExchangeError {
        match e {
            GrantError::Refused(refusal) => refused(refusal),
            GrantError::Upstream(e) => ExchangeError::Upstream(e),
        }
    }
}

/// The login flow's redirect-URI mismatch, told to the operator at most once a minute.
fn callback_not_registered() -> ExchangeError {
    static WARNED: LogThrottle = LogThrottle::new();
    if let Some(count) = WARNED.tick() {
        log::warn!(
            "Instagram refused a login's code because the redirect URI differs ({count} time(s) \
             in the last minute): IGAUTH_INSTAGRAM__CALLBACK_URL must equal one of the Valid \
             OAuth Redirect URIs of the Instagram app in Meta's App Dashboard, character for \
             character (`igauth setup` prints it)"
        );
    }
    ExchangeError::CallbackNotRegistered
}

/// Why a refresh gave no token: Instagram refused the token, or did not answer usably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefreshError {
    Refused(Refusal),
    Upstream(UpstreamError),
}

/// A fresh long-lived token for `long` (60 more days).
pub(crate) async fn refresh(
    client: &InstagramClient,
    long: &AccessToken,
) -> Result<TokenGrant, RefreshError> {
    client.refresh(long).await.map_err(|e| match e {
        GrantError::Refused(refusal) => RefreshError::Refused(refusal),
        GrantError::Upstream(e) => RefreshError::Upstream(e),
    })
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
) -> Result<TokenOwner, UpstreamError> {
    match validator.lookup(client, token).await? {
        Lookup::Owner(owner) => Ok(owner),
        Lookup::Rejected(_) => Err(UpstreamError::Unusable(
            "/me refused the token the exchange just issued",
        )),
    }
}

/// Picks the redirect URI to send: the caller's if it is allowed, or the only configured one.
fn redirect_uri<'a>(
    allowed: &'a [String],
    requested: Option<&str>,
) -> Result<&'a str, ExchangeError> {
    match requested.map(str::trim) {
        Some(uri) => allowed
            .iter()
            .find(|a| a.as_str() == uri)
            .map(String::as_str)
            .ok_or(ExchangeError::RedirectUriNotAllowed),
        None => match allowed {
            [only] => Ok(only.as_str()),
            [] => Err(ExchangeError::RedirectUriNotAllowed),
            _ => Err(ExchangeError::RedirectUriRequired),
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
) -> Result<Exchanged, ExchangeError> {
    if !settings.features.exchange {
        return Err(ExchangeError::NotConfigured);
    }
    let code = request.code;
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
        .map_err(|e| ExchangeError::from_grant(e, ExchangeError::CodeRefused))
        .map_err(|e| match (e, redirect) {
            // The app never sends the callback URL: this is the operator's to fix, not the app's.
            (ExchangeError::CodeRefused(Refusal::RedirectMismatch), RedirectUri::Fixed(_)) => {
                callback_not_registered()
            }
            (e, _) => e,
        })?;
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
        let long = long.map_err(|e| ExchangeError::from_grant(e, ExchangeError::TokenRefused))?;
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
