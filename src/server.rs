//! One client connection: TLS handshake (bounded by `limits.handshake_timeout`), the client's
//! identity from its verified certificate, then HTTP/1.1 with upgrades, where each request head
//! must arrive within `limits.header_timeout` and fit in `limits.max_header_bytes` (else 431).
//!
//! Accepted sockets get TCP keep-alive and no-delay; there is no idle timeout on streams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use socket2::{SockRef, TcpKeepalive};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::config::Limits;
use crate::proxy::CertIds;
use crate::proxy::{Proxy, Session};
use crate::shutdown::{ConnectionSlot, DrainSignal, Phase};
use crate::tls::{CertId, ClientIdentity};

/// What a connection is served with: built from one `Config`, swapped whole on reload.
pub struct State {
    pub acceptor: TlsAcceptor,
    pub proxy: Arc<Proxy>,
    pub limits: Limits,
    pub grace: Duration,
    /// What runs out when (server certificate, CRLs), for the warnings.
    pub expiries: Vec<crate::Expiry>,
    /// Files whose changes trigger a reload (`tls.watch`).
    pub watched: Vec<std::path::PathBuf>,
}

/// Shared by every connection: the current state and the drain phase.
pub struct Shared {
    pub state: ArcSwap<State>,
    pub drain: DrainSignal,
}

/// How long an idle peer may stay silent before TCP keep-alive probes it.
const KEEPALIVE_TIME: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVE_RETRIES: u32 = 4;

/// Serves one accepted connection to its end. Errors are logged, never returned.
pub async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, slot: ConnectionSlot) {
    tune_socket(&stream);
    // The state at accept time serves the handshake and this connection's limits; each request
    // picks up the state current when it arrives.
    let state = shared.state.load_full();
    let mut drain = shared.drain.clone();
    let acceptor = state.acceptor.clone();
    let handshake = tokio::time::timeout(state.limits.handshake_timeout, async move {
        if is_plain_http(&stream).await {
            refuse_plain_http(stream).await;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "plain HTTP on the TLS port; answered 400",
            ));
        }
        acceptor.accept(stream).await
    });
    let tls = tokio::select! {
        result = handshake => match result {
            Err(_) => {
                tracing::info!(
                    %peer,
                    timeout = ?state.limits.handshake_timeout,
                    "TLS handshake timed out (limits.handshake_timeout)"
                );
                return;
            }
            Ok(Err(e)) => {
                tracing::info!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Ok(Ok(tls)) => tls,
        },
        _ = drain.reached(Phase::Draining) => return,
    };
    let chain = tls.get_ref().1.peer_certificates().unwrap_or_default();
    let Some(leaf) = chain.first() else {
        tracing::warn!(%peer, "TLS handshake finished without a client certificate");
        return;
    };
    let chain_ids = CertIds {
        leaf: CertId::from_der(leaf).unwrap_or_default(),
        intermediates: chain[1..]
            .iter()
            .filter_map(|c| CertId::from_der(c))
            .collect(),
    };
    let identity = match ClientIdentity::from_der(leaf) {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(%peer, error = %e, "cannot read the verified client certificate");
            return;
        }
    };
    let session = Arc::new(Session::new(
        identity,
        chain_ids,
        peer,
        shared.drain.clone(),
        Some(slot),
    ));
    let span = tracing::info_span!("conn", %peer, client = %session.log_name);
    let requests = shared.clone();
    let service = service_fn(move |req| {
        let proxy = requests.state.load().proxy.clone();
        proxy.handle(session.clone(), req)
    });
    // The parser's hard cap is twice the configured limit: heads between the two are read
    // and answered by the proxy with a 431 that names the limit; beyond, hyper answers a
    // bare 431 without reading further.
    let limits = &state.limits;
    let hard_cap = limits.max_header_bytes.saturating_mul(2);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(hard_cap)
        .max_buf_size(hard_cap.max(400 * 1024) + 8192);
    let conn = builder
        .serve_connection(TokioIo::new(tls), service)
        .with_upgrades();
    async move {
        tokio::pin!(conn);
        let result = tokio::select! {
            r = conn.as_mut() => r,
            _ = drain.reached(Phase::Draining) => {
                // Idle keep-alive connections close now; a response in flight (a `logs -f`
                // stream included) runs on until it ends or the grace period is over.
                conn.as_mut().graceful_shutdown();
                tokio::select! {
                    r = conn.as_mut() => r,
                    _ = drain.reached(Phase::Cut) => return,
                }
            }
        };
        if let Err(e) = result {
            log_connection_error(&e, limits);
        }
    }
    .instrument(span)
    .await;
}

/// Whether the client speaks plain HTTP (a request line) instead of starting TLS (whose first
/// byte is 0x16).
async fn is_plain_http(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1) if first[0].is_ascii_uppercase())
}

/// Answers a plain-HTTP client the way Go's servers (and so dockerd) do, which the docker CLI
/// shows as is: the usual mistake is `tcp://` without `--tlsverify`. Nothing is read past the
/// peeked byte and nothing reaches the engine.
async fn refuse_plain_http(mut stream: TcpStream) {
    use tokio::io::AsyncWriteExt;
    let _ = stream
        .write_all(
            b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
        )
        .await;
    let _ = stream.shutdown().await;
    // Read what the client sent (bounded) before closing, so that closing with unread data does
    // not reset the connection under the answer.
    use tokio::io::AsyncReadExt;
    let mut sink = [0u8; 4096];
    let drain = async {
        let mut total = 0;
        while let Ok(n @ 1..) = stream.read(&mut sink).await {
            total += n;
            if total > 64 * 1024 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
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
