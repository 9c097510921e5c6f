//! Per-client-IP rate limits for the public routes that apps and browsers call (`/v1/exchange`
//! and the login flow), where codes could be guessed at. The server-to-server routes
//! (`/v1/validate`, `/v1/introspect`, webhooks) are not limited: their one caller is a Parse
//! Server, and throttling it would lock every user out.
//!
//! The client is the TCP peer, or the first untrusted hop of `X-Forwarded-For` when the peer is a
//! configured trusted proxy (otherwise anyone could pick their own bucket by sending the header).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::settings::LimitSettings;

pub struct ClientLimiter {
    limiter: Option<RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>>,
    trusted_proxies: Vec<IpAddr>,
    /// Checks since the last sweep of idle buckets; keeps memory bounded under many clients.
    since_sweep: AtomicU32,
}

const SWEEP_EVERY: u32 = 10_000;

impl ClientLimiter {
    pub fn new(settings: &LimitSettings) -> ClientLimiter {
        let limiter = NonZeroU32::new(settings.exchange_per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(settings.exchange_burst).unwrap_or(per_minute);
            RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        ClientLimiter {
            limiter,
            trusted_proxies: settings
                .trusted_proxies
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect(),
            since_sweep: AtomicU32::new(0),
        }
    }

    /// `Err(seconds)` when this client must wait.
    pub fn check(&self, req: &HttpRequest) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.since_sweep.fetch_add(1, Ordering::Relaxed) >= SWEEP_EVERY {
            self.since_sweep.store(0, Ordering::Relaxed);
            limiter.retain_recent();
        }
        let Some(ip) = self.client_ip(req) else {
            return Ok(());
        };
        limiter.check_key(&ip).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }

    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        // Walk X-Forwarded-For from the nearest hop back; the first address that is not one of
        // our proxies is the client.
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusted_proxies.contains(&ip) => continue,
                Ok(ip) => return Some(ip),
                Err(_) => break,
            }
        }
        Some(peer)
    }
}
