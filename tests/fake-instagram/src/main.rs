//! A fake of Instagram's two hosts (`api.instagram.com` and `graph.instagram.com`) on one loopback
//! origin, faithful to what Instagram documents and what it answers in practice: both success
//! shapes of the code exchange, `user_id` as an exact 64-bit JSON number, Instagram's error
//! bodies, single-use codes, plus switchable faults on `/me` for the tests that prove igauth
//! fails closed.
//!
//! `--latency-ms N` delays every Instagram API answer by N ms: `/me`, the code exchange
//! (`POST /oauth/access_token`), the long-lived exchange (`GET /access_token`) and the refresh
//! (`GET /refresh_access_token`), each by the same N, like one network round trip to Instagram.
//! So with `--latency-ms 100` a `/me` still takes 100 ms (what the benchmark's upstream-latency
//! scenarios assume), and a long-lived login (code exchange, then `/me` and the long-lived exchange
//! at once) takes two such round trips. The consent page and the `/__admin` routes are not delayed.
//!
//! Tokens and codes carry their owner, so no state is needed to validate them:
//! - `IGT-<digits>[-<anything>]` is a valid token of user `<digits>`; `IGX-<digits>...` is expired.
//! - `CODE-<digits>[-<anything>]` is a code for user `<digits>`, good once; `-wrapped` in it asks
//!   for the documented `{"data":[...]}` answer instead of the flat one seen in practice.
//!
//! Ids are kept as the digit strings they arrived as: never parsed, so ids above 2^53 stay exact.
//! `/me` answers `user_id` (the professional-account id, a different number) when asked for it:
//! `9` followed by the user's id, so tests can tell the two ids apart and derive one from the
//! other.
//!
//! It sits on the hot path of the benchmark, so `/me` does no more than find one query parameter
//! and format one small body; shared state is atomics (one mutex, only for used codes).

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::http::{header::ContentType, StatusCode};
use actix_web::rt::time::sleep;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

const INVALID_TOKEN: &str = r#"{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}"#;
const EXPIRED_TOKEN: &str = r#"{"error":{"message":"Error validating access token: Session has expired on Friday, 01-Jan-26 00:00:00 PST.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC"}}"#;
const RATE_LIMITED: &str = r#"{"error":{"message":"Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"x"}}"#;
const SERVER_ERROR: &str = r#"{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","code":2,"fbtrace_id":"AbC"}}"#;
const UNAVAILABLE: &str = r#"{"error":{"message":"Service unavailable","code":2}}"#;
const BAD_GATEWAY_HTML: &str = "<!DOCTYPE html><html><head><title>Error</title></head><body><h1>502 Bad Gateway</h1><p>Sorry, something went wrong.</p></body></html>";
const TRUNCATED: &str = r#"{"id":"12"#;
const INVALID_APP: &str =
    r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid platform app"}"#;
const CODE_USED: &str = r#"{"error_type":"OAuthException","code":400,"error_message":"This authorization code has been used"}"#;
const CODE_UNKNOWN: &str = r#"{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}"#;
const BAD_GRANT_TYPE: &str =
    r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid grant_type"}"#;
const LONG_LIVED_SECS: u64 = 5_183_944;
/// The id the consent page hands out codes for: above 2^53 and odd, so a double would round it.
const CONSENT_USER: &str = "17841405793187219";

/// What `/me` does, switched by `POST /__admin/mode?me=<mode>`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Mode {
    Ok = 0,
    ServerError = 1,
    Html = 2,
    Truncated = 3,
    Slow = 4,
    Hang = 5,
    RateLimit = 6,
    Down = 7,
}

impl Mode {
    const ALL: [(Mode, &'static str); 8] = [
        (Mode::Ok, "ok"),
        (Mode::ServerError, "500"),
        (Mode::Html, "html"),
        (Mode::Truncated, "truncated"),
        (Mode::Slow, "slow"),
        (Mode::Hang, "hang"),
        (Mode::RateLimit, "ratelimit"),
        (Mode::Down, "down"),
    ];

    fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
    }

    fn from_u8(v: u8) -> Mode {
        Mode::ALL
            .iter()
            .find(|(m, _)| *m as u8 == v)
            .map_or(Mode::Ok, |(m, _)| *m)
    }
}

