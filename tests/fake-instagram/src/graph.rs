//! The Instagram API: `/me`, the code exchange, the long-lived exchange and the refresh.

use std::borrow::Cow;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use actix_web::http::{header::ContentType, StatusCode};
use actix_web::rt::time::sleep;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::admin::not_found;

use crate::answers::*;
use crate::state::{Mode, Shared, State};

/// The raw value of query (or form) parameter `name`, percent-decoded only when it needs it.
pub(crate) fn param<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| decode(v))
    })
}

pub(crate) fn decode(v: &str) -> Cow<'_, str> {
    if !v.contains(['%', '+']) {
        return Cow::Borrowed(v);
    }
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// `<prefix><digits>` optionally followed by `-<anything>`: the digits, else None.
pub(crate) fn owner<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = value.strip_prefix(prefix)?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, tail) = rest.split_at(end);
    (!digits.is_empty() && (tail.is_empty() || tail.starts_with('-'))).then_some(digits)
}

/// Instagram's verdict on a token: the owner's id, or the error body to answer with.
pub(crate) fn check_token(token: &str) -> Result<&str, &'static str> {
    if let Some(id) = owner(token, "IGT-") {
        Ok(id)
    } else if owner(token, "IGX-").is_some() {
        Err(EXPIRED_TOKEN)
    } else {
        Err(INVALID_TOKEN)
    }
}

pub(crate) async fn me(req: HttpRequest, state: Shared) -> HttpResponse {
    answer_me(&req, &state).await
}

pub(crate) async fn me_versioned(req: HttpRequest, state: Shared) -> HttpResponse {
    // `/v25.0/me` and friends; anything else under `/x/me` is not an Instagram path.
    match req.match_info().get("version") {
        Some(v) if v.starts_with('v') && v.len() > 1 => answer_me(&req, &state).await,
        _ => not_found().await,
    }
}

pub(crate) async fn answer_me(req: &HttpRequest, state: &State) -> HttpResponse {
    state.me_calls.fetch_add(1, Relaxed);
    state.round_trip().await;
    match Mode::from_u8(state.mode.load(Relaxed)) {
        Mode::Ok => {}
        Mode::Slow => sleep(Duration::from_secs(2)).await,
        Mode::Hang => {
            sleep(Duration::from_secs(120)).await;
            return json(StatusCode::GATEWAY_TIMEOUT, SERVER_ERROR);
        }
        Mode::ServerError => return json(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR),
        Mode::Down => return json(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
        Mode::Html => {
            return HttpResponse::BadGateway()
                .insert_header(ContentType::html())
                .body(BAD_GATEWAY_HTML)
        }
        Mode::Truncated => return json(StatusCode::OK, TRUNCATED),
        Mode::RateLimit => return bad_request(RATE_LIMITED),
    }
    let query = req.query_string();
    let token = param(query, "access_token").unwrap_or_default();
    let id = match check_token(&token) {
        Ok(id) => id,
        Err(body) => return bad_request(body),
    };
    // Like Graph, answer only the fields asked for (id always).
    let fields = param(query, "fields");
    let asked = |name: &str| {
        fields
            .as_deref()
            .is_none_or(|f| f.split(',').any(|f| f == name))
    };
    let user_id = if asked("user_id") {
        format!(r#","user_id":"9{id}""#)
    } else {
        String::new()
    };
    let body = if asked("username") {
        format!(r#"{{"id":"{id}"{user_id},"username":"user{id}"}}"#)
    } else {
        format!(r#"{{"id":"{id}"{user_id}}}"#)
    };
    json(StatusCode::OK, body)
}

pub(crate) async fn exchange_code(state: Shared, body: web::Bytes) -> HttpResponse {
    state.exchange_calls.fetch_add(1, Relaxed);
    state.round_trip().await;
    let form = std::str::from_utf8(&body).unwrap_or("");
    let field = |name| param(form, name).unwrap_or_default();
    if field("client_id") != state.client_id || field("client_secret") != state.client_secret {
        return bad_request(INVALID_APP);
    }
    if field("grant_type") != "authorization_code" {
        return bad_request(BAD_GRANT_TYPE);
    }
    let code = field("code");
    let Some(id) = owner(&code, "CODE-") else {
        return bad_request(CODE_UNKNOWN);
    };
    if !state
        .used_codes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(code.to_string())
    {
        return bad_request(CODE_USED);
    }
    let n = state.serial.fetch_add(1, Relaxed);
    let body = if code.contains("-wrapped") {
        format!(
            r#"{{"data":[{{"access_token":"IGT-{id}-{n}","user_id":"{id}","permissions":"instagram_business_basic,instagram_business_content_publish"}}]}}"#
        )
    } else {
        // `user_id` is written from the digits as received: a JSON number that no double held.
        format!(
            r#"{{"access_token":"IGT-{id}-{n}","user_id":{id},"permissions":["instagram_business_basic"]}}"#
        )
    };
    json(StatusCode::OK, body)
}

pub(crate) fn token_grant(state: &State, id: &str) -> HttpResponse {
    let n = state.serial.fetch_add(1, Relaxed);
    json(
        StatusCode::OK,
        format!(
            r#"{{"access_token":"IGT-{id}-long-{n}","token_type":"bearer","expires_in":{LONG_LIVED_SECS}}}"#
        ),
    )
}

pub(crate) async fn long_lived(req: HttpRequest, state: Shared) -> HttpResponse {
    state.long_lived_calls.fetch_add(1, Relaxed);
    state.round_trip().await;
    let query = req.query_string();
    let field = |name| param(query, name).unwrap_or_default();
    if field("grant_type") != "ig_exchange_token" || field("client_secret") != state.client_secret {
        return bad_request(INVALID_TOKEN);
    }
    match check_token(&field("access_token")) {
        Ok(id) => token_grant(&state, id),
        Err(body) => bad_request(body),
    }
}

pub(crate) async fn refresh(req: HttpRequest, state: Shared) -> HttpResponse {
    state.refresh_calls.fetch_add(1, Relaxed);
    state.round_trip().await;
    let query = req.query_string();
    let field = |name| param(query, name).unwrap_or_default();
    if field("grant_type") != "ig_refresh_token" {
        return bad_request(INVALID_TOKEN);
    }
    let token = field("access_token");
    match check_token(&token) {
        // Only long-lived tokens can be refreshed.
        Ok(id) if token.contains("-long") => token_grant(&state, id),
        Ok(_) => bad_request(INVALID_TOKEN),
        Err(body) => bad_request(body),
    }
}
