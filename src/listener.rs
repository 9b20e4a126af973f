//! Listening sockets and the accept loop.
//!
//! Sockets come from systemd when it hands them over (socket activation: `LISTEN_FDS`,
//! `LISTEN_PID`, `LISTEN_FDNAMES`, see sd_listen_fds(3)); otherwise dockgate binds
//! `listen.addresses` itself.
//!
//! The loop accepts at once and hands each socket to the server, which bounds what it keeps:
//! pending handshakes have their own budget (`limits.max_handshakes`, oldest dropped first, see
//! `admission.rs`), verified connections theirs (`limits.max_connections`, waiting for a slot).
//! A loop that stopped accepting at a limit would let idle sockets in the kernel's backlog lock
//! verified clients out. Accept errors such as running out of file descriptors back off briefly
//! instead of spinning.

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} (listen.addresses)")]
pub struct ListenError {
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Why the sockets systemd handed over cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error("cannot read the sockets passed by systemd (LISTEN_FDS)")]
    Env(#[source] std::io::Error),
    #[error("socket {name:?} passed by systemd (fd {fd}) is unusable")]
    Socket {
        fd: i32,
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("socket {name:?} passed by systemd (fd {fd}) is not a listening TCP socket; use ListenStream= with an IP address or port")]
    NotTcpListener { fd: i32, name: String },
}

/// The listening sockets systemd passed to this process, with their names; empty when not
/// socket-activated. Call once, before anything else takes file descriptors.
pub fn inherited() -> Result<Vec<(std::net::TcpListener, String)>, ActivationError> {
    // Names are read only when descriptors are really ours: with LISTEN_PID naming another
    // process, sd-notify would report LISTEN_FDNAMES as inconsistent.
    if sd_notify::listen_fds().map_err(ActivationError::Env)?.len() == 0 {
        return Ok(Vec::new());
    }
    let fds = sd_notify::listen_fds_with_names().map_err(ActivationError::Env)?;
    let mut out = Vec::with_capacity(fds.len());
    for (fd, name) in fds {
        let socket = adopt(fd);
        let err = |source| ActivationError::Socket {
            fd,
            name: name.clone(),
            source,
        };
        let is_tcp = socket.r#type().map_err(err)? == Type::STREAM
            && socket.local_addr().map_err(err)?.as_socket().is_some()
            && socket.is_listener().map_err(err)?;
        if !is_tcp {
            return Err(ActivationError::NotTcpListener { fd, name });
        }
        socket.set_nonblocking(true).map_err(err)?;
        out.push((std::net::TcpListener::from(socket), name));
    }
    Ok(out)
}

#[allow(unsafe_code)]
fn adopt(fd: std::os::fd::RawFd) -> Socket {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: by the sd_listen_fds protocol, LISTEN_PID names this process, so descriptors
    // 3..3+LISTEN_FDS were opened for it and nothing else in the process owns them.
    // `inherited` is called once, at start-up, so each descriptor is taken over exactly once.
    Socket::from(unsafe { OwnedFd::from_raw_fd(fd) })
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

/// Accepts connections for ever, handing each to `on_conn`.
pub async fn accept_loop<F>(listener: TcpListener, on_conn: F)
where
    F: Fn(TcpStream, SocketAddr),
{
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => on_conn(stream, peer),
            Err(e) => {
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
