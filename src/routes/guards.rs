//! Who may call, as extractors: a handler that takes [`ServiceCaller`] cannot forget the API key,
//! and one that takes [`WithinRateLimit`] cannot forget the per-client limit. Extractors run in
//! the order of the handler's arguments, before the body is read.
//!
//! Protected mode: with no API key, the server-to-server routes answer only callers on this
//! machine (the zero-configuration quickstart), and anyone else gets 403 `protected_mode`, which
//! names the setting to change. The webhooks follow the same rule for the webhook key.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// A header's value as text, if it is there and is text.
pub(crate) fn header_text(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Constant-time equality for keys; lengths may leak, contents do not.
pub(crate) fn keys_match(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

/// A proof type whose extractor is the check that makes it (synchronous, from the headers).
macro_rules! checked_by {
    ($proof:ident, $check:ident) => {
        impl FromRequest for $proof {
            type Error = ApiError;
            type Future = std::future::Ready<Result<$proof, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                std::future::ready($check(req))
            }
        }
    };
}

/// Proof that the caller sent the service API key (or that none is configured).
pub(crate) struct ServiceCaller;

checked_by!(ServiceCaller, check_api_key);

fn check_api_key(req: &HttpRequest) -> Result<ServiceCaller, ApiError> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::Unauthorized);
    };
    let expected = &state.settings.server.api_key;
    if !expected.is_set() {
        return if unprotected(req, state) {
            Ok(ServiceCaller)
        } else {
            Err(ApiError::ProtectedMode)
        };
    }
    let given = header_text(req, header::AUTHORIZATION)
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or("");
    if keys_match(given.as_bytes(), expected.expose().as_bytes()) {
        return Ok(ServiceCaller);
    }
    state.metrics.wrong_key("api_key");
    if let Some(count) = state.api_key_refusals.tick() {
        log::warn!(
            "API call refused: the Authorization: Bearer key is {} ({count} refused since the \
             last such line; counted in igauth_wrong_key_total, logged at most once a minute). \
             Parse's auth.instagram.authorizationHeader must be \"Bearer \" followed by \
             IGAUTH_SERVER__API_KEY",
            if given.is_empty() { "missing" } else { "wrong" }
        );
    }
    Err(ApiError::Unauthorized)
}

/// Whether a route without its key may answer this caller: protected mode is off, or the TCP
/// peer is on this machine (compared in canonical form, so `::ffff:127.0.0.1` is loopback).
pub(crate) fn unprotected(req: &HttpRequest, state: &AppState) -> bool {
    !state.settings.server.protected_mode
        || req
            .peer_addr()
            .is_some_and(|peer| peer.ip().to_canonical().is_loopback())
}

/// Proof that this client is within the per-client rate limit of the public routes (those apps
/// and browsers call, where codes could be guessed at). Refusals are counted per route, labelled
/// with the route's last path segment (`exchange`, `authorize`, ...).
pub(crate) struct WithinRateLimit;

checked_by!(WithinRateLimit, check_rate);

pub(crate) fn check_rate(req: &HttpRequest) -> Result<WithinRateLimit, ApiError> {
    // Only our own app builds these routes, always with the state; without it, refuse.
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::TooManyRequests(1));
    };
    state.limiter.check(req).map_err(|secs| {
        let pattern = req.match_pattern();
        let route = pattern
            .as_deref()
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or("unmatched");
        state.metrics.rate_limited.with_label_values(&[route]).inc();
        ApiError::TooManyRequests(secs)
    })?;
    Ok(WithinRateLimit)
}

#[cfg(test)]
mod tests {
    //! Protected mode needs a caller that is not on this machine, which a socket test on
    //! loopback cannot be: these run the real routes with a chosen peer address.

    use actix_web::{test, App};

    use super::*;
    use crate::settings::{Settings, Sources};
    use crate::state::{AppState, Worker};

    fn state(vars: &[(&str, &str)]) -> web::Data<AppState> {
        let env = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([(
                // Nothing here may reach Instagram: a refused connection would be a 502.
                "IGAUTH_INSTAGRAM__GRAPH_URL".to_string(),
                "http://127.0.0.1:9".to_string(),
            )])
            .collect();
        let settings = Settings::from_sources(Sources {
            file: None,
            env: Some(env),
        })
        .unwrap();
        web::Data::new(AppState::new(settings))
    }