/// Shared by every worker.
struct State {
    client_id: String,
    client_secret: String,
    /// Added before every Instagram API answer (`--latency-ms`); see the module docs.
    latency: Duration,
    mode: AtomicU8,
    me_calls: AtomicU64,
    exchange_calls: AtomicU64,
    long_lived_calls: AtomicU64,
    refresh_calls: AtomicU64,
    /// Makes every issued token and code unique; never reset, so tokens never repeat.
    serial: AtomicU64,
    used_codes: Mutex<HashSet<String>>,
}

type Shared = web::Data<State>;

struct Args {
    bind: String,
    /// `--latency-ms`: the delay of every Instagram API answer, not only `/me`'s.
    latency_ms: u64,
    workers: usize,
    client_id: String,
    client_secret: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bind: "127.0.0.1:0".into(),
        latency_ms: 0,
        workers: 1,
        client_id: "1234567890".into(),
        client_secret: "fake-secret".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Err(String::new());
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().ok_or(format!("{name} needs a value"))?,
        };
        match name.as_str() {
            "--bind" => args.bind = value,
            "--latency-ms" => {
                args.latency_ms = value.parse().map_err(|_| "--latency-ms: not a number")?
            }
            "--workers" => {
                args.workers = value.parse().map_err(|_| "--workers: not a number")?;
                if args.workers == 0 {
                    return Err("--workers must be at least 1".into());
                }
            }
            "--client-id" => args.client_id = value,
            "--client-secret" => args.client_secret = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

const USAGE: &str = "usage: fake-instagram [--bind 127.0.0.1:0] [--latency-ms N] [--workers N] \
                     [--client-id ID] [--client-secret SECRET]\n  \
                     --latency-ms N  delay every Instagram API answer (/me, the code exchange, \
                     the long-lived exchange, the refresh) by N ms; default 0";

fn main() -> std::io::Result<()> {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("fake-instagram: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    actix_web::rt::System::new().block_on(serve(args))
}

impl State {
    fn new(client_id: String, client_secret: String, latency: Duration) -> State {
        State {
            client_id,
            client_secret,
            latency,
            mode: AtomicU8::new(Mode::Ok as u8),
            me_calls: AtomicU64::new(0),
            exchange_calls: AtomicU64::new(0),
            long_lived_calls: AtomicU64::new(0),
            refresh_calls: AtomicU64::new(0),
            serial: AtomicU64::new(1),
            used_codes: Mutex::new(HashSet::new()),
        }
    }

    /// The round trip to Instagram every API answer pays (`--latency-ms`).
    async fn round_trip(&self) {
        if !self.latency.is_zero() {
            sleep(self.latency).await;
        }
    }
}

/// Every route, for the server and the tests.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/{version}/me", web::get().to(me_versioned))
        .route("/oauth/access_token", web::post().to(exchange_code))
        .route("/access_token", web::get().to(long_lived))
        .route("/refresh_access_token", web::get().to(refresh))
        .route("/oauth/authorize", web::get().to(authorize))
        .route("/__admin/mode", web::post().to(set_mode))
        .route("/__admin/stats", web::get().to(stats))
        .route("/__admin/reset", web::post().to(reset))
        .default_service(web::to(not_found));
}

async fn serve(args: Args) -> std::io::Result<()> {
    let state = web::Data::new(State::new(
        args.client_id,
        args.client_secret,
        Duration::from_millis(args.latency_ms),
    ));
    let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(routes))
        .workers(args.workers)
        .backlog(4096)
        .max_connections(100_000)
        // The "hang" mode holds requests for a minute; shutting down must not wait for them.
        .shutdown_timeout(1)
        .bind(&args.bind)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("bound to no address"))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    server.run().await
}

fn json(status: StatusCode, body: impl actix_web::body::MessageBody + 'static) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(ContentType::json())
        .body(body)
}

fn bad_request(body: &'static str) -> HttpResponse {
    json(StatusCode::BAD_REQUEST, body)
}

/// The raw value of query (or form) parameter `name`, percent-decoded only when it needs it.
fn param<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| decode(v))
    })
}

