//! The hop to the Docker Engine: HTTP/1.1 over its unix socket, with upgrades enabled.
//!
//! Engine connections are shared by all client connections through a small pool of idle ones:
//! a request takes the most recently idle connection (or opens one), and the connection goes
//! back to the pool when the response has been read to its end. An idle client connection
//! holds no engine connection, so ten thousand idle clients cost ten thousand descriptors, not
//! twenty. A connection that was upgraded, closed, or whose response was not read to the end is
//! never reused.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::body::RequestBody;
use crate::metrics::labels::EngineError;

pub type Sender = http1::SendRequest<RequestBody>;

/// How long a kept engine connection may take to become idle before a new one is opened.
const REUSE_WAIT: Duration = Duration::from_secs(1);

/// Idle engine connections kept at most; more are closed.
pub const MAX_IDLE: usize = 128;

/// Why the engine could not answer. The Display names the socket, for the gateway's log; clients
/// are told only `client_hint()`.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot connect to the Docker Engine at {}", socket.display())]
    Connect {
        socket: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "timed out after {timeout:?} connecting to the Docker Engine at {} (limits.upstream_connect_timeout)",
        socket.display()
    )]
    ConnectTimeout { socket: PathBuf, timeout: Duration },
    #[error(
        "no engine connection became free within {timeout:?}: the open-file limit leaves room for {limit} (see the warning at start)"
    )]
    Busy { timeout: Duration, limit: usize },
    #[error("HTTP handshake with the Docker Engine at {} failed", socket.display())]
    Handshake {
        socket: PathBuf,
        #[source]
        source: hyper::Error,
    },
    #[error("the Docker Engine at {} did not answer the request", socket.display())]
    Request {
        socket: PathBuf,
        #[source]
        source: hyper::Error,
    },
}

impl UpstreamError {
    /// Which step failed, in the words a client is shown: no socket path, no OS error.
    pub fn client_hint(&self) -> &'static str {
        match self {
            UpstreamError::Connect { .. } | UpstreamError::Handshake { .. } => {
                "cannot connect to it"
            }
            UpstreamError::ConnectTimeout { .. } => "connecting to it timed out",
            UpstreamError::Busy { .. } => {
                "the gateway is at its limit of engine connections; try again later"
            }
            UpstreamError::Request { .. } => "the request to it failed",
        }
    }
}

impl UpstreamError {
    /// The `dockgate_engine_errors_total` kind; `None` for the gateway's own limit (`Busy`) and
    /// for running out of descriptors, which are not the engine's doing.
    pub fn metric_kind(&self) -> Option<EngineError> {
        match self {
            UpstreamError::Connect { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => Some(EngineError::socket_missing),
                std::io::ErrorKind::PermissionDenied => Some(EngineError::permission_denied),
                _ if source.raw_os_error().is_some_and(is_fd_exhaustion) => None,
                _ => Some(EngineError::connect_refused),
            },
            UpstreamError::Handshake { .. } => Some(EngineError::connect_refused),
            UpstreamError::ConnectTimeout { .. } => Some(EngineError::timeout),
            UpstreamError::Busy { .. } => None,
            // The client's own request body failing (an upload cut short) is not the engine's.
            UpstreamError::Request { source, .. } if source.is_user() => None,
            UpstreamError::Request { .. } => Some(EngineError::died_mid_response),
        }
    }
}

/// EMFILE or ENFILE: the gateway (or the system) is out of file descriptors.
fn is_fd_exhaustion(errno: i32) -> bool {
    errno == rustix::io::Errno::MFILE.raw_os_error()
        || errno == rustix::io::Errno::NFILE.raw_os_error()
}

/// Whether a connection was kept from an earlier request or opened for this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    Kept,
    New,
}

/// An engine socket holding its place in the engine-connection budget for as long as it is open,
/// including after an upgrade hands it to a hijacked stream.
#[derive(Debug)]
struct Counted {
    stream: UnixStream,
    /// `None` for the health probe's connection, which is outside the budget (one at a time,
    /// from the descriptors `fdlimit` reserves).
    _permit: Option<OwnedSemaphorePermit>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Idle engine connections, shared; the most recently idle one is taken first.
#[derive(Debug, Clone, Default)]
pub struct Pool(Arc<Mutex<Vec<Sender>>>);

impl Pool {
    fn take(&self) -> Option<Sender> {
        self.0.lock().ok()?.pop()
    }

