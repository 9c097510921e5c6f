//! What the faces stand on. [`AppState`] is what every worker shares, built once from the
//! settings: the use cases (validator, login states, Meta's callbacks), the Instagram and Parse
//! upstreams, metrics and the rate limiter. [`Worker`] is one worker's door to the use cases: the
//! shared state plus this worker's own Instagram client and, when Parse is configured, its Parse
//! client (awc clients cannot cross threads). A handler takes a `Worker` and calls one method per
//! use case, so no face ever holds an adapter.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::login_state::{IssuedState, OpenedState, StateError};
use crate::domain::pkce::CodeChallenge;
use crate::domain::{
    AccessToken, AuthCode, AuthData, DeletionRecord, Handoff, HandoffCode, Lookup, ReturnTo,
    TokenOwner, Verdict,
};
use crate::exchange::{self, ExchangeError, ExchangeRequest, Exchanged, RedirectUri, RefreshError};
use crate::handoff::{Handoffs, LoginResult};
use crate::instagram::{self, InstagramClient, TokenGrant, Upstream, UpstreamError};
use crate::logging::LogThrottle;
use crate::login_states::LoginStates;
use crate::meta_callbacks::{Callback, Deauthorized, MetaCallbacks, MetaError};
use crate::metrics::Metrics;
use crate::parse_api::{ParseClient, ParseUpstream};
use crate::rate_limit::ClientLimiter;
use crate::sessions::{
    Checked, ParseSessions, SessionError, SessionRequest, SignInError, SignedIn,
};
use crate::settings::Settings;
use crate::shared_cache::SharedCache;
use crate::validator::Validator;

pub(crate) struct AppState {
    pub(crate) settings: Settings,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limiter: ClientLimiter,
    validator: Validator,
    upstream: Arc<Upstream>,
    /// The login flow's states: signed, expiring, spent once (fleet-wide with Redis).
    login_states: LoginStates,
    /// Parse's REST API, when configured; each worker adds its own client.
    parse: Option<Arc<ParseUpstream>>,
    /// Meta's deauthorize and data-deletion callbacks.
    meta: MetaCallbacks,
    /// The WARN lines about wrong keys, at most one a minute each (callers could flood them).
    pub(crate) api_key_refusals: LogThrottle,
    pub(crate) webhook_refusals: LogThrottle,
    /// The login's one-time handoff codes (fleet-wide with Redis).
    handoffs: Handoffs,
    /// Signing people into Parse, with `IGAUTH_PARSE__SESSIONS`.
    sessions: Option<ParseSessions>,
}

impl AppState {
    pub(crate) fn new(settings: Settings) -> AppState {
        let metrics = Arc::new(Metrics::new());
        // Starts connecting in the background when called inside the server's runtime.
        let shared = settings
            .features
            .shared_cache
            .then(|| SharedCache::new(&settings.cache, metrics.clone()))
            .and_then(|made| {
                made.map_err(|e| log::error!("shared cache disabled: {e}"))
                    .ok()
            });
        AppState {
            validator: Validator::new(&settings.cache, shared.clone(), metrics.clone()),
            login_states: LoginStates::new(&settings.server.state_secret, shared.clone()),
            parse: ParseUpstream::new(&settings, metrics.clone()).map(Arc::new),
            handoffs: Handoffs::new(
                Duration::from_secs(settings.server.handoff_ttl_secs),
                shared.clone(),
            ),
            sessions: ParseSessions::new(&settings, shared.clone()),
            meta: MetaCallbacks::new(&settings, shared, metrics.clone()),
            upstream: Arc::new(Upstream::new(&settings, metrics.clone())),
            limiter: ClientLimiter::new(&settings.limits),
            api_key_refusals: LogThrottle::new(),
            webhook_refusals: LogThrottle::new(),
            metrics,
            settings,
        }
    }

    /// The Prometheus text, with the gauges that are read rather than counted brought up to
    /// date first.
    pub(crate) fn render_metrics(&self) -> String {
        let m = &self.metrics;
        m.breaker_state.set(self.upstream.breaker.state() as i64);
        m.cache_entries
            .set(i64::try_from(self.validator.cached_entries()).unwrap_or(i64::MAX));
        m.render()
    }
}

