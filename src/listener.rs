//! Listening sockets and the accept loop.
//!
//! At most `limits.max_connections` connections are open at once: the loop takes a permit before
//! it accepts, so past the limit new connections wait in the kernel's backlog (and are refused by
//! the kernel once that is full) instead of being accepted without bound. Accept errors such as
//! running out of file descriptors back off briefly instead of spinning.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} (listen.addresses)")]
pub struct ListenError {
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Binds one listener per address. IPv6 sockets are IPv6-only, so `0.0.0.0:2376` and
/// `[::]:2376` can both be listed.
pub fn bind(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, ListenError> {
    addrs
        .iter()
        .map(|&addr| bind_one(addr).map_err(|source| ListenError { addr, source }))
        .collect()
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Accepts connections for ever, handing each to `on_conn` with its connection permit.
pub async fn accept_loop<F>(listener: TcpListener, permits: Arc<Semaphore>, on_conn: F)
where
    F: Fn(TcpStream, SocketAddr, OwnedSemaphorePermit),
{
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, peer)) => on_conn(stream, peer, permit),
            Err(e) => {
                drop(permit);
                if is_resource_exhaustion(&e) {
                    tracing::warn!(error = %e, "accept failed; backing off");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                } else {
                    tracing::debug!(error = %e, "accept failed");
                }
            }
        }
    }
}

fn is_resource_exhaustion(e: &std::io::Error) -> bool {
    // EMFILE, ENFILE, ENOBUFS, ENOMEM
    matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12))
}
