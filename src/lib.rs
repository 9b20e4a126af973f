//! dockgate: a mutual-TLS gateway that puts the Docker Engine API on the network safely.
//!
//! The data path, one module per box:
//! - [`listener`]: bind or adopt (systemd) TCP sockets; accept loop with a connection cap.
//! - [`server`]: per connection: TLS handshake with a timeout, client identity from the verified
//!   leaf, HTTP/1.1 with upgrades and request-head limits, graceful drain.
//! - [`proxy`]: per request: canonical path, policy decision, forward to the engine's unix socket,
//!   stream both ways, or splice a hijacked (`101`) connection with half-close.
//! - [`policy`]: pure `decide(identity, request)`, compiled once from `[[allow]]`.
//! - [`audit`]: one audit event per request on its own tracing target.
//!
//! Beside it: [`config`] (load → validate → typed `Config`), [`tls`] (server config, client
//! verifier, identity), [`shutdown`] (connection tracking and drain), [`notify`] (sd_notify),
//! [`telemetry`] (tracing setup), [`check`] (`dockgate check`), [`quickstart`], and [`certs`]
//! (the `dockgate certs` CA tooling, which the server never uses).
//!
//! A [`Gateway`] holds the running state behind an atomic pointer: a reload builds the whole
//! state anew from a fresh `Config`, and swaps it in only if every part built. New handshakes and
//! new requests (also on connections already open) use the new state.

pub mod audit;
pub mod certs;
pub mod check;
pub mod cli;
pub mod config;
pub mod listener;
pub mod notify;
pub mod policy;
pub mod proxy;
pub mod quickstart;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use config::Config;
use policy::Policy;
use proxy::{Proxy, Upstream};
use server::{Shared, State};
use shutdown::{DrainOutcome, DrainSignal, Phase, Tracker};

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

/// Builds the per-connection state from a validated configuration.
pub fn build(config: &Config) -> Result<State, BuildError> {
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
    Ok(State {
        acceptor: TlsAcceptor::from(tls),
        proxy: Arc::new(proxy),
        limits: config.limits.clone(),
        grace: config.shutdown.grace,
    })
}

/// The running gateway: its reloadable state, its open connections, its phase.
pub struct Gateway {
    shared: Arc<Shared>,
    tracker: Tracker,
    phase: watch::Sender<Phase>,
    permits: Arc<Semaphore>,
    /// Settings that only a restart changes, to warn when a reload asks for another value.
    fixed: Config,
}

impl Gateway {
    pub fn new(config: &Config) -> Result<Gateway, BuildError> {
        let state = build(config)?;
        let (phase, drain) = DrainSignal::channel();
        Ok(Gateway {
            shared: Arc::new(Shared {
                state: ArcSwap::from_pointee(state),
                drain,
            }),
            tracker: Tracker::default(),
            phase,
            permits: Arc::new(Semaphore::new(config.limits.max_connections)),
            fixed: config.clone(),
        })
    }

    /// Builds everything anew from `config` and swaps it in; on error the running state stays.
    /// Returns the settings that changed but only take effect on restart.
    pub fn reload(&self, config: &Config) -> Result<Vec<&'static str>, BuildError> {
        let state = build(config)?;
        self.shared.state.store(Arc::new(state));
        let f = &self.fixed;
        let mut restart = Vec::new();
        if f.listen != config.listen {
            restart.push("listen.addresses");
        }
        if f.limits.max_connections != config.limits.max_connections {
            restart.push("limits.max_connections");
        }
        if f.log.format != config.log.format || f.log.level != config.log.level {
            restart.push("log");
        }
        Ok(restart)
    }

    /// Accepts connections on `listeners` until `stop` completes, then closes the listeners so
    /// that new connections are refused at once.
    pub async fn serve(&self, listeners: Vec<TcpListener>, stop: impl Future<Output = ()>) {
        let mut accept_loops = JoinSet::new();
        for listener in listeners {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "listening");
            }
            let shared = self.shared.clone();
            let tracker = self.tracker.clone();
            accept_loops.spawn(listener::accept_loop(
                listener,
                self.permits.clone(),
                move |stream, peer, permit| {
                    let slot = shutdown::ConnectionSlot::new(permit, tracker.guard());
                    tokio::spawn(server::serve(shared.clone(), stream, peer, slot));
                },
            ));
        }
        stop.await;
        accept_loops.shutdown().await;
    }

    /// Lets requests in flight finish and gives streams and hijacked connections the
    /// configured grace period; then closes whatever is left.
    pub async fn drain(&self) -> DrainOutcome {
        let grace = self.shared.state.load().grace;
        self.phase.send_replace(Phase::Draining);
        let outcome = shutdown::wait(&self.tracker, grace).await;
        self.phase.send_replace(Phase::Cut);
        outcome
    }

    /// Connections open now (hijacked streams included).
    pub fn open_connections(&self) -> usize {
        self.tracker.open()
    }
}

/// Serves on `listeners` until `shutdown` completes, then drains.
pub async fn run(
    listeners: Vec<TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<DrainOutcome, BuildError> {
    let gateway = Gateway::new(&config)?;
    tracing::info!(upstream = %config.upstream.socket.display(), "dockgate starting");
    gateway.serve(listeners, shutdown).await;
    Ok(gateway.drain().await)
}
