//! One client connection, in order: a place in the handshake budget (`limits.max_handshakes`;
//! see `admission.rs`), the first byte within `limits.first_byte_timeout`, the TLS handshake
//! within `limits.handshake_timeout`, the client's identity from its verified certificate, its
//! place under `limits.max_connections_per_identity` (else a Docker-style 429) and then under
//! `limits.max_connections` (it waits in a queue as long as the handshake budget; a full queue
//! gets a Docker-style 503); then HTTP/1.1 with upgrades, where each request
//! head must arrive within `limits.header_timeout` and fit in `limits.max_header_bytes` (else
//! 431), until the client closes, the gateway drains, or the client loses its access (see
//! `proxy/session.rs`: the connection is cut, streams included).
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
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::admission::Handshakes;
use crate::config::Limits;
use crate::metrics::labels::HandshakeFailure;
use crate::proxy::{Proxy, ProxyError, Session, Sessions};
use crate::shutdown::{ConnectionSlot, DrainSignal, Phase, TrackGuard};
use crate::tls::ClientIdentity;

/// What a connection is served with: built from one `Config`, swapped whole on reload.
pub struct State {
    pub acceptor: TlsAcceptor,
    pub proxy: Arc<Proxy>,
    pub limits: Limits,
    pub grace: Duration,
    /// What runs out when (server certificate, CRLs), for the warnings.
    pub expiries: Vec<crate::tls::Expiry>,
    /// The server and CA certificates' expiry dates, for the metrics.
    pub certificates: Vec<crate::metrics::CertificateDate>,
    /// The CRLs' next-update dates, for the metrics.
    pub crls: Vec<crate::metrics::CrlDate>,
    /// Files whose changes trigger a reload (`tls.watch`).
    pub watched: Vec<std::path::PathBuf>,
}

/// Shared by every connection: the current state, the drain phase, and the budgets.
pub struct Shared {
    pub state: ArcSwap<State>,
    pub drain: DrainSignal,
    /// Connections still in the TLS handshake (`limits.max_handshakes`).
    pub handshakes: Arc<Handshakes>,
    /// Verified connections (`limits.max_connections`, lowered to fit the open-file limit).
    pub permits: Arc<Semaphore>,
    /// Verified connections waiting for one of `permits` (as many as `handshakes` holds).
    pub waiting: Arc<Semaphore>,
    /// Every verified connection, by identity (`limits.max_connections_per_identity`).
    pub sessions: Arc<Sessions>,
}

/// How long an idle peer may stay silent before TCP keep-alive probes it.
const KEEPALIVE_TIME: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVE_RETRIES: u32 = 4;

