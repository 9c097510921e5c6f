//! Child-process harness: the real `igauth` binary, configured only by its environment, for
//! what only a whole process shows (its log lines, its exit on SIGTERM, its startup checks).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Answer;

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
        let http = super::http_client(2);
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

    /// POSTs `body` to `path` with exactly `headers`.
    pub async fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut req = awc::Client::default().post(self.url(path));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        Answer::read(
            req.send_body(body.to_string())
                .await
                .expect("igauth answers"),
        )
        .await
    }

    /// GETs `path` with exactly `headers`.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = awc::Client::default().get(self.url(path));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        Answer::read(req.send().await.expect("igauth answers")).await
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