    /// Returns a connection whose response has been read to its end.
    pub fn put(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.0.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(sender);
            }
        }
    }

    /// Closes every idle connection.
    fn clear(&self) {
        if let Ok(mut idle) = self.0.lock() {
            idle.clear();
        }
    }

    /// Idle connections kept now.
    pub fn idle(&self) -> usize {
        self.0.lock().map(|i| i.len()).unwrap_or(0)
    }
}

/// Where the engine is, how long to wait for it, and its idle connections.
#[derive(Debug, Clone)]
pub struct Upstream {
    socket: PathBuf,
    connect_timeout: Duration,
    pub pool: Pool,
    /// Engine connections that may be open at once (the open-file budget), shared across
    /// reloads; each connection holds a permit until it closes.
    engine: Arc<Semaphore>,
    engine_limit: usize,
}

impl Upstream {
    pub fn new(
        socket: PathBuf,
        connect_timeout: Duration,
        engine: Arc<Semaphore>,
        engine_limit: usize,
    ) -> Upstream {
        Upstream {
            socket,
            connect_timeout,
            pool: Pool::default(),
            engine,
            engine_limit,
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A fresh connection to the engine.
    pub async fn connect(&self) -> Result<Sender, UpstreamError> {
        let busy = || UpstreamError::Busy {
            timeout: self.connect_timeout,
            limit: self.engine_limit,
        };
        let permit = match self.engine.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // Idle pooled connections are the first to give way.
                self.pool.clear();
                tokio::time::timeout(self.connect_timeout, self.engine.clone().acquire_owned())
                    .await
                    .map_err(|_| busy())?
                    .map_err(|_| busy())?
            }
        };
        self.open(Some(permit)).await
    }

    /// Connects and starts the HTTP/1 connection task, holding `permit` for its lifetime.
    async fn open(&self, permit: Option<OwnedSemaphorePermit>) -> Result<Sender, UpstreamError> {
        let stream = tokio::time::timeout(self.connect_timeout, UnixStream::connect(&self.socket))
            .await
            .map_err(|_| UpstreamError::ConnectTimeout {
                socket: self.socket.clone(),
                timeout: self.connect_timeout,
            })?
            .map_err(|source| UpstreamError::Connect {
                socket: self.socket.clone(),
                source,
            })?;
        let stream = Counted {
            stream,
            _permit: permit,
        };
        let (sender, conn) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|source| UpstreamError::Handshake {
                socket: self.socket.clone(),
                source,
            })?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "engine connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// A connection for the next request: an idle one from the pool, else a new one.
    ///
    /// A pooled connection had its response read to the end, so it is idle or about to be (its
    /// task may not have seen the end of the body yet). Closed ones (the engine restarted, or
    /// closed an idle connection) are dropped; one that does not settle within `REUSE_WAIT` is
    /// dropped too.
    pub async fn sender(&self) -> Result<(Sender, Reuse), UpstreamError> {
        while let Some(mut sender) = self.pool.take() {
            if sender.is_closed() {
                continue;
            }
            if sender.is_ready() {
                return Ok((sender, Reuse::Kept));
            }
            if let Ok(Ok(())) = tokio::time::timeout(REUSE_WAIT, sender.ready()).await {
                return Ok((sender, Reuse::Kept));
            }
        }
        Ok((self.connect().await?, Reuse::New))
    }

    /// `GET /_ping` on a connection of its own, for health checks: `Err` says why not, in one
    /// line. The connection is closed afterwards, never pooled: its task runs on the caller's
    /// runtime (the main thread's), and requests on a worker would pay a cross-thread wake-up
    /// for every read and write on it. It is outside the engine-connection budget, so that
    /// clients holding every engine connection (streams) do not make the engine look down;
    /// callers run one probe at a time.
    pub async fn ping(&self) -> Result<(), String> {
        use http_body_util::BodyExt;
        let chain = |e: &dyn std::error::Error| crate::check::error_chain(e);
        let mut sender = self.open(None).await.map_err(|e| chain(&e))?;
        let req = http::Request::get("/_ping")
            .header(http::header::HOST, "docker")
            .body(RequestBody::full(
                bytes::Bytes::new(),
                super::budget::BodyBudget::none(),
                Arc::new(crate::audit::Counters::default()),
            ))
            .map_err(|e| e.to_string())?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| chain(&self.request_error(e)))?;
        let status = resp.status();
        resp.into_body()
            .collect()
            .await
            .map_err(|e| chain(&self.request_error(e)))?;
        drop(sender);
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the engine answered /_ping with {status}"))
        }
    }

    pub fn request_error(&self, source: hyper::Error) -> UpstreamError {
        UpstreamError::Request {
            socket: self.socket.clone(),
            source,
        }
    }
}
