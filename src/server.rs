//! One client connection: TLS handshake (bounded by `limits.handshake_timeout`), the client's
//! identity from its verified certificate, then HTTP/1.1 with upgrades, where each request head
//! must arrive within `limits.header_timeout` and fit in `limits.max_header_bytes` (else 431).
//!
//! Accepted sockets get TCP keep-alive and no-delay; there is no idle timeout on streams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use socket2::{SockRef, TcpKeepalive};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::config::Limits;
use crate::proxy::{Proxy, Session};
use crate::tls::ClientIdentity;

/// Everything a connection needs, shared by all connections.
pub struct Server {
    pub acceptor: TlsAcceptor,
    pub proxy: Arc<Proxy>,
    pub limits: Limits,
}

/// How long an idle peer may stay silent before TCP keep-alive probes it.
const KEEPALIVE_TIME: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVE_RETRIES: u32 = 4;

impl Server {
    /// Serves one accepted connection to its end. Errors are logged, never returned.
    pub async fn serve(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        permit: OwnedSemaphorePermit,
    ) {
        tune_socket(&stream);
        let handshake =
            tokio::time::timeout(self.limits.handshake_timeout, self.acceptor.accept(stream)).await;
        let tls = match handshake {
            Err(_) => {
                tracing::info!(
                    %peer,
                    timeout = ?self.limits.handshake_timeout,
                    "TLS handshake timed out (limits.handshake_timeout)"
                );
                return;
            }
            Ok(Err(e)) => {
                tracing::info!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Ok(Ok(tls)) => tls,
        };
        let Some(leaf) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) else {
            tracing::warn!(%peer, "TLS handshake finished without a client certificate");
            return;
        };
        let identity = match ClientIdentity::from_der(leaf) {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "cannot read the verified client certificate");
                return;
            }
        };
        let span = tracing::info_span!("conn", %peer, client = %identity.display_name());
        let session = Arc::new(Session::new(identity, peer, Some(permit)));
        let proxy = self.proxy.clone();
        let service = service_fn(move |req| proxy.clone().handle(session.clone(), req));
        // The parser's hard cap is twice the configured limit: heads between the two are read
        // and answered by the proxy with a 431 that names the limit; beyond, hyper answers a
        // bare 431 without reading further.
        let hard_cap = self.limits.max_header_bytes.saturating_mul(2);
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .max_header_size(hard_cap)
            .max_buf_size(hard_cap.max(400 * 1024) + 8192);
        let conn = builder
            .serve_connection(TokioIo::new(tls), service)
            .with_upgrades();
        async move {
            tracing::debug!("connection established");
            if let Err(e) = conn.await {
                log_connection_error(&e, &self.limits);
            }
        }
        .instrument(span)
        .await;
    }
}

fn tune_socket(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_TIME)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_RETRIES);
    if let Err(e) = SockRef::from(stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!(error = %e, "cannot enable TCP keep-alive");
    }
}

fn log_connection_error(e: &hyper::Error, limits: &Limits) {
    if e.is_timeout() {
        tracing::info!(
            timeout = ?limits.header_timeout,
            "request head not received in time (limits.header_timeout); connection closed"
        );
    } else if e.is_parse_too_large() {
        tracing::info!(
            limit = limits.max_header_bytes,
            "request head too large (limits.max_header_bytes); answered 431"
        );
    } else if e.is_parse() {
        tracing::info!(error = %e, "malformed HTTP request; answered 400");
    } else {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
