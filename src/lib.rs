//! dockgate: a mutual-TLS gateway that puts the Docker Engine API on the network safely.
//!
//! The data path, one module per box:
//! - [`listener`]: bind or adopt (systemd) TCP sockets; the accept loop.
//! - [`admission`]: the budget of connections still in the handshake, apart from verified ones.
//! - [`server`]: per connection: TLS handshake with timeouts, client identity from the verified
//!   leaf, per-identity and total connection caps, HTTP/1.1 with upgrades and request-head
//!   limits, graceful drain, and the cut when the client loses its access.
//! - [`proxy`]: per request: the client's chain checked again, canonical path, policy decision,
//!   forward to the engine's unix socket, stream both ways, or splice a hijacked (`101`)
//!   connection with half-close; the registry of open sessions that a reload re-checks.
//! - [`policy`]: pure `decide(identity, request)`, compiled once from `[[allow]]`.
//! - [`audit`]: one audit event per request on its own tracing target.
//! - [`metrics`]: Prometheus counters per allow entry and decision, handshake failures by
//!   reason, engine health; `/metrics` and `/health` on a plain-HTTP listener of their own.
//!
//! Beside it: [`fdlimit`] (the open-file limit against the connection limits), [`config`] (load → validate → typed `Config`), [`tls`] (server config, client
//! verifier, identity, CRLs), [`service`] (the process lifecycle: systemd sockets, readiness,
//! signals, reload), [`watch`] (reload when certificate files change), [`shutdown`] (connection
//! tracking and drain), [`notify`] (sd_notify), [`telemetry`] (tracing setup), [`check`]
//! (`dockgate check`), [`doctor`] (`dockgate doctor`, a client), [`quickstart`], and [`certs`]
//! (the `dockgate certs` CA tooling, which the server never uses).
//!
//! A [`Gateway`] holds the running state behind an atomic pointer: a reload builds the whole
//! state anew from a fresh `Config`, and swaps it in only if every part built. New handshakes and
//! new requests (also on connections already open) use the new state, and every open connection
//! is checked against it at once: those whose client lost its access are cut, streams included.

pub mod admission;
pub mod audit;
pub mod certs;
pub mod check;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod explain;
pub mod fdlimit;
pub mod listener;
pub mod metrics;
pub mod notify;
pub mod policy;
pub mod proxy;
pub mod quickstart;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod watch;
pub mod workers;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use admission::Handshakes;
use config::Config;
use policy::Policy;
use proxy::{Proxy, Sessions, Upstream};
use server::{Shared, State};
use shutdown::{DrainOutcome, DrainSignal, Phase, Tracker};
use tls::Expiry;

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
pub fn build(config: &Config, engine: &EngineBudget) -> Result<State, BuildError> {
    let tls = tls::setup(&config.tls).map_err(|source| BuildError::Tls {
        path: config.source.clone(),
        source: Box::new(source),
    })?;
    let mut expiries = Vec::new();
    if let Some(at) = tls.server_not_after {
        expiries.push(Expiry {
            what: "server certificate",
            path: config.tls.cert.clone(),
            at,
        });
    }
    for crl in tls.revocations.crls() {
        if let Some(at) = crl.next_update {
            expiries.push(Expiry {
                what: "revocation list (next update)",
                path: crl.path.clone(),
                at,
            });
        }
    }
    let mut certificates = Vec::new();
    if let Some(at) = tls.server_not_after {
        certificates.push(metrics::CertificateDate {
            kind: "server",
            subject: tls.server_subject.clone(),
            not_after: at.unix_timestamp(),
        });
    }
    for (subject, at) in &tls.cas {
        certificates.push(metrics::CertificateDate {
            kind: "ca",
            subject: subject.clone(),
            not_after: at.unix_timestamp(),
        });
    }
    let crls = tls
        .revocations
        .crls()
        .iter()
        .filter_map(|c| {
            Some(metrics::CrlDate {
                issuer: c.issuer_name(),
                next_update: c.next_update?.unix_timestamp(),
            })
        })
        .collect();
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    let crls_valid_until = tls
        .revocations
        .crls()
        .iter()
        .filter_map(|c| c.next_update)
        .map(SystemTime::from)
        .min();
    let policy = Policy::new(&config.allow, &config.profiles);
    for warning in policy.warnings() {
        tracing::warn!("{warning}");
    }
    let proxy = Proxy {
        verifier: tls.verifier.clone(),
        crls_valid_until,
        generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        revocations: tls.revocations.clone(),
        policy,
        upstream: Upstream::new(
            config.upstream.socket.clone(),
            config.limits.upstream_connect_timeout,
            engine.permits.clone(),
            engine.limit,
        ),
        max_header_bytes: config.limits.max_header_bytes,
        max_inspected_body: config.limits.max_inspected_body,
        body_timeout: config.limits.body_timeout,
        body_budget: engine.bodies.clone(),
    };
    Ok(State {
        acceptor: TlsAcceptor::from(tls.config),
        proxy: Arc::new(proxy),
        limits: config.limits.clone(),
        grace: config.shutdown.grace,
        expiries,
        certificates,
        crls,
        watched: if config.tls.watch {
            config.tls.all()
        } else {
            Vec::new()
        },
    })
}