/// One worker's door to the use cases. Cheap to clone (one non-atomic count): it lives on its
/// worker's thread, like the awc clients it holds.
#[derive(Clone)]
pub(crate) struct Worker(Rc<Workplace>);

struct Workplace {
    app: Arc<AppState>,
    instagram: InstagramClient,
    parse: Option<ParseClient>,
}

impl Worker {
    /// This worker's clients, made on its own thread.
    pub(crate) fn new(app: Arc<AppState>) -> Worker {
        let instagram = InstagramClient::new(app.upstream.clone());
        let parse = app.parse.clone().map(ParseClient::new);
        Worker(Rc::new(Workplace {
            app,
            instagram,
            parse,
        }))
    }

    pub(crate) fn app(&self) -> &AppState {
        &self.0.app
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.0.app.settings
    }

    /// Does this authData's token belong to its id?
    pub(crate) async fn validate(&self, auth: &AuthData) -> Result<Verdict, UpstreamError> {
        let w = &*self.0;
        w.app.validator.validate(&w.instagram, auth).await
    }

    /// Who owns this token, if anyone?
    pub(crate) async fn lookup(&self, token: &AccessToken) -> Result<Lookup, UpstreamError> {
        let w = &*self.0;
        w.app.validator.lookup(&w.instagram, token).await
    }

    /// A caller's code exchange, with the redirect URI it asked for.
    pub(crate) async fn exchange(
        &self,
        request: ExchangeRequest,
    ) -> Result<Exchanged, ExchangeError> {
        self.perform(request, RedirectUri::Requested).await
    }

    /// The login callback's exchange: the code was issued for igauth's own callback URL.
    pub(crate) async fn exchange_for_login(
        &self,
        code: AuthCode,
    ) -> Result<Exchanged, ExchangeError> {
        let request = ExchangeRequest {
            code,
            redirect_uri: None,
            long_lived: None,
        };
        let callback = RedirectUri::Fixed(&self.settings().instagram.callback_url);
        self.perform(request, callback).await
    }

    async fn perform(
        &self,
        request: ExchangeRequest,
        redirect: RedirectUri<'_>,
    ) -> Result<Exchanged, ExchangeError> {
        let w = &*self.0;
        let (settings, validator) = (&w.app.settings, &w.app.validator);
        exchange::perform(settings, validator, &w.instagram, request, redirect).await
    }

    /// A fresh long-lived token.
    pub(crate) async fn refresh(&self, long: &AccessToken) -> Result<TokenGrant, RefreshError> {
        exchange::refresh(&self.0.instagram, long).await
    }

    /// A code exchange that ends a login: with `IGAUTH_PARSE__SESSIONS`, a Parse session too.
    pub(crate) async fn exchange_and_sign_in(
        &self,
        request: ExchangeRequest,
        session: &SessionRequest,
    ) -> Result<(Exchanged, Option<SignedIn>), SignInError> {
        let checked = self.check_session(session).await?;
        let exchanged = self.exchange(request).await?;
        let signed_in = self.sign_in(&exchanged.owner, checked).await?;
        Ok((exchanged, signed_in))
    }

    /// `/v1/token`: the login's result filed under a handoff code, for the holder of the PKCE
    /// verifier, and with `IGAUTH_PARSE__SESSIONS` a Parse session.
    pub(crate) async fn redeem(
        &self,
        code: &str,
        verifier: &str,
        session: &SessionRequest,
    ) -> Result<(Handoff, Option<SignedIn>), SignInError> {
        // Checked first: a refusal here leaves the code unspent.
        let checked = self.check_session(session).await?;
        let handoff = (self.0.app.handoffs.redeem(code, verifier).await)
            .map_err(|_| SignInError::InvalidGrant)?;
        let signed_in = self.sign_in(&handoff.owner, checked).await?;
        Ok((handoff, signed_in))
    }

