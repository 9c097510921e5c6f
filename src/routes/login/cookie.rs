//! The cookie that ties a login's state to the browser that started it (see the module docs of
//! `routes::login` for why). Built with actix-web's cookie support; read leniently by hand,
//! because actix's parser refuses the whole `Cookie` header when any one cookie in it is
//! malformed, and a stray cookie of another app on this host must not fail a login.

use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::HttpRequest;

use crate::domain::login_state::Nonce;
use crate::settings::Settings;

/// The cookie's name. `__Host-` (Secure, no Domain, Path=/) when the callback is https, so a
/// sibling subdomain cannot plant one.
pub(crate) fn name(settings: &Settings, nonce: &Nonce) -> String {
    if secure(settings) {
        format!("__Host-igauth-login-{}", nonce.id())
    } else {
        format!("igauth-login-{}", nonce.id())
    }
}

fn secure(settings: &Settings) -> bool {
    settings.instagram.callback_url.starts_with("https://")
}

/// The binding cookie, set for `max_age` seconds; 0 deletes it.
pub(crate) fn binding(settings: &Settings, nonce: &Nonce, max_age: u64) -> Cookie<'static> {
    let value = if max_age == 0 { "" } else { "1" };
    Cookie::build(name(settings, nonce), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(settings))
        .max_age(Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// Whether the request carries a non-empty cookie called `name`.
pub(crate) fn present(req: &HttpRequest, name: &str) -> bool {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k == name && !v.is_empty())
        })
}
