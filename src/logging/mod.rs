//! Logging that cannot leak: text or one-JSON-object-per-line output, a request id on every line
//! logged while serving a request, and two safety nets under the rule that no code logs a secret:
//! records from dependencies are capped at `info` whatever `RUST_LOG` says (their debug and trace
//! output includes request URLs and headers, which carry tokens), and every line is scrubbed of
//! token-bearing query parameters, bearer credentials and the configured secret values. Lines
//! reach stderr in batches ([`sink`]), so the per-request access line stays cheap.

mod sink;
mod throttle;
mod timestamp;

pub(crate) use throttle::LogThrottle;

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::SystemTime;

use log::{Level, Log, Metadata, Record};
use serde::Serialize;

use crate::settings::{LogFormat, Settings};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `fut` with `id` as the request id seen by log lines and error answers.
pub(crate) async fn with_request_id<F: std::future::Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Query and form parameters whose values are credentials.
const SECRET_PARAMS: [&str; 5] = [
    "access_token=",
    "client_secret=",
    "code=",
    "token=",
    "state=",
];

/// Replaces credentials in `line` with `[redacted]`. Borrowed when there is nothing to redact,
/// which is every access-log line: this runs on every line, so the common case allocates nothing.
pub(crate) fn scrub<'a>(line: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(line);
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), "[redacted]"));
        }
    }
    // Every parameter marker ends in '=': a line without one (every access line) skips them.
    let markers = if out.contains('=') {
        &SECRET_PARAMS[..]
    } else {
        &[]
    };
    for marker in markers.iter().chain(["Bearer "].iter()) {
        if out.contains(marker) {
            out = Cow::Owned(redact_after(&out, marker));
        }
    }
    out
}

/// Redacts the value following each occurrence of `marker`, up to a delimiter.
fn redact_after(line: &str, marker: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(pos) = rest.find(marker) {
        let (head, tail) = rest.split_at(pos + marker.len());
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '&' || c == '"' || c == '\'' || c.is_whitespace() || c == ',')
            .unwrap_or(tail.len());
        if end > 0 && !tail[..end].starts_with("[redacted]") {
            out.push_str("[redacted]");
        } else {
            out.push_str(&tail[..end]);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

struct SafeLogger {
    /// `RUST_LOG`'s levels and filters, parsed by env_logger. Lines are formatted here, not by
    /// env_logger: its formatter allocated the message, the timestamp and the line for every
    /// record, and took a lock of its own before ours.
    filter: env_logger::Logger,
    sink: sink::Sink,
    /// The configured secret values, redacted wherever they appear.
    secrets: Vec<String>,
    format: LogFormat,
}

impl Log for SafeLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        (metadata.level() <= Level::Info || metadata.target().starts_with("igauth"))
            && self.filter.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        if client_garbage(record) {
            // actix logs every unparsable request at ERROR, so any client could fill the ERROR
            // log. It answered 400 or 431 itself (before our app runs, so not in our envelope);
            // this is one line about a client, like an access-log line.
            let demoted = Record::builder()
                .level(Level::Info)
                .target(record.target())
                .args(*record.args())
                .build();
            if self.enabled(demoted.metadata()) && self.filter.matches(&demoted) {
                self.write(&demoted);
            }
            return;
        }
        if self.enabled(record.metadata()) && self.filter.matches(record) {
            self.write(record);
            // Warnings and errors are what an operator watches for: out at once. Only the
            // routine lines (the access log) wait for the batch.
            if record.level() <= Level::Warn {
                self.sink.flush_now();
            }
        }
    }

    fn flush(&self) {
        self.sink.flush_now();
    }
}

impl SafeLogger {
    /// Formats `record` into this thread's line buffer and hands the line to the sink whole.
    fn write(&self, record: &Record) {
        thread_local! {
            static BUFFERS: RefCell<(String, Vec<u8>)> =
                const { RefCell::new((String::new(), Vec::new())) };
        }
        BUFFERS.with(|buffers| {
            // A Display impl that logs while being formatted would find the buffers in use.
            let Ok(mut buffers) = buffers.try_borrow_mut() else {
                return self.format_and_send(record, &mut String::new(), &mut Vec::new());
            };
            let (scratch, line) = &mut *buffers;
            self.format_and_send(record, scratch, line);
        });
    }

