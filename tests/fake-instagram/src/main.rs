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

mod admin;
mod answers;
mod consent;
mod graph;
mod state;

use std::io::Write;
use std::time::Duration;

use actix_web::{web, App, HttpServer};

use admin::{not_found, reset, set_mode, stats};
use consent::authorize;
use graph::{exchange_code, long_lived, me, me_versioned, refresh};
use state::State;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::*;
    use crate::graph::{check_token, owner, param};
    use crate::state::Mode;
    use actix_web::http::StatusCode;

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