/// Serves one accepted connection to its end. Errors are logged, never returned.
pub async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, track: TrackGuard) {
    tune_socket(&stream);
    let mut pending = shared.handshakes.admit();
    // The state at accept time serves the handshake and this connection's limits; each request
    // picks up the state current when it arrives.
    let state = shared.state.load_full();
    let mut drain = shared.drain.clone();
    let tls = tokio::select! {
        done = handshake(&state, stream, peer) => match done {
            Some(tls) => tls,
            None => return,
        },
        _ = &mut pending.evicted => {
            tracing::debug!(%peer, "pending handshake dropped to make room (limits.max_handshakes)");
            handshake_ended(Some(HandshakeFailure::timeout));
            return;
        }
        _ = drain.reached(Phase::Draining) => return,
    };
    let chain: Vec<_> = tls
        .get_ref()
        .1
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    let Some(leaf) = chain.first() else {
        tracing::warn!(%peer, "TLS handshake finished without a client certificate");
        failed_after_handshake(HandshakeFailure::no_certificate);
        return;
    };
    let identity = match ClientIdentity::from_der(leaf) {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(%peer, error = %e, "cannot read the verified client certificate");
            failed_after_handshake(HandshakeFailure::protocol);
            return;
        }
    };
    let current = shared.state.load();
    let per_identity = current.limits.max_connections_per_identity;
    let registration = match shared
        .sessions
        .register(&identity.fingerprint, per_identity)
    {
        Ok(r) => r,
        Err(too_many) => {
            drop(pending);
            tracing::warn!(
                %peer,
                client = %identity.display_name(),
                limit = too_many.limit,
                "connection refused: too many connections for this client (limits.max_connections_per_identity)"
            );
            refuse(tls, too_many.into(), current.limits.header_timeout).await;
            return;
        }
    };
    drop(pending);
    // Its place under limits.max_connections: at once, or after a wait in a queue as long as the
    // handshake budget (a full queue gets a Docker-style 503).
    let permit = match shared.permits.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            let Ok(_queued) = shared.waiting.clone().try_acquire_owned() else {
                tracing::warn!(
                    %peer,
                    client = %identity.display_name(),
                    "connection refused: at limits.max_connections with a full queue"
                );
                refuse(tls, ProxyError::AtCapacity, current.limits.header_timeout).await;
                return;
            };
            tokio::select! {
                p = shared.permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
                _ = drain.reached(Phase::Draining) => return,
            }
        }
    };
    let session = Arc::new(Session::new(
        identity,
        chain,
        peer,
        shared.drain.clone(),
        Some(ConnectionSlot::new(permit, track)),
    ));
    // The handshake verified the chain with the acceptor of `state`.
    session.verified_by_handshake(state.proxy.generation, state.proxy.crls_valid_until);
    shared.sessions.insert(registration, &session);
    let span = tracing::info_span!("conn", %peer, client = %session.log_name);
    let requests = shared.clone();
    let cut = session.clone();
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
            reason = cut.cut_signal() => {
                // A response in flight (a `logs -f` stream included) ends with the connection.
                tracing::info!(reason = reason.as_str(), "connection cut");
                return;
            }
            _ = drain.reached(Phase::Draining) => {
                // Idle keep-alive connections close now; a response in flight (a `logs -f`
                // stream included) runs on until it ends or the grace period is over.
                conn.as_mut().graceful_shutdown();
                tokio::select! {
                    r = conn.as_mut() => r,
                    _ = cut.cut_signal() => return,
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

/// The TLS handshake: the first byte within `limits.first_byte_timeout`, all of it within
/// `limits.handshake_timeout`. Plain HTTP gets Go's 400. `None`: it failed (and was logged).
async fn handshake(
    state: &State,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let limits = &state.limits;
    let acceptor = state.acceptor.clone();
    let work = async move {
        let mut first = [0u8; 1];
        match tokio::time::timeout(limits.first_byte_timeout, stream.peek(&mut first)).await {
            Err(_) => {
                return Err(Failure::FirstByte);
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                tracing::debug!(%peer, "connection closed before the TLS handshake");
                return Err(Failure::Closed);
            }
            Ok(Ok(_)) => {}
        }
        if first[0].is_ascii_uppercase() {
            refuse_plain_http(stream).await;
            return Err(Failure::PlainHttp);
        }
        acceptor.accept(stream).await.map_err(Failure::Tls)
    };
    let done = tokio::time::timeout(limits.handshake_timeout, work).await;
    handshake_ended(match &done {
        Ok(Ok(_)) => None,
        Err(_) | Ok(Err(Failure::FirstByte)) => Some(HandshakeFailure::timeout),
        Ok(Err(Failure::Closed)) => return None,
        Ok(Err(Failure::PlainHttp)) => Some(HandshakeFailure::plain_http),
        Ok(Err(Failure::Tls(e))) => Some(crate::metrics::handshake::reason(e)),
    });
    match done {
        Ok(Ok(tls)) => Some(tls),
        Err(_) => {
            tracing::info!(
                %peer,
                timeout = ?limits.handshake_timeout,
                "TLS handshake timed out (limits.handshake_timeout)"
            );
            None
        }
        Ok(Err(Failure::FirstByte)) => {
            tracing::info!(
                %peer,
                timeout = ?limits.first_byte_timeout,
                "nothing received in time (limits.first_byte_timeout); connection closed"
            );
            None
        }
        Ok(Err(Failure::Closed)) => None,
        Ok(Err(Failure::PlainHttp)) => {
            tracing::info!(%peer, "plain HTTP on the TLS port; answered 400");
            None
        }
        Ok(Err(Failure::Tls(e))) => {
            tracing::info!(%peer, error = %e, "TLS handshake failed");
            None
        }
    }
}

/// Counts a handshake that began (a byte arrived, or the wait for it ran out), and its failure.
fn handshake_ended(failure: Option<HandshakeFailure>) {
    if let Some(m) = crate::metrics::get() {
        m.handshakes.inc();
        if let Some(reason) = failure {
            m.handshake_failed(reason);
        }
    }
}

/// A handshake rustls accepted, whose client dockgate still cannot serve.
fn failed_after_handshake(reason: HandshakeFailure) {
    if let Some(m) = crate::metrics::get() {
        m.handshake_failed(reason);
    }
}

enum Failure {
    FirstByte,
    Closed,
    PlainHttp,
    Tls(std::io::Error),
}

/// Answers the first request of a connection the gateway will not serve (over
/// `limits.max_connections_per_identity`: 429; at capacity: 503) with a Docker-style error that
/// names the limit, then closes it.
async fn refuse(
    tls: tokio_rustls::server::TlsStream<TcpStream>,
    why: ProxyError,
    header_timeout: Duration,
) {
    let (status, message) = (why.status(), why.to_string());
    let service = service_fn(move |_req| {
        let response = crate::proxy::docker_error(status, &message, None);
        async move { Ok::<_, std::convert::Infallible>(response) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(false)
        .serve_connection(TokioIo::new(tls), service);
    let _ = tokio::time::timeout(header_timeout, conn).await;
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

/// Logs why hyper ended a connection, with the status hyper answered (its `Server::on_error` in
/// `proto/h1/role.rs`: 400 for a malformed head, 431 for `Parse::TooLarge`, 414 for
/// `Parse::UriTooLong`, nothing for an HTTP/2 preface).
fn log_connection_error(e: &hyper::Error, limits: &Limits) {
    // hyper 1 reports both "too large" kinds through `is_parse_too_large()` and has no method for
    // `Parse::UriTooLong`; only its Display tells them apart (`src/error.rs`). Pinned by
    // `tests/uri_too_long.rs`.
    const URI_TOO_LONG: &str = "URI too long";
    if e.is_timeout() {
        tracing::info!(
            timeout = ?limits.header_timeout,
            "request head not received in time (limits.header_timeout); connection closed"
        );
    } else if e.is_parse_too_large() && e.to_string() == URI_TOO_LONG {
        tracing::info!(
            status = 414,
            "request URI longer than hyper's fixed limit of 65534 bytes; answered 414"
        );
    } else if e.is_parse_too_large() {
        tracing::info!(
            status = 431,
            limit = limits.max_header_bytes,
            "request head too large (limits.max_header_bytes); answered 431"
        );
    } else if e.is_parse_version_h2() {
        tracing::info!("HTTP/2 connection preface on HTTP/1.1; connection closed");
    } else if e.is_parse() {
        tracing::info!(status = 400, error = %e, "malformed HTTP request; answered 400");
    } else {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
