//! A trusted proxy: one address or a CIDR range, as `IGAUTH_LIMITS__TRUSTED_PROXIES` lists them.
//!
//! Addresses are compared in canonical form: a service bound to `[::]` sees an IPv4 proxy as
//! `::ffff:a.b.c.d`, which must match the entry `a.b.c.d` (or `a.b.0.0/16`).

use std::net::IpAddr;

use ipnet::IpNet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProxyRange(IpNet);

impl ProxyRange {
    /// `10.0.0.5`, `10.0.0.0/8`, `fd00::/8`. A range with host bits set (`10.1.2.3/8`) is
    /// refused: it is either a typo or a wider range than the operator meant.
    pub(crate) fn parse(entry: &str) -> Result<ProxyRange, String> {
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Ok(ProxyRange(IpNet::from(ip.to_canonical())));
        }
        let net: IpNet = entry.parse().map_err(|_| {
            format!("{entry:?} is not an IP address or a CIDR range like 10.0.0.0/8")
        })?;
        if net.trunc() != net {
            return Err(format!(
                "{entry:?} has bits set after its prefix; the range is written {}",
                net.trunc()
            ));
        }
        Ok(ProxyRange(net))
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_ranges_match_in_canonical_form() {
        let single = ProxyRange::parse("10.0.0.5").unwrap();
        assert!(single.contains(ip("10.0.0.5")));
        assert!(single.contains(ip("::ffff:10.0.0.5")), "IPv4-mapped peer");
        assert!(!single.contains(ip("10.0.0.6")));
        let pods = ProxyRange::parse("10.0.0.0/8").unwrap();
        assert!(pods.contains(ip("10.244.3.7")) && pods.contains(ip("::ffff:10.244.3.7")));
        assert!(!pods.contains(ip("11.0.0.1")) && !pods.contains(ip("fd00::1")));
        let v6 = ProxyRange::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12:3456::1")) && !v6.contains(ip("fe80::1")));
        let mapped = ProxyRange::parse("::ffff:192.0.2.1").unwrap();
        assert!(
            mapped.contains(ip("192.0.2.1")),
            "an IPv4-mapped entry is its IPv4 address"
        );
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        for (entry, says) in [
            ("ingress", "not an IP address"),
            ("10.0.0.0/33", "not an IP address"),
            ("10.1.2.3/8", "the range is written 10.0.0.0/8"),
            ("", "not an IP address"),
        ] {
            let err = ProxyRange::parse(entry).unwrap_err();
            assert!(err.contains(says), "{entry}: {err}");
        }
    }
}
