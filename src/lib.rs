//! dockgate: a mutual-TLS gateway that puts the Docker Engine API on the network safely.
//!
//! The data path, one module per box:
//! - [`listener`]: bind (or adopt) TCP sockets; accept loop with a connection cap.
//! - [`server`]: per connection: TLS handshake with a timeout, client identity from the verified
//!   leaf, HTTP/1.1 with upgrades and request-head limits.
//! - [`proxy`]: per request: canonical path, policy decision, forward to the engine's unix socket,
//!   stream both ways, or splice a hijacked (`101`) connection with half-close.
//! - [`policy`]: pure `decide(identity, request)`, compiled once from `[[allow]]`.
//! - [`audit`]: one audit event per request on its own tracing target.
//!
//! Beside it: [`config`] (load → validate → typed `Config`), [`tls`] (server config, client
//! verifier, identity), [`telemetry`] (tracing setup), [`check`] (`dockgate check`), and
//! [`certs`] (the `dockgate certs` CA tooling, which the server never uses).

pub mod audit;
pub mod certs;
pub mod check;
pub mod cli;
pub mod config;
pub mod listener;
pub mod policy;
pub mod proxy;
pub mod quickstart;
pub mod server;
pub mod telemetry;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use config::Config;
use policy::Policy;
use proxy::{Proxy, Upstream};
use server::Server;

/// Why the gateway could not be built from a configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{path}: TLS setup failed", path = .path.display())]
    Tls {
        path: std::path::PathBuf,
        #[source]
        source: Box<tls::TlsError>,
    },
}

/// Builds the shared server state from a validated configuration.
pub fn build(config: &Config) -> Result<Arc<Server>, BuildError> {
    let tls = tls::server_config(&config.tls).map_err(|source| BuildError::Tls {
        path: config.source.clone(),
        source: Box::new(source),
    })?;
    let proxy = Proxy {
        policy: Policy::compile(&config.allow),
        upstream: Upstream::new(
            config.upstream.socket.clone(),
            config.limits.upstream_connect_timeout,
        ),
        max_header_bytes: config.limits.max_header_bytes,
    };
    Ok(Arc::new(Server {
        acceptor: TlsAcceptor::from(tls),
        proxy: Arc::new(proxy),
        limits: config.limits.clone(),
    }))
}

/// Serves on `listeners` until `shutdown` completes.
pub async fn run(
    listeners: Vec<TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BuildError> {
    let server = build(&config)?;
    let permits = Arc::new(Semaphore::new(config.limits.max_connections));
    let mut accept_loops = JoinSet::new();
    for listener in listeners {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, upstream = %config.upstream.socket.display(), "listening");
        }
        let server = server.clone();
        accept_loops.spawn(listener::accept_loop(
            listener,
            permits.clone(),
            move |stream, peer, permit| {
                tokio::spawn(server.clone().serve(stream, peer, permit));
            },
        ));
    }
    shutdown.await;
    tracing::info!("shutting down");
    accept_loops.abort_all();
    Ok(())
}
