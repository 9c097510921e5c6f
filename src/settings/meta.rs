//! The settings of Meta's compliance callbacks and of igauth's access to Parse's REST API: their
//! rules, the status link's base URL, and what a half-done setup reports.

use super::{ParseAction, Settings};

/// The route under the public base URL where a person checks a deletion request.
pub(crate) const STATUS_PATH: &str = "/v1/meta/data-deletion/";

impl Settings {
    /// Rules on the callback and Parse settings; each message names the variable to fix.
    pub(super) fn check_meta(&self) -> Result<(), String> {
        // First, and without echoing the value: a password in a URL must reach no message (and
        // the public URL would be sent to Meta inside every status link).
        for (name, url) in [
            ("IGAUTH_SERVER__PUBLIC_URL", &self.server.public_url),
            ("IGAUTH_PARSE__SERVER_URL", &self.parse.server_url),
        ] {
            if has_userinfo(url) {
                return Err(format!(
                    "{name} must not carry a user name or password (user:pass@): remove them \
                     from the URL (Parse is reached with IGAUTH_PARSE__MASTER_KEY)"
                ));
            }
        }
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
        self.check_status_page()
    }

    /// The status page's words for the person: the app's name and a contact link, checked so
    /// they can only ever be shown as what they are.
    fn check_status_page(&self) -> Result<(), String> {
        let meta = &self.meta;
        if meta.app_name.chars().count() > 100 || meta.app_name.chars().any(char::is_control) {
            return Err(
                "IGAUTH_META__APP_NAME must be the app's name as people know it: one line of at                  most 100 characters"
                    .into(),
            );
        }
        let contact = &meta.contact_url;
        if !contact.is_empty() && !is_contact_url(contact) {
            return Err(format!(
                "IGAUTH_META__CONTACT_URL must be an https:// page or a mailto: address where                  people reach the app's team (at most 500 characters, no spaces or quotes), got                  {contact:?}"
            ));
        }
        if !(60..=7 * 86_400).contains(&meta.signed_request_max_age_secs) {
            return Err(
                "IGAUTH_META__SIGNED_REQUEST_MAX_AGE_SECS must be between 60 and 604800 (a week); \
                 Meta retries within hours, so the default of 86400 (a day) suits most apps"
                    .into(),
            );
        }
        Ok(())
    }

    /// Where the status page of a deletion request lives, without the code: the public base URL
    /// (or the callback URL's origin) + [`STATUS_PATH`]. `None` when neither is set.
    pub(crate) fn status_url_base(&self) -> Option<String> {
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

/// `https://host...` or `mailto:someone@host`, with nothing that could leave an HTML attribute.
fn is_contact_url(url: &str) -> bool {
    let plain = url.len() <= 500
        && url
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\'));
    let shaped = match (url.strip_prefix("https://"), url.strip_prefix("mailto:")) {
        (Some(rest), _) => !rest.is_empty() && !rest.starts_with('/'),
        (_, Some(address)) => address.contains('@') && !address.starts_with('@'),
        _ => false,
    };
    plain && shaped
}

/// Whether a URL's authority (what comes before the first `/`, `?` or `#` after `scheme://`)
/// holds `user[:pass]@`.
fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#'])
        .next()
        .is_some_and(|authority| authority.contains('@'))
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
        assert!(is_contact_url("https://app.example/help?x=1"));
        assert!(is_contact_url("mailto:privacy@app.example"));
        for bad in [
            "http://app.example",
            "javascript:alert(1)",
            "mailto:nobody",
            "https://a\"onclick=x",
            "https://a b",
            "https://",
        ] {
            assert!(!is_contact_url(bad), "{bad}");
        }
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

    #[test]
    fn userinfo_is_found_in_the_authority_only() {
        for with in [
            "https://admin:pass@parse.example/parse",
            "http://user@parse:1337/parse",
            "https://:pw@a",
        ] {
            assert!(has_userinfo(with), "{with}");
        }
        for without in [
            "https://parse.example/parse",
            "https://a/p@th",
            "https://a?x=@",
            "",
        ] {
            assert!(!has_userinfo(without), "{without}");
        }
    }
}
