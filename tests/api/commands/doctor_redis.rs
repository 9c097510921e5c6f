//! `igauth doctor`'s Redis check against a real `redis-server`: the values a running replica
//! wrote open with the configured secret (ok), another secret is named as the problem (every
//! replica ignores the others' values silently, so only doctor can tell), and a Redis that is
//! gone names its URL.

use crate::helpers::binary::igauth_async;
use crate::helpers::redis_fleet::*;
use crate::helpers::redis_server::Redis;

/// doctor's settings: Redis only, so Instagram's real hosts and Parse are not part of the run.
fn env(redis: &Redis, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("IGAUTH_CACHE__BACKEND", "redis".into()),
        ("IGAUTH_CACHE__REDIS_URL", redis.url()),
        ("IGAUTH_CACHE__REDIS_SECRET", secret.into()),
        // Instagram's hosts: a loopback port nothing answers, so the run stays offline.
        ("IGAUTH_INSTAGRAM__API_URL", "http://127.0.0.1:1".into()),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", "http://127.0.0.1:1".into()),
        (
            "IGAUTH_INSTAGRAM__AUTHORIZE_URL",
            "http://127.0.0.1:1/oauth/authorize".into(),
        ),
    ]
}

async fn redis_line(env: &[(&'static str, String)]) -> String {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = igauth_async(&["doctor"], &env).await;
    // Instagram's hosts are unreachable on purpose: doctor exits 1 whatever Redis says.
    assert_eq!(run.code, Some(1), "{}", run.all());
    run.stdout
        .lines()
        .find(|l| l.contains("Redis (IGAUTH_CACHE__REDIS_URL)"))
        .unwrap_or_else(|| panic!("no Redis line in:\n{}", run.stdout))
        .to_string()
}

#[actix_web::test]
async fn redis_values_open_with_the_secret_or_the_secret_is_named() {
    let mut redis = Redis::start().await;
    let mut ig = mockito::Server::new_async().await;
    let replica = spawn_replica(&ig, &replica_env(&redis.url(), Some("1000"))).await;
    // The replica has sealed at least one verdict in Redis with REDIS_SECRET.
    until_connected(&replica, &mut ig, &redis, REDIS_SECRET).await;

    let line = redis_line(&env(&redis, REDIS_SECRET)).await;
    assert!(line.starts_with("ok "), "{line}");
    assert!(
        line.contains("open with IGAUTH_CACHE__REDIS_SECRET"),
        "{line}"
    );
    assert!(!line.contains(" 0 of "), "some value opened: {line}");

    let other = "another-redis-secret-0123456789abcdef";
    let line = redis_line(&env(&redis, other)).await;
    assert!(line.starts_with("PROBLEM "), "{line}");
    assert!(
        line.contains("IGAUTH_CACHE__REDIS_SECRET") && line.contains("same one"),
        "{line}"
    );
    assert!(
        !line.contains(other) && !line.contains(REDIS_SECRET),
        "{line}"
    );

    redis.stop();
    let line = redis_line(&env(&redis, REDIS_SECRET)).await;
    assert!(line.starts_with("PROBLEM "), "{line}");
    assert!(line.contains("check IGAUTH_CACHE__REDIS_URL"), "{line}");
}
