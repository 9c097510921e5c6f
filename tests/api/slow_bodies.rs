//! Slow clients: a body that stalls or dribbles gets 408 in the error envelope once
//! `IGAUTH_LIMITS__BODY_TIMEOUT_MS` has passed, and its connection is closed; while many such
//! connections are open, health checks and validations are still answered at once; and a
//! webhook with the wrong key is refused before its body is read.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn port(app: &TestApp) -> u16 {
    app.address.rsplit(':').next().unwrap().parse().unwrap()
}

/// Opens a connection and sends a request's headers promising `length` body bytes, and `sent`
/// of them.
async fn start_post(
    app: &TestApp,
    path: &str,
    headers: &str,
    length: usize,
    sent: &[u8],
) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port(app))).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {API_KEY}\r\n{headers}Content-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(sent).await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection (bounded by `within`).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the connection was not closed within {within:?}"
    );
    String::from_utf8_lossy(&out).into_owned()
}

#[actix_web::test]
async fn a_stalled_body_gets_408_and_its_connection_is_closed() {
    let app = spawn_app_with(&[("IGAUTH_LIMITS__BODY_TIMEOUT_MS", "400")]).await;
    let started = Instant::now();
    let mut stream = start_post(&app, "/v1/validate", "", 100, br#"{"id":"1","#).await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[actix_web::test]
async fn a_body_that_never_starts_gets_408_too() {
    // Headers only: no body byte ever arrives to wake the handler, so the deadline must be armed
    // without one.
    let app = spawn_app_with(&[("IGAUTH_LIMITS__BODY_TIMEOUT_MS", "400")]).await;
    let started = Instant::now();
    let mut stream = start_post(&app, "/v1/validate", "", 100, b"").await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[actix_web::test]
async fn a_dribbling_body_is_cut_off_at_the_deadline() {
    let app = spawn_app_with(&[("IGAUTH_LIMITS__BODY_TIMEOUT_MS", "500")]).await;
    let started = Instant::now();
    let mut stream = start_post(&app, "/v1/validate", "", 4000, b"{").await;
    // One byte every 50 ms would take minutes; each byte resets no timer.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < Duration::from_secs(5) {
        if stream.write_all(b" ").await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let took = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[actix_web::test]
async fn with_150_stalled_connections_health_and_validation_answer_at_once() {
    let mut app = spawn_app().await;
    let mut stalled = Vec::new();
    for _ in 0..150 {
        stalled.push(start_post(&app, "/v1/validate", "", 1000, b"{").await);
    }
    let me = app.me_ok("IGT-busy").await;
    let started = Instant::now();
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let answer = app.validate(BIG_ID, "IGT-busy").await;
    assert_valid(&answer);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "{took:?} with 150 stalled bodies"
    );
    me.assert_async().await;
    drop(stalled);
}

#[actix_web::test]
async fn a_webhook_with_the_wrong_key_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    let started = Instant::now();
    let mut stream = start_post(
        &app,
        "/v1/parse/functions/validate",
        "X-Parse-Webhook-Key: not-the-key\r\nConnection: close\r\n",
        1_000_000,
        b"{",
    )
    .await;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("could not be verified"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[actix_web::test]
async fn connections_per_worker_are_capped_and_the_body_deadline_frees_them() {
    let app = spawn_app_with(&[
        ("IGAUTH_SERVER__WORKERS", "1"),
        ("IGAUTH_SERVER__MAX_CONNECTIONS", "3"),
        ("IGAUTH_LIMITS__BODY_TIMEOUT_MS", "600"),
    ])
    .await;
    let mut stalled = Vec::new();
    for _ in 0..3 {
        stalled.push(start_post(&app, "/v1/validate", "", 1000, b"{").await);
    }
    // The cap is reached: the next connection waits until a stalled body is cut off.
    let started = Instant::now();
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(health.status().as_u16(), 200);
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(5),
        "answered after {took:?}: the cap did not hold, or nothing freed a slot"
    );
    drop(stalled);
}
