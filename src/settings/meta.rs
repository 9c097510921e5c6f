//! The settings of Meta's compliance callbacks and of igauth's access to Parse's REST API: their
//! rules, the status link's base URL, and what a half-done setup reports.

use super::{ParseAction, Settings};

/// The route under the public base URL where a person checks a deletion request.
pub const STATUS_PATH: &str = "/v1/meta/data-deletion/";

impl Settings {
    /// Rules on the callback and Parse settings; each message names the variable to fix.
    pub(super) fn check_meta(&self) -> Result<(), String> {
        let public = &self.server.public_url;
        if !public.is_empty() && !is_base_url(public) {
            return Err(format!(
                "IGAUTH_SERVER__PUBLIC_URL must be igauth's public http(s) base URL, like \
                 https://auth.example or https://example.com/igauth (no query or fragment), got \
                 {public:?}"
            ));
        }
        let parse = &self.parse;
        if !parse.server_url.is_empty() && !is_base_url(&parse.server_url) {
            return Err(format!(
                "IGAUTH_PARSE__SERVER_URL must be Parse's http(s) REST URL, like \
                 https://parse.example/parse, got {:?}",
                parse.server_url
            ));
        }
        if !(1..=120_000).contains(&parse.timeout_ms) {
            return Err("IGAUTH_PARSE__TIMEOUT_MS must be between 1 and 120000".into());
        }
        if !(60..=10 * 365 * 86_400).contains(&parse.session_length_secs) {
            return Err(
                "IGAUTH_PARSE__SESSION_LENGTH_SECS must be between 60 and 315360000 (ten years); \
                 Parse's own default is 31536000 (a year)"
                    .into(),
            );
        }
        if !(1..=60).contains(&self.server.handoff_ttl_secs) {
            return Err(
                "IGAUTH_SERVER__HANDOFF_TTL_SECS must be between 1 and 60: apps redeem the code \
                 right after the redirect"
                    .into(),
            );
        }
        if parse.on_data_deletion == ParseAction::RevokeSessions {
            return Err(
                "IGAUTH_PARSE__ON_DATA_DELETION must be delete_user, unlink or none: revoking \
                 sessions deletes no data (revoke_sessions is for IGAUTH_PARSE__ON_DEAUTHORIZE)"
                    .into(),
            );
        }
        let function = &parse.deletion_function;
        if !function.is_empty()
            && (function.len() > 128
                || !function
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(format!(
                "IGAUTH_PARSE__DELETION_FUNCTION must be a Cloud function name (letters, digits \
                 and _), got {function:?}"
            ));
        }
        Ok(())
    }

    /// Where the status page of a deletion request lives, without the code: the public base URL
    /// (or the callback URL's origin) + [`STATUS_PATH`]. `None` when neither is set.
    pub fn status_url_base(&self) -> Option<String> {
        let public = self.server.public_url.trim_end_matches('/');
        let base = if public.is_empty() {
            origin(&self.instagram.callback_url)?
        } else {
            public.to_string()
        };
        Some(format!("{base}{STATUS_PATH}"))
    }

    /// Some but not all of the three settings that reach Parse are set.
    pub(super) fn parse_partly_configured(&self) -> Option<String> {
        let parse = &self.parse;
        let missing: Vec<&str> = [
            ("IGAUTH_PARSE__SERVER_URL", parse.server_url.is_empty()),
            ("IGAUTH_PARSE__APP_ID", parse.app_id.is_empty()),
            ("IGAUTH_PARSE__MASTER_KEY", !parse.master_key.is_set()),
        ]
        .iter()
        .filter(|(_, unset)| *unset)
        .map(|(var, _)| *var)
        .collect();
        let asked = missing.len() < 3 || !parse.deletion_function.is_empty();
        (asked && !missing.is_empty()).then(|| {
            format!(
                "igauth's access to Parse is partly configured, so Meta's callbacks act on no \
                 Parse user until these are set: {}",
                missing.join(", ")
            )
        })
    }
}

/// `http(s)://host[...]` without query, fragment or whitespace.
fn is_base_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && !r.contains(['?', '#'])
            && !r.chars().any(char::is_whitespace)
    })
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_base_urls() {
        assert_eq!(
            origin("https://auth.example:8443/v1/callback?x#y").as_deref(),
            Some("https://auth.example:8443")
        );
        assert_eq!(origin("ftp://x/y"), None);
        assert_eq!(origin("https:///y"), None);
        assert!(is_base_url("https://example.com/igauth/"));
        for bad in [
            "example.com",
            "https://",
            "https://a?b",
            "https://a#b",
            "https://a b",
        ] {
            assert!(!is_base_url(bad), "{bad}");
        }
    }
}
