//! `spawn_app`: the real [`Application`] on port 0 with a mockito server as both Instagram hosts.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use igauth::settings::{Settings, Sources};
use igauth::startup::Application;

pub const API_KEY: &str = "test-api-key-0123456789abcdef-0123456789";
pub const WEBHOOK_KEY: &str = "test-webhook-key-9876543210";
pub const CLIENT_SECRET: &str = "test-client-secret-abcdef";
pub const REDIRECT_URI: &str = "https://app.example/auth/instagram";
/// An odd id above 2^53: any trip through f64 changes its last digit.
pub const BIG_ID: &str = "17841405793187219";

// --- Spawning: the app in this process, on port 0 --------------------------------------------

/// Settings every test starts from: exchange configured, API and webhook keys set, short timeout.
pub fn base_env(instagram_url: &str) -> Vec<(String, String)> {
    [
        ("IGAUTH_SERVER__BIND", "127.0.0.1:0"),
        ("IGAUTH_SERVER__WORKERS", "2"),
        ("IGAUTH_SERVER__API_KEY", API_KEY),
        ("IGAUTH_PARSE__WEBHOOK_KEY", WEBHOOK_KEY),
        ("IGAUTH_INSTAGRAM__API_URL", instagram_url),
        ("IGAUTH_INSTAGRAM__GRAPH_URL", instagram_url),
        ("IGAUTH_INSTAGRAM__CLIENT_ID", "1234567890"),
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        ("IGAUTH_INSTAGRAM__REDIRECT_URIS", REDIRECT_URI),
        ("IGAUTH_INSTAGRAM__TIMEOUT_MS", "3000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the app with the base settings plus `overrides` (later entries win).
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let instagram = mockito::Server::new_async().await;
    let instagram_url = instagram.url();
    start_app(instagram, &instagram_url, overrides)
}

/// Starts one more app (a replica) whose Instagram is the mockito server at `instagram_url`, with
/// the base settings plus `overrides`. Mock on that server: this app's own `instagram` is an idle
/// placeholder nothing calls.
pub async fn spawn_app_on(instagram_url: &str, overrides: &[(&str, &str)]) -> TestApp {
    let placeholder = mockito::Server::new_async().await;
    start_app(placeholder, instagram_url, overrides)
}

/// Builds and runs the app against `instagram_url` with the base settings plus `overrides`;
/// `instagram` becomes the returned app's mock server.
fn start_app(
    instagram: mockito::ServerGuard,
    instagram_url: &str,
    overrides: &[(&str, &str)],
) -> TestApp {
    let mut env = base_env(instagram_url);
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let settings = Settings::from_sources(Sources {
        file: None,
        env: Some(env),
    })
    .expect("test settings are valid");
    let app = Application::build(settings).expect("the app binds port 0");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        instagram,
        http: awc::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .finish(),
    }
}

// --- TestApp: requests to the app, and mocks on its Instagram --------------------------------

pub struct TestApp {
    pub address: String,
    /// `http://127.0.0.1:PORT` of the separate `/metrics` listener, when one is configured.
    pub metrics_address: Option<String>,
    pub instagram: mockito::ServerGuard,
    pub http: awc::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// POSTs JSON with the service API key; returns status, headers and parsed JSON body.
    pub async fn post_json(&self, path: &str, body: &str) -> Answer {
        let req = self
            .http
            .post(self.url(path))
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("Authorization", format!("Bearer {API_KEY}")));
        Answer::read(req.send_body(body.to_string()).await.expect("app answers")).await
    }

    /// POSTs a form with the service API key.
    pub async fn post_form(&self, path: &str, body: &str) -> Answer {
        let req = self
            .http
            .post(self.url(path))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .insert_header(("Authorization", format!("Bearer {API_KEY}")));
        Answer::read(req.send_body(body.to_string()).await.expect("app answers")).await
    }

    /// POSTs `body` with exactly `headers` (no API key, no Content-Type unless given).
    pub async fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut req = self.http.post(self.url(path));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        Answer::read(req.send_body(body.to_string()).await.expect("app answers")).await
    }

    /// GETs `path` with exactly `headers`.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.http.get(self.url(path));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        Answer::read(req.send().await.expect("app answers")).await
    }

    /// POSTs `chunks` as a streamed body: `Transfer-Encoding: chunked`, no Content-Length, the
    /// way Parse Server sends its webhook calls.
    pub async fn post_chunked(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        chunks: Vec<Vec<u8>>,
    ) -> Answer {
        let mut req = self.http.post(self.url(path));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let stream = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(actix_web::web::Bytes::from(c))),
        );
        Answer::read(req.send_stream(stream).await.expect("app answers")).await
    }

    /// POSTs a Parse webhook call (JSON, with the configured `X-Parse-Webhook-Key`).
    pub async fn webhook(&self, path: &str, body: &str) -> Answer {
        self.post_with(
            path,
            &[
                ("Content-Type", "application/json"),
                ("X-Parse-Webhook-Key", WEBHOOK_KEY),
            ],
            body,
        )
        .await
    }

    pub async fn validate(&self, id: &str, token: &str) -> Answer {
        self.post_json(
            "/v1/validate",
            &format!(r#"{{"id":"{id}","access_token":"{token}"}}"#),
        )
        .await
    }

    /// The Prometheus text of `GET /metrics` (on the metrics listener when there is one).
    pub async fn scrape(&self) -> String {
        let base = self.metrics_address.as_ref().unwrap_or(&self.address);
        let answer = self.http.get(format!("{base}/metrics")).send().await;
        let answer = Answer::read(answer.expect("app answers")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.text
    }

    /// Mocks `/me` for `token` answering `status` with `body`.
    pub async fn mock_me(&mut self, token: &str, status: usize, body: &str) -> mockito::Mock {
        self.instagram
            .mock("GET", "/me")
            .match_query(mockito::Matcher::AllOf(vec![
                mockito::Matcher::UrlEncoded("access_token".into(), token.into()),
                mockito::Matcher::UrlEncoded("fields".into(), "id,user_id,username".into()),
            ]))
            .with_status(status)
            .with_header("content-type", "application/json")
            .with_body(body)
            .create_async()
            .await
    }

    /// Catch-all mocks expecting no call at all on either Instagram host; check them with
    /// [`assert_all`]. mockito serves a matching mock still short of its expected hits first,
    /// else the newest match: create these after any specific mocks, so they only catch calls
    /// beyond those.
    pub async fn instagram_never_called(&mut self) -> [mockito::Mock; 2] {
        let get = self
            .instagram
            .mock("GET", mockito::Matcher::Any)
            .with_status(500)
            .expect(0)
            .create_async()
            .await;
        let post = self
            .instagram
            .mock("POST", mockito::Matcher::Any)
            .with_status(500)
            .expect(0)
            .create_async()
            .await;
        [get, post]
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub async fn read(mut res: awc::ClientResponse) -> Answer {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.body().limit(1 << 20).await.expect("body");
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `error.code` of our error envelope.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error envelope: {}", self.text))
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

// --- Instagram's answers, and checking the mocks ---------------------------------------------

/// Instagram's code-exchange answer as seen in practice: flat, `user_id` a JSON number.
pub fn grant_body(token: &str) -> String {
    format!(
        r#"{{"access_token":"{token}","user_id":{BIG_ID},"permissions":["instagram_business_basic"]}}"#
    )
}

pub fn me_body(id: &str, username: &str) -> String {
    format!(r#"{{"id":"{id}","username":"{username}"}}"#)
}

pub const INVALID_TOKEN_BODY: &str = r#"{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}"#;
pub const EXPIRED_TOKEN_BODY: &str = r#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC"}}"#;
pub const RATE_LIMITED_BODY: &str = r#"{"error":{"message":"Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"AbC"}}"#;
/// The code exchange refusing a code that was already traded.
pub const USED_CODE_BODY: &str = r#"{"error_type":"OAuthException","code":400,"error_message":"This authorization code has been used"}"#;

/// Asserts each mock got exactly its expected calls.
pub async fn assert_all(mocks: &[mockito::Mock]) {
    for mock in mocks {
        mock.assert_async().await;
    }
}

/// A chunked mock body that counts each answer in `hits`, waits `delay` (real time on the wire,
/// so concurrent callers overlap) and then writes `body`.
pub fn counted_body(
    hits: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    body: &str,
    delay: std::time::Duration,
) -> impl Fn(&mut dyn std::io::Write) -> std::io::Result<()> + Send + Sync + 'static {
    let counter = hits.clone();
    let body = body.to_string();
    move |w| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        w.write_all(body.as_bytes())
    }
}

// --- Reading Prometheus text (used by shared_cache and metrics) -------------------------------

/// The value of one series in Prometheus text, `series` written exactly as exposed (labels in
/// their exposed order), e.g. `igauth_cache_hits_total` or
/// `igauth_http_requests_total{route="/v1/validate",status="200"}`. `None` when absent.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().expect("a number"))
        })
}

