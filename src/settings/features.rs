//! What the configuration turns on. [`Features`] is computed once, at load, and everything that
//! asks "is X ready?" (startup, `check-config`, the routes) reads it instead of re-deriving it.
//! [`Settings::setup_errors`] and [`Settings::warnings`] say, in the operator's terms, what is
//! missing for a feature that was asked for.

use super::{CacheBackend, Settings};
use crate::domain::login_state::{usable_state_secret, MIN_SECRET_LEN};

/// Which features the configuration makes usable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Features {
    /// Client id and secret are both set: codes can be exchanged (`/v1/exchange`, the Parse
    /// exchange webhook, the login callback).
    pub(crate) exchange: bool,
    /// Everything `/v1/authorize` and `/v1/callback` need: the exchange, a callback URL, return
    /// URLs and a state secret that can sign states.
    pub(crate) login_flow: bool,
    /// Redis has a use: shared verdicts (the cache is on) or spent login states (states can be
    /// signed).
    pub(crate) shared_cache: bool,
    /// The state secret is long enough to sign states.
    pub(crate) state_secret: bool,
    /// Meta's callbacks can verify signed requests (the client secret is set).
    pub(crate) meta_callbacks: bool,
    /// igauth can act on Parse through its REST API (server URL, app id and master key).
    pub(crate) parse_api: bool,
    /// igauth signs people into Parse (`IGAUTH_PARSE__SESSIONS=true` and the Parse API).
    pub(crate) parse_sessions: bool,
}

impl Features {
    pub(super) fn of(settings: &Settings) -> Features {
        let ig = &settings.instagram;
        let exchange = !ig.client_id.is_empty() && ig.client_secret.is_set();
        let state_secret = usable_state_secret(&settings.server.state_secret);
        let parse = &settings.parse;
        let parse_api =
            !parse.server_url.is_empty() && !parse.app_id.is_empty() && parse.master_key.is_set();
        let meta_callbacks = ig.client_secret.is_set();
        Features {
            exchange,
            login_flow: exchange
                && !ig.callback_url.is_empty()
                && !ig.return_urls.is_empty()
                && state_secret,
            // Deletion statuses live in Redis when there is no Parse to keep them; handoff codes
            // and sign-in claims need no more than a login flow or sessions.
            shared_cache: settings.cache.backend == CacheBackend::Redis
                && (settings.cache.ttl_secs > 0
                    || state_secret
                    || (meta_callbacks && !parse_api)
                    || (parse_api && parse.sessions)),
            state_secret,
            meta_callbacks,
            parse_api,
            parse_sessions: parse_api && parse.sessions,
        }
    }
}

impl Settings {
    /// What a reader of the logs should know; none of it stops anything (validation alone needs
    /// no credentials).
    pub(crate) fn warnings(&self) -> Vec<String> {
        let ig = &self.instagram;
        let mut out = Vec::new();
        if ig.client_id.is_empty() && !ig.client_secret.is_set() {
            out.push("IGAUTH_INSTAGRAM__CLIENT_ID / CLIENT_SECRET are not set: /v1/exchange answers 503 exchange_not_configured".into());
        }
        if self.features.exchange && ig.redirect_uris.is_empty() && self.login_flow_asked() {
            out.push(
                "IGAUTH_INSTAGRAM__REDIRECT_URIS is empty: /v1/exchange refuses every redirect_uri (the login flow is not affected)"
                    .into(),
            );
        }
        if self.features.meta_callbacks && self.status_url_base().is_none() {
            out.push(
                "IGAUTH_SERVER__PUBLIC_URL is not set (nor IGAUTH_INSTAGRAM__CALLBACK_URL): /v1/meta/data-deletion answers 503 meta_callbacks_not_configured, because it cannot give Meta a status link"
                    .into(),
            );
        }
        if !self.server.api_key.is_set() {
            out.push(if self.server.protected_mode {
                "IGAUTH_SERVER__API_KEY is not set: /v1/validate and /v1/introspect answer only callers on this machine (protected mode)".into()
            } else {
                "IGAUTH_SERVER__API_KEY is not set and IGAUTH_SERVER__PROTECTED_MODE=false: /v1/validate and /v1/introspect are open to anyone who can reach them".into()
            });
        }
        out
    }

