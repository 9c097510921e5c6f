//! Typed settings, layered: built-in defaults, then an optional TOML file (`--config PATH` or
//! `IGAUTH_CONFIG`), then environment variables `IGAUTH_<SECTION>__<KEY>`.
//!
//! Everything that can be wrong with a value is found here, at startup, with a message that names
//! the environment variable, so a bad deployment fails loudly instead of at the first login.
//! Secrets are held in [`Secret`], whose `Debug` is redacted, so printing the settings (as
//! `igauth check-config` does) can never leak them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::{Deserialize, Deserializer};

use crate::domain::login_state::MIN_SECRET_LEN;

/// A configured secret (client secret, API key, webhook key, state secret).
/// Empty means "not configured".
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() {
            "\"[redacted]\""
        } else {
            "\"\""
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub instagram: InstagramSettings,
    pub cache: CacheSettings,
    pub parse: ParseSettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    /// A second listen address for `/metrics` only; empty serves `/metrics` on `bind`.
    pub metrics_bind: String,
    /// When set, `/v1/validate` and `/v1/introspect` require `Authorization: Bearer <key>`.
    pub api_key: Secret,
    /// Browser origins allowed by CORS; empty means no CORS headers at all.
    #[serde(deserialize_with = "comma_list")]
    pub cors_origins: Vec<String>,
    /// How long in-flight requests get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// HMAC key for the login flow's `state` parameter.
    pub state_secret: Secret,
    /// Serve the `/v1/demo` page.
    pub demo: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct InstagramSettings {
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(deserialize_with = "comma_list")]
    pub redirect_uris: Vec<String>,
    pub api_url: String,
    pub graph_url: String,
    pub graph_version: String,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Upper bound on pooled connections per worker to each Instagram host.
    pub max_connections: usize,
    pub breaker_threshold: u32,
    pub breaker_cooldown_secs: u64,
    pub authorize_url: String,
    pub callback_url: String,
    pub scopes: String,
    #[serde(deserialize_with = "comma_list")]
    pub return_urls: Vec<String>,
    pub long_lived: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CacheSettings {
    /// Lifetime of a positive answer from `/me`; 0 turns the cache off.
    pub ttl_secs: u64,
    /// Lifetime of "invalid token" / "expired token" answers.
    pub negative_ttl_secs: u64,
    pub max_entries: u64,
    /// `memory` (each replica on its own) or `redis` (replicas share verdicts; the local cache
    /// stays in front).
    pub backend: CacheBackend,
    /// `redis://[:password@]host:port[/db]`; a secret because it may hold a password.
    pub redis_url: Secret,
    /// Budget of one Redis read or write (issue 6). Past it, or on any Redis error, the validator
    /// asks Instagram instead, so a slow or dead Redis costs at most this much per validation.
    pub redis_timeout_ms: u64,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CacheBackend {
    Memory,
    Redis,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ParseSettings {
    /// Parse's `webhookKey`; when set, webhook calls must carry it in `X-Parse-Webhook-Key`.
    pub webhook_key: Secret,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LimitSettings {
    /// Requests a minute per client IP on the public routes apps call (exchange, login flow);
    /// 0 turns the limit off.
    pub exchange_per_minute: u32,
    pub exchange_burst: u32,
    /// Peers whose `X-Forwarded-For` is believed (e.g. your load balancer).
    #[serde(deserialize_with = "comma_list")]
    pub trusted_proxies: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest webhook body: Parse sends the whole user, its original, request headers and
    /// log context, far more than an authData.
    pub webhook_max_body_bytes: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Accepts either a TOML array or one comma-separated string (the natural form in an env var).
fn comma_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        String(String),
    }
    let items = match ListOrString::deserialize(d)? {
        ListOrString::List(items) => items,
        ListOrString::String(s) => s.split(',').map(str::to_string).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

const DEFAULTS: &str = r#"
[server]
bind = "0.0.0.0:8080"
metrics_bind = ""
api_key = ""
cors_origins = ""
shutdown_grace_secs = 10
workers = 0
state_secret = ""
demo = false

[instagram]
client_id = ""
client_secret = ""
redirect_uris = ""
api_url = "https://api.instagram.com"
graph_url = "https://graph.instagram.com"
graph_version = ""
timeout_ms = 5000
connect_timeout_ms = 2000
max_connections = 256
breaker_threshold = 5
breaker_cooldown_secs = 10
authorize_url = "https://www.instagram.com/oauth/authorize"
callback_url = ""
scopes = "instagram_business_basic"
return_urls = ""
long_lived = false

[cache]
ttl_secs = 300
negative_ttl_secs = 30
max_entries = 100000
backend = "memory"
redis_url = ""
redis_timeout_ms = 50

[parse]
webhook_key = ""

[limits]
exchange_per_minute = 30
exchange_burst = 10
trusted_proxies = ""
max_body_bytes = 8192
webhook_max_body_bytes = 1048576

[log]
format = "text"
"#;

/// Where the settings come from; tests pass everything explicitly.
#[derive(Default)]
pub struct Sources {
    pub file: Option<String>,
    /// Environment variables as (name, value); `None` means the process environment.
    pub env: Option<Vec<(String, String)>>,
}

impl Settings {
    /// Defaults, then the file named by `--config` or `IGAUTH_CONFIG`, then `IGAUTH_*` variables.
    pub fn load(config_path: Option<String>) -> Result<Settings, String> {
        let file = config_path.or_else(|| std::env::var("IGAUTH_CONFIG").ok());
        Settings::from_sources(Sources { file, env: None })
    }

    pub fn from_sources(sources: Sources) -> Result<Settings, String> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = &sources.file {
            builder = builder.add_source(File::new(path, FileFormat::Toml).required(true));
        }
        let mut env = Environment::with_prefix("IGAUTH")
            .prefix_separator("_")
            .separator("__");
        if let Some(vars) = sources.env {
            env = env.source(Some(vars.into_iter().collect()));
        }
        let settings: Settings = builder
            .add_source(env)
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| format!("invalid configuration: {}", env_names(&e.to_string())))?;
        settings.check()?;
        Ok(settings)
    }

    /// Rules that serde cannot express. Each message names the variable to fix.
    fn check(&self) -> Result<(), String> {
        let main = self.bind_addr()?;
        if let Some(metrics) = self.metrics_bind_addr()? {
            if metrics == main && metrics.port() != 0 {
                return Err(
                    "IGAUTH_SERVER__METRICS_BIND must differ from IGAUTH_SERVER__BIND (leave it \
                     empty to serve /metrics on the main address)"
                        .into(),
                );
            }
        }
        for (var, url) in [
            ("IGAUTH_INSTAGRAM__API_URL", &self.instagram.api_url),
            ("IGAUTH_INSTAGRAM__GRAPH_URL", &self.instagram.graph_url),
            (
                "IGAUTH_INSTAGRAM__AUTHORIZE_URL",
                &self.instagram.authorize_url,
            ),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("{var} must be an http(s) URL, got {url:?}"));
            }
        }
        let version = &self.instagram.graph_version;
        if !version.is_empty()
            && !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            return Err(format!(
                "IGAUTH_INSTAGRAM__GRAPH_VERSION must look like v25.0, got {version:?}"
            ));
        }
        // Bounded so no deadline or expiry computed from them can overflow, and because larger
        // values are mistakes (a minute-long upstream call, a week-long negative answer).
        for (var, value, max) in [
            (
                "IGAUTH_INSTAGRAM__TIMEOUT_MS",
                self.instagram.timeout_ms,
                120_000,
            ),
            (
                "IGAUTH_INSTAGRAM__CONNECT_TIMEOUT_MS",
                self.instagram.connect_timeout_ms,
                120_000,
            ),
            (
                "IGAUTH_INSTAGRAM__BREAKER_COOLDOWN_SECS",
                self.instagram.breaker_cooldown_secs,
                3_600,
            ),
            ("IGAUTH_CACHE__TTL_SECS", self.cache.ttl_secs, 30 * 86_400),
            (
                "IGAUTH_CACHE__NEGATIVE_TTL_SECS",
                self.cache.negative_ttl_secs,
                86_400,
            ),
            (
                "IGAUTH_SERVER__SHUTDOWN_GRACE_SECS",
                self.server.shutdown_grace_secs,
                3_600,
            ),
        ] {
            if value > max {
                return Err(format!("{var} must be at most {max}, got {value}"));
            }
        }
        if self.instagram.timeout_ms == 0 {
            return Err("IGAUTH_INSTAGRAM__TIMEOUT_MS must be greater than 0".into());
        }
        if self.instagram.connect_timeout_ms == 0 {
            return Err("IGAUTH_INSTAGRAM__CONNECT_TIMEOUT_MS must be greater than 0".into());
        }
        if self.instagram.breaker_threshold == 0 {
            return Err("IGAUTH_INSTAGRAM__BREAKER_THRESHOLD must be at least 1".into());
        }
        if self.limits.max_body_bytes < 256 {
            return Err("IGAUTH_LIMITS__MAX_BODY_BYTES must be at least 256".into());
        }
        if self.limits.webhook_max_body_bytes < 1024 {
            return Err("IGAUTH_LIMITS__WEBHOOK_MAX_BODY_BYTES must be at least 1024".into());
        }
        for proxy in &self.limits.trusted_proxies {
            proxy.parse::<IpAddr>().map_err(|_| {
                format!("IGAUTH_LIMITS__TRUSTED_PROXIES: {proxy:?} is not an IP address")
            })?;
        }
        for origin in &self.server.cors_origins {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let valid = origin == "*"
                || host.is_some_and(|h| !h.is_empty() && !h.contains(['/', '?', '#', ' ']));
            if !valid {
                return Err(format!(
                    "IGAUTH_SERVER__CORS_ORIGINS: {origin:?} must be an origin like https://app.example (scheme and host, no path) or *"
                ));
            }
        }
        if self.cache.backend == CacheBackend::Redis {
            check_redis_url(&self.cache.redis_url)?;
        }
        if !(1..=5000).contains(&self.cache.redis_timeout_ms) {
            return Err("IGAUTH_CACHE__REDIS_TIMEOUT_MS must be between 1 and 5000".into());
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, String> {
        self.server.bind.parse().map_err(|_| {
            format!(
                "IGAUTH_SERVER__BIND must be an address like 0.0.0.0:8080, got {:?}",
                self.server.bind
            )
        })
    }

    /// The separate address for `/metrics`, if one is configured.
    pub fn metrics_bind_addr(&self) -> Result<Option<SocketAddr>, String> {
        let bind = &self.server.metrics_bind;
        if bind.is_empty() {
            return Ok(None);
        }
        bind.parse().map(Some).map_err(|_| {
            format!(
                "IGAUTH_SERVER__METRICS_BIND must be an address like 0.0.0.0:9090 (or empty), got {bind:?}"
            )
        })
    }

    /// True when `/v1/exchange` has what it needs to call Instagram.
    pub fn exchange_configured(&self) -> bool {
        !self.instagram.client_id.is_empty() && self.instagram.client_secret.is_set()
    }

    /// Whether Redis has a use: shared verdicts (the cache is on) or used login states (states
    /// can be signed).
    pub fn uses_redis(&self) -> bool {
        self.cache.backend == CacheBackend::Redis
            && (self.cache.ttl_secs > 0
                || self.server.state_secret.expose().len() >= MIN_SECRET_LEN)
    }

    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.instagram.timeout_ms)
    }

    /// What a reader of the logs should know; none of it stops anything (validation alone needs
    /// no credentials).
    pub fn warnings(&self) -> Vec<String> {
        let ig = &self.instagram;
        let mut out = Vec::new();
        if ig.client_id.is_empty() && !ig.client_secret.is_set() {
            out.push("IGAUTH_INSTAGRAM__CLIENT_ID / CLIENT_SECRET are not set: /v1/exchange answers 503 exchange_not_configured".into());
        }
        if self.exchange_configured() && ig.redirect_uris.is_empty() && self.login_flow_asked() {
            out.push(
                "IGAUTH_INSTAGRAM__REDIRECT_URIS is empty: /v1/exchange refuses every redirect_uri (the login flow is not affected)"
                    .into(),
            );
        }
        if !self.server.api_key.is_set() {
            out.push("IGAUTH_SERVER__API_KEY is not set: /v1/validate and /v1/introspect are open to anyone who can reach them".into());
        }
        out
    }

    /// Settings that ask for a feature but leave it unable to work. `igauth check-config` treats
    /// them as errors (exit 1); `serve` logs them as warnings and starts with that feature answering
    /// 503 `*_not_configured`, so token validation keeps working through a half-done deploy.
    pub fn setup_errors(&self) -> Vec<String> {
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
        if self.exchange_configured() && ig.redirect_uris.is_empty() && !self.login_flow_asked() {
            out.push(
                "IGAUTH_INSTAGRAM__REDIRECT_URIS is empty: /v1/exchange refuses every redirect_uri; list the redirect URIs your apps send"
                    .into(),
            );
        }
        if self.login_flow_asked() {
            let mut missing = Vec::new();
            if !self.exchange_configured() {
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
            if self.server.state_secret.expose().len() < MIN_SECRET_LEN {
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
        if self.cache.backend == CacheBackend::Redis && self.cache.ttl_secs == 0 {
            out.push(format!(
                "IGAUTH_CACHE__BACKEND=redis but IGAUTH_CACHE__TTL_SECS=0 turns caching off: {}",
                if self.uses_redis() {
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

/// A URL the Redis client can use. Its own error text is not repeated: it may quote the URL, and
/// the URL may carry a password.
fn check_redis_url(url: &Secret) -> Result<(), String> {
    const VAR: &str = "IGAUTH_CACHE__REDIS_URL";
    let url = url.expose();
    if url.is_empty() {
        return Err(format!(
            "{VAR} is required when IGAUTH_CACHE__BACKEND=redis"
        ));
    }
    if url.starts_with("rediss://") || url.starts_with("valkeys://") {
        return Err(format!(
            "{VAR}: TLS (rediss://) is not built in; use redis:// on a private network (or a TLS sidecar)"
        ));
    }
    if !(url.starts_with("redis://")
        || url.starts_with("valkey://")
        || url.starts_with("unix://")
        || url.starts_with("redis+unix://"))
    {
        return Err(format!(
            "{VAR} must look like redis://[:password@]host:port[/db]"
        ));
    }
    redis::Client::open(url)
        .map(drop)
        .map_err(|_| format!("{VAR} is not a valid redis://[:password@]host:port[/db] URL"))
}

/// The `config` crate reports keys as `section.key`; operators set `IGAUTH_SECTION__KEY`.
fn env_names(message: &str) -> String {
    let mut out = message.to_string();
    if let Some(start) = message.find("for key `") {
        let rest = &message[start + 9..];
        if let Some(end) = rest.find('`') {
            let key = &rest[..end];
            let var = format!("IGAUTH_{}", key.replace('.', "__").to_uppercase());
            out.push_str(&format!(" (set by {var})"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_env(vars: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_sources(Sources {
            file: None,
            env: Some(
                vars.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        })
    }

    #[test]
    fn defaults_start_a_validator_without_credentials() {
        let s = with_env(&[]).unwrap();
        assert_eq!(s.server.bind, "0.0.0.0:8080");
        assert_eq!(s.instagram.graph_url, "https://graph.instagram.com");
        assert_eq!(s.instagram.timeout_ms, 5000);
        assert!(!s.exchange_configured());
    }

    #[test]
    fn env_overrides_and_lists_split_on_commas() {
        let s = with_env(&[
            (
                "IGAUTH_INSTAGRAM__REDIRECT_URIS",
                "https://a.example/cb, https://b.example/cb",
            ),
            ("IGAUTH_INSTAGRAM__CLIENT_ID", "0123"),
            ("IGAUTH_INSTAGRAM__TIMEOUT_MS", "250"),
        ])
        .unwrap();
        assert_eq!(
            s.instagram.redirect_uris,
            vec!["https://a.example/cb", "https://b.example/cb"]
        );
        assert_eq!(s.instagram.client_id, "0123", "ids keep leading zeros");
        assert_eq!(s.instagram.timeout_ms, 250);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = with_env(&[("IGAUTH_INSTAGRAM__TIMEOUT_MS", "soon")]).unwrap_err();
        assert!(err.contains("IGAUTH_INSTAGRAM__TIMEOUT_MS"), "{err}");
        let err = with_env(&[("IGAUTH_SERVER__BIND", "nowhere")]).unwrap_err();
        assert!(err.contains("IGAUTH_SERVER__BIND"), "{err}");
        let err = with_env(&[("IGAUTH_SERVER__METRICS_BIND", "9090")]).unwrap_err();
        assert!(err.contains("IGAUTH_SERVER__METRICS_BIND"), "{err}");
        let err = with_env(&[("IGAUTH_SERVER__METRICS_BIND", "0.0.0.0:8080")]).unwrap_err();
        assert!(err.contains("must differ"), "{err}");
        let s = with_env(&[("IGAUTH_SERVER__METRICS_BIND", "127.0.0.1:9090")]).unwrap();
        assert_eq!(
            s.metrics_bind_addr(),
            Ok(Some("127.0.0.1:9090".parse().unwrap()))
        );
    }

    #[test]
    fn durations_are_bounded() {
        let err =
            with_env(&[("IGAUTH_INSTAGRAM__TIMEOUT_MS", "18446744073709551615")]).unwrap_err();
        assert!(
            err.contains("IGAUTH_INSTAGRAM__TIMEOUT_MS must be at most"),
            "{err}"
        );
        let err = with_env(&[("IGAUTH_CACHE__TTL_SECS", "99999999999")]).unwrap_err();
        assert!(err.contains("IGAUTH_CACHE__TTL_SECS"), "{err}");
    }

    #[test]
    fn cors_origins_must_be_origins() {
        assert!(with_env(&[("IGAUTH_SERVER__CORS_ORIGINS", "https://app.example, *")]).is_ok());
        let err =
            with_env(&[("IGAUTH_SERVER__CORS_ORIGINS", "https://app.example/path")]).unwrap_err();
        assert!(err.contains("IGAUTH_SERVER__CORS_ORIGINS"), "{err}");
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let s = with_env(&[
            ("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t-value"),
            ("IGAUTH_SERVER__API_KEY", "k3y-value"),
        ])
        .unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("s3cr3t-value") && !printed.contains("k3y-value"));
        assert!(printed.contains("[redacted]"));
    }

    fn setup_errors(vars: &[(&str, &str)]) -> Vec<String> {
        with_env(vars).unwrap().setup_errors()
    }

    const STATE_SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn redis_backend_needs_a_usable_url() {
        let err = with_env(&[("IGAUTH_CACHE__BACKEND", "redis")]).unwrap_err();
        assert!(err.contains("IGAUTH_CACHE__REDIS_URL is required"), "{err}");
        for (url, wanted) in [
            ("rediss://:pw@cache:6380", "TLS"),
            ("http://cache:6379", "must look like redis://"),
            ("redis://:hunter2pw@[::1:6379", "not a valid"),
        ] {
            let err = with_env(&[
                ("IGAUTH_CACHE__BACKEND", "redis"),
                ("IGAUTH_CACHE__REDIS_URL", url),
            ])
            .unwrap_err();
            assert!(err.contains(wanted), "{url}: {err}");
            assert!(!err.contains("hunter2pw"), "the password leaked: {err}");
        }
        let s = with_env(&[
            ("IGAUTH_CACHE__BACKEND", "redis"),
            ("IGAUTH_CACHE__REDIS_URL", "redis://:pw@cache:6379/2"),
        ])
        .unwrap();
        assert_eq!(s.cache.backend, CacheBackend::Redis);
        assert_eq!(s.cache.redis_timeout_ms, 50, "the default budget");
        assert!(!format!("{s:?}").contains(":pw@"), "the URL is redacted");
    }

    #[test]
    fn redis_timeout_is_bounded() {
        for bad in ["0", "5001"] {
            let err = with_env(&[("IGAUTH_CACHE__REDIS_TIMEOUT_MS", bad)]).unwrap_err();
            assert!(err.contains("IGAUTH_CACHE__REDIS_TIMEOUT_MS"), "{err}");
        }
        let s = with_env(&[("IGAUTH_CACHE__REDIS_TIMEOUT_MS", "20")]).unwrap();
        assert_eq!(s.cache.redis_timeout_ms, 20);
    }

    #[test]
    fn a_validation_only_setup_has_no_setup_errors() {
        assert!(setup_errors(&[]).is_empty());
        assert!(setup_errors(&[
            ("IGAUTH_INSTAGRAM__CLIENT_ID", "0123"),
            ("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t"),
            ("IGAUTH_INSTAGRAM__REDIRECT_URIS", "https://app.example/cb"),
        ])
        .is_empty());
    }

    #[test]
    fn half_of_the_client_credentials_is_an_error() {
        let errors = setup_errors(&[("IGAUTH_INSTAGRAM__CLIENT_ID", "0123")]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("CLIENT_SECRET is not"), "{errors:?}");
        let errors = setup_errors(&[("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t")]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("CLIENT_ID is not"), "{errors:?}");
        assert!(
            !errors[0].contains("s3cr3t"),
            "messages name variables, not values"
        );
    }

    #[test]
    fn exchange_without_redirect_uris_is_an_error_unless_the_login_flow_uses_the_credentials() {
        let creds = [
            ("IGAUTH_INSTAGRAM__CLIENT_ID", "0123"),
            ("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t"),
        ];
        let errors = setup_errors(&creds);
        assert!(
            errors.len() == 1 && errors[0].contains("IGAUTH_INSTAGRAM__REDIRECT_URIS"),
            "{errors:?}"
        );
        let mut flow = creds.to_vec();
        flow.extend([
            (
                "IGAUTH_INSTAGRAM__CALLBACK_URL",
                "https://auth.example/v1/callback",
            ),
            ("IGAUTH_INSTAGRAM__RETURN_URLS", "https://app.example/"),
            ("IGAUTH_SERVER__STATE_SECRET", STATE_SECRET),
        ]);
        let s = with_env(&flow).unwrap();
        assert!(s.setup_errors().is_empty(), "{:?}", s.setup_errors());
        assert!(
            s.warnings()
                .iter()
                .any(|w| w.contains("IGAUTH_INSTAGRAM__REDIRECT_URIS")),
            "still a warning: {:?}",
            s.warnings()
        );
    }

    #[test]
    fn a_partly_configured_login_flow_names_what_is_missing() {
        let errors = setup_errors(&[(
            "IGAUTH_INSTAGRAM__CALLBACK_URL",
            "https://auth.example/v1/callback",
        )]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        for var in [
            "CLIENT_ID",
            "CLIENT_SECRET",
            "IGAUTH_INSTAGRAM__RETURN_URLS",
            "IGAUTH_SERVER__STATE_SECRET",
        ] {
            assert!(errors[0].contains(var), "{var}: {errors:?}");
        }
        assert!(!errors[0].contains("CALLBACK_URL"), "{errors:?}");

        let errors = setup_errors(&[
            ("IGAUTH_INSTAGRAM__CLIENT_ID", "0123"),
            ("IGAUTH_INSTAGRAM__CLIENT_SECRET", "s3cr3t"),
            (
                "IGAUTH_INSTAGRAM__CALLBACK_URL",
                "https://auth.example/v1/callback",
            ),
            ("IGAUTH_INSTAGRAM__RETURN_URLS", "https://app.example/"),
            ("IGAUTH_SERVER__STATE_SECRET", "too-short"),
        ]);
        assert!(
            errors.len() == 1 && errors[0].contains("STATE_SECRET (at least 32"),
            "{errors:?}"
        );

        let errors = setup_errors(&[("IGAUTH_SERVER__DEMO", "true")]);
        assert!(
            errors.len() == 1 && errors[0].contains("CALLBACK_URL"),
            "the demo needs the flow: {errors:?}"
        );
    }

    #[test]
    fn callback_url_must_be_http() {
        let errors = setup_errors(&[("IGAUTH_INSTAGRAM__CALLBACK_URL", "auth.example/cb")]);
        assert!(
            errors.iter().any(|e| e.contains("must be the http(s) URL")),
            "{errors:?}"
        );
    }

    #[test]
    fn redis_with_the_cache_off_is_an_error() {
        let errors = setup_errors(&[
            ("IGAUTH_CACHE__BACKEND", "redis"),
            ("IGAUTH_CACHE__REDIS_URL", "redis://cache:6379"),
            ("IGAUTH_CACHE__TTL_SECS", "0"),
        ]);
        assert!(
            errors.len() == 1 && errors[0].contains("IGAUTH_CACHE__TTL_SECS=0"),
            "{errors:?}"
        );
    }
}
