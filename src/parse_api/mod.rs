//! The only code that speaks to Parse Server's REST API, with the master key: find users by an
//! Instagram id, revoke their sessions, delete or unlink them, call a Cloud function, and read
//! and write rows of a master-key-only class for a feature that keeps its records there (the
//! feature names the class and its fields: see `meta_callbacks/statuses.rs`).
//!
//! Like [`crate::instagram`]: [`ParseUpstream`] is shared, [`ParseClient`] is one worker's pooled
//! awc client (awc clients cannot cross threads); every call has one deadline, redirects are not
//! followed (they would carry the master key elsewhere), the master key travels only in the
//! `X-Parse-Master-Key` header, and neither it nor Parse's URLs appear in errors or logs. Each
//! call is counted in `igauth_parse_actions_total{kind,result}`.
//!
//! Facts this relies on (parse-server 9.10 on PostgreSQL, see the reference notes): users are
//! found by a plain equality on `authData.instagram.id` (`$in`, `$exists`
//! and `keys=authData` silently find nothing there); deleting a user leaves its `_Session` rows,
//! so sessions are listed by user pointer and deleted one by one; an authData write answers 500
//! under the default `directAccess: true` (a Parse bug), reported as [`ParseError::UnlinkBug`].
//!
//! This file holds the client and its one REST call (`call`/`send`: headers, deadline, retry,
//! Parse's error codes); `users.rs` acts on users for Meta's callbacks, `rows.rs` reads and
//! writes a master-key-only class, `accounts.rs` serves sign-ins (the link class, sessions).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::Method;
use actix_web::web::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::{RowMac, Secret};
use crate::logging::LogThrottle;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::transport::{self, operator_text, TransportError};

mod accounts;
mod rows;
mod users;

pub(crate) use accounts::NewUser;

/// Largest answer read from Parse: a page of users or sessions.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Users or sessions handled per request; a person has a handful.
const PAGE: &str = "1000";
/// Parse's error code for "object not found" (a user already deleted).
const OBJECT_NOT_FOUND: i64 = 101;
/// Parse's error code for "class already exists" (the status class on a second start).
const INVALID_CLASS_NAME: i64 = 103;
/// Parse's error code for "username taken" (a sign-in's user name in use).
const USERNAME_TAKEN: i64 = 202;
/// Parse's error code for a session token it does not know (or that expired).
const INVALID_SESSION_TOKEN: i64 = 209;

/// Why a Parse call did not do what it should. Carries no URL, key or Parse text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// No answer in time, or no connection.
    Unreachable,
    /// Parse answered with this HTTP status (and Parse error code, when it gave one).
    Refused(u16, Option<i64>),
    /// An answer that is not the JSON Parse sends.
    Unusable,
    /// The authData write failed with the parse-server 9.10 `directAccess` bug.
    UnlinkBug,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Unreachable => f.write_str("Parse Server did not answer in time"),
            ParseError::Refused(status, Some(code)) => {
                write!(
                    f,
                    "Parse Server refused (HTTP {status}, Parse error {code})"
                )
            }
            ParseError::Refused(status, None) => write!(f, "Parse Server refused (HTTP {status})"),
            ParseError::Unusable => f.write_str("Parse Server gave an unreadable answer"),
            ParseError::UnlinkBug => f.write_str(
                "Parse Server answered HTTP 500 to removing authData.instagram: a known \
                 parse-server 9.x bug when directAccess is on (its default); set directAccess: \
                 false in Parse's options, or use IGAUTH_PARSE__ON_DATA_DELETION=delete_user",
            ),
        }
    }
}

/// What every worker's Parse client shares.
pub(crate) struct ParseUpstream {
    /// `https://parse.example/parse`, no trailing slash.
    base: String,
    app_id: String,
    master_key: Secret,
    timeout: Duration,
    metrics: Arc<Metrics>,
    /// Refusals that name a wrong setting (404 mount path, 403 master key): one line a minute.
    setup_refusals: LogThrottle,
    /// The MAC of the link rows igauth writes ([`accounts`]), keyed with the master key, which
    /// only Parse and igauth hold.
    link_mac: RowMac,
}

impl ParseUpstream {
    /// `None` when the settings do not reach Parse (server URL, app id and master key).
    pub(crate) fn new(settings: &Settings, metrics: Arc<Metrics>) -> Option<ParseUpstream> {
        let parse = &settings.parse;
        settings.features.parse_api.then(|| ParseUpstream {
            base: parse.server_url.trim_end_matches('/').to_string(),
            app_id: parse.app_id.clone(),
            master_key: parse.master_key.clone(),
            timeout: Duration::from_millis(parse.timeout_ms),
            metrics,
            setup_refusals: LogThrottle::new(),
            link_mac: RowMac::new(parse.master_key.expose().as_bytes(), "igauth-link"),
        })
    }
}

/// One worker's Parse client. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ParseClient {
    http: awc::Client,
    up: Arc<ParseUpstream>,
}

#[derive(Deserialize)]
struct Results {
    results: Vec<Value>,
}

#[derive(Deserialize)]
struct ParseErrorBody {
    code: Option<i64>,
    error: Option<String>,
}

impl ParseClient {
    pub(crate) fn new(up: Arc<ParseUpstream>) -> ParseClient {
        let http = awc::Client::builder()
            // Every call runs under its own deadline (`send`), which covers the body too.
            .disable_timeout()
            // A redirect would carry the master key to wherever it points.
            .disable_redirects()
            .finish();
        ParseClient { http, up }
    }

