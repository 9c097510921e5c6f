//! The Instagram client: the only code that speaks to Instagram.
//!
//! [`Upstream`] is what every worker shares (configuration, the circuit breaker, metrics);
//! [`InstagramClient`] adds the worker's own pooled `awc` connection (awc clients cannot cross
//! threads). Every call has one total deadline; `/me` is retried once with jittered backoff on a
//! connection failure or a 5xx when the deadline allows; a code exchange is never retried, because
//! codes are single-use.
//!
//! Request URLs carry tokens and secrets in their query strings, so they are built here, sent, and
//! dropped: no error, log line or metric label ever includes one.

mod breaker;
mod grant;
mod pause;
mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::rt::time::sleep;
use awc::SendClientRequest;

pub(crate) use breaker::{Breaker, Permit};
pub(crate) use grant::{CodeGrant, GrantError, Refusal, TokenGrant};
pub(crate) use pause::{ThrottlePause, THROTTLE_PAUSE};

use crate::domain::{AccessToken, AuthCode, Lookup, Secret};
use crate::logging::LogThrottle;
use crate::metrics::Metrics;
use crate::settings::{InstagramSettings, Settings};
use crate::transport::{self, TransportError};

/// Largest answer we read from Instagram; real ones are a few hundred bytes.
const MAX_UPSTREAM_BODY: usize = 64 * 1024;
/// Retry only when at least this much of the deadline is left after the backoff.
const MIN_RETRY_BUDGET: Duration = Duration::from_millis(100);

/// Instagram did not give an answer we can turn into a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpstreamError {
    /// No answer within the deadline.
    Timeout,
    /// Could not connect, or the connection broke.
    Connect,
    /// Instagram answered 5xx.
    ServerError(u16),
    /// An answer we cannot read as a verdict (HTML or truncated JSON on a 200).
    Unusable(&'static str),
    /// Instagram answered a 4xx error that is neither a verdict nor throttling. Instagram is up,
    /// so this does not count toward the breaker (a caller could otherwise open it for everyone
    /// with tokens that draw such errors), but nothing was decided.
    Unexpected(&'static str),
    /// Instagram's throttling codes (4, 17, 32, 613).
    RateLimited,
    /// The breaker is open: we did not call; retry after this many seconds.
    CircuitOpen(u64),
    /// Instagram says our client id / secret is wrong ("Invalid platform app").
    Misconfigured,
}

impl UpstreamError {
    fn retryable(&self) -> bool {
        matches!(self, UpstreamError::Connect | UpstreamError::ServerError(_))
    }

    /// Whether this outcome says Instagram is unhealthy (and so counts toward the breaker).
    fn is_failure(&self) -> bool {
        matches!(
            self,
            UpstreamError::Timeout
                | UpstreamError::Connect
                | UpstreamError::ServerError(_)
                | UpstreamError::Unusable(_)
        )
    }

    fn label(&self) -> &'static str {
        match self {
            UpstreamError::Timeout => "timeout",
            UpstreamError::Connect => "connect_error",
            UpstreamError::ServerError(_) => "server_error",
            UpstreamError::Unusable(_) => "unusable",
            UpstreamError::Unexpected(_) => "unexpected",
            UpstreamError::RateLimited => "rate_limited",
            UpstreamError::CircuitOpen(_) => "circuit_open",
            UpstreamError::Misconfigured => "misconfigured",
        }
    }
}

/// What every worker's client shares.
pub(crate) struct Upstream {
    /// `{graph}/[version/]me?fields=id,user_id,username&` — the token is appended per call.
    me_prefix: String,
    code_url: String,
    long_lived_url: String,
    refresh_url: String,
    client_id: String,
    client_secret: Secret,
    total_timeout: Duration,
    connect_timeout: Duration,
    max_connections: usize,
    pub(crate) breaker: Breaker,
    /// Calls to `/me` paused while Instagram throttles the app.
    pub(crate) pause: ThrottlePause,
    metrics: Arc<Metrics>,
    /// "Instagram is unreachable" lines: one a minute, with the count.
    unreachable: LogThrottle,
}

