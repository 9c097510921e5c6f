//! Building and running the app: binding, middleware (request ids, the access log, metrics,
//! security headers, CORS), the servers and graceful shutdown. The routes are
//! [`crate::routes::configure`]'s; what workers share is [`crate::state::AppState`].
//! Tests build the same [`Application`] on port 0, so what they exercise is what ships.

use std::net::TcpListener;
use std::time::Instant;

use actix_cors::{Cors, CorsError};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Condition, Next};
use actix_web::{web, App, HttpServer};

use crate::error::ApiError;
use crate::logging;
use crate::routes;
use crate::settings::Settings;
use crate::state::{AppState, Worker};
use crate::unread_body;

pub struct Application {
    port: u16,
    server: Server,
    /// The separate `/metrics` listener (`IGAUTH_SERVER__METRICS_BIND`) and its port.
    metrics: Option<(u16, Server)>,
}

impl Application {
    /// Binds the configured addresses (port 0 picks a free one) and builds the servers.
    pub fn build(settings: Settings) -> std::io::Result<Application> {
        let invalid = |m| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
        let listener = TcpListener::bind(settings.bind_addr().map_err(invalid)?)?;
        let port = listener.local_addr()?.port();
        let metrics_listener = match settings.metrics_bind_addr().map_err(invalid)? {
            Some(addr) => Some(TcpListener::bind(addr)?),
            None => None,
        };
        let metrics_port = match &metrics_listener {
            Some(listener) => Some(listener.local_addr()?.port()),
            None => None,
        };
        let (server, metrics_server) = run(listener, metrics_listener, settings)?;
        Ok(Application {
            port,
            server,
            metrics: metrics_port.zip(metrics_server),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate `/metrics` listener, when one is configured.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Runs until the main server stops (SIGTERM, or its handle); the metrics listener stops with
    /// it, so there is one lifetime however the stop comes.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some((_, metrics)) = self.metrics else {
            return self.server.await;
        };
        let metrics_handle = metrics.handle();
        let metrics_task = actix_web::rt::spawn(metrics);
        let result = self.server.await;
        metrics_handle.stop(true).await;
        let _ = metrics_task.await;
        result
    }
}

fn run(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    settings: Settings,
) -> std::io::Result<(Server, Option<Server>)> {
    let grace = settings.server.shutdown_grace_secs;
    let max_connections = settings.server.max_connections;
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let state = web::Data::new(AppState::new(settings));
    // Deletions a restart interrupted, or that failed, are finished in the background.
    crate::state::spawn_deletion_retries(&state.clone().into_inner());
    // With its own listener, /metrics is served there only: one worker, no API routes.
    let metrics_server = match metrics_listener {
        Some(listener) => {
            let state = state.clone();
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .configure(routes::configure_metrics)
                    .default_service(web::to(|| async { ApiError::NotFound.error_answer() }))
                    .wrap_fn(|req, srv| {
                        let call = srv.call(req);
                        async move {
                            let mut res = call.await?;
                            add_security_headers(res.headers_mut());
                            Ok(res)
                        }
                    })
            })
            .workers(1)
            .shutdown_timeout(grace)
            .listen(listener)?
            .run();
            Some(server)
        }
        None => None,
    };
    let metrics_here = metrics_server.is_none();
    let server = HttpServer::new(move || {
        // awc clients cannot cross threads: each worker makes its own, in its `Worker`.
        let worker = Worker::new(state.clone().into_inner());
        let origins = &state.settings.server.cors_origins;
        App::new()
            .app_data(state.clone())
            .app_data(worker)
            .configure(|cfg| routes::configure(cfg, metrics_here))
            .default_service(web::to(|| async { ApiError::NotFound.error_answer() }))
            .wrap(Condition::new(!origins.is_empty(), cors(origins)))
            .wrap(Condition::new(
                !origins.is_empty(),
                from_fn(cors_refusal_in_our_envelope),
            ))
            .wrap_fn({
                let metrics = state.metrics.clone();
                move |req, srv| {
                    let started = Instant::now();
                    let request_id = request_id(&req);
                    let call = srv.call(req);
                    let metrics = metrics.clone();
                    logging::with_request_id(request_id.clone(), async move {
                        let mut res = call.await?;
                        let elapsed = started.elapsed();
                        let status = res.status().as_u16();
                        let req = res.request();
                        let route = req.match_pattern();
                        metrics.request(route.as_deref().unwrap_or("unmatched"), status, elapsed);
                        // Milliseconds to one decimal with integer formatting (a float's is
                        // several times dearer, on every request).
                        let tenths = elapsed.as_micros() / 100;
                        log::info!(
                            "{} {} {status} {}.{}ms",
                            req.method(),
                            req.path(),
                            tenths / 10,
                            tenths % 10
                        );
                        add_headers(res.headers_mut(), &request_id);
                        Ok(res)
                    })
                }
            })
            // Outermost, so every answer (the router's 404/405 too) is covered.
            .wrap_fn(unread_body::hold_payload)
    })
    .workers(workers)
    .max_connections(max_connections)
    .shutdown_timeout(grace)
    .listen(listener)?
    .run();
    Ok((server, metrics_server))
}

