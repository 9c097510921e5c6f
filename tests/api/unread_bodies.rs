//! Answers sent before the body was read (the router's 404 and 405, the guards' 401, 415...)
//! end their connection: a client dribbling a chunked body it never finishes cannot hold a
//! connection slot past `IGAUTH_LIMITS__BODY_TIMEOUT_MS`, so it cannot take the service off the
//! air. A body that was wholly sent keeps its connection alive as before.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn port(app: &TestApp) -> u16 {
    app.address.rsplit(':').next().unwrap().parse().unwrap()
}

/// Requests that are answered without their body being read, each with a chunked body.
const EARLY_ANSWERS: [(&str, &str, &str); 5] = [
    ("POST", "/no-such-route", ""),
    ("GET", "/v1/validate", ""),
    (
        "POST",
        "/v1/validate",
        "Authorization: Bearer not-the-key\r\n",
    ),
    (
        "POST",
        "/v1/meta/data-deletion",
        "Content-Type: text/plain\r\n",
    ),
    (
        "POST",
        "/v1/parse/functions/validate",
        "X-Parse-Webhook-Key: not-the-key\r\n",
    ),
];

/// Sends a request's head and then one 6-byte chunk every 200 ms, never the last chunk, for up
/// to `budget`. Returns what the server sent and when it closed the connection (None: it never
/// did within the budget).
async fn dribble(
    port: u16,
    request: (&str, &str, &str),
    budget: Duration,
) -> (String, Option<Duration>) {
    let (method, path, headers) = request;
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Transfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < budget {
        if stream.write_all(b"6\r\nabcdef\r\n").await.is_err() {
            return (lossy(&answer), Some(started.elapsed()));
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (lossy(&answer), Some(started.elapsed())),
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (lossy(&answer), None)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[actix_web::test]
async fn dribbled_chunked_bodies_to_early_answers_cannot_exhaust_the_connection_cap() {
    let app = spawn_app_with(&[
        ("IGAUTH_SERVER__API_KEY", API_KEY),
        ("IGAUTH_SERVER__WORKERS", "1"),
        ("IGAUTH_SERVER__MAX_CONNECTIONS", "16"),
        ("IGAUTH_LIMITS__BODY_TIMEOUT_MS", "1000"),
    ])
    .await;
    let port = port(&app);
    // 24 dribblers for 16 slots: the last 8 wait in the backlog until slots free up.
    let budget = Duration::from_secs(12);
    let dribblers: Vec<_> = (0..24)
        .map(|i| actix_web::rt::spawn(dribble(port, EARLY_ANSWERS[i % 5], budget)))
        .collect();
    // Give the dribblers a head start so they hold the slots when the health check comes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let health = tokio::time::timeout(
        Duration::from_secs(6),
        app.http.get(app.url("/healthz")).send(),
    )
    .await
    .expect("/healthz answered while bodies dribble")
    .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "/healthz took {took:?}");
    for (i, dribbler) in dribblers.into_iter().enumerate() {
        let (answer, closed) = dribbler.await.unwrap();
        let (method, path, _) = EARLY_ANSWERS[i % 5];
        let status = answer.get(9..12).unwrap_or("none");
        assert!(
            ["404", "405", "401", "415", "503", "200"].contains(&status),
            "{method} {path}: {answer}"
        );
        // Answered at once, then at most the linger (capped at the body deadline); the later
        // dribblers first waited for a slot.
        let closed = closed.unwrap_or_else(|| panic!("{method} {path} was never closed: {answer}"));
        assert!(
            closed < Duration::from_secs(6),
            "{method} {path} closed after {closed:?}"
        );
    }
}

#[actix_web::test]
async fn a_chunked_body_sent_whole_keeps_its_connection_alive() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(("127.0.0.1", port(&app))).await.unwrap();
    let request = "POST /no-such-route HTTP/1.1\r\nHost: localhost\r\n\
                   Transfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n";
    for round in 0..2 {
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
            .await
            .expect("answered")
            .unwrap();
        let answer = lossy(&buf[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 404"),
            "round {round}: {answer}"
        );
        assert!(
            !answer.to_ascii_lowercase().contains("connection: close"),
            "round {round}: {answer}"
        );
    }
}