impl Upstream {
    pub(crate) fn new(settings: &Settings, metrics: Arc<Metrics>) -> Upstream {
        // awc panics on first use without a process-wide rustls crypto provider. Installing
        // twice (tests build many apps) is harmless, hence the ignored result.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ig = &settings.instagram;
        let graph = ig.graph_url.trim_end_matches('/');
        let me_path = if ig.graph_version.is_empty() {
            format!("{graph}/me")
        } else {
            format!("{graph}/{}/me", ig.graph_version)
        };
        Upstream {
            // `user_id` too: Meta's compliance callbacks may name a user by it (see meta_callbacks).
            me_prefix: format!("{me_path}?fields=id,user_id,username&"),
            code_url: format!("{}/oauth/access_token", ig.api_url.trim_end_matches('/')),
            long_lived_url: format!("{graph}/access_token"),
            refresh_url: format!("{graph}/refresh_access_token"),
            client_id: ig.client_id.clone(),
            client_secret: ig.client_secret.clone(),
            total_timeout: settings.upstream_timeout(),
            connect_timeout: Duration::from_millis(ig.connect_timeout_ms),
            max_connections: ig.max_connections.max(1),
            breaker: Breaker::new(
                ig.breaker_threshold,
                Duration::from_secs(ig.breaker_cooldown_secs),
                // One probe call, plus a little for the request around it.
                settings.upstream_timeout() + Duration::from_secs(1),
            ),
            pause: ThrottlePause::new(settings.upstream_timeout() + Duration::from_secs(1)),
            metrics,
            unreachable: LogThrottle::new(),
        }
    }
}

/// One worker's client. Cheap to clone.
#[derive(Clone)]
pub(crate) struct InstagramClient {
    http: awc::Client,
    up: Arc<Upstream>,
}

impl InstagramClient {
    pub(crate) fn new(up: Arc<Upstream>) -> InstagramClient {
        let connector = awc::Connector::new()
            .timeout(up.connect_timeout)
            .limit(up.max_connections);
        let http = awc::Client::builder()
            .connector(connector)
            // Every call runs under its own deadline (`attempt`), which covers the body too; a
            // second timer per request from awc would only cost.
            .disable_timeout()
            // A redirect would carry the token to wherever it points.
            .disable_redirects()
            .finish();
        InstagramClient { http, up }
    }

    /// The throttle pause every worker's client shares (the validator shares it with other
    /// replicas through Redis).
    pub(crate) fn pause(&self) -> &ThrottlePause {
        &self.up.pause
    }

    /// Who does this token belong to? Retries once on connection failure or 5xx. The breaker
    /// hears one outcome for the whole call, retry included: threshold N means N failed
    /// validations, not N/2.
    pub(crate) async fn me(&self, token: &AccessToken) -> Result<Lookup, UpstreamError> {
        let url = query_after(&self.up.me_prefix, &[("access_token", token.expose())]);
        self.permit("me")?;
        if !self.up.pause.permit() {
            self.up
                .metrics
                .upstream_outcome("me", "throttle_paused", None);
            return Err(UpstreamError::RateLimited);
        }
        let deadline = Instant::now() + self.up.total_timeout;
        let mut retried = false;
        let outcome = loop {
            let outcome = self
                .attempt("me", deadline, self.http.get(&url).send(), wire::read_me)
                .await;
            match outcome {
                Err(e) if e.retryable() && !retried => {
                    let backoff = jitter(Duration::from_millis(25), Duration::from_millis(75));
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left < backoff + MIN_RETRY_BUDGET {
                        break Err(e);
                    }
                    retried = true;
                    log::debug!("retrying /me once after {}", e.label());
                    sleep(backoff).await;
                }
                other => break other,
            }
        };
        self.settle(&outcome);
        match &outcome {
            Err(UpstreamError::RateLimited) => self.up.pause.throttled(),
            // A timeout or a dropped connection says nothing about throttling (a probe's lease
            // runs out instead); any other answer says it is over.
            Err(UpstreamError::Timeout | UpstreamError::Connect) => {}
            _ => self.up.pause.answered(),
        }
        outcome
    }

