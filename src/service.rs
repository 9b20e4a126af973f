//! The gateway as a long-running service: listeners (handed over by systemd, or bound from
//! `listen.addresses`), readiness and status for systemd, signals (SIGHUP reloads; the first
//! SIGTERM or SIGINT drains; a second one gives up at once), the file watch, the watchdog and the
//! expiry warnings. `main` only maps the outcome to an exit status.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::check::error_chain;
use crate::config::Config;
use crate::listener::{self, ListenError};
use crate::shutdown::DrainOutcome;
use crate::{notify, watch, BuildError, Gateway};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("cannot use a socket passed by systemd")]
    Adopt(#[source] std::io::Error),
    #[error("cannot install signal handlers")]
    Signals(#[source] std::io::Error),
    #[error("metrics.address: cannot listen on {address}")]
    Metrics {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// How often STATUS= is refreshed; the expiry warnings repeat every `EXPIRY_EVERY` of these.
const STATUS_EVERY: Duration = Duration::from_secs(5);
const EXPIRY_EVERY: u64 = 720;

/// Serves until told to stop, then drains. `on_listening` sees the bound addresses first.
pub async fn run(
    config: &Config,
    inherited: Vec<(std::net::TcpListener, String)>,
    on_listening: impl FnOnce(&[SocketAddr]),
) -> Result<DrainOutcome, ServiceError> {
    let gateway = Arc::new(Gateway::new(config)?);
    gateway.log_key_permissions(config);
    let listeners = if inherited.is_empty() {
        listener::bind(&config.listen)?
    } else {
        let mut out = Vec::new();
        for (std_listener, name) in inherited {
            tracing::info!(name = %name, "using a socket passed by systemd");
            out.push(tokio::net::TcpListener::from_std(std_listener).map_err(ServiceError::Adopt)?);
        }
        out
    };
    let addrs: Vec<SocketAddr> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .collect();
    let addr_list = addrs
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    on_listening(&addrs);

    if let Some(address) = config.metrics {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServiceError::Metrics { address, source })?;
        if let Some(warning) = crate::metrics::http::exposure_warning(address) {
            tracing::warn!("{warning}");
        }
        let metrics = crate::metrics::init();
        metrics.loaded();
        let source: Arc<dyn crate::metrics::http::Source> = gateway.clone();
        tokio::spawn(crate::metrics::http::serve(listener, metrics, source));
    }
    let signals = Signals::install().map_err(ServiceError::Signals)?;
    let last_reload = Arc::new(Mutex::new(String::from("no reload yet")));
    gateway.log_expiry();
    notify::ready(&format!("serving on {addr_list}"));

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (force_tx, force_rx) = oneshot::channel::<()>();
    let reloader = Reloader {
        gateway: gateway.clone(),
        path: config.source.clone(),
        last: last_reload.clone(),
    };
    tokio::spawn(control(signals, reloader.clone(), stop_tx, force_tx));
    tokio::spawn(report(gateway.clone(), addr_list, last_reload));
    tokio::spawn(watch::run(gateway.clone(), move || reloader.reload()));
    if let Some(interval) = notify::watchdog_interval() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval / 2);
            loop {
                tick.tick().await;
                notify::watchdog();
            }
        });
    }

    gateway
        .serve(listeners, async {
            let _ = stop_rx.await;
        })
        .await;
    let open = gateway.open_connections();
    tracing::info!(open, "stopped accepting; draining");
    notify::stopping(&format!("draining {open} connection(s)"));
    let outcome = tokio::select! {
        outcome = gateway.drain() => outcome,
        _ = force_rx => {
            let open = gateway.open_connections();
            tracing::warn!(open, "second shutdown signal: exiting now");
            return Ok(DrainOutcome::Cut(open));
        }
    };
    match outcome {
        DrainOutcome::Drained => tracing::info!("all connections finished; exiting"),
        DrainOutcome::Cut(n) => {
            tracing::warn!(
                open = n,
                "shutdown.grace is over; closing the remaining connections"
            )
        }
    }
    Ok(outcome)
}

struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}

/// SIGHUP reloads; the first SIGTERM or SIGINT starts the drain, a second one ends it at once.
async fn control(
    mut signals: Signals,
    reloader: Reloader,
    stop: oneshot::Sender<()>,
    force: oneshot::Sender<()>,
) {
    let mut stop = Some(stop);
    let mut force = Some(force);
    loop {
        let stop_requested = tokio::select! {
            _ = signals.hup.recv() => false,
            _ = signals.term.recv() => true,
            _ = signals.int.recv() => true,
        };
        if !stop_requested {
            reloader.reload();
            continue;
        }
        if let Some(tx) = stop.take() {
            tracing::info!("shutdown requested; a second signal exits at once");
            let _ = tx.send(());
        } else if let Some(tx) = force.take() {
            let _ = tx.send(());
        }
    }
}

/// Reloads the configuration file into the gateway (SIGHUP and the file watch alike).
#[derive(Clone)]
struct Reloader {
    gateway: Arc<Gateway>,
    path: PathBuf,
    last: Arc<Mutex<String>>,
}

impl Reloader {
    /// Loads the file again and swaps everything in, or keeps the running state; tells systemd.
    fn reload(&self) {
        notify::reloading();
        let summary = reload_once(&self.gateway, &self.path);
        notify::ready(&summary);
        if let Ok(mut l) = self.last.lock() {
            *l = summary;
        }
        self.gateway.log_expiry();
    }
}

fn reload_once(gateway: &Gateway, path: &Path) -> String {
    let at = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let result = Config::load(path)
        .map_err(|e| error_chain(&e))
        .and_then(|config| gateway.reload(&config).map_err(|e| error_chain(&e)));
    if let Some(m) = crate::metrics::get() {
        m.reload(result.is_ok());
    }
    match result {
        Ok(restart) => {
            if restart.is_empty() {
                tracing::info!(config = %path.display(), "configuration reloaded");
            } else {
                tracing::warn!(
                    config = %path.display(),
                    settings = %restart.join(", "),
                    "configuration reloaded; these settings changed but only take effect on restart"
                );
            }
            format!("last reload at {at}: ok")
        }
        Err(e) => {
            tracing::error!(config = %path.display(), error = %e, "reload failed; the running configuration stays in force");
            format!("last reload at {at} FAILED, running configuration kept: {e}")
        }
    }
}

/// Keeps systemd's STATUS= current (open connections, the last reload's result), and repeats
/// the expiry warnings every hour.
async fn report(gateway: Arc<Gateway>, addrs: String, last_reload: Arc<Mutex<String>>) {
    let mut tick = tokio::time::interval(STATUS_EVERY);
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        if ticks % EXPIRY_EVERY == 0 {
            gateway.log_expiry();
        }
        let reload = last_reload.lock().map(|l| l.clone()).unwrap_or_default();
        notify::status(&format!(
            "serving {} connection(s) on {addrs}; {reload}",
            gateway.open_connections()
        ));
    }
}