fn decode(v: &str) -> Cow<'_, str> {
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
fn owner<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = value.strip_prefix(prefix)?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, tail) = rest.split_at(end);
    (!digits.is_empty() && (tail.is_empty() || tail.starts_with('-'))).then_some(digits)
}

/// Instagram's verdict on a token: the owner's id, or the error body to answer with.
fn check_token(token: &str) -> Result<&str, &'static str> {
    if let Some(id) = owner(token, "IGT-") {
        Ok(id)
    } else if owner(token, "IGX-").is_some() {
        Err(EXPIRED_TOKEN)
    } else {
        Err(INVALID_TOKEN)
    }
}

async fn me(req: HttpRequest, state: Shared) -> HttpResponse {
    answer_me(&req, &state).await
}

async fn me_versioned(req: HttpRequest, state: Shared) -> HttpResponse {
    // `/v25.0/me` and friends; anything else under `/x/me` is not an Instagram path.
    match req.match_info().get("version") {
        Some(v) if v.starts_with('v') && v.len() > 1 => answer_me(&req, &state).await,
        _ => not_found().await,
    }
}

async fn answer_me(req: &HttpRequest, state: &State) -> HttpResponse {
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

async fn exchange_code(state: Shared, body: web::Bytes) -> HttpResponse {
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

fn token_grant(state: &State, id: &str) -> HttpResponse {
    let n = state.serial.fetch_add(1, Relaxed);
    json(
        StatusCode::OK,
        format!(
            r#"{{"access_token":"IGT-{id}-long-{n}","token_type":"bearer","expires_in":{LONG_LIVED_SECS}}}"#
        ),
    )
}

async fn long_lived(req: HttpRequest, state: Shared) -> HttpResponse {
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

async fn refresh(req: HttpRequest, state: Shared) -> HttpResponse {
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

/// The consent window. Values from the query end up in HTML and in URLs, so they are escaped for
/// each; only http(s) redirect URIs are followed (never `javascript:`).
async fn authorize(req: HttpRequest, state: Shared) -> HttpResponse {
    let query = req.query_string();
    let field = |name| param(query, name).unwrap_or_default();
    let redirect_uri = field("redirect_uri");
    let problem = if field("client_id") != state.client_id {
        Some("Invalid app ID")
    } else if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        Some("Invalid redirect_uri")
    } else if field("response_type") != "code" {
        Some("Invalid response_type")
    } else {
        None
    };
    if let Some(problem) = problem {
        return HttpResponse::BadRequest()
            .insert_header(ContentType::html())
            .body(format!(
                "<!DOCTYPE html><html><head><title>Error</title></head><body>\
                 <h1 id=\"error\">{problem}</h1></body></html>"
            ));
    }
    let state_param = field("state");
    let scope = field("scope");
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let n = state.serial.fetch_add(1, Relaxed);
    let allow = format!(
        "{redirect_uri}{sep}{}#_",
        serde_urlencoded::to_string([
            ("code", format!("CODE-{CONSENT_USER}-{n}").as_str()),
            ("state", &state_param),
        ])
        .unwrap_or_default()
    );
    let cancel = format!(
        "{redirect_uri}{sep}error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+request.&{}",
        serde_urlencoded::to_string([("state", &*state_param)]).unwrap_or_default()
    );
    let page = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Log in with Instagram</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:28em;margin:3em auto;text-align:center}}
button{{font-size:1.1em;padding:.5em 1.5em;margin:.5em}}#allow{{background:#0095f6;color:#fff;border:0;border-radius:6px}}</style>
</head><body>
<h1>Instagram (fake)</h1>
<p>An app wants to use your account <b>user{CONSENT_USER}</b>.</p>
<p>Requested permissions: <span id="scope">{}</span></p>
<button id="allow" type="button" data-href="{}">Allow</button>
<button id="cancel" type="button" data-href="{}">Cancel</button>
<script>
for (const b of document.querySelectorAll('button[data-href]'))
  b.addEventListener('click', () => {{ window.location.href = b.dataset.href; }});
</script>
</body></html>
"#,
        html_escape(&scope),
        html_escape(&allow),
        html_escape(&cancel),
    );
    HttpResponse::Ok()
        .insert_header(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .body(page)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

async fn set_mode(req: HttpRequest, state: Shared) -> HttpResponse {
    let wanted = param(req.query_string(), "me").unwrap_or_default();
    match Mode::parse(&wanted) {
        Some(mode) => {
            state.mode.store(mode as u8, Relaxed);
            json(StatusCode::OK, format!(r#"{{"me":"{wanted}"}}"#))
        }
        None => bad_request(
            r#"{"error":"unknown mode; one of ok, 500, html, truncated, slow, hang, ratelimit, down"}"#,
        ),
    }
}

async fn stats(state: Shared) -> HttpResponse {
    json(
        StatusCode::OK,
        format!(
            r#"{{"me_calls":{},"exchange_calls":{},"long_lived_calls":{},"refresh_calls":{}}}"#,
            state.me_calls.load(Relaxed),
            state.exchange_calls.load(Relaxed),
            state.long_lived_calls.load(Relaxed),
            state.refresh_calls.load(Relaxed),
        ),
    )
}

async fn reset(state: Shared) -> HttpResponse {
    state.mode.store(Mode::Ok as u8, Relaxed);
    for counter in [
        &state.me_calls,
        &state.exchange_calls,
        &state.long_lived_calls,
        &state.refresh_calls,
    ] {
        counter.store(0, Relaxed);
    }
    state
        .used_codes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    json(StatusCode::OK, r#"{"reset":true}"#)
}

async fn not_found() -> HttpResponse {
    json(
        StatusCode::NOT_FOUND,
        r#"{"error":{"message":"Unknown path components","type":"OAuthException","code":2500,"fbtrace_id":"AbC"}}"#,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_keep_every_digit() {
        assert_eq!(
            owner("IGT-17841405793187219", "IGT-"),
            Some("17841405793187219")
        );
        assert_eq!(
            owner("IGT-27640875392278831-long-9", "IGT-"),
            Some("27640875392278831")
        );
        assert_eq!(owner("IGT-", "IGT-"), None);
        assert_eq!(owner("IGT-12x", "IGT-"), None);
        assert_eq!(owner("CODE-12#_", "CODE-"), None);
        assert_eq!(owner("CODE-12-wrapped", "CODE-"), Some("12"));
    }

    #[test]
    fn tokens_get_instagram_verdicts() {
        assert_eq!(check_token("IGT-5"), Ok("5"));
        assert_eq!(check_token("IGX-5"), Err(EXPIRED_TOKEN));
        assert_eq!(check_token("BAD-5"), Err(INVALID_TOKEN));
        assert_eq!(check_token(""), Err(INVALID_TOKEN));
    }

    #[test]
    fn params_decode_only_when_needed() {
        assert_eq!(
            param("a=1&access_token=IGT-5", "access_token").as_deref(),
            Some("IGT-5")
        );
        assert_eq!(param("state=a%26b+c", "state").as_deref(), Some("a&b c"));
        assert_eq!(param("state=100%", "state").as_deref(), Some("100%"));
        assert_eq!(param("x=1", "state"), None);
    }

    #[actix_web::test]
    async fn latency_delays_every_instagram_call() {
        use actix_web::test::{call_service, init_service, TestRequest};
        let latency = Duration::from_millis(60);
        let state = web::Data::new(State::new("1".into(), "s".into(), latency));
        let app = init_service(App::new().app_data(state.clone()).configure(routes)).await;
        let form = "client_id=1&client_secret=s&grant_type=authorization_code&code=CODE-5-a";
        for req in [
            TestRequest::get().uri("/me?access_token=IGT-5"),
            TestRequest::post()
                .uri("/oauth/access_token")
                .set_payload(form),
            TestRequest::get().uri(
                "/access_token?grant_type=ig_exchange_token&client_secret=s&access_token=IGT-5",
            ),
            TestRequest::get()
                .uri("/refresh_access_token?grant_type=ig_refresh_token&access_token=IGT-5-long-1"),
        ] {
            let started = std::time::Instant::now();
            let res = call_service(&app, req.to_request()).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert!(started.elapsed() >= latency);
        }
    }

    #[test]
    fn modes_round_trip() {
        for (mode, name) in Mode::ALL {
            assert_eq!(Mode::parse(name), Some(mode));
            assert_eq!(Mode::from_u8(mode as u8), mode);
        }
    }
}
