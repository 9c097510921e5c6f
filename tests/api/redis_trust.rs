//! Redis is storage, not an oracle: whatever can write to it must not be able to make igauth say
//! yes. Keys are keyed hashes under `IGAUTH_CACHE__REDIS_SECRET` and every value carries a MAC
//! over key, value and expiry, so a planted, copied or foreign value is ignored like a miss
//! (Instagram is asked) and counted. A rotated secret keeps the cache warm, and a TLS Redis
//! (`rediss://` with a private CA) works.

use std::time::Duration;

use crate::helpers::redis_fleet::*;
use crate::helpers::redis_server::{Redis, TlsRedis};
use crate::helpers::*;

const OTHER_ID: &str = "17841400000000666";

fn rejected(text: &str) -> f64 {
    metric(text, "igauth_shared_cache_rejected_total").unwrap_or(0.0)
}

async fn set(redis: &Redis, key: &str, value: &str) {
    redis
        .query::<()>(redis::cmd("SET").arg(key).arg(value))
        .await;
}

#[actix_web::test]
async fn a_value_planted_in_redis_is_never_taken_for_instagrams_word() {
    let redis = Redis::start().await;
    let mut ig = mockito::Server::new_async().await;
    let app = spawn_replica(&ig, &replica_env(&redis.url(), Some("2000"))).await;
    until_connected(&app, &mut ig, &redis, REDIS_SECRET).await;
    let token = "IGT-never-issued-by-instagram";
    // The audit's plant: the old key scheme, a bare owner, no TTL. And under the real key: a
    // bare value, and one with a made-up MAC.
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let old_key: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    set(
        &redis,
        &format!("igauth:v1:{old_key}"),
        &format!("o:{BIG_ID}:x"),
    )
    .await;
    set(&redis, &key_of(token), &format!("o:{BIG_ID}:x")).await;
    let refused = mock_me_on(&mut ig, token, 400, INVALID_TOKEN_BODY, 1).await;
    let before = rejected(&app.scrape().await);
    expect_verdict(&app, token, false).await;
    assert_eq!(refused.hits(), 1, "Instagram was asked");
    assert!(
        rejected(&app.scrape().await) > before,
        "counted as rejected"
    );

    let token = "IGT-another-never-issued";
    let forged = format!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.99999999999999.o:{BIG_ID}");
    set(&redis, &key_of(token), &forged).await;
    let refused = mock_me_on(&mut ig, token, 400, INVALID_TOKEN_BODY, 1).await;
    expect_verdict(&app, token, false).await;
    assert_eq!(refused.hits(), 1, "a made-up MAC is not believed");
}

#[actix_web::test]
async fn a_genuine_value_copied_under_another_tokens_key_is_refused() {
    let redis = Redis::start().await;
    let mut ig = mockito::Server::new_async().await;
    let app = spawn_replica(&ig, &replica_env(&redis.url(), Some("2000"))).await;
    // A second replica (cold local cache) will meet the copy; both must be using Redis.
    let other = spawn_replica(&ig, &replica_env(&redis.url(), Some("2000"))).await;
    until_shared(&app, &other, &mut ig, &redis, "copy").await;
    let _real = valid_me(&mut ig, "IGT-real-owner", 1).await;
    expect_verdict(&app, "IGT-real-owner", true).await;
    assert!(
        redis
            .wait_for(&key_of("IGT-real-owner"), Duration::from_secs(5))
            .await
    );
    let genuine: String = redis
        .query(redis::cmd("GET").arg(key_of("IGT-real-owner")))
        .await;
    set(&redis, &key_of("IGT-attackers-own"), &genuine).await;
    let attacker = mock_me_on(
        &mut ig,
        "IGT-attackers-own",
        200,
        &me_body(OTHER_ID, "eve"),
        1,
    )
    .await;
    expect_verdict(&other, "IGT-attackers-own", false).await;
    assert_eq!(
        attacker.hits(),
        1,
        "the copy was ignored and Instagram asked"
    );
}

#[actix_web::test]
async fn a_rotated_secret_still_reads_what_the_previous_one_sealed() {
    let redis = Redis::start().await;
    let mut ig = mockito::Server::new_async().await;
    let old = spawn_replica(&ig, &replica_env(&redis.url(), Some("2000"))).await;
    until_connected(&old, &mut ig, &redis, REDIS_SECRET).await;
    let me = valid_me(&mut ig, "IGT-before-rotation", 1).await;
    expect_verdict(&old, "IGT-before-rotation", true).await;
    assert!(
        redis
            .wait_for(&key_of("IGT-before-rotation"), Duration::from_secs(5))
            .await
    );
    let new_secret = "rotated-redis-secret-0123456789abcdef";
    let mut env = replica_env(&redis.url(), Some("2000"));
    env.retain(|(k, _)| *k != "IGAUTH_CACHE__REDIS_SECRET");
    env.push(("IGAUTH_CACHE__REDIS_SECRET", new_secret.into()));
    env.push(("IGAUTH_CACHE__REDIS_SECRET_PREVIOUS", REDIS_SECRET.into()));
    let rotated = spawn_replica(&ig, &env).await;
    until_shared(&old, &rotated, &mut ig, &redis, "rotation").await;
    expect_verdict(&rotated, "IGT-before-rotation", true).await;
    assert_eq!(me.hits(), 1, "the rotated replica answered from Redis");
    // What it learns itself goes under the new secret's key.
    let _fresh = valid_me(&mut ig, "IGT-after-rotation", 1).await;
    expect_verdict(&rotated, "IGT-after-rotation", true).await;
    assert!(
        redis
            .wait_for(
                &key_with(new_secret, "IGT-after-rotation"),
                Duration::from_secs(5)
            )
            .await
    );
    // Without the previous secret, the old entries are not believed.
    let mut env = replica_env(&redis.url(), Some("2000"));
    env.retain(|(k, _)| *k != "IGAUTH_CACHE__REDIS_SECRET");
    env.push(("IGAUTH_CACHE__REDIS_SECRET", new_secret.into()));
    let stranger = spawn_replica(&ig, &env).await;
    until_connected(&stranger, &mut ig, &redis, new_secret).await;
    set(
        &redis,
        &key_with(new_secret, "IGT-before-rotation"),
        &redis
            .query::<String>(redis::cmd("GET").arg(key_of("IGT-before-rotation")))
            .await,
    )
    .await;
    expect_verdict(&stranger, "IGT-before-rotation", true).await;
    assert_eq!(
        me.hits(),
        2,
        "an old value under a new key was not believed"
    );
}

#[actix_web::test]
async fn replicas_share_verdicts_through_a_tls_redis_with_a_private_ca() {
    let redis = TlsRedis::start().await;
    let mut ig = mockito::Server::new_async().await;
    let mut env = replica_env(&redis.url(), Some("2000"));
    env.push(("IGAUTH_CACHE__REDIS_CA_FILE", redis.ca_file.clone()));
    let a = spawn_replica(&ig, &env).await;
    let b = spawn_replica(&ig, &env).await;
    // The connection is made in the background: probe until B answers what A learned.
    until_reused(&a, &b, &mut ig, "over TLS").await;
}
