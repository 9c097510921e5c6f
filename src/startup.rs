//! Building and running the app: shared state, routes, middleware, binding, graceful shutdown.
//! Tests build the same [`Application`] on port 0, so what they exercise is what ships.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_cors::{Cors, CorsError};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders, Next};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, Route};

use crate::domain::LoginStates;
use crate::error::ApiError;
use crate::instagram::{InstagramClient, Upstream};
use crate::logging;
use crate::metrics::Metrics;
use crate::rate_limit::ClientLimiter;
use crate::routes::{exchange, health, introspect, oauth_flow, parse_hooks, validate};
use crate::settings::Settings;
use crate::shared_cache::SharedCache;
use crate::validator::Validator;

/// What every worker shares. Each worker also has its own [`InstagramClient`].
pub struct AppState {
    pub settings: Settings,
    pub validator: Validator,
    pub upstream: Arc<Upstream>,
    pub metrics: Arc<Metrics>,
    pub limiter: ClientLimiter,
    /// Login flow (issue 7): signs `state` and remembers spent ones.
    pub login_states: LoginStates,
    /// Redis (`cache.backend = redis`): verdicts behind the validator's cache, and spent states.
    pub shared: Option<SharedCache>,
}

impl AppState {
    pub fn new(settings: Settings) -> AppState {
        let metrics = Arc::new(Metrics::new());
        // Starts connecting in the background when called inside the server's runtime.
        let shared = settings
            .uses_redis()
            .then(|| SharedCache::new(&settings.cache, metrics.clone()))
            .and_then(|made| {
                made.map_err(|e| log::error!("shared cache disabled: {e}"))
                    .ok()
            });
        AppState {
            validator: Validator::new(&settings.cache, shared.clone(), metrics.clone()),
            shared,
            upstream: Arc::new(Upstream::new(&settings, metrics.clone())),
            limiter: ClientLimiter::new(&settings.limits),
            login_states: LoginStates::new(&settings.server.state_secret),
            metrics,
            settings,
        }
    }

    /// Applies the per-client rate limit of the public routes.
    pub fn limit_client(&self, req: &HttpRequest, route: &str) -> Result<(), ApiError> {
        self.limiter.check(req).map_err(|secs| {
            self.metrics.rate_limited.with_label_values(&[route]).inc();
            ApiError::TooManyRequests(secs)
        })
    }
}

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
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let state = web::Data::new(AppState::new(settings));
    // With its own listener, /metrics is served there only: one worker, no API routes.
    let metrics_server = match metrics_listener {
        Some(listener) => {
            let state = state.clone();
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .configure(|cfg| get(cfg, "/metrics", web::to(health::metrics)))
                    .default_service(web::to(|| async { ApiError::NotFound.error_answer() }))
                    .wrap(security_headers())
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
        // awc clients cannot cross threads: one pooled client per worker.
        let client = web::Data::new(InstagramClient::new(state.upstream.clone()));
        let origins = &state.settings.server.cors_origins;
        App::new()
            .app_data(state.clone())
            .app_data(client)
            .configure(|cfg| routes(cfg, metrics_here))
            .default_service(web::to(|| async { ApiError::NotFound.error_answer() }))
            .wrap(Condition::new(!origins.is_empty(), cors(origins)))
            .wrap(Condition::new(
                !origins.is_empty(),
                from_fn(cors_refusal_in_our_envelope),
            ))
            .wrap(security_headers())
            .wrap_fn({
                let metrics = state.metrics.clone();
                move |req, srv| {
                    let started = Instant::now();
                    let request_id = request_id(&req);
                    let method = req.method().clone();
                    let path = req.path().to_string();
                    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
                    let call = srv.call(req);
                    let metrics = metrics.clone();
                    logging::with_request_id(request_id.clone(), async move {
                        let mut res = call.await?;
                        let status = res.status().as_u16();
                        let elapsed = started.elapsed();
                        metrics.request(&route, status, elapsed);
                        log::info!(
                            "{method} {path} {status} {:.1}ms",
                            elapsed.as_secs_f64() * 1000.0
                        );
                        if let Ok(value) = HeaderValue::from_str(&request_id) {
                            res.headers_mut()
                                .insert(HeaderName::from_static("x-request-id"), value);
                        }
                        Ok(res)
                    })
                }
            })
    })
    .workers(workers)
    .shutdown_timeout(grace)
    .listen(listener)?
    .run();
    Ok((server, metrics_server))
}

/// One route answering other methods with a 405 in our envelope and an `Allow` header.
fn resource(cfg: &mut web::ServiceConfig, path: &str, method: Method, route: Route) {
    let allow = HeaderValue::from_str(method.as_str()).expect("a method is a valid header");
    cfg.service(
        web::resource(path)
            .route(route.method(method))
            .default_service(web::to(move || {
                let mut answer = ApiError::MethodNotAllowed.error_answer();
                answer.headers_mut().insert(header::ALLOW, allow.clone());
                std::future::ready(answer)
            })),
    );
}

fn get(cfg: &mut web::ServiceConfig, path: &str, route: Route) {
    resource(cfg, path, Method::GET, route);
}

fn post(cfg: &mut web::ServiceConfig, path: &str, route: Route) {
    resource(cfg, path, Method::POST, route);
}

/// Every route of the main listener; `/metrics` too unless it has a listener of its own.
fn routes(cfg: &mut web::ServiceConfig, with_metrics: bool) {
    get(cfg, "/healthz", web::to(health::healthz));
    get(cfg, "/readyz", web::to(health::readyz));
    get(cfg, "/openapi.yaml", web::to(health::openapi));
    if with_metrics {
        get(cfg, "/metrics", web::to(health::metrics));
    }
    post(cfg, "/v1/validate", web::to(validate::validate));
    post(cfg, "/v1/exchange", web::to(exchange::exchange));
    post(cfg, "/v1/introspect", web::to(introspect::introspect));
    post(
        cfg,
        "/v1/parse/functions/validate",
        web::to(parse_hooks::validate_function),
    );
    post(
        cfg,
        "/v1/parse/functions/exchange",
        web::to(parse_hooks::exchange_function),
    );
    post(
        cfg,
        "/v1/parse/triggers/user",
        web::to(parse_hooks::user_trigger),
    );
    // The login flow.
    get(cfg, "/v1/authorize", web::to(oauth_flow::authorize));
    get(cfg, "/v1/callback", web::to(oauth_flow::callback));
    post(cfg, "/v1/refresh", web::to(oauth_flow::refresh));
    get(cfg, "/v1/demo", web::to(oauth_flow::demo));
}

impl ApiError {
    /// The error as a response, for places that answer directly rather than return `Err`.
    pub fn error_answer(&self) -> HttpResponse {
        actix_web::ResponseError::error_response(self)
    }
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
    use std::fmt::Write;
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
    let mut id = String::with_capacity(16);
    let _ = write!(id, "{prefix:08x}{count:08x}");
    id
}

/// Headers every answer carries: nothing here is meant to be cached, framed or sniffed.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"))
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
        .allowed_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
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

/// Grace period helper for callers that want to stop the server themselves.
pub fn grace(settings: &Settings) -> Duration {
    Duration::from_secs(settings.server.shutdown_grace_secs)
}