/// The running gateway: its reloadable state, its open connections, its phase.
pub struct Gateway {
    shared: Arc<Shared>,
    tracker: Tracker,
    phase: tokio::sync::watch::Sender<Phase>,
    /// Settings that only a restart changes, to warn when a reload asks for another value.
    fixed: Config,
    /// Engine connections open at once, across reloads.
    engine: EngineBudget,
}

/// What every state shares across reloads: the engine connections the open-file limit leaves
/// room for (see `fdlimit`), and the memory for request bodies held for inspection.
#[derive(Debug, Clone)]
pub struct EngineBudget {
    pub permits: Arc<Semaphore>,
    pub limit: usize,
    /// Bytes of request bodies held for inspection at once (`limits.max_inspected_total`).
    pub bodies: proxy::budget::BodyBudget,
}

impl Gateway {
    pub fn new(config: &Config) -> Result<Gateway, BuildError> {
        let budget = fdlimit::budget(&config.limits, true);
        let engine = EngineBudget {
            permits: Arc::new(Semaphore::new(budget.max_engine_connections)),
            limit: budget.max_engine_connections,
            bodies: proxy::budget::BodyBudget::new(config.limits.max_inspected_total),
        };
        let state = build(config, &engine)?;
        let (phase, drain) = DrainSignal::channel();
        if budget.lowered(&config.limits) {
            tracing::warn!(
                open_file_limit = budget.soft,
                needed = budget.needed,
                max_connections = budget.max_connections,
                max_handshakes = budget.max_handshakes,
                "the open-file limit is too low for limits.max_connections and limits.max_handshakes; \
                 serving fewer connections at once (the others wait); set LimitNOFILE={} in the unit \
                 (or ulimit -n) or lower limits.max_connections",
                budget.needed
            );
        } else if budget.engine_limited() {
            tracing::info!(
                open_file_limit = budget.soft,
                max_connections = budget.max_connections,
                engine_connections = budget.max_engine_connections,
                "the open-file limit leaves room for {} engine connections: all {} connections can be open, \
                 but past {} requests or streams in flight at once, new requests wait for an engine connection \
                 (set LimitNOFILE={} for every connection to stream at once)",
                budget.max_engine_connections,
                budget.max_connections,
                budget.max_engine_connections,
                budget.needed
            );
        }
        Ok(Gateway {
            shared: Arc::new(Shared {
                state: ArcSwap::from_pointee(state),
                drain,
                handshakes: Handshakes::new(budget.max_handshakes),
                permits: Arc::new(Semaphore::new(budget.max_connections)),
                waiting: Arc::new(Semaphore::new(budget.max_handshakes)),
                sessions: Arc::new(Sessions::default()),
            }),
            tracker: Tracker::default(),
            phase,
            fixed: config.clone(),
            engine,
        })
    }

