//! Everything worth telling an operator about a configuration that loaded, in one list that
//! `serve` (as log lines) and `check-config` (as output and exit code) both print, so the two can
//! never disagree. Rules that stop startup outright live in `checks.rs`; these leave validation
//! running.

use super::Settings;

/// How bad a finding is. `check-config` exits 1 on an error; `serve` starts anyway, with the
/// feature the error names answering 503 `*_not_configured`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    /// Works, but probably not as intended.
    Warning,
    /// A feature was asked for and cannot work as configured.
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub(crate) message: String,
}

impl Finding {
    /// `warning: ...` or `error: ...`, the same words in the log and on the terminal.
    pub(crate) fn line(&self) -> String {
        match self.severity {
            Severity::Warning => format!("warning: {}", self.message),
            Severity::Error => format!("error: {}", self.message),
        }
    }
}

/// The only path igauth answers the login callback on.
const CALLBACK_PATH: &str = "/v1/callback";
/// The demo page's path under igauth's base URL.
const DEMO_PATH: &str = "/v1/demo";

impl Settings {
    /// Every finding, errors first.
    pub(crate) fn findings(&self) -> Vec<Finding> {
        let errors = self.setup_errors().into_iter().map(|message| Finding {
            severity: Severity::Error,
            message,
        });
        let warnings = self
            .warnings()
            .into_iter()
            .chain(self.login_flow_warnings())
            .map(|message| Finding {
                severity: Severity::Warning,
                message,
            });
        errors.chain(warnings).collect()
    }

    /// Login-flow settings that load but are probably not what was meant.
    fn login_flow_warnings(&self) -> Vec<String> {
        let ig = &self.instagram;
        let mut out = Vec::new();
        if let Some(path) = url_path(&ig.callback_url) {
            if path != CALLBACK_PATH {
                out.push(format!(
                    "IGAUTH_INSTAGRAM__CALLBACK_URL's path is {path:?}, but igauth answers the \
                     login callback on {CALLBACK_PATH}: fine behind a proxy that rewrites the \
                     path, otherwise every login ends in a 404"
                ));
            }
        }
        if self.server.demo {
            let listed = ig
                .return_urls
                .iter()
                .any(|u| url_path(u).is_some_and(|p| p.trim_end_matches('/').ends_with(DEMO_PATH)));
            if !listed {
                let example = self
                    .demo_url()
                    .unwrap_or_else(|| format!("https://<igauth>{DEMO_PATH}"));
                out.push(format!(
                    "IGAUTH_SERVER__DEMO=true but IGAUTH_INSTAGRAM__RETURN_URLS does not list the \
                     demo page ({example}): its logins cannot return to it"
                ));
            }
        }
        out
    }

    /// igauth's public base URL without a trailing slash: `IGAUTH_SERVER__PUBLIC_URL`, or the
    /// origin of the callback URL. `None` when neither is set.
    pub(crate) fn public_base(&self) -> Option<String> {
        let base = self
            .status_url_base()?
            .strip_suffix(super::meta::STATUS_PATH)?
            .to_string();
        Some(base)
    }

    /// Where the demo page is served, when igauth knows its own public URL.
    pub(crate) fn demo_url(&self) -> Option<String> {
        self.public_base().map(|base| format!("{base}{DEMO_PATH}"))
    }
}

/// The path of an http(s) URL (`/` when it has none); `None` for anything else.
fn url_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    Some(rest.find('/').map_or("/", |i| &rest[i..]))
}

#[cfg(test)]
mod tests {
    use super::url_path;

    #[test]
    fn paths_of_urls() {
        assert_eq!(
            url_path("https://a.example/v1/callback?x"),
            Some("/v1/callback")
        );
        assert_eq!(url_path("http://a.example"), Some("/"));
        assert_eq!(url_path("myapp://cb"), None);
    }
}