    /// Settings that ask for a feature but leave it unable to work. `igauth check-config` treats
    /// them as errors (exit 1); `serve` logs them as warnings and starts with that feature answering
    /// 503 `*_not_configured`, so token validation keeps working through a half-done deploy.
    pub(crate) fn setup_errors(&self) -> Vec<String> {
        let ig = &self.instagram;
        let mut out = Vec::new();
        match (ig.client_id.is_empty(), ig.client_secret.is_set()) {
            (false, false) => out.push(
                "IGAUTH_INSTAGRAM__CLIENT_ID is set but IGAUTH_INSTAGRAM__CLIENT_SECRET is not: /v1/exchange and the login flow stay off".to_string(),
            ),
            (true, true) => out.push(
                "IGAUTH_INSTAGRAM__CLIENT_SECRET is set but IGAUTH_INSTAGRAM__CLIENT_ID is not: /v1/exchange and the login flow stay off".to_string(),
            ),
            _ => {}
        }
        if self.features.exchange && ig.redirect_uris.is_empty() && !self.login_flow_asked() {
            out.push(
                "IGAUTH_INSTAGRAM__REDIRECT_URIS is empty: /v1/exchange refuses every redirect_uri; list the redirect URIs your apps send"
                    .into(),
            );
        }
        if self.login_flow_asked() {
            let mut missing = Vec::new();
            if !self.features.exchange {
                missing.push(
                    "IGAUTH_INSTAGRAM__CLIENT_ID and IGAUTH_INSTAGRAM__CLIENT_SECRET".to_string(),
                );
            }
            if ig.callback_url.is_empty() {
                missing.push("IGAUTH_INSTAGRAM__CALLBACK_URL".into());
            }
            if ig.return_urls.is_empty() {
                missing.push("IGAUTH_INSTAGRAM__RETURN_URLS".into());
            }
            if !self.features.state_secret {
                missing.push(format!(
                    "IGAUTH_SERVER__STATE_SECRET (at least {MIN_SECRET_LEN} characters)"
                ));
            }
            if !missing.is_empty() {
                out.push(format!(
                    "the login flow is partly configured, so /v1/authorize and /v1/callback answer 503 until these are set: {}",
                    missing.join(", ")
                ));
            }
        }
        let callback = &ig.callback_url;
        let http = callback.starts_with("https://") || callback.starts_with("http://");
        if !callback.is_empty() && !http {
            out.push(format!(
                "IGAUTH_INSTAGRAM__CALLBACK_URL must be the http(s) URL of this service's /v1/callback, got {callback:?}"
            ));
        }
        out.extend(self.parse_partly_configured());
        if self.parse.sessions && !self.features.parse_api {
            out.push(
                "IGAUTH_PARSE__SESSIONS=true needs IGAUTH_PARSE__SERVER_URL, IGAUTH_PARSE__APP_ID \
                 and IGAUTH_PARSE__MASTER_KEY: until they are set, /v1/token and /v1/exchange \
                 answer authData without a Parse session"
                    .into(),
            );
        }
        if self.cache.backend == CacheBackend::Redis && self.cache.ttl_secs == 0 {
            out.push(format!(
                "IGAUTH_CACHE__BACKEND=redis but IGAUTH_CACHE__TTL_SECS=0 turns caching off: {}",
                if self.features.shared_cache {
                    "Redis only keeps login states single-use"
                } else {
                    "Redis would never be used"
                }
            ));
        }
        out
    }

    /// Any setting that only the login flow (or its demo page) reads is set.
    fn login_flow_asked(&self) -> bool {
        !self.instagram.callback_url.is_empty()
            || !self.instagram.return_urls.is_empty()
            || self.server.state_secret.is_set()
            || self.server.demo
    }
}
