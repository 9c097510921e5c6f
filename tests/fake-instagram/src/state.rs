//! What every worker shares: the `/me` fault mode, call counters and used codes.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicU8};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::rt::time::sleep;
use actix_web::web;

/// What `/me` does, switched by `POST /__admin/mode?me=<mode>`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Mode {
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
    pub(crate) const ALL: [(Mode, &'static str); 8] = [
        (Mode::Ok, "ok"),
        (Mode::ServerError, "500"),
        (Mode::Html, "html"),
        (Mode::Truncated, "truncated"),
        (Mode::Slow, "slow"),
        (Mode::Hang, "hang"),
        (Mode::RateLimit, "ratelimit"),
        (Mode::Down, "down"),
    ];

    pub(crate) fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
    }

    pub(crate) fn from_u8(v: u8) -> Mode {
        Mode::ALL
            .iter()
            .find(|(m, _)| *m as u8 == v)
            .map_or(Mode::Ok, |(m, _)| *m)
    }
}

/// Shared by every worker.
pub(crate) struct State {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// Added before every Instagram API answer (`--latency-ms`); see the module docs.
    pub(crate) latency: Duration,
    pub(crate) mode: AtomicU8,
    pub(crate) me_calls: AtomicU64,
    pub(crate) exchange_calls: AtomicU64,
    pub(crate) long_lived_calls: AtomicU64,
    pub(crate) refresh_calls: AtomicU64,
    /// Makes every issued token and code unique; never reset, so tokens never repeat.
    pub(crate) serial: AtomicU64,
    pub(crate) used_codes: Mutex<HashSet<String>>,
}

pub(crate) type Shared = web::Data<State>;

impl State {
    pub(crate) fn new(client_id: String, client_secret: String, latency: Duration) -> State {
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
    pub(crate) async fn round_trip(&self) {
        if !self.latency.is_zero() {
            sleep(self.latency).await;
        }
    }
}
