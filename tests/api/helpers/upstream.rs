//! A raw TCP Instagram for what mockito cannot do: reset a connection, hang, answer late or cut
//! a body short of its Content-Length. One request per connection, scripted by connection number.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{me_body, BIG_ID};

/// What the raw fake Instagram does with one connection.
#[derive(Clone, Debug)]
pub enum Conduct {
    /// Accept and drop the socket at once.
    Reset,
    /// Accept, read the request, never answer (the socket stays open).
    Hang,
    /// Answer after `delay`; with `short` the body is cut off before its Content-Length.
    Answer {
        delay: Duration,
        status: u16,
        body: String,
        short: bool,
    },
}

/// A raw TCP Instagram, one request per connection, scripted by connection number.
pub struct RawUpstream {
    pub url: String,
    connections: Arc<AtomicUsize>,
}

impl RawUpstream {
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

pub async fn raw_upstream(script: impl Fn(usize) -> Conduct + 'static) -> RawUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    actix_web::rt::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let conduct = script(n);
            actix_web::rt::spawn(serve(socket, conduct));
        }
    });
    RawUpstream { url, connections }
}

async fn serve(mut socket: TcpStream, conduct: Conduct) {
    if let Conduct::Reset = conduct {
        drop(socket);
        return;
    }
    read_request(&mut socket).await;
    match conduct {
        Conduct::Reset => unreachable!(),
        Conduct::Hang => {
            std::future::pending::<()>().await;
        }
        Conduct::Answer {
            delay,
            status,
            body,
            short,
        } => {
            actix_web::rt::time::sleep(delay).await;
            let declared = if short { body.len() + 100 } else { body.len() };
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                 content-length: {declared}\r\nconnection: close\r\n\r\n"
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
            let _ = socket.flush().await;
        }
    }
}

/// Reads one request head and its body (so closing the socket does not reset it); false when
/// the client hung up first.
pub async fn read_request(socket: &mut TcpStream) -> bool {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

/// Accepts connections and never answers: Instagram hanging.
pub async fn silent_instagram() -> String {
    holding_instagram(false).await
}

/// Answers the status line, headers and half of a `/me` body, then stalls with the socket open.
/// (A raw listener, not mockito's `with_chunked_body` + sleep: mockito joins that body thread on
/// its server thread when we hang up, stalling whichever test gets the pooled server next.)
pub async fn stalling_instagram() -> String {
    holding_instagram(true).await
}

/// Accepts connections and holds every one open; with `half_an_answer`, only after reading the
/// request and writing the head and half the body of a `/me` answer.
async fn holding_instagram(half_an_answer: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    actix_web::rt::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            if half_an_answer {
                read_request(&mut socket).await;
                let body = me_body(BIG_ID, "jay");
                let half = &body[..body.len() / 2];
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{half}",
                    body.len(),
                );
                let _ = socket.write_all(head.as_bytes()).await;
            }
            held.push(socket);
        }
    });
    url
}
