//! `igauth doctor`'s look at Redis: it answers, and the values the running replicas keep there
//! open with the configured secret (a replica with another secret ignores them all, silently,
//! as it must: they look planted). Also how a Redis client is made, for the cache and the probe.

use std::time::Duration;

use super::seal::Sealer;
use crate::settings::CacheSettings;

/// Values read, at most: enough to tell one secret from another, cheap on a big Redis.
const SAMPLE: usize = 20;

/// A client for the configured URL, trusting the configured CA for `rediss://`. Fails only on a
/// URL or CA file that [`crate::settings::Settings`] has already refused.
pub(super) fn client(settings: &CacheSettings) -> Result<redis::Client, String> {
    let url = settings.redis_url.expose();
    match settings.redis_ca_file.as_str() {
        "" => redis::Client::open(url),
        path => {
            let root_cert = std::fs::read(path)
                .map_err(|e| format!("IGAUTH_CACHE__REDIS_CA_FILE {path:?} cannot be read: {e}"))?;
            let certificates = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_cert),
            };
            redis::Client::build_with_tls(url, certificates)
        }
    }
    .map_err(|_| "IGAUTH_CACHE__REDIS_URL is not a usable redis:// URL".to_string())
}

/// One step of the probe under `deadline`; its failure names the setting to check. Redis' own
/// error text is left out: it may quote the URL, and with it the password.
async fn step<T>(
    what: &str,
    deadline: Duration,
    work: impl std::future::Future<Output = Result<T, redis::RedisError>>,
) -> Result<T, String> {
    match actix_web::rt::time::timeout(deadline, work).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!(
            "Redis {what} failed ({:?}): check IGAUTH_CACHE__REDIS_URL",
            e.kind()
        )),
        Err(_) => Err(format!(
            "Redis did not answer the {what} within {} ms: check IGAUTH_CACHE__REDIS_URL",
            deadline.as_millis()
        )),
    }
}

/// `Ok(what was seen)` or `Err(the problem, naming the setting)`, within `deadline` per step.
pub(crate) async fn probe(settings: &CacheSettings, deadline: Duration) -> Result<String, String> {
    let client = client(settings)?;
    let mut conn = step(
        "connection",
        deadline,
        client.get_multiplexed_async_connection(),
    )
    .await?;
    let pong: String = step("PING", deadline, redis::cmd("PING").query_async(&mut conn)).await?;
    let mut scan = redis::cmd("SCAN");
    scan.arg(0)
        .arg("MATCH")
        .arg("igauth:*")
        .arg("COUNT")
        .arg(1000);
    let (_, keys): (String, Vec<String>) =
        step("SCAN", deadline, scan.query_async(&mut conn)).await?;
    let sealer = Sealer::new(&settings.redis_secret, &settings.redis_secret_previous);
    let generations = sealer.all();
    let (mut read, mut opened) = (0, 0);
    for key in keys.iter().take(SAMPLE) {
        let mut get = redis::cmd("GET");
        get.arg(key);
        let value: Option<Vec<u8>> = step("GET", deadline, get.query_async(&mut conn)).await?;
        let Some(value) = value else { continue };
        read += 1;
        if sealer.open(key, &value, &generations).is_some() {
            opened += 1;
        }
    }
    if read > 0 && opened == 0 {
        return Err(format!(
            "none of the {read} values igauth keeps in Redis open with IGAUTH_CACHE__REDIS_SECRET \
             (or IGAUTH_CACHE__REDIS_SECRET_PREVIOUS): the replicas that wrote them use another \
             secret; give every replica the same one"
        ));
    }
    Ok(format!(
        "answers ({pong}); {opened} of {read} sampled values open with IGAUTH_CACHE__REDIS_SECRET"
    ))
}
