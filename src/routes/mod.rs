//! The protocol faces. Each file reads one API surface's requests into domain types, asks a use
//! case (the validator, the exchange, the login states) and writes that surface's answer. No
//! route file imports another; what several share lives beside them: [`body`] (bounded bodies,
//! media types, JSON-or-form fields), [`guards`] (the API key and the per-client rate limit, as
//! extractors a handler cannot forget) and [`answers`] (answer shapes several faces write).
//! Meta's compliance callbacks are in [`meta`]. The table of routes is [`configure`].

mod answers;
mod body;
mod csp;
mod exchange;
mod extract;
mod guards;
mod health;
mod introspect;
mod login;
mod meta;
mod parse_hooks;
mod parse_session;
mod refresh;
mod token;
mod validate;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, Route};

use crate::error::ApiError;
use crate::settings::STATUS_PATH;

/// Every route of the main listener; `/metrics` too unless it has a listener of its own.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, with_metrics: bool) {
    get(cfg, "/healthz", web::to(health::healthz));
    get(cfg, "/readyz", web::to(health::readyz));
    get(cfg, "/openapi.yaml", web::to(health::openapi));
    if with_metrics {
        configure_metrics(cfg);
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
    get(cfg, "/v1/authorize", web::to(login::authorize::authorize));
    get(cfg, "/v1/callback", web::to(login::callback::callback));
    post(cfg, "/v1/token", web::to(token::token));
    post(cfg, "/v1/refresh", web::to(refresh::refresh));
    get(cfg, "/v1/demo", web::to(login::demo::demo));
    // Meta's compliance callbacks: public, the signed request is the authentication.
    post(
        cfg,
        "/v1/meta/deauthorize",
        web::to(meta::deauthorize::deauthorize),
    );
    post(
        cfg,
        "/v1/meta/data-deletion",
        web::to(meta::data_deletion::data_deletion),
    );
    get(
        cfg,
        &format!("{STATUS_PATH}{{code}}"),
        web::to(meta::status::status),
    );
}

/// `/metrics` alone (for its own listener, `IGAUTH_SERVER__METRICS_BIND`).
pub(crate) fn configure_metrics(cfg: &mut web::ServiceConfig) {
    get(cfg, "/metrics", web::to(health::metrics));
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
