//! `POST /v1/exchange` and Instagram's side of it: the code exchange mocked for an exact form
//! body, both grant shapes (flat as seen in practice, wrapped as documented), JSON and form calls.

use super::*;

pub const FLAT_USER_ID: &str = "27640875392278831";

/// Mocks the code exchange of `code` for [`REDIRECT_URI`], exactly as igauth sends it; answers
/// `status` with `body`.
pub async fn mock_exchange(
    app: &mut TestApp,
    code: &str,
    status: usize,
    body: &str,
) -> mockito::Mock {
    let call = exchange_call(app, code, REDIRECT_URI, status, body);
    call.create_async().await
}

/// Instagram's code exchange of `code` for `redirect_uri`, as igauth sends it (a form with our
/// client id and secret), answering `status` with `body`; not yet created.
pub fn exchange_call(
    app: &mut TestApp,
    code: &str,
    redirect_uri: &str,
    status: usize,
    body: &str,
) -> mockito::Mock {
    let fields = [
        ("client_id", "1234567890"),
        ("client_secret", CLIENT_SECRET),
        ("grant_type", "authorization_code"),
        ("redirect_uri", redirect_uri),
        ("code", code),
    ];
    let path = "/oauth/access_token";
    let call = instagram_call(&mut app.instagram, "POST", path, &fields, status, body);
    call.match_header("content-type", "application/x-www-form-urlencoded")
}

pub fn flat_grant(token: &str) -> String {
    format!(
        r#"{{"access_token":"{token}","user_id":{FLAT_USER_ID},"permissions":["instagram_business_basic"]}}"#
    )
}

pub fn wrapped_grant(token: &str, user_id: &str) -> String {
    format!(
        r#"{{"data":[{{"access_token":"{token}","user_id":"{user_id}","permissions":"instagram_business_basic,instagram_business_content_publish"}}]}}"#
    )
}

/// The public call: no API key, just the JSON body.
pub async fn exchange_json(app: &TestApp, body: &str) -> Answer {
    exchange_as(app, "application/json", body).await
}

/// The public call: no API key, just the form body.
pub async fn exchange_form(app: &TestApp, body: &str) -> Answer {
    exchange_as(app, "application/x-www-form-urlencoded", body).await
}

async fn exchange_as(app: &TestApp, content_type: &str, body: &str) -> Answer {
    let headers = [("Content-Type", content_type)];
    app.post_with("/v1/exchange", &headers, body).await
}

/// A refused exchange: our error envelope with `code` at `status`, and no token in it.
pub fn assert_no_grant(answer: &Answer, status: u16, code: &str) {
    assert_envelope(answer, status, code);
    let token = answer.json().get("access_token").cloned();
    assert!(token.is_none(), "{}", answer.text);
}
