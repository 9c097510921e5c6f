//! A real `redis-server` (Debian package `redis-server`) as a child process on a free loopback
//! port: plain (no persistence, killed on drop, readiness polled) or TLS-only with a private CA.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process on a fixed loopback port; killed on drop.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    /// A port nothing listens on right now.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port()
    }

    /// Starts Redis on a free port and waits until it answers PING.
    pub async fn start() -> Redis {
        let mut redis = Redis::not_started(Redis::free_port());
        redis.restart().await;
        redis
    }

    /// A handle for `port` with no server yet (see [`Redis::restart`]).
    pub fn not_started(port: u16) -> Redis {
        Redis { port, child: None }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts Redis on the same port, empty, and waits until it answers PING.
    pub async fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .args(["--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}): install it with `apt-get install -y redis-server`")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "redis-server exited ({status}) instead of serving port {}",
                    self.port
                );
            }
            if self.ping().await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server never answered PING"
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn ping(&self) -> bool {
        pong(self.connection(), Duration::from_secs(1)).await
    }

    pub async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    /// Runs one command on a fresh connection (so a restart never leaves it stale).
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let mut conn = self.connection().await.expect("the test reaches Redis");
        cmd.query_async(&mut conn).await.expect("Redis answers")
    }

    pub async fn exists(&self, key: &str) -> bool {
        self.query::<i64>(redis::cmd("EXISTS").arg(key)).await == 1
    }

    /// Waits (bounded) for a key that a replica writes in the background.
    pub async fn wait_for(&self, key: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.exists(key).await {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Kills Redis outright (SIGKILL: no goodbye to its clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (STOP, CONT) to the running server.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis is running").id();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // SIGKILL ends a stopped (SIGSTOP) server too.
        self.stop();
    }
}

/// A TLS-only `redis-server` whose certificate a private CA signed (made with openssl here).
pub struct TlsRedis {
    pub port: u16,
    pub ca_file: String,
    _dir: TempDir,
    child: Child,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?}");
}

impl TlsRedis {
    pub async fn start() -> TlsRedis {
        let dir = std::env::temp_dir().join(format!(
            "igauth-tls-redis-{}-{}",
            std::process::id(),
            Redis::free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        openssl(
            &dir,
            &[
                &["req", "-x509"],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=igauth test CA",
                ],
            ]
            .concat(),
        );
        openssl(
            &dir,
            &[
                &["req"],
                &ec[..],
                &[
                    "-keyout",
                    "redis.key",
                    "-out",
                    "redis.csr",
                    "-subj",
                    "/CN=localhost",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "redis.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "redis.pem",
                "-days",
                "1",
                "-extfile",
                "san.ext",
            ],
        );
        let port = Redis::free_port();
        let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--tls-cert-file", &path("redis.pem")])
            .args(["--tls-key-file", &path("redis.key")])
            .args(["--tls-ca-cert-file", &path("ca.pem")])
            .args(["--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no", "--dir", &path("")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        let redis = TlsRedis {
            port,
            ca_file: path("ca.pem"),
            _dir: TempDir(dir),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !redis.ping().await {
            assert!(
                Instant::now() < deadline,
                "the TLS redis-server never answered"
            );
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        redis
    }

    pub fn url(&self) -> String {
        format!("rediss://localhost:{}", self.port)
    }

    pub async fn ping(&self) -> bool {
        let Ok(pem) = std::fs::read(&self.ca_file) else {
            return false;
        };
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        };
        let Ok(client) = redis::Client::build_with_tls(self.url(), certificates) else {
            return false;
        };
        pong(
            client.get_multiplexed_async_connection(),
            Duration::from_secs(2),
        )
        .await
    }
}

/// Whether the connection `connect` makes answers PING with PONG, all within `within`.
async fn pong(
    connect: impl std::future::Future<Output = redis::RedisResult<redis::aio::MultiplexedConnection>>,
    within: Duration,
) -> bool {
    let attempt = async {
        let mut conn = connect.await.ok()?;
        let cmd = redis::cmd("PING");
        cmd.query_async::<String>(&mut conn).await.ok()
    };
    let answer = actix_web::rt::time::timeout(within, attempt).await;
    answer.ok().flatten().as_deref() == Some("PONG")
}
