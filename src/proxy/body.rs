//! Body wrappers that count bytes for the audit record while streaming frame by frame.
//!
//! Nothing is buffered: each frame is handed on as soon as it arrives, so pull progress, logs and
//! events reach the client as the engine writes them, and uploads reach the engine as the client
//! sends them.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::budget::{BodyBudget, Held};
use crate::audit::{AuditRecord, Counters};
use crate::metrics::labels::EngineError;

/// The request body on its way to the engine: streamed frame by frame, or (for an inspected
/// body) exactly the bytes policy read.
#[derive(Debug)]
pub struct RequestBody {
    inner: Inner,
    counters: Arc<Counters>,
    _held: Held,
}

impl RequestBody {
    pub fn new(inner: Incoming, counters: Arc<Counters>) -> RequestBody {
        RequestBody {
            inner: Inner::Stream(inner),
            counters,
            _held: BodyBudget::none(),
        }
    }

    /// A body already received whole (and counted), with its hold on the inspection budget,
    /// released when this body is dropped (after it has been sent).
    pub fn full(bytes: Bytes, held: Held, counters: Arc<Counters>) -> RequestBody {
        counters.add_in(bytes.len());
        RequestBody {
            inner: Inner::Full((!bytes.is_empty()).then_some(bytes)),
            counters,
            _held: held,
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let body = match &mut this.inner {
            Inner::Full(bytes) => return Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Stream(body) => body,
        };
        let polled = Pin::new(body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.counters.add_in(data.len());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(bytes) => bytes.is_none(),
            Inner::Stream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::Stream(body) => body.size_hint(),
        }
    }
}

/// Receives a request body whole, up to `limit` bytes, holding its size in `budget` (the hold
/// goes with the body to the engine, and back to the budget when the body has been sent).
pub async fn collect(
    body: &mut Incoming,
    limit: usize,
    budget: &BodyBudget,
) -> Result<(Bytes, Held), CollectError> {
    use http_body::Body as _;
    use http_body_util::BodyExt;
    // A Content-Length gives the exact size: one allocation of that size. Chunked bodies grow
    // by doubling, but never past the limit, so a body costs at most its size twice over while
    // it arrives, and a body at the limit never more than the limit.
    let hint = body.size_hint();
    let exact = hint.exact().map(|n| n.min(limit as u64) as usize);
    let mut held = BodyBudget::none();
    budget
        .grow(&mut held, exact.unwrap_or(0))
        .map_err(|_| CollectError::Busy)?;
    let mut buf = bytes::BytesMut::with_capacity(exact.unwrap_or(0));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(CollectError::Read)?;
        if let Some(data) = frame.data_ref() {
            let need = buf.len() + data.len();
            if need > limit {
                return Err(CollectError::TooLarge);
            }
            if need > buf.capacity() {
                let grown = need.max(buf.capacity() * 2).min(limit);
                budget
                    .grow(&mut held, grown)
                    .map_err(|_| CollectError::Busy)?;
                buf.reserve(grown - buf.len());
            }
            buf.extend_from_slice(data);
        }
    }
    Ok((buf.freeze(), held))
}

/// Why a body to inspect could not be received.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("the request body is larger than the inspection limit")]
    TooLarge,
    #[error("the bodies being inspected already fill the gateway's budget for them")]
    Busy,
    #[error("the request body could not be read")]
    Read(#[source] hyper::Error),
}

#[derive(Debug)]
enum Inner {
    Full(Option<Bytes>),
    Stream(Incoming),
}

/// The response body on its way to the client. It carries the request's audit record, which is
/// written when the body ends or is dropped.
pub struct ResponseBody {
    inner: Inner,
    record: Option<AuditRecord>,
    /// The engine connection this came over, back to the pool at the end of the body.
    engine: Option<(super::upstream::Sender, super::upstream::Pool)>,
}

impl ResponseBody {
    pub fn full(bytes: Bytes, record: Option<AuditRecord>) -> ResponseBody {
        ResponseBody {
            inner: Inner::Full(Some(bytes)),
            record,
            engine: None,
        }
    }

    pub fn empty() -> ResponseBody {
        ResponseBody {
            inner: Inner::Full(None),
            record: None,
            engine: None,
        }
    }

    pub fn stream(body: Incoming, record: AuditRecord) -> ResponseBody {
        ResponseBody {
            inner: Inner::Stream(body),
            record: Some(record),
            engine: None,
        }
    }

    /// Gives `sender` back to `pool` when this body has been read to its end.
    pub fn returning(
        mut self,
        sender: super::upstream::Sender,
        pool: super::upstream::Pool,
    ) -> ResponseBody {
        self.engine = Some((sender, pool));
        self
    }

    fn count(&self, n: usize) {
        if let Some(r) = &self.record {
            r.counters.add_out(n);
        }
    }

    fn finish(&mut self) {
        if let Some(r) = &self.record {
            r.counters.set_complete();
        }
        if let Some((sender, pool)) = self.engine.take() {
            pool.put(sender);
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        // hyper never polls a body that is already at its end (204, 304, HEAD, empty).
        if self.is_end_stream() {
            self.finish();
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = match &mut this.inner {
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Stream(body) => Pin::new(body).poll_frame(cx),
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.count(data.len());
                }
            }
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Err(_))) => {
                if let Some(m) = crate::metrics::get() {
                    m.engine_error(EngineError::died_mid_response);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(bytes) => bytes.is_none(),
            Inner::Stream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Inner::Full(None) => SizeHint::with_exact(0),
            Inner::Stream(body) => body.size_hint(),
        }
    }
}
