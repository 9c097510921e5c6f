//! Instagram played by mockito: its answers as seen in practice, `/me` mocks (plain and
//! counting) and the checks that mocks got exactly their calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mockito::{Matcher, ServerGuard};

use super::{TestApp, BIG_ID};

impl TestApp {
    /// Mocks `/me` for `token` answering `status` with `body`.
    pub async fn mock_me(&mut self, token: &str, status: usize, body: &str) -> mockito::Mock {
        let fields = [("access_token", token), ("fields", "id,user_id,username")];
        instagram_call(&mut self.instagram, "GET", "/me", &fields, status, body)
            .create_async()
            .await
    }

    /// Mocks `/me` for `token` answering 200: the user `id`, named jay.
    pub async fn me_is(&mut self, token: &str, id: &str) -> mockito::Mock {
        self.mock_me(token, 200, &me_body(id, "jay")).await
    }

    /// Mocks `/me` for `token` answering 200: the user [`BIG_ID`], named jay.
    pub async fn me_ok(&mut self, token: &str) -> mockito::Mock {
        self.me_is(token, BIG_ID).await
    }

    /// `GET /me` with any query, not yet created: a test adds the answer.
    pub fn any_me(&mut self) -> mockito::Mock {
        self.instagram.mock("GET", "/me").match_query(Matcher::Any)
    }

    /// Instagram's code exchange for any code, answering `status` with `body`.
    pub async fn code_exchange_answers(&mut self, status: usize, body: &str) -> mockito::Mock {
        let mock = self.instagram.mock("POST", "/oauth/access_token");
        mock.with_status(status)
            .with_body(body)
            .create_async()
            .await
    }

    /// Instagram's code exchange (`POST /oauth/access_token`) for any code, not yet created.
    pub fn code_exchange(&mut self) -> mockito::Mock {
        self.instagram.mock("POST", "/oauth/access_token")
    }

    /// Instagram's code exchange of exactly `code`, not yet created.
    pub fn code_exchange_of(&mut self, code: &str) -> mockito::Mock {
        let code = Matcher::UrlEncoded("code".into(), code.into());
        self.code_exchange().match_body(code)
    }

    /// Catch-all mocks expecting no call at all on either Instagram host; check them with
    /// [`assert_all`]. mockito serves a matching mock still short of its expected hits first,
    /// else the newest match: create these after any specific mocks, so they only catch calls
    /// beyond those.
    pub async fn instagram_never_called(&mut self) -> [mockito::Mock; 2] {
        let mut never = Vec::new();
        for method in ["GET", "POST"] {
            let mock = self.instagram.mock(method, Matcher::Any);
            never.push(mock.with_status(500).expect(0).create_async().await);
        }
        never.try_into().expect("two mocks")
    }
}

/// A mock's answer as Instagram gives it: `status`, JSON `body`.
pub trait JsonAnswer {
    fn answer(self, status: usize, body: impl AsRef<[u8]>) -> Self;
}

impl JsonAnswer for mockito::Mock {
    fn answer(self, status: usize, body: impl AsRef<[u8]>) -> Self {
        let json = self
            .with_status(status)
            .with_header("content-type", "application/json");
        json.with_body(body)
    }
}

/// A fresh app whose `/me` for `token` answers `status` with `body`, expected exactly once.
pub async fn app_where_me(token: &str, status: usize, body: &str) -> (TestApp, mockito::Mock) {
    let mut app = super::spawn_app().await;
    let me = app.mock_me(token, status, body).await;
    (app, me)
}

/// [`app_where_me`] for an answer igauth may ask again (a 5xx it retries): at least once.
pub async fn app_where_me_retried(
    token: &str,
    status: usize,
    body: &str,
) -> (TestApp, mockito::Mock) {
    let (app, me) = app_where_me(token, status, body).await;
    (app, me.expect_at_least(1))
}

/// [`spawn_app_with`] `overrides`, with mocks expecting no call on Instagram at all
/// ([`TestApp::instagram_never_called`]); check them with [`assert_all`].
pub async fn spawn_app_unasked(overrides: &[(&str, &str)]) -> (TestApp, [mockito::Mock; 2]) {
    let mut app = super::spawn_app_with(overrides).await;
    let never = app.instagram_never_called().await;
    (app, never)
}

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

/// A `/me` mock (on any mockito Instagram, such as one shared by replicas) that counts the calls
/// it answers.
pub struct Me {
    hits: Arc<AtomicUsize>,
    pub mock: mockito::Mock,
}

impl Me {
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub async fn mock_me_on(
    ig: &mut ServerGuard,
    token: &str,
    status: usize,
    body: &str,
    expect: usize,
) -> Me {
    let hits = Arc::new(AtomicUsize::new(0));
    let mock = counted_me(ig, token, status, body, Duration::ZERO, &hits);
    let mock = mock.expect(expect).create_async().await;
    Me { hits, mock }
}

/// Mocks `/me` for `token`: `status` and `body`, after `delay` (sent as a chunked body, so the
/// delay is real time on the wire and concurrent callers overlap), counting the calls.
pub async fn slow_me_on(
    ig: &mut ServerGuard,
    token: &str,
    status: usize,
    body: &str,
    delay: Duration,
) -> Me {
    let hits = Arc::new(AtomicUsize::new(0));
    let mock = counted_me(ig, token, status, body, delay, &hits);
    Me {
        mock: mock.create_async().await,
        hits,
    }
}

/// A `/me` mock for `token`, not yet created, whose answers `hits` counts.
fn counted_me(
    ig: &mut ServerGuard,
    token: &str,
    status: usize,
    body: &str,
    delay: Duration,
    hits: &Arc<AtomicUsize>,
) -> mockito::Mock {
    ig.mock("GET", "/me")
        .match_query(Matcher::UrlEncoded("access_token".into(), token.into()))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_chunked_body(counted_body(hits, body, delay))
}

pub async fn valid_me(ig: &mut ServerGuard, token: &str, expect: usize) -> Me {
    mock_me_on(ig, token, 200, &me_body(BIG_ID, "jay"), expect).await
}

pub const BAD_CODE_BODY: &str =
    r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid authorization code"}"#;

/// Instagram refuses every code: a cheap, deterministic answer that is not a 429.
pub async fn refuse_codes(app: &mut TestApp) -> mockito::Mock {
    app.instagram
        .mock("POST", "/oauth/access_token")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(BAD_CODE_BODY)
        .expect_at_least(0)
        .create_async()
        .await
}

/// One Instagram call not yet created: `method path` whose query (GET) or form body (POST)
/// holds every pair of `fields`, answered `status` with the JSON `body`.
pub fn instagram_call(
    ig: &mut ServerGuard,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
    status: usize,
    body: &str,
) -> mockito::Mock {
    let fields = Matcher::AllOf(
        fields
            .iter()
            .map(|(name, value)| Matcher::UrlEncoded(name.to_string(), value.to_string()))
            .collect(),
    );
    let mock = ig.mock(method, path);
    let mock = if method == "GET" {
        mock.match_query(fields)
    } else {
        mock.match_body(fields)
    };
    mock.with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body)
}
