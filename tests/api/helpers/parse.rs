//! Parse Server played by mockito, and Meta's signed requests: an app whose Parse is a mock,
//! mocks that check the master key and app id, and `signed_request`s signed the way Meta signs
//! them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mockito::Matcher;

use super::meta_store::FakeStatusClass;
use super::{spawn_app_with, Answer, ChildApp, TestApp, CLIENT_SECRET};

pub const MASTER_KEY: &str = "master-key-of-the-api-tests-7d41";
pub const APP_ID: &str = "app-api-tests";
pub const PUBLIC_URL: &str = "https://auth.example/igauth";
/// The Instagram id Meta's signed requests name, unless a test says otherwise.
pub const IG_ID: &str = "17841405793187219";

/// `base64url(HMAC-SHA256(secret, payload_b64)) + "." + payload_b64`, as Meta documents.
pub fn sign_with(secret: &str, payload: &str) -> String {
    let encoded = URL_SAFE_NO_PAD.encode(payload);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let sig = ring::hmac::sign(&key, encoded.as_bytes());
    format!("{}.{encoded}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// Seconds since the epoch: signed requests must be fresh.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A request Meta signed at `issued_at` (seconds since the epoch).
pub fn signed_at(user_id: &str, issued_at: u64) -> String {
    sign_with(
        CLIENT_SECRET,
        &format!(r#"{{"algorithm":"HMAC-SHA256","issued_at":{issued_at},"user_id":"{user_id}"}}"#),
    )
}

/// A request Meta signed just now.
pub fn signed(user_id: &str) -> String {
    signed_at(user_id, now_secs())
}

/// The form body Meta posts: `signed_request=...`.
pub fn signed_form(signed_request: &str) -> String {
    serde_urlencoded::to_string([("signed_request", signed_request)]).unwrap()
}

/// What igauth does in Parse on each callback.
pub const DEAUTHORIZE_DELETES: (&str, &str) = ("IGAUTH_PARSE__ON_DEAUTHORIZE", "delete_user");
pub const DEAUTHORIZE_REVOKES: (&str, &str) = ("IGAUTH_PARSE__ON_DEAUTHORIZE", "revoke_sessions");
pub const DELETION_DELETES: (&str, &str) = ("IGAUTH_PARSE__ON_DATA_DELETION", "delete_user");

/// Meta's callbacks.
pub const DEAUTHORIZE: &str = "/v1/meta/deauthorize";
pub const DATA_DELETION: &str = "/v1/meta/data-deletion";

/// Meta's POST of `signed_request` to one of its callbacks.
pub async fn post(app: &TestApp, path: &str, signed_request: &str) -> Answer {
    app.post_with(
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &signed_form(signed_request),
    )
    .await
}

/// The `confirmation_code` of a data-deletion answer.
pub fn confirmation_code(answer: &Answer) -> String {
    let code = answer.json()["confirmation_code"]
        .as_str()
        .map(str::to_string);
    code.unwrap_or_else(|| panic!("no confirmation code: {}", answer.text))
}

/// The `IGAUTH_PARSE__SERVER_URL` of a mockito Parse.
pub fn server_url(parse: &mockito::ServerGuard) -> String {
    format!("{}/parse", parse.url())
}

/// The settings of an igauth whose Parse is at `server_url`: Meta's secret, the public URL
/// status links start with, Parse's app id and master key.
pub fn parse_env(server_url: &str) -> Vec<(&str, &str)> {
    vec![
        ("IGAUTH_INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET),
        ("IGAUTH_SERVER__PUBLIC_URL", PUBLIC_URL),
        ("IGAUTH_PARSE__SERVER_URL", server_url),
        ("IGAUTH_PARSE__APP_ID", APP_ID),
        ("IGAUTH_PARSE__MASTER_KEY", MASTER_KEY),
    ]
}

/// Meta's POST of `signed_request` to the igauth child process `child`.
pub async fn post_to(child: &ChildApp, path: &str, signed_request: &str) -> Answer {
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    child
        .post_with(path, &form, &signed_form(signed_request))
        .await
}

/// An app whose Parse is `parse` (a mockito server), statuses kept there.
pub async fn app_with_parse(parse: &mockito::ServerGuard, extra: &[(&str, &str)]) -> TestApp {
    let server_url = server_url(parse);
    let mut vars = parse_env(&server_url);
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

/// A fresh mockito Parse and an app using it ([`app_with_parse`]) with `extra` settings.
pub async fn parse_and_app(extra: &[(&str, &str)]) -> (mockito::ServerGuard, TestApp) {
    let parse = mockito::Server::new_async().await;
    let app = app_with_parse(&parse, extra).await;
    (parse, app)
}

/// [`parse_and_app`], Parse holding a status class that remembers what igauth writes.
pub async fn parse_with_store(
    extra: &[(&str, &str)],
) -> (mockito::ServerGuard, TestApp, FakeStatusClass) {
    let (mut parse, app) = parse_and_app(extra).await;
    let store = FakeStatusClass::install(&mut parse).await;
    (parse, app, store)
}

impl TestApp {
    /// The status of deletion `code` as JSON (`GET /v1/meta/data-deletion/{code}`).
    pub async fn deletion_status(&self, code: &str) -> Answer {
        let path = format!("{DATA_DELETION}/{code}");
        self.get_with(&path, &[("Accept", "application/json")])
            .await
    }
}

/// Parse's classes the Meta callbacks touch.
pub const USERS: &str = "/parse/classes/_User";
pub const SESSIONS: &str = "/parse/classes/_Session";
pub const STATUS_CLASS: &str = "/parse/classes/InstagramDataDeletion";
pub const STATUS_SCHEMA: &str = "/parse/schemas/InstagramDataDeletion";

/// Parse's answer to a query: `{"results":[{"objectId":id},...]}`.
pub fn results(ids: &[&str]) -> serde_json::Value {
    let rows: Vec<_> = ids
        .iter()
        .map(|id| serde_json::json!({ "objectId": id }))
        .collect();
    serde_json::json!({ "results": rows })
}

/// A query of `class` (a path) with the master key, finding the rows `ids`.
pub async fn finds(parse: &mut mockito::ServerGuard, class: &str, ids: &[&str]) -> mockito::Mock {
    parse_mock(parse, "GET", class, results(ids)).await
}

/// `method path` with the master key, answered `{}`, expected exactly `times` times.
pub async fn called(
    parse: &mut mockito::ServerGuard,
    method: &str,
    path: impl Into<Matcher>,
    times: usize,
) -> mockito::Mock {
    let mock = parse
        .mock(method, path)
        .match_header("x-parse-master-key", MASTER_KEY);
    mock.with_body("{}").expect(times).create_async().await
}

/// A Parse call with the master key and app id, answering `body`.
pub async fn parse_mock(
    parse: &mut mockito::ServerGuard,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> mockito::Mock {
    parse
        .mock(method, path)
        .match_header("x-parse-master-key", MASTER_KEY)
        .match_header("x-parse-application-id", APP_ID)
        .match_query(Matcher::Any)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create_async()
        .await
}

/// Catch-all: Parse must not be called at all (but for the deletion retries' sweep, which looks
/// for deletions to resume at start). Create after specific mocks.
pub async fn parse_never_called(parse: &mut mockito::ServerGuard) -> Vec<mockito::Mock> {
    let mut mocks = Vec::new();
    mocks.push(
        parse
            .mock("POST", STATUS_SCHEMA)
            .with_body("{}")
            .expect_at_most(1)
            .create_async()
            .await,
    );
    let sweep = parse.mock("GET", STATUS_CLASS).match_query(pending());
    let sweep = sweep.with_body(r#"{"results":[]}"#).expect_at_most(2);
    mocks.push(sweep.create_async().await);
    let any = [
        ("GET", ".*"),
        ("POST", ".*"),
        ("PUT", ".*"),
        ("DELETE", ".*"),
    ];
    mocks.extend(forbidden(parse, &any).await);
    mocks
}

/// The retries' sweep's query: the deletions still pending.
pub fn pending() -> Matcher {
    Matcher::UrlEncoded("where".into(), r#"{"pending":true}"#.into())
}

/// Mocks that must see no call: (method, path regex).
pub async fn forbidden(
    parse: &mut mockito::ServerGuard,
    calls: &[(&str, &str)],
) -> Vec<mockito::Mock> {
    let mut mocks = Vec::new();
    for (method, path) in calls {
        mocks.push(
            parse
                .mock(method, Matcher::Regex(format!("^{path}$")))
                .match_query(Matcher::Any)
                .with_status(500)
                .expect(0)
                .create_async()
                .await,
        );
    }
    mocks
}
