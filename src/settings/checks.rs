//! The rules serde cannot express, checked once at load. A value that breaks one stops startup
//! (and `check-config`) with a message that names the environment variable to fix.

use super::{CacheBackend, Settings};
use crate::domain::{ProxyRange, ReturnTo, Secret};

impl Settings {
    /// Rules that serde cannot express. Each message names the variable to fix.
    pub(super) fn check(&self) -> Result<(), String> {
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
        if self.cache.backend == CacheBackend::Redis {
            check_redis_url(&self.cache.redis_url)?;
        }
        if !(1..=5000).contains(&self.cache.redis_timeout_ms) {
            return Err("IGAUTH_CACHE__REDIS_TIMEOUT_MS must be between 1 and 5000".into());
        }
        Ok(())
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
pub(super) fn env_names(message: &str) -> String {
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