// --- The real binary as a child process (used by logs, metrics, login and shutdown) ----------

/// The `igauth` binary as a child process on 127.0.0.1, port 0, configured only by the
/// environment it is given, stdout and stderr captured. Killed on drop if still running.
pub struct ChildApp {
    child: Child,
    /// The port it listens on, from its startup line.
    pub port: u16,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// How the child ended and everything it wrote.
pub struct Exited {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ChildApp {
    /// Starts the binary with `env` and nothing inherited; returns once it has logged
    /// its port and `/readyz` answers 200 there (panics with its output after 60 s).
    pub async fn spawn(env: &[(&str, &str)]) -> ChildApp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_igauth"))
            .env_clear()
            .env("IGAUTH_SERVER__BIND", "127.0.0.1:0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the igauth binary starts");
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let readers = vec![
            capture(child.stdout.take().expect("stdout is piped"), &stdout),
            capture(child.stderr.take().expect("stderr is piped"), &stderr),
        ];
        let mut app = ChildApp {
            child,
            port: 0,
            stdout,
            stderr,
            readers,
        };
        let http = awc::Client::builder()
            .timeout(Duration::from_secs(2))
            .finish();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            app.port = listening_port(&app.stderr.lock().unwrap()).unwrap_or(0);
            if app.port != 0 {
                // Connection: close, so no idle keep-alive connection outlives the check.
                let ready = http.get(app.url("/readyz")).force_close().send().await;
                if ready.is_ok_and(|res| res.status() == 200) {
                    return app;
                }
            }
            if let Some(status) = app.child.try_wait().expect("waitable") {
                app.fail(format_args!("igauth exited ({status}) before it was ready"));
            }
            if Instant::now() > deadline {
                app.fail("igauth was not listening with /readyz 200 within 60 s");
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends SIGTERM (`kill -TERM`), as an orchestrator stopping the container would.
    pub fn sigterm(&self) {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(kill.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Waits for the child to exit (panics with its output if it still runs after 30 s).
    pub async fn exited(mut self) -> Exited {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waitable") {
                break status;
            }
            if Instant::now() > deadline {
                self.fail("igauth still running 30 s after SIGTERM");
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        };
        let (stdout, stderr) = self.output();
        Exited {
            status,
            stdout,
            stderr,
        }
    }

    /// SIGTERM, then [`ChildApp::exited`].
    pub async fn terminate(self) -> Exited {
        self.sigterm();
        self.exited().await
    }

    /// All of stdout and stderr, once the child has exited (its pipes closed).
    fn output(&mut self) -> (String, String) {
        for reader in self.readers.drain(..) {
            reader.join().expect("the reader thread ends");
        }
        let take = |text: &Mutex<String>| std::mem::take(&mut *text.lock().unwrap());
        (take(&self.stdout), take(&self.stderr))
    }

    /// Kills the child and panics with `why` and all it wrote.
    fn fail(&mut self, why: impl std::fmt::Display) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (stdout, stderr) = self.output();
        panic!("{why}\n--- stderr:\n{stderr}--- stdout:\n{stdout}");
    }
}

impl Drop for ChildApp {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A thread appending each line of `pipe` to `text` (lossily, so odd bytes never stop the
/// draining and block the child on a full pipe) until the pipe closes.
fn capture(
    pipe: impl Read + Send + 'static,
    text: &Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    let text = text.clone();
    std::thread::spawn(move || {
        let mut pipe = BufReader::new(pipe);
        let mut line = Vec::new();
        while pipe.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            text.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&line));
            line.clear();
        }
    })
}

/// The port in the startup line `igauth listening on port N`, plain or inside a JSON log line.
fn listening_port(log: &str) -> Option<u16> {
    let after = log.split_once("listening on port ")?.1;
    let end = after.find(|c: char| !c.is_ascii_digit())?;
    after[..end].parse().ok()
}
