//! The effective configuration as the variables people set (`IGAUTH_SERVER__BIND=0.0.0.0:8080`),
//! for `igauth check-config`. Read from the layered sources themselves, so a setting added
//! anywhere shows up here without a list to keep. Secrets print as `<redacted>`, and a password
//! inside any URL (a Redis or Parse URL with credentials) as `<redacted>` too.

use config::{Config, Value, ValueKind};

/// What a set secret prints as.
const REDACTED: &str = "<redacted>";

/// `(IGAUTH_SECTION__KEY, printable value)` for every known `section.key`, in the order given.
pub(super) fn lines(config: &Config, known: &[String]) -> Vec<(String, String)> {
    known
        .iter()
        .map(|key| {
            let value = config.get::<Value>(key).map(flat).unwrap_or_default();
            (super::names::env_var(key), redact(key, &value))
        })
        .collect()
}

/// One line's worth of a value; lists joined with commas, as the variables take them.
fn flat(value: Value) -> String {
    match value.kind {
        ValueKind::Nil => String::new(),
        ValueKind::Array(items) => items.into_iter().map(flat).collect::<Vec<_>>().join(","),
        ValueKind::Table(_) => String::new(),
        _ => value.into_string().unwrap_or_default(),
    }
}

/// Whether the setting `section.key` holds a secret: every key and secret igauth has is named so.
fn is_secret(key: &str) -> bool {
    let name = key.rsplit('.').next().unwrap_or(key);
    name.contains("key") || name.contains("secret") || name.contains("password")
}

fn redact(key: &str, value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    if is_secret(key) {
        return REDACTED.into();
    }
    value
        .split(',')
        .map(redact_url_password)
        .collect::<Vec<_>>()
        .join(",")
}

/// `scheme://user:password@host...` -> `scheme://user:<redacted>@host...`; anything else as is.
fn redact_url_password(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return value.to_string();
    };
    let user = rest[..at].split(':').next().unwrap_or("");
    if !rest[..at].contains(':') {
        // A lone `user@` is a name, but some clients take a password there; hide it too.
        return format!("{scheme}://{REDACTED}{}", &rest[at..]);
    }
    format!("{scheme}://{user}:{REDACTED}{}", &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_url_passwords_are_redacted() {
        assert_eq!(redact("server.api_key", "abc"), REDACTED);
        assert_eq!(redact("cache.redis_secret_previous", "abc"), REDACTED);
        assert_eq!(redact("server.api_key", ""), "");
        assert_eq!(
            redact("cache.redis_url", "redis://:pw@cache:6379/0"),
            "redis://:<redacted>@cache:6379/0"
        );
        assert_eq!(
            redact("parse.server_url", "https://u:pw@p.example/parse"),
            "https://u:<redacted>@p.example/parse"
        );
        assert_eq!(
            redact(
                "instagram.return_urls",
                "myapp://cb,https://a.example/x?y=a@b"
            ),
            "myapp://cb,https://a.example/x?y=a@b"
        );
        assert_eq!(redact("server.bind", "0.0.0.0:8080"), "0.0.0.0:8080");
    }
}