    /// `GET path?where=...&limit=PAGE`'s results.
    async fn query(
        &self,
        kind: &'static str,
        path: &str,
        filter: &str,
    ) -> Result<Vec<Value>, ParseError> {
        self.query_ordered(kind, path, filter, "objectId").await
    }

    /// The same, in `order` (Parse's `order` parameter: `createdAt,objectId`).
    async fn query_ordered(
        &self,
        kind: &'static str,
        path: &str,
        filter: &str,
        order: &str,
    ) -> Result<Vec<Value>, ParseError> {
        let query =
            serde_urlencoded::to_string([("where", filter), ("limit", PAGE), ("order", order)])
                .map_err(|_| ParseError::Unusable)?;
        let body = self
            .call(kind, Method::GET, &format!("{path}?{query}"), None)
            .await?;
        serde_json::from_slice::<Results>(&body)
            .map(|r| r.results)
            .map_err(|_| ParseError::Unusable)
    }

    /// One REST call with the master key; a 2xx body, or why not. Counted by `kind`.
    async fn call(
        &self,
        kind: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Bytes, ParseError> {
        self.call_as(kind, method, path, body, None).await
    }

    /// [`ParseClient::call`], or with a user's session token instead of the master key.
    async fn call_as(
        &self,
        kind: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        session: Option<&str>,
    ) -> Result<Bytes, ParseError> {
        let outcome = self.send(method, path, body, session).await;
        let result = match &outcome {
            Ok(_) => "ok",
            Err(ParseError::Refused(_, Some(OBJECT_NOT_FOUND))) => "not_found",
            Err(ParseError::Unreachable) => "unreachable",
            Err(_) => "failed",
        };
        self.up.metrics.parse_action(kind, result);
        outcome
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        session: Option<&str>,
    ) -> Result<Bytes, ParseError> {
        let url = format!("{}{path}", self.up.base);
        let deadline = Instant::now() + self.up.timeout;
        let mut retried = false;
        let (status, bytes) = loop {
            let request = self
                .http
                .request(method.clone(), &url)
                .insert_header(("X-Parse-Application-Id", self.up.app_id.as_str()));
            // A user's own session token (to ask who it is), else the master key.
            let request = match session {
                Some(token) => request.insert_header(("X-Parse-Session-Token", token)),
                None => request.insert_header(("X-Parse-Master-Key", self.up.master_key.expose())),
            };
            let request = match body {
                Some(json) => request.send_json(json),
                None => request.send(),
            };
            match transport::send(request, deadline, MAX_BODY).await {
                Ok(answer) => break answer,
                // A pooled connection Parse closed after an error (it does after its 500s):
                // one retry on a fresh connection. Every call here is safe to repeat.
                Err(TransportError::Connect(_)) if !retried => retried = true,
                Err(_) => return Err(ParseError::Unreachable),
            }
        };
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let parsed = serde_json::from_slice::<ParseErrorBody>(&bytes).ok();
        let code = parsed.as_ref().and_then(|b| b.code);
        if ![
            OBJECT_NOT_FOUND,
            INVALID_CLASS_NAME,
            USERNAME_TAKEN,
            INVALID_SESSION_TOKEN,
        ]
        .iter()
        .any(|quiet| code == Some(*quiet))
        {
            // Parse's own words, for the operator (bounded, one line; the logger scrubs too).
            let words = operator_text(&parsed.and_then(|b| b.error).unwrap_or_default());
            match setup_hint(status, code) {
                // These repeat on every call until the setting is fixed: one line a minute.
                Some(hint) => {
                    if let Some(count) = self.up.setup_refusals.tick() {
                        log::warn!(
                            "Parse answered HTTP {status} ({count} time(s) in the last minute): \
                             {hint} (Parse said: {words:?})"
                        );
                    }
                }
                None => log::warn!("Parse answered HTTP {status} (code {code:?}): {words}"),
            }
        }
        Err(ParseError::Refused(status, code))
    }
}

/// What a 404 without a Parse error code means: the URL does not reach Parse's REST API.
pub(crate) const MOUNT_PATH_HINT: &str =
    "does IGAUTH_PARSE__SERVER_URL end with Parse's mount path (usually /parse)?";
/// What a 403 means: Parse refuses the master key, or the address it came from.
pub(crate) const MASTER_KEY_HINT: &str =
    "check IGAUTH_PARSE__MASTER_KEY and IGAUTH_PARSE__APP_ID, and that Parse's masterKeyIps \
     admits igauth's address (Parse's default admits only its own machine)";

/// For the refusals that mean igauth's Parse settings are wrong, the setting to change.
fn setup_hint(status: u16, code: Option<i64>) -> Option<&'static str> {
    match (status, code) {
        (404, None) => Some(MOUNT_PATH_HINT),
        (403, _) => Some(MASTER_KEY_HINT),
        _ => None,
    }
}

/// The objectIds of query results, keeping only ids that are safe in a URL path.
fn object_ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .filter_map(|row| row.get("objectId")?.as_str())
        .filter(|id| checked_id(id).is_ok())
        .map(str::to_string)
        .collect()
}

/// An objectId (or class name) goes into a URL path: letters and digits only (Parse's own
/// alphabet).
pub(crate) fn checked_id(id: &str) -> Result<&str, ParseError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(ParseError::Unusable)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_plain_object_ids_reach_a_path() {
        let rows = vec![
            json!({"objectId": "aB3xY9"}),
            json!({"objectId": "../x"}),
            json!({"objectId": 5}),
            json!({}),
        ];
        assert_eq!(object_ids(&rows), vec!["aB3xY9".to_string()]);
        assert!(checked_id("a/b").is_err() && checked_id("").is_err());
    }
}
