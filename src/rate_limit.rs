//! Per-client-IP rate limits for the public routes that apps and browsers call (`/v1/exchange`
//! and the login flow), where codes could be guessed at. The server-to-server routes
//! (`/v1/validate`, `/v1/introspect`, webhooks) are not limited: their one caller is a Parse
//! Server, and throttling it would lock every user out.
//!
//! The client is the TCP peer, or the first untrusted hop of `X-Forwarded-For` when the peer is a
//! configured trusted proxy (an address or a CIDR range; otherwise anyone could pick their own
//! bucket by sending the header). Peers and hops compare in canonical form, so an IPv4 proxy seen
//! through a `[::]` listener as `::ffff:a.b.c.d` still matches.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::domain::ProxyRange;
use crate::settings::LimitSettings;

pub(crate) struct ClientLimiter {
    limiter: Option<RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>>,
    trusted_proxies: Vec<ProxyRange>,
    /// Checks since the last sweep of idle buckets; keeps memory bounded under many clients.
    since_sweep: AtomicU32,
}

const SWEEP_EVERY: u32 = 10_000;

impl ClientLimiter {
    pub(crate) fn new(settings: &LimitSettings) -> ClientLimiter {
        let limiter = NonZeroU32::new(settings.exchange_per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(settings.exchange_burst).unwrap_or(per_minute);
            RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        ClientLimiter {
            limiter,
            // Settings::check has refused any entry that does not parse.
            trusted_proxies: settings
                .trusted_proxies
                .iter()
                .filter_map(|p| ProxyRange::parse(p).ok())
                .collect(),
            since_sweep: AtomicU32::new(0),
        }
    }

    /// `Err(seconds)` when this client must wait.
    pub(crate) fn check(&self, req: &HttpRequest) -> Result<(), u64> {
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
        limiter.check_key(&bucket(ip)).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }

    /// The client's address, in canonical form (an IPv4-mapped IPv6 peer is its IPv4 address).
    pub(crate) fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip().to_canonical();
        if !self.trusted(peer) {
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
            match parse_hop(hop) {
                Some(ip) if self.trusted(ip) => continue,
                Some(ip) => return Some(ip),
                None => break,
            }
        }
        Some(peer)
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|range| range.contains(ip))
    }
}

/// An `X-Forwarded-For` hop: an address, possibly with a port (`1.2.3.4:5678`, `[::1]:80`),
/// which some proxies add; canonical, like peers.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

/// The bucket an address counts against. One IPv6 client usually holds a whole /64, so a
/// bucket per /128 would be one per request for anyone who wants it.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_with_ports_are_read() {
        assert_eq!(parse_hop("203.0.113.7:5678"), "203.0.113.7".parse().ok());
        assert_eq!(parse_hop("[2001:db8::1]:80"), "2001:db8::1".parse().ok());
        assert_eq!(parse_hop("unknown"), None);
    }

    #[test]
    fn one_ipv6_64_is_one_bucket() {
        let a = bucket("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = bucket("2001:db8:1:2:bbbb::2".parse().unwrap());
        let other = bucket("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(
            bucket("::ffff:203.0.113.7".parse().unwrap()),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
    }
}
