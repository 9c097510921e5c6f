//! The rules serde cannot express, checked once at load. A value that breaks one stops startup
//! (and `check-config`) with a message that names the environment variable to fix.

use super::{CacheBackend, Settings};
use crate::domain::{ProxyRange, ReturnTo, Secret};

impl Settings {
    /// Rules that serde cannot express, section by section (each stops at the first broken
    /// rule). Each message names the variable to fix.
    pub(super) fn check(&self) -> Result<(), String> {
        self.check_listeners()?;
        self.check_instagram_urls()?;
        self.check_numbers()?;
        self.check_lists()?;
        self.check_secrets()?;
        self.check_redis()?;
        check_scopes(&self.instagram.scopes)?;
        self.check_meta()
    }

    /// The listen addresses: `/metrics` on its own address must not take the main one.
    fn check_listeners(&self) -> Result<(), String> {
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
        Ok(())
    }

    /// Instagram's URLs and Graph API version.
    fn check_instagram_urls(&self) -> Result<(), String> {
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
        Ok(())
    }

    /// Times, sizes and counts: within bounds, and not zero where zero would stop everything.
    fn check_numbers(&self) -> Result<(), String> {
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
            (
                "IGAUTH_LIMITS__BODY_TIMEOUT_MS",
                self.limits.body_timeout_ms,
                300_000,
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
        if self.limits.body_timeout_ms == 0 {
            return Err("IGAUTH_LIMITS__BODY_TIMEOUT_MS must be greater than 0".into());
        }
        if self.server.max_connections == 0 {
            return Err("IGAUTH_SERVER__MAX_CONNECTIONS must be at least 1".into());
        }
        if self.limits.max_body_bytes < 256 {
            return Err("IGAUTH_LIMITS__MAX_BODY_BYTES must be at least 256".into());
        }
        if self.limits.webhook_max_body_bytes < 1024 {
            return Err("IGAUTH_LIMITS__WEBHOOK_MAX_BODY_BYTES must be at least 1024".into());
        }
        Ok(())
    }

    /// The list settings, entry by entry: trusted proxies, return URLs, CORS origins.
    fn check_lists(&self) -> Result<(), String> {
        for proxy in &self.limits.trusted_proxies {
            ProxyRange::parse(proxy).map_err(|e| format!("IGAUTH_LIMITS__TRUSTED_PROXIES: {e}"))?;
        }
        for entry in &self.instagram.return_urls {
            ReturnTo::check_entry(entry)
                .map_err(|e| format!("IGAUTH_INSTAGRAM__RETURN_URLS: {e}"))?;
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
        Ok(())
    }

    /// Every secret setting: no stray whitespace, no placeholder, long enough.
    fn check_secrets(&self) -> Result<(), String> {
        let cache = &self.cache;
        // Every secret setting. The state secret's length is a login-flow setup rule
        // (features.rs): a short one turns the flow off, it does not stop validation.
        for (var, secret, min) in [
            ("IGAUTH_SERVER__API_KEY", &self.server.api_key, MIN_API_KEY),
            (
                "IGAUTH_PARSE__WEBHOOK_KEY",
                &self.parse.webhook_key,
                MIN_WEBHOOK_KEY,
            ),
            (
                "IGAUTH_INSTAGRAM__CLIENT_SECRET",
                &self.instagram.client_secret,
                1,
            ),
            ("IGAUTH_SERVER__STATE_SECRET", &self.server.state_secret, 1),
            ("IGAUTH_CACHE__REDIS_URL", &cache.redis_url, 1),
            (
                "IGAUTH_CACHE__REDIS_SECRET",
                &cache.redis_secret,
                MIN_REDIS_SECRET,
            ),
            (
                "IGAUTH_CACHE__REDIS_SECRET_PREVIOUS",
                &cache.redis_secret_previous,
                MIN_REDIS_SECRET,
            ),
            (
                "IGAUTH_PARSE__MASTER_KEY",
                &self.parse.master_key,
                MIN_MASTER_KEY,
            ),
        ] {
            check_secret(var, secret, min)?;
        }
        Ok(())
    }

    /// The Redis backend: a usable URL and a sealing secret, and a budget per operation.
    fn check_redis(&self) -> Result<(), String> {
        let cache = &self.cache;
        if cache.backend == CacheBackend::Redis {
            check_redis_url(&cache.redis_url, &cache.redis_ca_file)?;
            if !cache.redis_secret.is_set() {
                return Err(format!(
                    "IGAUTH_CACHE__REDIS_SECRET is required when IGAUTH_CACHE__BACKEND=redis: \
                     every replica seals what it keeps in Redis with it, so that nothing else \
                     that can write to Redis can make igauth say yes. Generate one with \
                     `openssl rand -hex 32` (at least {MIN_REDIS_SECRET} characters) and give \
                     every replica the same one"
                ));
            }
        }
        if !(1..=5000).contains(&self.cache.redis_timeout_ms) {
            return Err("IGAUTH_CACHE__REDIS_TIMEOUT_MS must be between 1 and 5000".into());
        }
        Ok(())
    }
}

/// Scopes Instagram API with Instagram Login refuses at its consent page: the retired Basic
/// Display API's, and the `business_*` names from before the `instagram_` prefix. A login asking
/// for them can never finish, so they stop startup rather than every login.
fn check_scopes(scopes: &str) -> Result<(), String> {
    let dead = scopes
        .split([',', ' '])
        .map(str::trim)
        .find(|s| matches!(*s, "user_profile" | "user_media") || s.starts_with("business_"));
    match dead {
        Some(scope) => Err(format!(
            "IGAUTH_INSTAGRAM__SCOPES: Instagram API with Instagram Login refuses the scope \
             {scope:?} (a retired name); use instagram_business_basic, plus the \
             instagram_business_* scopes your app was approved for"
        )),
        None => Ok(()),
    }
}

/// Shortest API key accepted (`openssl rand -hex 24` makes 48).
const MIN_API_KEY: usize = 32;
/// Shortest webhook key accepted: Parse's `webhookKey`, which Back4App users type in by hand.
const MIN_WEBHOOK_KEY: usize = 16;
/// Shortest Parse master key accepted: it can delete every user, so it must not be guessable.
const MIN_MASTER_KEY: usize = 16;
/// Shortest Redis secret accepted: it keys the HMACs that make Redis values trustworthy.
const MIN_REDIS_SECRET: usize = 32;
/// Words the example files and tutorials use for "put your own secret here".
const PLACEHOLDERS: [&str; 5] = [
    "replace_me",
    "replace-me",
    "change-me",
    "change_me",
    "changeme",
];

/// The rules every configured secret follows (an empty one is "not set" and passes): no
/// surrounding whitespace, which a copy-paste adds and which would make every comparison fail
/// silently; no placeholder copied from an example, which the whole internet knows; and at least
/// `min` characters.
fn check_secret(var: &str, secret: &Secret, min: usize) -> Result<(), String> {
    let value = secret.expose();
    if value.is_empty() {
        return Ok(());
    }
    if value.trim() != value {
        return Err(format!(
            "{var} has leading or trailing whitespace; set it to the key alone"
        ));
    }
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return Err(format!(
            "{var} still holds a placeholder from an example file; set the real value{}",
            generate(min)
        ));
    }
    if value.chars().count() < min {
        return Err(format!(
            "{var} is too short: use at least {min} characters{}",
            generate(min)
        ));
    }
    Ok(())
}

/// How to make a secret of `min` characters, for the secrets igauth's operator generates.
fn generate(min: usize) -> String {
    if min > 1 {
        format!(" (e.g. `openssl rand -hex {}`)", min.div_ceil(2))
    } else {
        String::new()
    }
}

/// A URL the Redis client can use. Its own error text is not repeated: it may quote the URL, and
/// the URL may carry a password.
fn check_redis_url(url: &Secret, ca_file: &str) -> Result<(), String> {
    const VAR: &str = "IGAUTH_CACHE__REDIS_URL";
    const SHAPE: &str = "redis[s]://[[user]:password@]host:port[/db]";
    let url = url.expose();
    if url.is_empty() {
        return Err(format!(
            "{VAR} is required when IGAUTH_CACHE__BACKEND=redis"
        ));
    }
    let tls = url.starts_with("rediss://") || url.starts_with("valkeys://");
    if !(tls
        || url.starts_with("redis://")
        || url.starts_with("valkey://")
        || url.starts_with("unix://")
        || url.starts_with("redis+unix://"))
    {
        return Err(format!("{VAR} must look like {SHAPE}"));
    }
    redis::Client::open(url)
        .map(drop)
        .map_err(|_| format!("{VAR} is not a valid {SHAPE} URL"))?;
    if ca_file.is_empty() {
        return Ok(());
    }
    const CA: &str = "IGAUTH_CACHE__REDIS_CA_FILE";
    if !tls {
        return Err(format!(
            "{CA} is set but {VAR} is not a rediss:// (TLS) URL; use rediss:// or unset {CA}"
        ));
    }
    let pem = std::fs::read_to_string(ca_file)
        .map_err(|e| format!("{CA}: cannot read {ca_file:?}: {e}"))?;
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "{CA}: {ca_file:?} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(())
}