    /// `(status, body)` of a POST to `path` from `peer`.
    async fn post(state: web::Data<AppState>, peer: &str, path: &str, body: &str) -> (u16, String) {
        let worker = Worker::new(state.clone().into_inner());
        let app = test::init_service(
            App::new()
                .app_data(state)
                .app_data(worker)
                .configure(|cfg| crate::routes::configure(cfg, true)),
        )
        .await;
        let content_type = if path == "/v1/introspect" {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let req = test::TestRequest::post()
            .uri(path)
            .peer_addr(peer.parse().unwrap())
            .insert_header((header::CONTENT_TYPE, content_type))
            .set_payload(body.to_string())
            .to_request();
        let res = test::call_service(&app, req).await;
        let status = res.status().as_u16();
        let body = test::read_body(res).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    const AUTH: &str = r#"{"id":"1","access_token":"a b"}"#;

    #[actix_web::test]
    async fn without_an_api_key_only_this_machine_is_answered() {
        for path in ["/v1/validate", "/v1/introspect"] {
            let body = if path == "/v1/introspect" {
                "token=a%20b"
            } else {
                AUTH
            };
            let (status, text) = post(state(&[]), "203.0.113.9:4000", path, body).await;
            assert_eq!(status, 403, "{path}: {text}");
            assert!(text.contains("\"protected_mode\""), "{text}");
            assert!(
                text.contains("IGAUTH_SERVER__API_KEY")
                    && text.contains("IGAUTH_SERVER__PROTECTED_MODE=false"),
                "{text}"
            );
            // This machine, over IPv4, IPv6, or IPv4 through a dual-stack listener: answered
            // (a 200 or a 400 for the malformed token, but not a refusal).
            for peer in ["127.0.0.1:4000", "[::1]:4000", "[::ffff:127.0.0.1]:4000"] {
                let (status, text) = post(state(&[]), peer, path, body).await;
                assert!(
                    status == 200 || status == 400,
                    "{path} {peer}: {status} {text}"
                );
            }
        }
    }

    #[actix_web::test]
    async fn protection_can_be_turned_off_and_a_key_replaces_it() {
        let off = state(&[("IGAUTH_SERVER__PROTECTED_MODE", "false")]);
        let (status, text) = post(off, "203.0.113.9:4000", "/v1/validate", AUTH).await;
        assert_eq!(status, 400, "answered (the token is malformed): {text}");
        let key = "0123456789abcdef0123456789abcdef";
        let keyed = state(&[("IGAUTH_SERVER__API_KEY", key)]);
        let (status, text) = post(keyed, "203.0.113.9:4000", "/v1/validate", AUTH).await;
        assert_eq!(status, 401, "with a key, the key decides: {text}");
    }

    #[actix_web::test]
    async fn webhooks_without_a_webhook_key_answer_only_this_machine() {
        let call = r#"{"params":{"id":"1","access_token":"a b"}}"#;
        let path = "/v1/parse/functions/validate";
        let (status, text) = post(state(&[]), "203.0.113.9:4000", path, call).await;
        assert_eq!(status, 200, "Parse's protocol: {text}");
        assert!(
            text.contains("could not be verified") && !text.contains("IGAUTH_"),
            "refused in plain words: {text}"
        );
        let (_, text) = post(state(&[]), "127.0.0.1:4000", path, call).await;
        assert!(text.contains("Invalid request"), "answered: {text}");
        let key = ("IGAUTH_PARSE__WEBHOOK_KEY", "0123456789abcdef");
        let (_, text) = post(state(&[key]), "203.0.113.9:4000", path, call).await;
        assert!(
            text.contains("could not be verified"),
            "the key decides: {text}"
        );
    }

    #[actix_web::test]
    async fn an_anonymous_exchange_webhook_shares_the_public_limit() {
        let limited = state(&[
            ("IGAUTH_LIMITS__EXCHANGE_PER_MINUTE", "1"),
            ("IGAUTH_LIMITS__EXCHANGE_BURST", "1"),
        ]);
        let call = r#"{"params":{}}"#;
        let path = "/v1/parse/functions/exchange";
        let (_, first) = post(limited.clone(), "127.0.0.1:4000", path, call).await;
        assert!(!first.contains("Too many"), "{first}");
        let (_, second) = post(limited, "127.0.0.1:4000", path, call).await;
        assert!(second.contains("Too many"), "{second}");
    }
}
