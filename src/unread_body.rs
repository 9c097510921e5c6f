//! A request body nobody read must not hold its connection.
//!
//! When an answer goes out before its request's body was read (a 404 or 405 from the router, a
//! 401/403/415/429/503 from a guard), actix-http closes the connection for a sized body, but it
//! keeps draining a `Transfer-Encoding: chunked` one whose reader is gone, with no deadline: a
//! client dribbling one byte now and then holds the connection (and a slot of
//! `IGAUTH_SERVER__MAX_CONNECTIONS`) for ever. actix closes instead when the reader is still
//! alive as the answer is sent. So this layer hands the route a reader of its own over the
//! request's payload and keeps the payload itself alive until the answer's body is dropped: an
//! unread body then always ends the connection once the answer is written (after actix's linger of at
//! most a second, reading and discarding), whatever the status and whatever the framing. A body
//! read to its end changes nothing: keep-alive stays.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_util::Stream;

/// The request's payload, and whether the route read it to its end.
struct Body {
    payload: RefCell<Payload>,
    read_whole: Cell<bool>,
}

type Shared = Rc<Body>;

/// The route's reader: the same payload, through the shared handle.
struct Reader(Shared);

impl Stream for Reader {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Only the route reads, one poll at a time; nothing else borrows while it does.
        let mut payload = self.0.payload.borrow_mut();
        let next = Pin::new(&mut *payload).poll_next(cx);
        if let Poll::Ready(None) = next {
            self.0.read_whole.set(true);
        }
        next
    }
}

/// An answer's body that keeps its request's payload alive until it is dropped (after its last
/// byte was written, when actix decides whether the connection stays open).
pub(crate) struct Holding {
    body: BoxBody,
    _payload: Shared,
}

impl MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// The middleware: requests without a chunked body pass untouched (no allocation on the GET or
/// sized-POST path).
pub(crate) fn hold_payload<S, B>(
    mut req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<EitherBody<B, Holding>>, actix_web::Error>>
where
    S: actix_web::dev::Service<
        ServiceRequest,
        Response = ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: MessageBody + 'static,
{
    // Only a chunked body needs holding: actix closes a connection whose sized body was left
    // unread, and the hot path (a sized JSON body) then pays nothing here.
    let held = match req.headers().contains_key(header::TRANSFER_ENCODING) {
        false => None,
        true => match req.take_payload() {
            Payload::None => None,
            payload => {
                let shared = Rc::new(Body {
                    payload: RefCell::new(payload),
                    read_whole: Cell::new(false),
                });
                let reader: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
                    Box::pin(Reader(shared.clone()));
                req.set_payload(Payload::from(reader));
                Some(shared)
            }
        },
    };
    let call = service.call(req);
    async move {
        let res = call.await?;
        let held = match held {
            Some(body) if !body.read_whole.get() => {
                // Answered before the body was read: actix called the route as soon as the head
                // arrived, before decoding the rest of what came with it. One turn lets it
                // decode that, so a body already sent whole (it ends there, whoever reads it)
                // keeps the connection; only one still on its way closes it.
                yield_once().await;
                Some(body)
            }
            _ => None,
        };
        Ok(match held {
            None => res.map_into_left_body(),
            Some(payload) => res.map_body(|_, body| {
                EitherBody::right(Holding {
                    body: BoxBody::new(body),
                    _payload: payload,
                })
            }),
        })
    }
}

/// Pending once (with a wake-up), then ready: lets the connection's dispatcher run.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}
