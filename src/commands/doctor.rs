//! `igauth doctor`: live probes, each under its own deadline, one line per check: `ok`, or
//! `PROBLEM` with what is wrong and the setting to change. Exits 1 when any check found a
//! problem. The probes use the same settings the service does (`IGAUTH_INSTAGRAM__API_URL` and
//! friends point them at other hosts, as tests do).

use std::process::ExitCode;
use std::time::Duration;

use crate::parse_api::{MASTER_KEY_HINT, MOUNT_PATH_HINT};
use crate::settings::{CacheBackend, Settings};

/// What one check found.
enum Outcome {
    Ok(String),
    Problem(String),
    /// Nothing to check: the feature is not configured.
    Skipped(String),
}

struct Check {
    name: String,
    outcome: Outcome,
}

pub(super) fn doctor(settings: &Settings) -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let checks = actix_web::rt::System::new().block_on(all_checks(settings));
    let mut problems = 0;
    for check in &checks {
        let (label, text) = match &check.outcome {
            Outcome::Ok(text) => ("ok     ", text),
            Outcome::Problem(text) => {
                problems += 1;
                ("PROBLEM", text)
            }
            Outcome::Skipped(text) => ("skipped", text),
        };
        println!("{label} {}: {text}", check.name);
    }
    if problems == 0 {
        println!("doctor: everything checked is fine");
        ExitCode::SUCCESS
    } else {
        println!(
            "doctor: {problems} problem{} found",
            if problems == 1 { "" } else { "s" }
        );
        ExitCode::FAILURE
    }
}

async fn all_checks(settings: &Settings) -> Vec<Check> {
    let ig = &settings.instagram;
    let connect = Duration::from_millis(ig.connect_timeout_ms);
    let whole = Duration::from_millis(ig.timeout_ms);
    let mut checks = Vec::new();
    let mut seen = Vec::new();
    for (var, url) in [
        ("IGAUTH_INSTAGRAM__API_URL", &ig.api_url),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", &ig.graph_url),
        ("IGAUTH_INSTAGRAM__AUTHORIZE_URL", &ig.authorize_url),
    ] {
        let Some(target) = Target::of(url) else {
            continue;
        };
        if seen.contains(&target.origin) {
            continue;
        }
        seen.push(target.origin.clone());
        checks.push(Check {
            name: format!("Instagram host {} ({var})", target.origin),
            outcome: probe_host(&target, connect, whole).await,
        });
    }
    checks.extend(parse_checks(settings).await);
    checks.push(redis_check(settings).await);
    checks.extend(https_checks(settings));
    checks
}

/// The parts of an http(s) URL a probe needs.
struct Target {
    origin: String,
    host: String,
    port: u16,
    tls: bool,
}

impl Target {
    fn of(url: &str) -> Option<Target> {
        let (tls, rest) = match url.split_once("://")? {
            ("https", rest) => (true, rest),
            ("http", rest) => (false, rest),
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit('@').next()?;
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                (host, port.parse().ok()?)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        (!host.is_empty()).then(|| Target {
            origin: format!("{}://{authority}", if tls { "https" } else { "http" }),
            host: host.to_string(),
            port,
            tls,
        })
    }
}

/// DNS, then TCP, then (for https) a TLS handshake and any HTTP answer at all.
async fn probe_host(target: &Target, connect: Duration, whole: Duration) -> Outcome {
    use actix_web::rt::time::timeout;
    let name = (target.host.as_str(), target.port);
    let addrs: Vec<_> = match timeout(connect, tokio::net::lookup_host(name)).await {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            return Outcome::Problem(format!("DNS: {} does not resolve ({e})", target.host))
        }
        Err(_) => {
            return Outcome::Problem(format!(
                "DNS: no answer for {} within {connect:?}",
                target.host
            ))
        }
    };
    let Some(addr) = addrs.first() else {
        return Outcome::Problem(format!("DNS: {} has no address", target.host));
    };
    match timeout(connect, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Outcome::Problem(format!(
                "connect: {addr} refused or unreachable ({e}); a firewall or egress policy may block it"
            ))
        }
        Err(_) => {
            return Outcome::Problem(format!(
                "connect: no connection to {addr} within {connect:?}; a firewall or egress policy may drop it"
            ))
        }
    }
    if !target.tls {
        return Outcome::Ok(format!(
            "resolves to {addr}, connects (plain http: no TLS to check)"
        ));
    }
    let client = awc::Client::builder()
        .timeout(whole)
        .disable_redirects()
        .finish();
    match client.get(format!("{}/", target.origin)).send().await {
        Ok(res) => Outcome::Ok(format!(
            "resolves to {addr}, connects, TLS handshake ok (HTTP {})",
            res.status().as_u16()
        )),
        Err(awc::error::SendRequestError::Timeout) => {
            Outcome::Problem(format!("TLS/HTTP: no answer within {whole:?}"))
        }
        Err(e) => Outcome::Problem(format!(
            "TLS: the handshake failed ({e}); is a proxy intercepting TLS?"
        )),
    }
}

