//! Typed extractors, so a handler's signature says what it needs and it cannot forget a check:
//! [`Worker`] (the use cases), [`Enabled`] (a feature the operator configured, refused with its
//! 503 before the body is read), and the bodies [`Json`], [`Form`] and [`JsonOrForm`]: the
//! bounded, timed read of [`ReadBody`] (413, 408), the media type (415), then the domain request
//! type, so a handler never sees raw bytes or `Option<String>` bags. Extractors run in the order
//! of the handler's arguments: guards first, then the feature, then the body.

use std::future::{ready, Future, Ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use super::body::{body_kind, BodyKind, Fields, FromFields, ReadBody};
use crate::error::ApiError;
use crate::meta_callbacks::Callback;
use crate::state::Worker;

/// This worker's door to the use cases (one non-atomic count per request).
impl FromRequest for Worker {
    type Error = ApiError;
    type Future = Ready<Result<Worker, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Only our own app builds these routes, always with a worker.
        ready(req.app_data::<Worker>().cloned().ok_or(ApiError::NotFound))
    }
}

/// A feature the operator may leave unconfigured; `check` names the 503 that says so.
pub(crate) trait Feature {
    fn check(worker: &Worker) -> Result<(), ApiError>;
}

/// Proof that feature `F` is configured; refused before the body is read, since no body can make
/// an unconfigured feature work.
pub(crate) struct Enabled<F>(PhantomData<F>);

impl<F: Feature> FromRequest for Enabled<F> {
    type Error = ApiError;
    type Future = Ready<Result<Enabled<F>, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<Worker>() {
            Some(worker) => F::check(worker).map(|()| Enabled(PhantomData)),
            None => Err(ApiError::NotFound),
        })
    }
}

/// Declares a feature: its name, and how a worker tells whether it is configured.
macro_rules! feature {
    ($(#[$doc:meta])* $name:ident, |$worker:ident| $check:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl Feature for $name {
            fn check($worker: &Worker) -> Result<(), ApiError> {
                $check
            }
        }
    };
}

feature!(
    /// The code exchange (`/v1/exchange`): a client id and secret.
    CodeExchange,
    |worker| match worker.settings().features.exchange {
        true => Ok(()),
        false => Err(ApiError::ExchangeNotConfigured),
    }
);
feature!(
    /// The browser login flow (`/v1/authorize`, `/v1/callback`).
    LoginFlow,
    |worker| match worker.settings().features.login_flow {
        true => Ok(()),
        false => Err(ApiError::LoginFlowNotConfigured),
    }
);
feature!(
    /// Meta's deauthorize callback: the app secret.
    Deauthorize,
    |worker| Ok(worker.meta_ready(Callback::Deauthorize)?)
);
feature!(
    /// Meta's data-deletion callback: the app secret and a public URL for the status link.
    DataDeletion,
    |worker| Ok(worker.meta_ready(Callback::DataDeletion)?)
);

/// A request type read from a JSON body.
pub(crate) trait FromJson: Sized {
    fn from_json(body: &[u8]) -> Result<Self, ApiError>;
}

/// A request type read from a form body.
pub(crate) trait FromForm: Sized {
    fn from_form(body: &[u8]) -> Result<Self, ApiError>;
}

/// A JSON body (or none declared), read as `T`.
pub(crate) struct Json<T>(pub(crate) T);
/// An `application/x-www-form-urlencoded` body, read as `T`.
pub(crate) struct Form<T>(pub(crate) T);
/// A JSON or form body, read as `T` from its fields.
pub(crate) struct JsonOrForm<T>(pub(crate) T);

/// How each body wrapper is accepted and decoded.
pub(crate) trait Decode: Sized {
    const ACCEPTS: &'static [BodyKind];
    fn decode(kind: BodyKind, body: &[u8]) -> Result<Self, ApiError>;
}

impl<T: FromJson> Decode for Json<T> {
    const ACCEPTS: &'static [BodyKind] = &[BodyKind::Json];
    fn decode(_: BodyKind, body: &[u8]) -> Result<Self, ApiError> {
        T::from_json(body).map(Json)
    }
}

impl<T: FromForm> Decode for Form<T> {
    const ACCEPTS: &'static [BodyKind] = &[BodyKind::Form];
    fn decode(_: BodyKind, body: &[u8]) -> Result<Self, ApiError> {
        T::from_form(body).map(Form)
    }
}

impl<T: FromFields> Decode for JsonOrForm<T> {
    const ACCEPTS: &'static [BodyKind] = &[BodyKind::Json, BodyKind::Form];
    fn decode(kind: BodyKind, body: &[u8]) -> Result<Self, ApiError> {
        T::from_fields(&Fields::decode(kind, body, T::NEEDS)?).map(JsonOrForm)
    }
}

/// Reading and decoding one body: a named future, so no extractor boxes one per request.
pub(crate) struct DecodeBody<W> {
    read: ReadBody,
    kind: BodyKind,
    decoded: PhantomData<fn() -> W>,
}

impl<W: Decode> DecodeBody<W> {
    fn start(req: &HttpRequest, payload: &mut Payload) -> Self {
        let payload = payload.take();
        let (read, kind) = match (body_kind(req, W::ACCEPTS), req.app_data::<Worker>()) {
            (Ok(kind), Some(worker)) => {
                let limits = &worker.settings().limits;
                let read =
                    ReadBody::new(req, payload, limits.max_body_bytes, limits.body_timeout());
                (read, kind)
            }
            (Err(e), _) => (ReadBody::refused(payload, e), BodyKind::Json),
            (_, None) => (
                ReadBody::refused(payload, ApiError::NotFound),
                BodyKind::Json,
            ),
        };
        DecodeBody {
            read,
            kind,
            decoded: PhantomData,
        }
    }
}

impl<W: Decode> Future for DecodeBody<W> {
    type Output = Result<W, ApiError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match Pin::new(&mut this.read).poll(cx) {
            Poll::Ready(Ok(body)) => Poll::Ready(W::decode(this.kind, &body)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

macro_rules! body_extractor {
    ($wrapper:ident, $bound:ident) => {
        impl<T: $bound> FromRequest for $wrapper<T> {
            type Error = ApiError;
            type Future = DecodeBody<$wrapper<T>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                DecodeBody::start(req, payload)
            }
        }
    };
}

body_extractor!(Json, FromJson);
body_extractor!(Form, FromForm);
body_extractor!(JsonOrForm, FromFields);
