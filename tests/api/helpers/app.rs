//! `spawn_app`: the real [`Application`] on port 0 with a mockito server as both Instagram hosts.

use igauth::settings::{Settings, Sources};
use igauth::startup::Application;

pub const API_KEY: &str = "test-api-key-0123456789abcdef-0123456789";
/// `Authorization` with [`API_KEY`].
pub const BEARER: &str = "Bearer test-api-key-0123456789abcdef-0123456789";
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

/// JSON with the service API key.
pub fn json_headers() -> [(&'static str, &'static str); 2] {
    [
        ("Content-Type", "application/json"),
        ("Authorization", BEARER),
    ]
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
        http: http_client(10),
    }
}

/// An HTTP client whose requests give up after `secs` seconds.
pub fn http_client(secs: u64) -> awc::Client {
    let builder = awc::Client::builder();
    builder
        .timeout(std::time::Duration::from_secs(secs))
        .finish()
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
        let headers = [
            ("Content-Type", "application/json"),
            ("Authorization", BEARER),
        ];
        self.post_with(path, &headers, body).await
    }

    /// POSTs a form with the service API key.
    pub async fn post_form(&self, path: &str, body: &str) -> Answer {
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", BEARER),
        ];
        self.post_with(path, &headers, body).await
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

    /// [`TestApp::webhook`] with the body streamed in `chunk`-byte pieces, no Content-Length,
    /// as Parse Server sends it.
    pub async fn webhook_chunked(&self, path: &str, body: &str, chunk: usize) -> Answer {
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Parse-Webhook-Key", WEBHOOK_KEY),
        ];
        let chunks = body.as_bytes().chunks(chunk).map(<[u8]>::to_vec).collect();
        self.post_chunked(path, &headers, chunks).await
    }

    /// Parse's `validate` Cloud Code function call for `id` and `token`.
    pub async fn parse_validate(&self, id: &str, token: &str) -> Answer {
        let body = serde_json::json!({ "params": { "id": id, "access_token": token } });
        self.webhook("/v1/parse/functions/validate", &body.to_string())
            .await
    }

    /// `POST /v1/introspect` of `token`, with the API key.
    pub async fn introspect(&self, token: &str) -> Answer {
        self.post_form("/v1/introspect", &format!("token={token}"))
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

    /// The `Retry-After` header in seconds (panics when absent or not a number).
    pub fn retry_after_secs(&self) -> u64 {
        let value = self.header("retry-after");
        let value = value.unwrap_or_else(|| panic!("no Retry-After: {}", self.text));
        value.parse().expect("Retry-After in seconds")
    }

    /// Asserts the body holds `needle`, showing the body when it does not.
    pub fn assert_has(&self, needle: &str) {
        assert!(
            self.text.contains(needle),
            "no {needle:?} in: {}",
            self.text
        );
    }

    /// Asserts the status is `status`; `why` says what it means.
    pub fn assert_status(&self, status: u16, why: &str) {
        assert_eq!(self.status, status, "{why}: {}", self.text);
    }

    /// Asserts the status is in `range` (a class such as `200..300`); `what` names the request.
    pub fn assert_status_in(&self, range: std::ops::Range<u16>, what: &str) {
        let status = self.status;
        assert!(range.contains(&status), "{what}: {status} {}", self.text);
    }

    /// The `error.message` of our error envelope.
    pub fn error_text(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.text))
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
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

/// Asserts `series` in the scrape `text` is at least `n`.
pub fn assert_metric_at_least(text: &str, series: &str, n: f64) {
    let value = metric(text, series);
    assert!(
        value.is_some_and(|v| v >= n),
        "{series} = {value:?}, not >= {n}\n{text}"
    );
}

/// [`metric`], 0 when the series is absent (a counter not yet incremented).
pub fn series(text: &str, series: &str) -> f64 {
    metric(text, series).unwrap_or(0.0)
}
