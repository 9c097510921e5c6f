//! Typed settings, layered: built-in defaults, then an optional TOML file (`--config PATH` or
//! `IGAUTH_CONFIG`), then environment variables `IGAUTH_<SECTION>__<KEY>`.
//!
//! Everything that can be wrong with a value is found here, at startup, with a message that names
//! the environment variable, so a bad deployment fails loudly instead of at the first login.
//! Secrets are held in [`Secret`], whose `Debug` is redacted, so printing the settings (as
//! `igauth check-config` does) can never leak them. Layout: this file holds the shapes and the
//! loading, `checks.rs` the rules serde cannot express, `features.rs` what the result turns on.

mod checks;
mod effective;
mod features;
mod findings;
mod meta;
mod names;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::{Deserialize, Deserializer};

pub(crate) use features::Features;
pub(crate) use findings::Severity;
pub(crate) use meta::STATUS_PATH;

use crate::domain::Secret;
use names::{check_names, env_names};

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub(crate) server: ServerSettings,
    pub(crate) instagram: InstagramSettings,
    pub(crate) cache: CacheSettings,
    pub(crate) parse: ParseSettings,
    pub(crate) meta: MetaSettings,
    pub(crate) limits: LimitSettings,
    pub(crate) log: LogSettings,
    /// What these settings make usable; computed once, at load.
    #[serde(skip)]
    pub(crate) features: Features,
    /// Every setting as `(IGAUTH_..., value)` with secrets redacted, for `check-config`.
    #[serde(skip)]
    pub(crate) effective: Vec<(String, String)>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ServerSettings {
    pub(crate) bind: String,
    /// A second listen address for `/metrics` only; empty serves `/metrics` on `bind`.
    pub(crate) metrics_bind: String,
    /// When set, `/v1/validate` and `/v1/introspect` require `Authorization: Bearer <key>`.
    pub(crate) api_key: Secret,
    /// Without an API key (or webhook key), answer those routes (or the webhooks) only for
    /// callers on this machine, as Redis does.
    pub(crate) protected_mode: bool,
    /// Browser origins allowed by CORS; empty means no CORS headers at all.
    #[serde(deserialize_with = "comma_list")]
    pub(crate) cors_origins: Vec<String>,
    /// How long in-flight requests get to finish after SIGTERM.
    pub(crate) shutdown_grace_secs: u64,
    /// Worker threads; 0 means one per core.
    pub(crate) workers: usize,
    /// Open connections each worker accepts before it waits for one to close.
    pub(crate) max_connections: usize,
    /// HMAC key for the login flow's `state` parameter.
    pub(crate) state_secret: Secret,
    /// How long a login's handoff code can be redeemed at `/v1/token`: 60 s, or shorter.
    pub(crate) handoff_ttl_secs: u64,
    /// Serve the `/v1/demo` page.
    pub(crate) demo: bool,
    /// igauth's public base URL (`https://auth.example`, maybe with a path prefix), for the
    /// data-deletion status link Meta shows people; empty means the origin of the callback URL.
    pub(crate) public_url: String,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct InstagramSettings {
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    #[serde(deserialize_with = "comma_list")]
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) api_url: String,
    pub(crate) graph_url: String,
    pub(crate) graph_version: String,
    pub(crate) timeout_ms: u64,
    pub(crate) connect_timeout_ms: u64,
    /// Upper bound on pooled connections per worker to each Instagram host.
    pub(crate) max_connections: usize,
    pub(crate) breaker_threshold: u32,
    pub(crate) breaker_cooldown_secs: u64,
    pub(crate) authorize_url: String,
    pub(crate) callback_url: String,
    pub(crate) scopes: String,
    #[serde(deserialize_with = "comma_list")]
    pub(crate) return_urls: Vec<String>,
    pub(crate) long_lived: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct CacheSettings {
    /// Lifetime of a positive answer from `/me`; 0 turns the cache off.
    pub(crate) ttl_secs: u64,
    /// Lifetime of "invalid token" / "expired token" answers.
    pub(crate) negative_ttl_secs: u64,
    pub(crate) max_entries: u64,
    /// `memory` (each replica on its own) or `redis` (replicas share verdicts; the local cache
    /// stays in front).
    pub(crate) backend: CacheBackend,
    /// `redis[s]://[[user]:password@]host:port[/db]`; a secret because it may hold a password.
    pub(crate) redis_url: Secret,
    /// HMAC key that seals every key and value igauth keeps in Redis; the same on every replica.
    pub(crate) redis_secret: Secret,
    /// The secret before the last rotation, still accepted for reads.
    pub(crate) redis_secret_previous: Secret,
    /// PEM file of the CA that signed a private Redis' TLS certificate (`rediss://`).
    pub(crate) redis_ca_file: String,
    /// Budget of one Redis read or write. Past it, or on any Redis error, the validator
    /// asks Instagram instead, so a slow or dead Redis costs at most this much per validation.
    pub(crate) redis_timeout_ms: u64,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CacheBackend {
    Memory,
    Redis,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ParseSettings {
    /// Parse's `webhookKey`; when set, webhook calls must carry it in `X-Parse-Webhook-Key`.
    pub(crate) webhook_key: Secret,
    /// Parse's REST base, e.g. `https://parse.example/parse`: with the app id and master key,
    /// igauth acts on Parse users for Meta's callbacks.
    pub(crate) server_url: String,
    pub(crate) app_id: String,
    /// Parse's master key: sent only in `X-Parse-Master-Key`, never logged.
    pub(crate) master_key: Secret,
    /// Deadline of one Parse REST call.
    pub(crate) timeout_ms: u64,
    /// What a verified data-deletion request does to the matched users.
    pub(crate) on_data_deletion: ParseAction,
    /// What a verified deauthorization does to the matched users.
    pub(crate) on_deauthorize: ParseAction,
    /// A Cloud function called (master key) before the built-in action; empty for none.
    pub(crate) deletion_function: String,
    /// igauth signs people into Parse itself: finds or creates the user linked to the Instagram
    /// account (master key) and answers a session token beside the authData.
    pub(crate) sessions: bool,
    /// How long those sessions last (Parse's own default is a year).
    pub(crate) session_length_secs: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct MetaSettings {
    /// The app's name as people know it, for the data-deletion status page.
    pub(crate) app_name: String,
    /// Where people reach the app's team (`https://...` or `mailto:...`), linked from that page.
    pub(crate) contact_url: String,
    /// How old a signed request may be and still act; older ones are captured, not Meta's
    /// (Meta retries within hours).
    pub(crate) signed_request_max_age_secs: u64,
}

/// What igauth does to the Parse users a Meta callback names.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ParseAction {
    /// Nothing.
    None,
    /// Delete the users' sessions (they must log in again); the users stay.
    RevokeSessions,
    /// Remove `authData.instagram` and revoke the sessions.
    Unlink,
    /// Delete the users and their sessions (Parse does not delete sessions with a user).
    DeleteUser,
}

impl ParseAction {
    /// The setting's own spelling, for logs, metrics and the status record.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ParseAction::None => "none",
            ParseAction::RevokeSessions => "revoke_sessions",
            ParseAction::Unlink => "unlink",
            ParseAction::DeleteUser => "delete_user",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LimitSettings {
    /// Requests a minute per client IP on the public routes apps call (exchange, login flow);
    /// 0 turns the limit off.
    pub(crate) exchange_per_minute: u32,
    pub(crate) exchange_burst: u32,
    /// Peers whose `X-Forwarded-For` is believed: addresses or CIDR ranges (your load balancer,
    /// your ingress controller's pods).
    #[serde(deserialize_with = "comma_list")]
    pub(crate) trusted_proxies: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub(crate) max_body_bytes: usize,
    /// Largest webhook body: Parse sends the whole user, its original, request headers and
    /// log context, far more than an authData.
    pub(crate) webhook_max_body_bytes: usize,
    /// How long a whole request body may take to arrive.
    pub(crate) body_timeout_ms: u64,
}

impl LimitSettings {
    pub(crate) fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.body_timeout_ms)
    }
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LogSettings {
    pub(crate) format: LogFormat,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
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
protected_mode = true
cors_origins = ""
shutdown_grace_secs = 10
workers = 0
max_connections = 1024
state_secret = ""
handoff_ttl_secs = 60
demo = false
public_url = ""

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
redis_secret = ""
redis_secret_previous = ""
redis_ca_file = ""
redis_timeout_ms = 50

[parse]
webhook_key = ""
server_url = ""
app_id = ""
master_key = ""
timeout_ms = 10000
on_data_deletion = "delete_user"
on_deauthorize = "none"
deletion_function = ""
sessions = false
session_length_secs = 31536000

[meta]
app_name = ""
contact_url = ""
signed_request_max_age_secs = 86400

[limits]
exchange_per_minute = 30
exchange_burst = 10
trusted_proxies = ""
max_body_bytes = 8192
webhook_max_body_bytes = 1048576
body_timeout_ms = 10000

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
    pub(crate) fn load(config_path: Option<String>) -> Result<Settings, String> {
        let file = config_path.or_else(|| std::env::var("IGAUTH_CONFIG").ok());
        Settings::from_sources(Sources { file, env: None })
    }

    pub fn from_sources(sources: Sources) -> Result<Settings, String> {
        let vars = sources.env.unwrap_or_else(|| std::env::vars().collect());
        check_names(DEFAULTS, &vars, sources.file.as_deref())?;
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = &sources.file {
            builder = builder.add_source(File::new(path, FileFormat::Toml).required(true));
        }
        let env = Environment::with_prefix("IGAUTH")
            .prefix_separator("_")
            .separator("__")
            .source(Some(vars.into_iter().collect()));
        let invalid = |e: config::ConfigError| {
            format!("invalid configuration: {}", env_names(&e.to_string()))
        };
        let config = builder.add_source(env).build().map_err(invalid)?;
        let mut settings: Settings = config.clone().try_deserialize().map_err(invalid)?;
        settings.check()?;
        settings.features = Features::of(&settings);
        let mut known = names::known(DEFAULTS);
        known.sort();
        settings.effective = effective::lines(&config, &known);
        Ok(settings)
    }

    pub(crate) fn bind_addr(&self) -> Result<SocketAddr, String> {
        self.server.bind.parse().map_err(|_| {
            format!(
                "IGAUTH_SERVER__BIND must be an address like 0.0.0.0:8080, got {:?}",
                self.server.bind
            )
        })
    }

    /// The separate address for `/metrics`, if one is configured.
    pub(crate) fn metrics_bind_addr(&self) -> Result<Option<SocketAddr>, String> {
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

    pub(crate) fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.instagram.timeout_ms)
    }
}