/// Parse answers at its mount path, and takes the app id and master key.
async fn parse_checks(settings: &Settings) -> Vec<Check> {
    let parse = &settings.parse;
    if parse.server_url.is_empty() {
        return vec![Check {
            name: "Parse".into(),
            outcome: Outcome::Skipped("IGAUTH_PARSE__SERVER_URL is not set".into()),
        }];
    }
    let base = parse.server_url.trim_end_matches('/');
    let client = awc::Client::builder()
        .timeout(Duration::from_millis(parse.timeout_ms))
        .disable_redirects()
        .finish();
    let health = match client.get(format!("{base}/health")).send().await {
        Ok(res) if res.status().is_success() => {
            Outcome::Ok(format!("{base}/health answers {}", res.status().as_u16()))
        }
        Ok(res) if res.status().as_u16() == 404 => {
            Outcome::Problem(format!("{base}/health answers 404: {MOUNT_PATH_HINT}"))
        }
        Ok(res) => Outcome::Problem(format!(
            "{base}/health answers HTTP {}: check IGAUTH_PARSE__SERVER_URL",
            res.status().as_u16()
        )),
        Err(e) => Outcome::Problem(format!(
            "Parse does not answer at {base} ({e}): check IGAUTH_PARSE__SERVER_URL"
        )),
    };
    let healthy = matches!(health, Outcome::Ok(_));
    let mut checks = vec![Check {
        name: "Parse answers (IGAUTH_PARSE__SERVER_URL)".into(),
        outcome: health,
    }];
    let name = "Parse takes the app id and master key".to_string();
    let outcome = if !healthy {
        Outcome::Skipped("Parse did not answer".into())
    } else if parse.app_id.is_empty() || !parse.master_key.is_set() {
        Outcome::Skipped(
            "IGAUTH_PARSE__APP_ID and IGAUTH_PARSE__MASTER_KEY are not both set".into(),
        )
    } else {
        // /schemas needs the master key: Parse answers a wrong one there with 403, where a
        // /classes read would quietly fall back to public access.
        let res = client
            .get(format!("{base}/schemas"))
            .insert_header(("X-Parse-Application-Id", parse.app_id.as_str()))
            .insert_header(("X-Parse-Master-Key", parse.master_key.expose()))
            .send()
            .await;
        match res.map(|r| r.status().as_u16()) {
            Ok(200) => Outcome::Ok("GET /schemas with the master key answers 200".into()),
            Ok(status @ (401 | 403)) => Outcome::Problem(format!(
                "Parse refuses the master key (HTTP {status} on GET /schemas): {MASTER_KEY_HINT}"
            )),
            Ok(status) => Outcome::Problem(format!(
                "GET /schemas answers HTTP {status}: check IGAUTH_PARSE__SERVER_URL"
            )),
            Err(e) => Outcome::Problem(format!("GET /schemas failed ({e})")),
        }
    };
    checks.push(Check { name, outcome });
    checks
}

async fn redis_check(settings: &Settings) -> Check {
    let name = "Redis (IGAUTH_CACHE__REDIS_URL)".to_string();
    if settings.cache.backend != CacheBackend::Redis {
        return Check {
            name,
            outcome: Outcome::Skipped("IGAUTH_CACHE__BACKEND is memory".into()),
        };
    }
    let deadline = Duration::from_secs(3);
    let outcome = match crate::shared_cache::probe(&settings.cache, deadline).await {
        Ok(text) => Outcome::Ok(text),
        Err(text) => Outcome::Problem(text),
    };
    Check { name, outcome }
}

/// Meta takes only https URLs for the redirect URI and its callbacks.
fn https_checks(settings: &Settings) -> Vec<Check> {
    [
        ("IGAUTH_SERVER__PUBLIC_URL", &settings.server.public_url),
        (
            "IGAUTH_INSTAGRAM__CALLBACK_URL",
            &settings.instagram.callback_url,
        ),
    ]
    .into_iter()
    .map(|(var, url)| Check {
        name: format!("public URL ({var})"),
        outcome: if url.is_empty() {
            Outcome::Skipped("not set".into())
        } else if url.starts_with("https://") {
            Outcome::Ok(format!("{url} is https"))
        } else {
            Outcome::Problem(format!(
                "{url} is not https, and Meta takes only https URLs: set {var} to an https URL \
                 (for local development, a tunnel; see docs/meta-app.md)"
            ))
        },
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn targets_of_urls() {
        let t = Target::of("https://graph.instagram.com/v21.0").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.tls),
            ("graph.instagram.com", 443, true)
        );
        let t = Target::of("http://127.0.0.1:9000/oauth").unwrap();
        assert_eq!(
            (t.origin.as_str(), t.port, t.tls),
            ("http://127.0.0.1:9000", 9000, false)
        );
        let t = Target::of("http://[::1]:9000").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 9000));
        assert!(Target::of("ftp://x").is_none());
    }
}
