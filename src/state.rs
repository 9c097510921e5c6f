//! What every worker shares, built once from the settings: the use cases (validator, login
//! states, Meta's callbacks), the Instagram and Parse upstreams, metrics and the rate limiter.
//! Each worker adds its own [`crate::instagram::InstagramClient`] and
//! [`crate::parse_api::ParseClient`] (awc clients cannot cross threads).

use std::sync::Arc;

use std::time::Duration;

use crate::handoff::Handoffs;
use crate::instagram::Upstream;
use crate::login_states::LoginStates;
use crate::meta_callbacks::MetaCallbacks;
use crate::metrics::Metrics;
use crate::parse_api::ParseUpstream;
use crate::rate_limit::ClientLimiter;
use crate::sessions::ParseSessions;
use crate::settings::Settings;
use crate::shared_cache::SharedCache;
use crate::validator::Validator;

pub(crate) struct AppState {
    pub(crate) settings: Settings,
    pub(crate) validator: Validator,
    pub(crate) upstream: Arc<Upstream>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limiter: ClientLimiter,
    /// The login flow's states: signed, expiring, spent once (fleet-wide with Redis).
    pub(crate) login_states: LoginStates,
    /// Parse's REST API, when configured; each worker adds its own client.
    pub(crate) parse: Option<Arc<ParseUpstream>>,
    /// Meta's deauthorize and data-deletion callbacks.
    pub(crate) meta: MetaCallbacks,
    /// The login's one-time handoff codes (fleet-wide with Redis).
    pub(crate) handoffs: Handoffs,
    /// Signing people into Parse, with `IGAUTH_PARSE__SESSIONS`.
    pub(crate) sessions: Option<ParseSessions>,
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
            metrics,
            settings,
        }
    }
}