    /// What the app sent for its session, checked with Parse; `None` without sessions.
    async fn check_session<'r>(
        &self,
        session: &'r SessionRequest,
    ) -> Result<Option<Checked<'r>>, SessionError> {
        let w = &*self.0;
        match (&w.app.sessions, &w.parse) {
            (Some(sessions), Some(parse)) => sessions.check(parse, session).await.map(Some),
            _ => Ok(None),
        }
    }

    async fn sign_in(
        &self,
        owner: &TokenOwner,
        checked: Option<Checked<'_>>,
    ) -> Result<Option<SignedIn>, SessionError> {
        let w = &*self.0;
        match (checked, &w.app.sessions, &w.parse) {
            (Some(checked), Some(sessions), Some(parse)) => {
                sessions.sign_in(parse, owner, &checked).await.map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Files a login's result for the app, bound to the login's PKCE challenge; the one-time
    /// code the callback hands the app. `None` only when the OS has no randomness.
    pub(crate) async fn hand_off(
        &self,
        exchanged: Exchanged,
        opened: &OpenedState,
    ) -> Option<HandoffCode> {
        let result = LoginResult {
            owner: exchanged.owner,
            access_token: exchanged.access_token,
            expires_in: exchanged.expires_in,
        };
        self.0.app.handoffs.issue(result, opened.challenge).await
    }

    /// A signed login state for `return_to` (carrying the app's PKCE challenge), and
    /// Instagram's consent URL carrying it.
    pub(crate) fn start_login(
        &self,
        return_to: &ReturnTo,
        challenge: &CodeChallenge,
    ) -> Result<(IssuedState, String), StateError> {
        let app = &self.0.app;
        let issued = app.login_states.issue(return_to, challenge)?;
        let url = instagram::authorize_url(&app.settings.instagram, &issued.value);
        Ok((issued, url))
    }

    /// A login state as it comes back, checked (signature, expiry, not spent yet).
    pub(crate) fn open_login(&self, state: &str) -> Result<OpenedState, StateError> {
        self.0.app.login_states.open(state)
    }

    /// Spends an opened state, once, fleet-wide.
    pub(crate) async fn spend_login(&self, opened: &OpenedState) -> Result<(), StateError> {
        self.0.app.login_states.spend(opened).await
    }

    /// Whether Meta's `callback` can work at all; checked before the body is read.
    pub(crate) fn meta_ready(&self, callback: Callback) -> Result<(), MetaError> {
        self.0.app.meta.ready(callback)
    }

    pub(crate) async fn deauthorize(&self, signed: &str) -> Result<Deauthorized, MetaError> {
        let w = &*self.0;
        w.app.meta.deauthorize(w.parse.as_ref(), signed).await
    }

    pub(crate) async fn data_deletion(
        &self,
        signed: &str,
    ) -> Result<(DeletionRecord, String), MetaError> {
        let w = &*self.0;
        w.app.meta.data_deletion(w.parse.as_ref(), signed).await
    }

    /// The deletion record behind a status link's code (its MAC checked before any lookup).
    pub(crate) async fn deletion_status(
        &self,
        code: &str,
    ) -> Result<Option<DeletionRecord>, MetaError> {
        let w = &*self.0;
        w.app.meta.status(w.parse.as_ref(), code).await
    }
}

/// How often the deletion retries ask whether a sweep is due.
const SWEEP_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// Starts igauth's retries of Meta data deletions still to be finished, on the calling thread
/// (with its own Parse client), for as long as the app lives. Outside an actix runtime it does
/// nothing.
pub(crate) fn spawn_deletion_retries(app: &Arc<AppState>) {
    if tokio::runtime::Handle::try_current().is_err() || !app.settings.features.meta_callbacks {
        return;
    }
    let weak = Arc::downgrade(app);
    let parse = app.parse.clone();
    actix_web::rt::spawn(async move {
        let parse = parse.map(ParseClient::new);
        loop {
            let Some(app) = weak.upgrade() else {
                return;
            };
            if app.meta.sweep_due() {
                app.meta.sweep(parse.as_ref()).await;
            }
            drop(app);
            actix_web::rt::time::sleep(SWEEP_TICK).await;
        }
    });
}
