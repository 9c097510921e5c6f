//! Request bodies: read whole but bounded in size and time ([`ReadBody`]), by media type
//! ([`body_kind`]), and — for the routes that take JSON or a form alike (`/v1/exchange`,
//! `/v1/refresh`, the Parse exchange webhook) — as named fields read the same way whatever the
//! encoding ([`Fields`]). The typed extractors over them are in `extract.rs`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::rt::time::{sleep, Sleep};
use actix_web::web::{Bytes, BytesMut};
use actix_web::HttpRequest;
use futures_util::Stream;
use serde_json::{Map, Value};

use super::guards::header_text;
use crate::domain::AuthCode;
use crate::error::ApiError;
use crate::exchange::ExchangeRequest;

/// What a form body that is not `application/x-www-form-urlencoded` text gets.
pub(crate) const UNDECODABLE_FORM: &str = "The form body could not be decoded.";

/// Reads the whole body (chunked or not), refusing it past `limit` bytes without buffering more,
/// and past its deadline (a body that stalls or dribbles must not hold a connection forever: 408,
/// and the connection is closed).
///
/// Most bodies arrive with their headers, but actix calls the handler before it has fed them to
/// the payload, so the first poll always waits. Asking to be polled once more lets the dispatcher
/// feed what it already has; only a body still on its way after that gets the deadline (arming a
/// timer for every request was measurable on the hot path). The extra poll also stands in for
/// the timer until then: a body that never comes still gets one. A plain struct rather than an
/// `async fn`, so an extractor can name it without boxing it.
pub(crate) struct ReadBody {
    payload: Payload,
    /// The first chunk, kept as it came: a body that arrives in one piece (nearly every one) is
    /// answered without a buffer or a copy.
    first: Option<Bytes>,
    /// The body so far once a second chunk came, sized by Content-Length when it was given.
    body: BytesMut,
    declared: Option<usize>,
    limit: usize,
    deadline: Duration,
    polled_once: bool,
    timer: Option<Pin<Box<Sleep>>>,
    refused: Option<ApiError>,
}

impl ReadBody {
    pub(crate) fn new(
        req: &HttpRequest,
        payload: Payload,
        limit: usize,
        deadline: Duration,
    ) -> Self {
        let declared =
            header_text(req, header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
        ReadBody {
            payload,
            first: None,
            body: BytesMut::new(),
            declared,
            limit,
            deadline,
            polled_once: false,
            timer: None,
            refused: declared
                .is_some_and(|len| len > limit)
                .then_some(ApiError::PayloadTooLarge(limit)),
        }
    }

    /// A read that fails with `error` at once, before any of the body is looked at.
    pub(crate) fn refused(payload: Payload, error: ApiError) -> Self {
        ReadBody {
            payload,
            first: None,
            body: BytesMut::new(),
            declared: None,
            limit: 0,
            deadline: Duration::ZERO,
            polled_once: true,
            timer: None,
            refused: Some(error),
        }
    }
}

impl Future for ReadBody {
    type Output = Result<Bytes, ApiError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(error) = this.refused.take() {
            return Poll::Ready(Err(error));
        }
        loop {
            match Pin::new(&mut this.payload).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let held = this.first.as_ref().map_or(0, Bytes::len) + this.body.len();
                    if held + chunk.len() > this.limit {
                        return Poll::Ready(Err(ApiError::PayloadTooLarge(this.limit)));
                    }
                    if held == 0 {
                        this.first = Some(chunk);
                        continue;
                    }
                    if let Some(first) = this.first.take() {
                        let expected = this.declared.unwrap_or(held + chunk.len());
                        this.body.reserve(expected.min(this.limit));
                        this.body.extend_from_slice(&first);
                    }
                    this.body.extend_from_slice(&chunk);
                }
                Poll::Ready(Some(Err(_))) => {
                    return Poll::Ready(Err(ApiError::InvalidRequest(
                        "The request body could not be read.".into(),
                    )))
                }
                Poll::Ready(None) => {
                    return Poll::Ready(Ok(match this.first.take() {
                        Some(whole) => whole,
                        None => std::mem::take(&mut this.body).freeze(),
                    }))
                }
                Poll::Pending => break,
            }
        }
        if !this.polled_once {
            this.polled_once = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let deadline = this.deadline;
        let timer = this.timer.get_or_insert_with(|| Box::pin(sleep(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(ApiError::RequestTimeout)),
            Poll::Pending => Poll::Pending,
        }
    }
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
    // Compared without case, and without a lowercased copy: this runs on every POST.
    let mime = header_text(req, header::CONTENT_TYPE)
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .unwrap_or("");
    let is = |name: &str| mime.eq_ignore_ascii_case(name);
    let structured_json = mime.len() >= "application/+json".len()
        && mime
            .get(..12)
            .is_some_and(|p| p.eq_ignore_ascii_case("application/"))
        && mime
            .get(mime.len() - 5..)
            .is_some_and(|s| s.eq_ignore_ascii_case("+json"));
    let kind = if mime.is_empty() || is("application/json") || structured_json {
        Some(BodyKind::Json)
    } else if is("application/x-www-form-urlencoded") {
        Some(BodyKind::Form)
    } else {
        None
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
                .map_err(|_| ApiError::InvalidRequest(UNDECODABLE_FORM.into())),
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

/// A request type read from named fields, whatever the encoding (see [`Fields`]).
pub(crate) trait FromFields: Sized {
    /// Completes "The body must be a JSON object with ..." (e.g. "a code").
    const NEEDS: &'static str;
    fn from_fields(fields: &Fields) -> Result<Self, ApiError>;
}

/// An exchange request, from a JSON body, a form, or a Parse webhook's `params`. Every field's
/// type is checked before the code is required, so a caller hears about the first field it got
/// wrong.
impl FromFields for ExchangeRequest {
    const NEEDS: &'static str = "a code";

    fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        let code = fields.string("code")?;
        let redirect_uri = fields.string("redirect_uri")?;
        let long_lived = fields.flag("long_lived")?;
        let code = code.ok_or_else(|| ApiError::InvalidRequest("code is required".into()))?;
        let code =
            AuthCode::parse(&code).map_err(|e| ApiError::InvalidRequest(format!("code {e}")))?;
        Ok(ExchangeRequest {
            code,
            redirect_uri,
            long_lived,
        })
    }
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
