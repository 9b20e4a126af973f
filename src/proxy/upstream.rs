//! The hop to the Docker Engine: HTTP/1.1 over its unix socket, with upgrades enabled.
//!
//! Each client connection keeps at most one engine connection for reuse across its keep-alive
//! requests (requests on one HTTP/1.1 connection come one after another, and so can share one);
//! a connection that was upgraded, closed or is still busy is never reused.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use super::body::RequestBody;

pub type Sender = http1::SendRequest<RequestBody>;

/// How long a kept engine connection may take to become idle before a new one is opened.
const REUSE_WAIT: Duration = Duration::from_secs(1);

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
            UpstreamError::Request { .. } => "the request to it failed",
        }
    }
}

/// Whether a connection was kept from an earlier request or opened for this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    Kept,
    New,
}

/// Where the engine is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Upstream {
    socket: PathBuf,
    connect_timeout: Duration,
}

impl Upstream {
    pub fn new(socket: PathBuf, connect_timeout: Duration) -> Upstream {
        Upstream {
            socket,
            connect_timeout,
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A fresh connection to the engine.
    pub async fn connect(&self) -> Result<Sender, UpstreamError> {
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

    /// A connection for the next request: the one kept in `slot` once it is idle, else a new one.
    ///
    /// The client's previous response has been fully sent, so the kept connection is idle or
    /// about to be (its task may not have seen the end of the body yet). It is not reused when it
    /// closed (close-delimited or aborted responses) or does not settle within `REUSE_WAIT`
    /// (the engine is still reading a request body it answered early).
    pub async fn sender(
        &self,
        slot: &Mutex<Option<Sender>>,
    ) -> Result<(Sender, Reuse), UpstreamError> {
        let kept = slot.lock().map(|mut s| s.take()).unwrap_or(None);
        if let Some(mut sender) = kept {
            if !sender.is_closed() {
                if let Ok(Ok(())) = tokio::time::timeout(REUSE_WAIT, sender.ready()).await {
                    return Ok((sender, Reuse::Kept));
                }
            }
        }
        Ok((self.connect().await?, Reuse::New))
    }
    pub fn request_error(&self, source: hyper::Error) -> UpstreamError {
        UpstreamError::Request {
            socket: self.socket.clone(),
            source,
        }
    }
}

/// Keeps `sender` for the client connection's next request.
pub fn keep(slot: &Mutex<Option<Sender>>, sender: Sender) {
    if let Ok(mut s) = slot.lock() {
        *s = Some(sender);
    }
}