    /// Trades a one-time code for a token. Never retried: codes are single-use.
    pub(crate) async fn exchange_code(
        &self,
        code: &AuthCode,
        redirect_uri: &str,
    ) -> Result<CodeGrant, GrantError> {
        let form = [
            ("client_id", self.up.client_id.as_str()),
            ("client_secret", self.up.client_secret.expose()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
            ("code", code.expose()),
        ];
        self.call(
            "access_token",
            self.http.post(&self.up.code_url).send_form(&form),
            grant::read_code_grant,
        )
        .await
    }

    /// Trades a short-lived token for a long-lived one (about 60 days).
    pub(crate) async fn long_lived(&self, short: &AccessToken) -> Result<TokenGrant, GrantError> {
        let url = format!(
            "{}?{}",
            self.up.long_lived_url,
            query(&[
                ("grant_type", "ig_exchange_token"),
                ("client_secret", self.up.client_secret.expose()),
                ("access_token", short.expose()),
            ])
        );
        self.token_grant("ig_exchange_token", &url).await
    }

    /// Refreshes a long-lived token (it must be at least 24 hours old and unexpired).
    pub(crate) async fn refresh(&self, long: &AccessToken) -> Result<TokenGrant, GrantError> {
        let url = format!(
            "{}?{}",
            self.up.refresh_url,
            query(&[
                ("grant_type", "ig_refresh_token"),
                ("access_token", long.expose()),
            ])
        );
        self.token_grant("ig_refresh_token", &url).await
    }

    async fn token_grant(
        &self,
        endpoint: &'static str,
        url: &str,
    ) -> Result<TokenGrant, GrantError> {
        self.call(endpoint, self.http.get(url).send(), grant::read_token_grant)
            .await
    }

    /// One call that is never retried, under the whole deadline: the breaker's permit, one
    /// attempt, the breaker's record.
    async fn call<T, E>(
        &self,
        endpoint: &'static str,
        send: SendClientRequest,
        read: fn(u16, &[u8]) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<UpstreamError> + AsUpstream,
    {
        self.permit(endpoint)?;
        let deadline = Instant::now() + self.up.total_timeout;
        let outcome = self.attempt(endpoint, deadline, send, read).await;
        self.settle(&outcome);
        outcome
    }

    /// Whether the breaker lets a call through now; counted when it does not.
    fn permit(&self, endpoint: &'static str) -> Result<(), UpstreamError> {
        match self.up.breaker.permit() {
            Permit::Go => Ok(()),
            Permit::Wait(secs) => {
                self.up
                    .metrics
                    .upstream_outcome(endpoint, "circuit_open", None);
                Err(UpstreamError::CircuitOpen(secs))
            }
        }
    }

    /// One HTTP exchange: deadline, body limit, reading the answer, and its metric.
    async fn attempt<T, E: From<UpstreamError> + AsUpstream>(
        &self,
        endpoint: &'static str,
        deadline: Instant,
        send: SendClientRequest,
        read: fn(u16, &[u8]) -> Result<T, E>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let outcome = match transport::send(send, deadline, MAX_UPSTREAM_BODY).await {
            Ok((status, body)) => read(status, &body),
            Err(TransportError::Timeout) => {
                self.unreachable(
                    endpoint,
                    "timeout: no answer within IGAUTH_INSTAGRAM__TIMEOUT_MS",
                );
                Err(UpstreamError::Timeout.into())
            }
            Err(TransportError::Connect(cause)) => {
                self.unreachable(endpoint, cause.describe());
                Err(UpstreamError::Connect.into())
            }
        };
        let label = match outcome.as_ref().err().map(AsUpstream::as_upstream) {
            None => "ok",
            Some(None) => "refused",
            Some(Some(e)) => e.label(),
        };
        self.up
            .metrics
            .upstream_outcome(endpoint, label, Some(started.elapsed()));
        outcome
    }

    /// Says, at most once a minute, that Instagram could not be reached and at which step, with
    /// the setting that names the host: the operator's first question in an outage.
    fn unreachable(&self, endpoint: &'static str, cause: &str) {
        let Some(count) = self.up.unreachable.tick() else {
            return;
        };
        let setting = if endpoint == "access_token" {
            "IGAUTH_INSTAGRAM__API_URL"
        } else {
            "IGAUTH_INSTAGRAM__GRAPH_URL"
        };
        log::warn!(
            "Instagram is unreachable ({cause}) for {endpoint}, {count} time(s) in the last \
             minute: check that this machine reaches the host in {setting} (DNS, egress \
             firewall, a TLS-intercepting proxy); `igauth doctor` probes each step"
        );
    }

    /// Tells the breaker what one logical call came to.
    fn settle<T, E: AsUpstream>(&self, outcome: &Result<T, E>) {
        let breaker = &self.up.breaker;
        match outcome.as_ref().err().map(AsUpstream::as_upstream) {
            // An answer, or a refusal: Instagram is healthy.
            None | Some(None) => breaker.record_success(),
            Some(Some(e)) if e.is_failure() => breaker.record_failure(),
            Some(Some(e)) => {
                breaker.record_neutral();
                if *e == UpstreamError::Misconfigured {
                    log::error!(
                        "Instagram refused our app credentials (\"Invalid platform app\"): check \
                         IGAUTH_INSTAGRAM__CLIENT_ID and IGAUTH_INSTAGRAM__CLIENT_SECRET"
                    );
                }
            }
        }
    }
}

/// Lets `InstagramClient::call` see the upstream trouble inside each endpoint's error type.
pub(crate) trait AsUpstream {
    fn as_upstream(&self) -> Option<&UpstreamError>;
}

impl AsUpstream for UpstreamError {
    fn as_upstream(&self) -> Option<&UpstreamError> {
        Some(self)
    }
}

impl AsUpstream for GrantError {
    fn as_upstream(&self) -> Option<&UpstreamError> {
        match self {
            GrantError::Upstream(e) => Some(e),
            GrantError::Refused(_) => None,
        }
    }
}

/// Instagram's consent window for a login carrying `state`. Not an API call, and it carries no
/// secret (the client id is public), but it is an Instagram URL, so it is built here.
pub(crate) fn authorize_url(ig: &InstagramSettings, state: &str) -> String {
    let query = query(&[
        ("client_id", ig.client_id.as_str()),
        ("redirect_uri", ig.callback_url.as_str()),
        ("response_type", "code"),
        ("scope", ig.scopes.as_str()),
        ("state", state),
    ]);
    let sep = if ig.authorize_url.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}{query}", ig.authorize_url)
}

fn query(pairs: &[(&str, &str)]) -> String {
    query_after("", pairs)
}

/// `head` followed by `pairs`, form-encoded, in one buffer sized up front: this runs for every
/// uncached validation, and growing the string as the encoder appends cost more than the rest of
/// building the request.
fn query_after(head: &str, pairs: &[(&str, &str)]) -> String {
    let size = pairs
        .iter()
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum::<usize>();
    let mut out = String::with_capacity(head.len() + size + size / 4);
    out.push_str(head);
    let start = out.len();
    form_urlencoded::Serializer::for_suffix(out, start)
        .extend_pairs(pairs)
        .finish()
}

/// A random duration in `[base, base + spread)`, so retries from many workers do not align.
fn jitter(base: Duration, spread: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut byte);
    base + spread.mul_f64(f64::from(byte[0]) / 256.0)
}
