//! Logging that cannot leak: text or one-JSON-object-per-line output, a request id on every line
//! logged while serving a request, and two safety nets under the rule that no code logs a secret:
//! records from dependencies are capped at `info` whatever `RUST_LOG` says (their debug and trace
//! output includes request URLs and headers, which carry tokens), and every line is scrubbed of
//! token-bearing query parameters, bearer credentials and the configured secret values. Lines
//! reach stderr in batches ([`sink`]), so the per-request access line stays cheap.

mod sink;

use std::io::Write;

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

/// Replaces credentials in `line` with `[redacted]`.
pub(crate) fn scrub(line: &str, secrets: &[String]) -> String {
    let mut out = line.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "[redacted]");
        }
    }
    for param in SECRET_PARAMS.iter().chain(["Bearer "].iter()) {
        out = redact_after(&out, param);
    }
    out
}

/// Redacts the value following each occurrence of `marker`, up to a delimiter.
fn redact_after(line: &str, marker: &str) -> String {
    if !line.contains(marker) {
        return line.to_string();
    }
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
    inner: env_logger::Logger,
    sink: sink::Sink,
}

impl Log for SafeLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        (metadata.level() <= Level::Info || metadata.target().starts_with("igauth"))
            && self.inner.enabled(metadata)
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
            if self.enabled(demoted.metadata()) {
                self.inner.log(&demoted);
            }
            return;
        }
        if self.enabled(record.metadata()) {
            self.inner.log(record);
            // Warnings and errors are what an operator watches for: out at once. Only the
            // routine lines (the access log) wait for the batch.
            if record.level() <= Level::Warn {
                self.sink.flush_now();
            }
        }
    }

    fn flush(&self) {
        self.inner.flush();
        self.sink.flush_now();
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
    timestamp: String,
    level: &'a str,
    target: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
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
    let format = settings.log.format;
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    builder.format(move |buf, record| {
        let message = scrub(&record.args().to_string(), &secrets);
        let request_id = current_request_id();
        match format {
            LogFormat::Json => {
                let line = JsonLine {
                    timestamp: buf.timestamp_millis().to_string(),
                    level: record.level().as_str(),
                    target: record.target(),
                    message: &message,
                    request_id,
                };
                let json = serde_json::to_string(&line).unwrap_or_default();
                writeln!(buf, "{json}")
            }
            LogFormat::Text => match request_id {
                Some(id) => writeln!(
                    buf,
                    "{} {:<5} {} [{id}] {message}",
                    buf.timestamp_millis(),
                    record.level(),
                    record.target()
                ),
                None => writeln!(
                    buf,
                    "{} {:<5} {} {message}",
                    buf.timestamp_millis(),
                    record.level(),
                    record.target()
                ),
            },
        }
    });
    let sink = sink::Sink::start();
    builder.target(env_logger::Target::Pipe(Box::new(sink.clone())));
    let inner = builder.build();
    let max_level = inner.filter();
    if log::set_boxed_logger(Box::new(SafeLogger { inner, sink })).is_ok() {
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