    /// Builds everything anew from `config` and swaps it in; on error the running state stays.
    /// Returns the settings that changed but only take effect on restart.
    pub fn reload(&self, config: &Config) -> Result<Vec<&'static str>, BuildError> {
        let state = Arc::new(build(config, &self.engine)?);
        self.shared.state.store(state.clone());
        let cut = self.shared.sessions.recheck(&state.proxy);
        if cut > 0 {
            tracing::warn!(
                connections = cut,
                "reload: closed the open connections whose clients no longer have access"
            );
        }
        let f = &self.fixed;
        let mut restart = Vec::new();
        if f.listen != config.listen {
            restart.push("listen.addresses");
        }
        if f.limits.max_connections != config.limits.max_connections {
            restart.push("limits.max_connections");
        }
        if f.limits.max_handshakes != config.limits.max_handshakes {
            restart.push("limits.max_handshakes");
        }
        if f.limits.max_inspected_total != config.limits.max_inspected_total {
            restart.push("limits.max_inspected_total");
        }
        if f.log.format != config.log.format || f.log.level != config.log.level {
            restart.push("log");
        }
        if f.metrics != config.metrics {
            restart.push("metrics.address");
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
            accept_loops.spawn(listener::accept_loop(listener, move |stream, peer| {
                let (shared, guard) = (shared.clone(), tracker.guard());
                // The socket moves to the worker's runtime (its reactor), registered there.
                match stream.into_std() {
                    Ok(std_stream) => workers::spawn(async move {
                        match TcpStream::from_std(std_stream) {
                            Ok(stream) => server::serve(shared, stream, peer, guard).await,
                            Err(e) => tracing::debug!(error = %e, "cannot register a connection"),
                        }
                    }),
                    Err(e) => tracing::debug!(error = %e, "cannot hand over a connection"),
                }
            }));
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

    /// Logs, loudly, what has run out or will within [`tls::EXPIRY_WARNING`]: an expired CRL refuses
    /// every client it covers, an expired server certificate every client.
    pub fn log_expiry(&self) {
        let now = time::OffsetDateTime::now_utc();
        let fmt = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        for e in &self.shared.state.load().expiries {
            if e.at <= now {
                tracing::error!(
                    what = e.what,
                    path = %e.path.display(),
                    at = %fmt(e.at),
                    "EXPIRED: clients are being refused until it is renewed"
                );
            } else if e.at - now <= tls::EXPIRY_WARNING {
                tracing::warn!(
                    what = e.what,
                    path = %e.path.display(),
                    at = %fmt(e.at),
                    days_left = (e.at - now).whole_days(),
                    "expires soon: renew it, or clients will be refused"
                );
            }
        }
    }

    /// Warns when the private key can be read by anyone but its owner.
    pub fn log_key_permissions(&self, config: &Config) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&config.tls.key) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %config.tls.key.display(),
                    mode = %format!("{mode:o}"),
                    "the private key is readable by group or others; chmod 600 it"
                );
            }
        }
    }

    /// The files whose changes trigger a reload (`tls.watch`); empty when watching is off.
    pub fn watched_files(&self) -> Vec<std::path::PathBuf> {
        self.shared.state.load().watched.clone()
    }

    /// Connections open now (hijacked streams included).
    pub fn open_connections(&self) -> usize {
        self.tracker.open()
    }
}

impl metrics::http::Source for Gateway {
    fn snapshot(&self) -> metrics::http::Snapshot {
        let state = self.shared.state.load();
        metrics::http::Snapshot {
            serving: *self.phase.borrow() == Phase::Serving,
            connections_open: self.tracker.open(),
            certificates: state.certificates.clone(),
            crls: state.crls.clone(),
            engine: state.proxy.upstream.clone(),
        }
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
