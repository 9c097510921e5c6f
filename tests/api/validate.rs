//! `POST /v1/validate`: only a 200 with `valid: true` after Instagram's `/me` named the same id
//! is a yes; refusals are 200 `valid: false` with a reason; bad input is a 400 that never reaches
//! Instagram; upstream trouble is a 5xx, never a verdict.

use crate::helpers::*;

/// A 200 that is a refusal for `reason`; never `valid: true`.
fn assert_refused(answer: &Answer, reason: &str) {
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["valid"], false, "{}", answer.text);
    assert_eq!(body["reason"], reason, "{}", answer.text);
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a refusal says why: {}",
        answer.text
    );
    assert!(body.get("id").is_none(), "{}", answer.text);
}

/// `{"id": BIG_ID, "access_token": token}`, as apps send it.
fn plain(token: &str) -> String {
    format!(r#"{{"id":"{BIG_ID}","access_token":"{token}"}}"#)
}

/// One test per accepted request: the app has `$settings`, `/me` for `$token` names [`BIG_ID`]
/// (jay), `$body` is posted with `$headers`. The answer is 200 `valid: true` with the exact id
/// as a string and the username, and Instagram was asked.
macro_rules! valid {
    ($name:ident, $settings:expr, $headers:expr, $token:expr, $body:expr) => {
        #[actix_web::test]
        async fn $name() {
            let mut app = spawn_app_with($settings).await;
            let me = app.me_ok($token).await;
            let answer = app.post_with("/v1/validate", $headers, &$body).await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            assert!(
                answer.text.contains(r#""id":"17841405793187219""#),
                "the id comes back as the exact string: {}",
                answer.text
            );
            assert_eq!(answer.json()["valid"], true, "{}", answer.text);
            assert_eq!(answer.json()["username"], "jay");
            me.assert_async().await;
        }
    };
}

valid!(
    valid_token_for_the_same_id_is_valid,
    &[],
    &json_headers(),
    "IGT-good",
    plain("IGT-good")
);

// 17841405793187219 as an f64 is ...220: only an exact comparison matches /me's string.
valid!(
    integer_id_above_2_pow_53_is_kept_exact_and_answered_as_a_string,
    &[],
    &json_headers(),
    "IGT-int",
    r#"{"id":17841405793187219,"access_token":"IGT-int"}"#
);

// me_ok matches the decoded value: it only matches if the service encoded it correctly.
valid!(
    token_is_url_encoded_in_the_me_query,
    &[],
    &json_headers(),
    "IGT+a/b=c&d%e",
    plain("IGT+a/b=c&d%e")
);

valid!(
    without_a_configured_api_key_validate_is_open,
    &[("IGAUTH_SERVER__API_KEY", "")],
    &[("Content-Type", "application/json")],
    "IGT-open",
    plain("IGT-open")
);

/// One test per refusal: `/me` for `$token` answers `$status` with `$me`, `$body` is validated;
/// the answer is a refusal for `$reason`, and Instagram was asked.
macro_rules! refused {
    ($name:ident, $token:expr, $status:expr, $me:expr, $body:expr, $reason:expr) => {
        #[actix_web::test]
        async fn $name() {
            let (app, me) = app_where_me($token, $status, $me).await;
            let answer = app.post_json("/v1/validate", &$body).await;
            assert_refused(&answer, $reason);
            me.assert_async().await;
        }
    };
}

const SOMEONE_ELSE: &str = r#"{"id":"17841405793187218","username":"someone"}"#;

refused!(
    token_of_another_user_is_an_id_mismatch,
    "IGT-other",
    200,
    SOMEONE_ELSE,
    plain("IGT-other"),
    "id_mismatch"
);
refused!(
    graph_error_190_is_invalid_token,
    "IGT-bad",
    400,
    INVALID_TOKEN_BODY,
    plain("IGT-bad"),
    "invalid_token"
);
refused!(
    graph_error_190_with_subcode_463_is_expired_token,
    "IGT-old",
    400,
    EXPIRED_TOKEN_BODY,
    plain("IGT-old"),
    "expired_token"
);
refused!(
    wrapped_forms_refuse_a_mismatch_too,
    "IGT-w2",
    200,
    SOMEONE_ELSE,
    format!(r#"{{"authData":{{"instagram":{{"id":"{BIG_ID}","access_token":"IGT-w2"}}}}}}"#),
    "id_mismatch"
);

#[actix_web::test]
async fn every_wrapper_form_is_read_and_unknown_fields_are_ignored() {
    let (app, me) = app_where_me_retried("IGT-wrap", 200, &me_body(BIG_ID, "jay")).await;
    for body in [
        format!(
            r#"{{"id":"{BIG_ID}","access_token":"IGT-wrap","provider":"instagram","x":[1,{{"y":null}}]}}"#
        ),
        format!(
            r#"{{"authData":{{"id":"{BIG_ID}","access_token":"IGT-wrap","extra":true}},"user":"kestrel"}}"#
        ),
        format!(
            r#"{{"authData":{{"instagram":{{"id":{BIG_ID},"access_token":"IGT-wrap","expires":1}},"facebook":{{"id":"9"}}}},"sessionToken":"r:1"}}"#
        ),
    ] {
        let answer = app.post_json("/v1/validate", &body).await;
        assert_eq!(answer.status, 200, "{body}: {}", answer.text);
        assert_eq!(answer.json()["valid"], true, "{body}: {}", answer.text);
        assert_eq!(answer.json()["id"], BIG_ID, "{body}: {}", answer.text);
    }
    me.assert_async().await;
}

/// One test per malformed body: 400 `invalid_request`, a message naming what is wrong, and
/// Instagram never asked.
macro_rules! malformed_body {
    ($name:ident, $body:expr, $names:expr) => {
        #[actix_web::test]
        async fn $name() {
            let (app, never) = spawn_app_unasked(&[]).await;
            let answer = app.post_json("/v1/validate", $body).await;
            assert_envelope(&answer, 400, "invalid_request");
            let message = answer.error_text();
            assert!(
                message.contains($names),
                "the message should name {:?}: {message}",
                $names
            );
            assert_all(&never).await;
        }
    };
}

malformed_body!(malformed_not_json_is_400, "id=1&access_token=IGT", "body");

malformed_body!(
    malformed_truncated_json_is_400,
    r#"{"id":"17841405793187219","access_token":"IG"#,
    "body"
);

malformed_body!(
    malformed_array_is_400,
    r#"[{"id":"17841405793187219","access_token":"IGT"}]"#,
    "JSON object with id and access_token"
);

malformed_body!(
    malformed_array_in_field_order_is_400,
    r#"["17841405793187219","IGT",null,null]"#,
    "JSON object with id and access_token"
);

malformed_body!(
    malformed_wrapped_array_is_400,
    r#"{"authData":["17841405793187219","IGT",null,null]}"#,
    "JSON object with id and access_token"
);

malformed_body!(
    malformed_string_is_400,
    r#""IGT""#,
    "JSON object with id and access_token"
);

malformed_body!(
    malformed_number_is_400,
    "17841405793187219",
    "JSON object with id and access_token"
);

malformed_body!(
    malformed_null_is_400,
    "null",
    "JSON object with id and access_token"
);

malformed_body!(
    malformed_missing_id_is_400,
    r#"{"access_token":"IGT"}"#,
    "id is required"
);

malformed_body!(
    malformed_missing_token_is_400,
    r#"{"id":"17841405793187219"}"#,
    "access_token is required"
);

malformed_body!(
    malformed_empty_token_is_400,
    r#"{"id":"17841405793187219","access_token":""}"#,
    "access_token must not be empty"
);

malformed_body!(
    malformed_empty_id_is_400,
    r#"{"id":"","access_token":"IGT"}"#,
    "id must not be empty"
);

malformed_body!(
    malformed_id_with_letters_is_400,
    r#"{"id":"17841abc","access_token":"IGT"}"#,
    "id must be the numeric Instagram user id"
);

malformed_body!(
    malformed_negative_id_is_400,
    r#"{"id":-17841405793187219,"access_token":"IGT"}"#,
    "id must not be negative"
);

malformed_body!(
    malformed_float_id_is_400,
    r#"{"id":17841405793187219.0,"access_token":"IGT"}"#,
    "id must be an integer"
);

malformed_body!(
    malformed_token_as_number_is_400,
    r#"{"id":"17841405793187219","access_token":12345}"#,
    "access_token"
);

malformed_body!(
    malformed_wrapped_missing_id_names_the_path,
    r#"{"authData":{"instagram":{"access_token":"IGT"}}}"#,
    "authData.instagram.id"
);

#[actix_web::test]
async fn valid_is_never_true_unless_me_named_the_same_id() {
    let mut app = spawn_app().await;
    let cases = [
        // (what /me answered, what we must answer)
        (r#"{"username":"jay"}"#, "502"),
        (r#"{"data":[]}"#, "502"),
        (r#"{"id":null,"username":"jay"}"#, "502"),
        (
            r#"{"id":"017841405793187219","username":"jay"}"#,
            "id_mismatch",
        ),
        (
            r#"{"id":17841405793187218,"username":"jay"}"#,
            "id_mismatch",
        ),
        (r#"{"id":"17841405793187220"}"#, "id_mismatch"),
        (r#"{"data":[{"id":"1784140579318721"}]}"#, "id_mismatch"),
    ];
    for (i, (me, expected)) in cases.iter().enumerate() {
        let token = format!("IGT-case-{i}");
        let mock = app.mock_me(&token, 200, me).await;
        let answer = app.validate(BIG_ID, &token).await;
        assert!(
            !answer.text.contains(r#""valid":true"#),
            "/me said {me}, we answered {}",
            answer.text
        );
        match *expected {
            "502" => assert_envelope(&answer, 502, "upstream_error"),
            reason => assert_refused(&answer, reason),
        }
        mock.assert_async().await;
    }
}

#[actix_web::test]
async fn graph_version_is_put_in_the_me_path() {
    let mut app = spawn_app_with(&[("IGAUTH_INSTAGRAM__GRAPH_VERSION", "v25.0")]).await;
    let versioned = app
        .instagram
        .mock("GET", "/v25.0/me")
        .match_query(mockito::Matcher::AllOf(vec![
            mockito::Matcher::UrlEncoded("access_token".into(), "IGT-v25".into()),
            mockito::Matcher::UrlEncoded("fields".into(), "id,user_id,username".into()),
        ]))
        .with_status(200)
        .with_body(me_body(BIG_ID, "jay"))
        .create_async()
        .await;
    let unversioned = app.mock_me("IGT-v25", 200, "{}").await.expect(0);
    let answer = app.validate(BIG_ID, "IGT-v25").await;
    assert_valid(&answer);
    assert_all(&[versioned, unversioned]).await;
}

#[actix_web::test]
async fn missing_api_key_is_401_with_www_authenticate() {
    let (app, never) = spawn_app_unasked(&[]).await;
    let json = [("Content-Type", "application/json")];
    let answer = app.post_with("/v1/validate", &json, &plain("IGT")).await;
    assert_unauthorized(&answer);
    assert_all(&never).await;
}

/// One off by a digit, one a digit long, none, the key without its scheme, another scheme.
const WRONG_KEYS: [&str; 5] = [
    "Bearer test-api-key-0123456789abcdef-0123456788",
    "Bearer test-api-key-0123456789abcdef-01234567890",
    "Bearer ",
    "test-api-key-0123456789abcdef-0123456789",
    "Basic dGVzdC1hcGkta2V5LTAxMjM0NTY3ODk=",
];

#[actix_web::test]
async fn wrong_api_key_is_401_with_www_authenticate() {
    let (app, never) = spawn_app_unasked(&[]).await;
    for wrong in WRONG_KEYS {
        let headers = [
            ("Content-Type", "application/json"),
            ("Authorization", wrong),
        ];
        let answer = app.post_with("/v1/validate", &headers, &plain("IGT")).await;
        assert_envelope(&answer, 401, "unauthorized");
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"), "{wrong}");
    }
    assert_all(&never).await;
}
