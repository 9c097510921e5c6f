//! The one way igauth's awc adapters ([`crate::instagram`], [`crate::parse_api`]) make an HTTP
//! exchange: the request already built (its URL, headers and credentials are the adapter's), one
//! deadline over sending it and reading the whole answer, and a cap on the answer's size. What
//! comes back is a status and bytes, or a [`TransportError`] that carries no URL, header or
//! upstream text (awc's errors can name the URL, which may hold a token).
//!
//! Both adapters build their awc clients with redirects off, so a redirect is an answer here, not
//! a second request carrying a token or the master key elsewhere.

use std::time::Instant;

use actix_web::rt::time::timeout;
use actix_web::web::Bytes;
use awc::error::{ConnectError, SendRequestError};
use awc::SendClientRequest;

/// Why no answer was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportError {
    /// The deadline passed first.
    Timeout,
    /// No connection, a broken one, or an answer larger than the cap; why, for the operator.
    Connect(Cause),
}

/// Which step of reaching an upstream failed: what an operator checks first differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The host name does not resolve.
    Dns,
    /// No TCP connection (refused, unreachable, or the connect deadline passed).
    Connect,
    /// The TLS handshake failed (a proxy intercepting TLS, an old trust store).
    Tls,
    /// Connected, but the exchange broke off (or the answer was too large).
    Broken,
}

impl Cause {
    /// The cause in a few words, for a log line.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Cause::Dns => "DNS: the host name does not resolve",
            Cause::Connect => "connect: no TCP connection (refused, unreachable or timed out)",
            Cause::Tls => "TLS: the handshake failed",
            Cause::Broken => "the connection broke off",
        }
    }
}

/// What step an awc error happened at; its text is never kept (it may name the URL).
fn cause_of(e: &SendRequestError) -> Cause {
    match e {
        SendRequestError::Connect(connect) => match connect {
            ConnectError::Resolver(_) | ConnectError::NoRecords | ConnectError::Unresolved => {
                Cause::Dns
            }
            ConnectError::Timeout => Cause::Connect,
            ConnectError::SslIsNotSupported => Cause::Tls,
            ConnectError::Io(io) => {
                // rustls reports a failed handshake as an io error wrapping its own.
                let tls = io
                    .get_ref()
                    .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
                if tls || io.kind() == std::io::ErrorKind::InvalidData {
                    Cause::Tls
                } else {
                    Cause::Connect
                }
            }
            _ => Cause::Broken,
        },
        _ => Cause::Broken,
    }
}

/// Sends `request` and reads its answer (at most `cap` bytes), all before `deadline`.
pub(crate) async fn send(
    request: SendClientRequest,
    deadline: Instant,
    cap: usize,
) -> Result<(u16, Bytes), TransportError> {
    let budget = deadline.saturating_duration_since(Instant::now());
    timeout(budget, async {
        let mut response = request.await.map_err(|e| match e {
            SendRequestError::Timeout => TransportError::Timeout,
            e => TransportError::Connect(cause_of(&e)),
        })?;
        let status = response.status().as_u16();
        let body = response
            .body()
            .limit(cap)
            .await
            .map_err(|_| TransportError::Connect(Cause::Broken))?;
        Ok((status, body))
    })
    .await
    .unwrap_or(Err(TransportError::Timeout))
}

/// An upstream's own words, for the operator's log: bounded, on one line. (The logger also
/// scrubs anything that looks like a credential.)
pub(crate) fn operator_text(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_text_is_one_bounded_line() {
        let long = "a\nb".repeat(300);
        let text = operator_text(&long);
        assert_eq!(text.chars().count(), 200);
        assert!(!text.contains('\n'));
    }
}
