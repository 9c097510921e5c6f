//! SIGTERM under load: the real binary stops accepting, lets in-flight validations finish, and
//! exits 0. Instagram is a raw TCP server here so the test knows exactly when each request is
//! in flight and decides when it ends: no sleeps, no races.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::helpers::upstream::read_request;
use crate::helpers::{http_client, ChildApp, BIG_ID};

const IN_FLIGHT: usize = 4;

/// Accepts connections, reports each request it reads, answers only once `release` flips.
async fn held_instagram(
    listener: TcpListener,
    seen: mpsc::Sender<()>,
    release: watch::Receiver<bool>,
) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let seen = seen.clone();
        let mut release = release.clone();
        actix_web::rt::spawn(async move {
            if !read_request(&mut socket).await {
                return;
            }
            let _ = seen.send(()).await;
            let _ = release.wait_for(|go| *go).await;
            let body = format!(r#"{{"id":"{BIG_ID}","username":"jay"}}"#);
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}

#[actix_web::test]
async fn sigterm_lets_in_flight_requests_finish_and_exits_zero() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    let (seen_tx, mut seen_rx) = mpsc::channel(IN_FLIGHT);
    let (release_tx, release_rx) = watch::channel(false);
    actix_web::rt::spawn(held_instagram(listener, seen_tx, release_rx));

    let app = ChildApp::spawn(&[
        ("IGAUTH_SERVER__SHUTDOWN_GRACE_SECS", "10"),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", &upstream),
        ("IGAUTH_INSTAGRAM__TIMEOUT_MS", "20000"),
        ("IGAUTH_CACHE__TTL_SECS", "0"),
        ("RUST_LOG", "info"),
    ])
    .await;

    let client = http_client(30);
    let mut requests = Vec::new();
    for _ in 0..IN_FLIGHT {
        let req = client
            .post(app.url("/v1/validate"))
            .insert_header(("Content-Type", "application/json"))
            .send_body(format!(r#"{{"id":"{BIG_ID}","access_token":"IGT-held"}}"#));
        requests.push(actix_web::rt::spawn(async move {
            let mut res = req.await.expect("an answer, not a dropped connection");
            let status = res.status().as_u16();
            let body = res.body().await.unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }));
    }
    for _ in 0..IN_FLIGHT {
        seen_rx
            .recv()
            .await
            .expect("every request reaches Instagram");
    }

    app.sigterm();

    // It stops accepting new connections while the held requests are still in flight.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", app.port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting 5 s after SIGTERM"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }

    release_tx.send(true).unwrap();
    for request in requests {
        let (status, body) = request.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""valid":true"#), "{body}");
    }
    let exited = app.exited().await;
    assert_eq!(
        exited.status.code(),
        Some(0),
        "graceful shutdown exits 0:\n{}",
        exited.stderr
    );
}