    /// `scratch` holds the message when it has arguments to format; `line` the whole line.
    fn format_and_send(&self, record: &Record, scratch: &mut String, line: &mut Vec<u8>) {
        scratch.clear();
        line.clear();
        let raw = match record.args().as_str() {
            Some(text) => text,
            None => {
                let _ = write!(scratch, "{}", record.args());
                scratch.as_str()
            }
        };
        let message = scrub(raw, &self.secrets);
        let with_id = REQUEST_ID.try_with(|id| self.format_line(line, record, &message, Some(id)));
        if with_id.is_err() {
            self.format_line(line, record, &message, None);
        }
        self.sink.send(line);
    }

    fn format_line(&self, line: &mut Vec<u8>, record: &Record, message: &str, id: Option<&str>) {
        match self.format {
            LogFormat::Json => {
                let mut timestamp = Vec::with_capacity(24);
                timestamp::write_utc_millis(&mut timestamp, SystemTime::now());
                let entry = JsonLine {
                    timestamp: std::str::from_utf8(&timestamp).unwrap_or_default(),
                    level: record.level().as_str(),
                    target: record.target(),
                    message,
                    request_id: id,
                };
                if serde_json::to_writer(&mut *line, &entry).is_ok() {
                    line.push(b'\n');
                }
            }
            LogFormat::Text => {
                // `<timestamp> <LEVEL padded to 5> <target> [<request id>] <message>`, appended
                // piece by piece: this is every access line's cost.
                timestamp::write_utc_millis(line, SystemTime::now());
                line.push(b' ');
                let level = record.level().as_str();
                line.extend_from_slice(level.as_bytes());
                line.extend_from_slice(&b"     "[level.len().min(5)..]);
                line.push(b' ');
                line.extend_from_slice(record.target().as_bytes());
                if let Some(id) = id {
                    line.extend_from_slice(b" [");
                    line.extend_from_slice(id.as_bytes());
                    line.push(b']');
                }
                line.push(b' ');
                line.extend_from_slice(message.as_bytes());
                line.push(b'\n');
            }
        }
    }
}

/// actix-http's line for a request it could not parse (a malformed or oversized head).
fn client_garbage(record: &Record) -> bool {
    record.level() == Level::Error
        && record.target() == "actix_http::h1::dispatcher"
        && record.args().to_string().contains("request parse error")
}

#[derive(Serialize)]
struct JsonLine<'a> {
    timestamp: &'a str,
    level: &'a str,
    target: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// Installs the process logger. `RUST_LOG` chooses levels (default `info`).
pub fn init(settings: &Settings) {
    let secrets: Vec<String> = [
        &settings.instagram.client_secret,
        &settings.server.api_key,
        &settings.parse.webhook_key,
        &settings.server.state_secret,
        &settings.cache.redis_url,
        &settings.cache.redis_secret,
        &settings.cache.redis_secret_previous,
        &settings.parse.master_key,
    ]
    .iter()
    .filter(|s| s.is_set())
    .map(|s| s.expose().to_string())
    .collect();
    let filter =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).build();
    let max_level = filter.filter();
    let logger = SafeLogger {
        filter,
        sink: sink::Sink::start(),
        secrets,
        format: settings.log.format,
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(max_level);
    }
}

/// Writes out every buffered line; call before the process exits.
pub fn flush() {
    log::logger().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_query_parameters_bearer_and_known_secrets() {
        let secrets = vec!["hunter2secret".to_string()];
        let line = "GET /me?fields=id&access_token=IGAAabc&x=1 code=AQB#_ Authorization: Bearer k3y hunter2secret";
        let out = scrub(line, &secrets);
        for leaked in ["IGAAabc", "AQB", "k3y", "hunter2secret"] {
            assert!(!out.contains(leaked), "{out}");
        }
        assert!(out.contains("fields=id"));
    }
}