/// The caller's `X-Request-Id` when it is a sane token, otherwise a fresh one.
fn request_id(req: &actix_web::dev::ServiceRequest) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(new_request_id)
}

/// A random per-thread prefix and a counter: unique across workers and restarts, with no
/// syscall or extra allocation per request (this runs on every request, cache hits included).
fn new_request_id() -> String {
    use std::cell::Cell;
    thread_local! {
        static PREFIX: u32 = {
            let mut bytes = [0u8; 4];
            let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
            u32::from_be_bytes(bytes)
        };
        static COUNTER: Cell<u32> = const { Cell::new(0) };
    }
    let prefix = PREFIX.with(|p| *p);
    let count = COUNTER.with(|c| {
        let next = c.get().wrapping_add(1);
        c.set(next);
        next
    });
    // 16 lowercase hex digits, written by hand: `format!`'s padding machinery was measurable
    // here, on every request (BENCHMARKS.md has the callgrind counts).
    let both = (u64::from(prefix) << 32) | u64::from(count);
    (0..16)
        .rev()
        .map(|nibble| char::from(b"0123456789abcdef"[((both >> (nibble * 4)) & 0xf) as usize]))
        .collect()
}

/// Headers every answer carries: nothing here is meant to be cached, framed or sniffed. A page
/// that needs its own (the HTML pages' CSP with script hashes) sets it, and keeps it.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 6] = [
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    ),
    (
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    ),
];

/// The security headers (where the answer has not set its own) and the request id. Done here
/// rather than by a `DefaultHeaders` layer: one pass with the map grown once, on every answer.
fn add_headers(headers: &mut HeaderMap, request_id: &str) {
    headers.reserve(SECURITY_HEADERS.len() + 1);
    add_security_headers(headers);
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), value);
    }
}

fn add_security_headers(headers: &mut HeaderMap) {
    for (name, value) in &SECURITY_HEADERS {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
}

/// CORS only for the configured origins; with none configured this middleware is not mounted.
/// (`Settings::check` has already refused origins that are not `scheme://host[:port]` or `*`.)
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| match origin.as_str() {
            "*" => cors.allow_any_origin(),
            origin => cors.allowed_origin(origin),
        })
        .allowed_methods(["GET", "POST"])
        // X-Parse-Session-Token: a web app links the account to its logged-in user at
        // /v1/token or /v1/exchange.
        .allowed_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::HeaderName::from_static("x-parse-session-token"),
        ])
        .max_age(600)
}

/// actix-cors answers its refusals in plain text; callers get our envelope, with its reason.
async fn cors_refusal_in_our_envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let refusal = res
        .response()
        .error()
        .and_then(|e| e.as_error::<CorsError>())
        .map(|e| e.to_string().trim_end_matches('.').to_string());
    Ok(match refusal {
        Some(reason) => res
            .into_response(ApiError::CorsNotAllowed(reason).error_answer())
            .map_into_right_body(),
        None => res.map_into_left_body(),
    })
}

#[cfg(test)]
mod tests {
    use super::new_request_id;

    #[test]
    fn request_ids_are_a_thread_prefix_and_a_counter_in_16_hex_digits() {
        let (a, b) = (new_request_id(), new_request_id());
        for id in [&a, &b] {
            assert_eq!(id.len(), 16, "{id}");
            assert!(
                id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
                "{id}"
            );
        }
        assert_eq!(a[..8], b[..8], "one prefix per thread");
        let count = |id: &str| u32::from_str_radix(&id[8..], 16).unwrap();
        assert_eq!(count(&b), count(&a).wrapping_add(1));
    }
}
