//! The routes hostile input is thrown at, an Instagram that refuses every token and code (so
//! upstream can neither explain a 5xx nor produce a yes), and sending raw bytes to a route.

use mockito::Matcher;
use serde_json::Value;

use super::*;

/// Every surface that reads a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Validate,
    Introspect,
    Exchange,
    ParseValidate,
    ParseExchange,
    ParseTrigger,
}

pub const TARGETS: [Target; 6] = [
    Target::Validate,
    Target::Introspect,
    Target::Exchange,
    Target::ParseValidate,
    Target::ParseExchange,
    Target::ParseTrigger,
];

impl Target {
    pub fn path(self) -> &'static str {
        match self {
            Target::Validate => "/v1/validate",
            Target::Introspect => "/v1/introspect",
            Target::Exchange => "/v1/exchange",
            Target::ParseValidate => "/v1/parse/functions/validate",
            Target::ParseExchange => "/v1/parse/functions/exchange",
            Target::ParseTrigger => "/v1/parse/triggers/user",
        }
    }

    pub fn is_webhook(self) -> bool {
        matches!(
            self,
            Target::ParseValidate | Target::ParseExchange | Target::ParseTrigger
        )
    }

    /// The media type a well-behaved caller would send.
    pub fn content_type(self) -> &'static str {
        match self {
            Target::Introspect => "application/x-www-form-urlencoded",
            _ => "application/json",
        }
    }
}

/// Instagram refuses everything: `/me` with error 190, the code exchange with 190 too.
pub async fn refuse_everything(app: &mut TestApp) {
    for method in ["GET", "POST"] {
        app.instagram
            .mock(method, Matcher::Any)
            .match_query(Matcher::Any)
            .with_status(400)
            .with_header("content-type", "application/json")
            .with_body(INVALID_TOKEN_BODY)
            .expect_at_least(0)
            .create_async()
            .await;
    }
}

/// POSTs raw bytes with every credential a route might want, so only the body is hostile.
pub async fn send(
    app: &TestApp,
    target: Target,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut req = app
        .http
        .post(app.url(target.path()))
        .insert_header(("Authorization", format!("Bearer {API_KEY}")))
        .insert_header(("X-Parse-Webhook-Key", WEBHOOK_KEY));
    if let Some(content_type) = content_type {
        req = req.insert_header(("Content-Type", content_type));
    }
    Answer::read(req.send_body(body).await.expect("app answers")).await
}

/// The invariants every answer to hostile input must keep.
pub fn check(target: Target, body: &[u8], answer: &Answer) -> Result<(), String> {
    let text = &answer.text;
    let fail = |why: &str| {
        Err(format!(
            "{target:?} answered {}: {why}: {text}",
            answer.status
        ))
    };
    if answer.status >= 500 {
        return fail("a 5xx for bad input");
    }
    if text.contains(r#""valid":true"#) || text.contains(r#""active":true"#) {
        return fail("a yes although Instagram refuses everything");
    }
    let Ok(json) = serde_json::from_str::<Value>(text) else {
        return fail("not JSON");
    };
    if target.is_webhook() {
        if answer.status != 200 {
            return fail("webhooks always answer 200 in Parse's protocol");
        }
        match (json.get("success"), json.get("error")) {
            (None, Some(Value::String(_))) => return Ok(()),
            (Some(_), None) if target == Target::ParseTrigger => {
                // A pass is only right for a user with no Instagram authData to check.
                let sent = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
                let instagram = &sent["object"]["authData"]["instagram"];
                if !instagram.is_null() {
                    return fail("a user with Instagram authData passed the trigger");
                }
                return Ok(());
            }
            _ => return fail("not {\"success\": ...} xor {\"error\": \"...\"}"),
        }
    }
    if (200..300).contains(&answer.status) {
        if target == Target::Exchange {
            return fail("an exchange succeeded although Instagram refuses every code");
        }
        return Ok(());
    }
    match json["error"]["code"].as_str() {
        Some(code) if !code.is_empty() && json["error"]["message"].is_string() => Ok(()),
        _ => fail("a non-2xx answer without the error envelope"),
    }
}
