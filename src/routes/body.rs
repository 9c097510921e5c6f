//! Request bodies: read whole but bounded in size and time, by media type, and — for the routes that take JSON or a
//! form alike (`/v1/exchange`, `/v1/refresh`, the Parse exchange webhook) — as named fields read
//! the same way whatever the encoding.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::HttpRequest;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::exchange::ExchangeRequest;
use crate::settings::LimitSettings;

/// Reads an API request's body within the configured size and time limits.
pub(crate) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limits: &LimitSettings,
) -> Result<Bytes, ApiError> {
    read_limited(req, payload, limits.max_body_bytes, limits.body_timeout()).await
}

/// Reads the whole body (chunked or not), refusing it past `limit` bytes without buffering more,
/// and past `deadline` (a body that stalls or dribbles must not hold a connection forever: 408,
/// and the connection is closed).
pub(crate) async fn read_limited(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, ApiError> {
    // Most bodies arrive with their headers, but actix calls the handler before it has fed them
    // to the payload, so the first poll always waits. Asking to be polled once more lets the
    // dispatcher feed what it already has; only a body still on its way after that gets the
    // deadline (arming a timer for every request was measurable on the hot path). The extra
    // poll also stands in for the timer until then: a body that never comes still gets one.
    let mut read = std::pin::pin!(read_within(req, payload, limit));
    let mut polled_once = false;
    let early = std::future::poll_fn(|cx| match read.as_mut().poll(cx) {
        Poll::Ready(body) => Poll::Ready(Some(body)),
        Poll::Pending if !polled_once => {
            polled_once = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Poll::Pending => Poll::Ready(None),
    })
    .await;
    match early {
        Some(body) => body,
        None => actix_web::rt::time::timeout(deadline, read)
            .await
            .unwrap_or(Err(ApiError::RequestTimeout)),
    }
}

async fn read_within(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(512).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::InvalidRequest("The request body could not be read.".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The body encodings our routes accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Json,
    Form,
}

/// The media type of the body, or 415 when it is not one of `accepted`.
/// A missing Content-Type is read as JSON, which is what JSON callers mean by it.
pub(crate) fn body_kind(req: &HttpRequest, accepted: &[BodyKind]) -> Result<BodyKind, ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let kind = match mime.as_deref() {
        None | Some("") => Some(BodyKind::Json),
        Some("application/json") => Some(BodyKind::Json),
        Some(m) if m.starts_with("application/") && m.ends_with("+json") => Some(BodyKind::Json),
        Some("application/x-www-form-urlencoded") => Some(BodyKind::Form),
        _ => None,
    };
    match kind {
        Some(kind) if accepted.contains(&kind) => Ok(kind),
        _ => Err(ApiError::UnsupportedMediaType(match accepted {
            [BodyKind::Json] => "application/json",
            [BodyKind::Form] => "application/x-www-form-urlencoded",
            _ => "application/json or application/x-www-form-urlencoded",
        })),
    }
}

/// The named fields of a JSON object or a form. JSON fields must have the JSON type asked for
/// (`null` counts as absent); form fields are text, with `true`/`1` and `false`/`0` as flags.
/// Of repeated form fields the first wins. Unknown fields are ignored.
pub(crate) enum Fields {
    Json(Map<String, Value>),
    Form(Vec<(String, String)>),
}

impl Fields {
    /// Decodes `body` as `kind`; `needs` completes "The body must be a JSON object with ..."
    /// (e.g. "a code").
    pub(crate) fn decode(kind: BodyKind, body: &[u8], needs: &str) -> Result<Fields, ApiError> {
        match kind {
            BodyKind::Json => {
                let value: Value = serde_json::from_slice(body).map_err(|e| {
                    ApiError::InvalidRequest(format!("The body is not valid JSON: {e}"))
                })?;
                Fields::from_json(value, needs)
            }
            BodyKind::Form => serde_urlencoded::from_bytes(body)
                .map(Fields::Form)
                .map_err(|_| {
                    ApiError::InvalidRequest("The form body could not be decoded.".into())
                }),
        }
    }

    /// The fields of a JSON value that must be an object (a webhook's `params`, say).
    pub(crate) fn from_json(value: Value, needs: &str) -> Result<Fields, ApiError> {
        match value {
            Value::Object(map) => Ok(Fields::Json(map)),
            _ => Err(ApiError::InvalidRequest(format!(
                "The body must be a JSON object with {needs}."
            ))),
        }
    }

    /// A text field.
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self {
            Fields::Json(map) => match map.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ApiError::InvalidRequest(format!("{name} must be a string"))),
            },
            Fields::Form(pairs) => Ok(pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())),
        }
    }

    /// A true/false field.
    pub(crate) fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        let wrong = || ApiError::InvalidRequest(format!("{name} must be true or false"));
        match self {
            Fields::Json(map) => match map.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(wrong()),
            },
            Fields::Form(_) => match self.string(name)?.as_deref() {
                None => Ok(None),
                Some("true" | "1") => Ok(Some(true)),
                Some("false" | "0") => Ok(Some(false)),
                Some(_) => Err(wrong()),
            },
        }
    }
}

/// An exchange request's fields, from a JSON body, a form, or a Parse webhook's `params`.
pub(crate) fn exchange_request(fields: &Fields) -> Result<ExchangeRequest, ApiError> {
    Ok(ExchangeRequest {
        code: fields.string("code")?,
        redirect_uri: fields.string("redirect_uri")?,
        long_lived: fields.flag("long_lived")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_form_read_alike() {
        let json = Fields::decode(
            BodyKind::Json,
            br#"{"code":"AQB","long_lived":true,"x":1}"#,
            "a code",
        )
        .unwrap();
        let form =
            Fields::decode(BodyKind::Form, b"code=AQB&long_lived=1&code=2", "a code").unwrap();
        for fields in [json, form] {
            assert_eq!(fields.string("code").unwrap().as_deref(), Some("AQB"));
            assert_eq!(fields.flag("long_lived").unwrap(), Some(true));
            assert_eq!(fields.string("redirect_uri").unwrap(), None);
        }
    }

    #[test]
    fn wrong_types_name_the_field() {
        let json = Fields::decode(
            BodyKind::Json,
            br#"{"code":1,"long_lived":"yes"}"#,
            "a code",
        )
        .unwrap();
        assert_eq!(
            json.string("code").unwrap_err().message(),
            "code must be a string"
        );
        assert_eq!(
            json.flag("long_lived").unwrap_err().message(),
            "long_lived must be true or false"
        );
        let form = Fields::decode(BodyKind::Form, b"long_lived=maybe", "a code").unwrap();
        assert!(form.flag("long_lived").is_err());
        let err = Fields::decode(BodyKind::Json, b"[1]", "a code")
            .err()
            .unwrap();
        assert_eq!(err.message(), "The body must be a JSON object with a code.");
    }
}
