//! The `dockgate` binary: parse the command line, set up logging, load the configuration and
//! hand over to the library; map failures to exit codes: 1 runtime, 2 configuration, 3 shutdown
//! had to cut connections (grace period over, or a second signal).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Parser;
use dockgate::check::{self, error_chain, Line};
use dockgate::cli::{CertsCommand, Cli, Command};
use dockgate::config::Config;
use dockgate::shutdown::DrainOutcome;
use dockgate::{certs, listener, notify, quickstart, telemetry, Gateway};

/// `println!` that does not panic when stdout is gone (`dockgate certs list | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` likewise.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// Exit status when shutdown had to cut connections.
const EXIT_CUT: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => match Config::load(&args.config) {
            Ok(config) => serve(config, None),
            Err(e) => fail(2, &e),
        },
        Command::Check {
            config,
            engine_optional,
        } => check_cmd(&config.config, engine_optional),
        Command::Certs(cmd) => certs_cmd(cmd),
        Command::Doctor {
            host,
            cert_path,
            timeout,
        } => doctor(host, cert_path, timeout),
        Command::Quickstart {
            dir,
            listen,
            socket,
        } => match quickstart::prepare(&dir, listen, &socket) {
            Ok((config, created)) => {
                if created {
                    say!(
                        "created a development CA and certificates in {}",
                        dir.display()
                    );
                }
                let cert_dir = config.source.parent().unwrap_or(&dir).to_path_buf();
                serve(config, Some(cert_dir))
            }
            Err(e) => fail(2, &e),
        },
    }
}

fn fail(code: u8, e: &dyn std::error::Error) -> ExitCode {
    eprintln!("dockgate: {}", error_chain(e));
    ExitCode::from(code)
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Runs the gateway until SIGTERM or SIGINT, reloading on SIGHUP; with `quickstart_dir`, first
/// prints how to reach it. Exit status: 0 when every connection drained, 3 when the grace period
/// had to cut some (or a second signal cut everything), 2 for configuration errors.
fn serve(config: Config, quickstart_dir: Option<PathBuf>) -> ExitCode {
    telemetry::init(config.log.format, &config.log.level);
    // Sockets passed by systemd are taken before the runtime starts any thread.
    let inherited = match listener::inherited() {
        Ok(l) => l,
        Err(e) => return fail(1, &e),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(1, &e),
    };
    rt.block_on(async move {
        let gateway = match Gateway::new(&config) {
            Ok(g) => Arc::new(g),
            Err(e) => return fail(2, &e),
        };
        let listeners = if inherited.is_empty() {
            match listener::bind(&config.listen) {
                Ok(l) => l,
                Err(e) => return fail(1, &e),
            }
        } else {
            let mut out = Vec::new();
            for (std_listener, name) in inherited {
                tracing::info!(name = %name, "using a socket passed by systemd");
                match tokio::net::TcpListener::from_std(std_listener) {
                    Ok(l) => out.push(l),
                    Err(e) => return fail(1, &e),
                }
            }
            out
        };
        let addrs: Vec<String> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.to_string())
            .collect();
        if let (Some(dir), Some(addr)) = (
            quickstart_dir,
            listeners.first().and_then(|l| l.local_addr().ok()),
        ) {
            say!("{}", quickstart::instructions(&config, &dir, addr));
        }
        let last_reload = Arc::new(Mutex::new(String::from("no reload yet")));
        gateway.log_expiry();
        notify::ready(&format!("serving on {}", addrs.join(", ")));

        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(control(
            gateway.clone(),
            config.source.clone(),
            stop_tx,
            last_reload.clone(),
        ));
        tokio::spawn(report(
            gateway.clone(),
            addrs.join(", "),
            last_reload.clone(),
        ));
        {
            let (gw, path, last) = (gateway.clone(), config.source.clone(), last_reload);
            tokio::spawn(dockgate::watch::run(gateway.clone(), move || {
                reload(&gw, &path, &last)
            }));
        }
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
        match gateway.drain().await {
            DrainOutcome::Drained => {
                tracing::info!("all connections finished; exiting");
                ExitCode::SUCCESS
            }
            DrainOutcome::Cut(n) => {
                tracing::warn!(
                    open = n,
                    "shutdown.grace is over; closing the remaining connections"
                );
                ExitCode::from(EXIT_CUT)
            }
        }
    })
}

/// Signals: SIGHUP reloads; the first SIGTERM or SIGINT starts the drain, a second one exits at once.
async fn control(
    gateway: Arc<Gateway>,
    config_path: PathBuf,
    stop: tokio::sync::oneshot::Sender<()>,
    last_reload: Arc<Mutex<String>>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut hup, mut term, mut int) = match (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(h), Ok(t), Ok(i)) => (h, t, i),
        _ => {
            tracing::error!("cannot install signal handlers");
            return;
        }
    };
    let mut stop = Some(stop);
    loop {
        let stop_requested = tokio::select! {
            _ = hup.recv() => false,
            _ = term.recv() => true,
            _ = int.recv() => true,
        };
        if !stop_requested {
            reload(&gateway, &config_path, &last_reload);
            continue;
        }
        match stop.take() {
            Some(tx) => {
                tracing::info!("shutdown requested; a second signal exits at once");
                let _ = tx.send(());
            }
            None => {
                tracing::warn!(
                    open = gateway.open_connections(),
                    "second shutdown signal: exiting now"
                );
                std::process::exit(i32::from(EXIT_CUT));
            }
        }
    }
}
/// SIGHUP: load the configuration file again and swap everything in, or keep the running state.
fn reload(gateway: &Gateway, path: &std::path::Path, last_reload: &Mutex<String>) {
    notify::reloading();
    let at = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let result = Config::load(path)
        .map_err(|e| error_chain(&e))
        .and_then(|config| gateway.reload(&config).map_err(|e| error_chain(&e)));
    let summary = match result {
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
    };
    notify::ready(&summary);
    if let Ok(mut l) = last_reload.lock() {
        *l = summary;
    }
    gateway.log_expiry();
}

/// Keeps systemd's STATUS= current (open connections, the last reload's result), and repeats
/// the expiry warnings every hour.
async fn report(gateway: Arc<Gateway>, addrs: String, last_reload: Arc<Mutex<String>>) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(5);
    let mut tick = tokio::time::interval(EVERY);
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        if ticks % 720 == 0 {
            gateway.log_expiry();
        }
        let reload = last_reload.lock().map(|l| l.clone()).unwrap_or_default();
        notify::status(&format!(
            "serving {} connection(s) on {addrs}; {reload}",
            gateway.open_connections()
        ));
    }
}

fn check_cmd(path: &std::path::Path, engine_optional: bool) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            say!("FAIL {}", error_chain(&e));
            return ExitCode::from(1);
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(1, &e),
    };
    let lines = rt.block_on(check::run(&config, engine_optional));
    let mut failed = false;
    for line in &lines {
        match line {
            Line::Ok(s) => say!("ok   {s}"),
            Line::Warn(s) => say!("WARN {s}"),
            Line::Fail(s) => {
                failed = true;
                say!("FAIL {s}");
            }
        }
    }
    if failed {
        say!(
            "dockgate check: configuration {} has problems",
            path.display()
        );
        ExitCode::from(1)
    } else {
        say!(
            "dockgate check: configuration {} is ready to serve",
            path.display()
        );
        ExitCode::SUCCESS
    }
}

fn doctor(host: Option<String>, cert_path: Option<PathBuf>, timeout: u64) -> ExitCode {
    let Some(host) = host.or_else(|| std::env::var("DOCKER_HOST").ok()) else {
        eprintln!(
            "dockgate doctor: no gateway given: pass --host tcp://HOST:2376 or set DOCKER_HOST"
        );
        return ExitCode::from(2);
    };
    let cert_path = cert_path
        .or_else(|| std::env::var_os("DOCKER_CERT_PATH").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
        .unwrap_or_else(|| PathBuf::from(".docker"));
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(1, &e),
    };
    let report = rt.block_on(dockgate::doctor::run(&dockgate::doctor::Options {
        host,
        cert_path,
        timeout: std::time::Duration::from_secs(timeout.max(1)),
    }));
    for line in &report.lines {
        say!("{line}");
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn certs_cmd(cmd: CertsCommand) -> ExitCode {
    match run_certs(cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, &e),
    }
}

fn run_certs(cmd: CertsCommand) -> Result<(), certs::CertsError> {
    match cmd {
        CertsCommand::Init {
            dir,
            hosts,
            ips,
            clients,
            key,
            ca_days,
            crl_days,
        } => {
            let report = certs::init(&certs::InitOptions {
                dir: dir.clone(),
                hosts,
                ips,
                clients,
                key_type: key.key_type,
                ca_days,
                days: key.days,
                crl_days,
            })?;
            say!("CA:                 {}", report.ca.display());
            say!(
                "server certificate: {} (names: {})",
                report.server_cert.display(),
                report.server_names.join(", ")
            );
            say!("server key:         {}", report.server_key.display());
            say!("CRL:                {} (for tls.crl)", report.crl.display());
            let endpoint = certs::guess_endpoint(&dir);
            for c in &report.clients {
                say!(
                    "\nclient {} in {} (use as DOCKER_CERT_PATH):",
                    c.name,
                    c.dir.display()
                );
                say_raw!("{}", certs::client_commands(&c.name, &c.dir, &endpoint));
            }
        }
        CertsCommand::Issue {
            dir,
            client,
            ous,
            server,
            hosts,
            ips,
            key,
            force,
            endpoint,
        } => {
            if server {
                let r = certs::issue_server(&certs::ServerOptions {
                    dir,
                    hosts,
                    ips,
                    days: key.days,
                    key_type: key.key_type,
                    force,
                })?;
                say!(
                    "server certificate {} (serial {}, names: {}, until {})",
                    r.cert.display(),
                    r.record.serial,
                    r.names.join(", "),
                    r.record.not_after
                );
                say!("server key         {}", r.key.display());
                say!("A gateway watching these files picks them up by itself; otherwise: systemctl reload dockgate");
            } else if let Some(name) = client {
                let b = certs::issue_client(&certs::ClientOptions {
                    dir: dir.clone(),
                    name,
                    ous,
                    days: key.days,
                    key_type: key.key_type,
                    force,
                })?;
                say!(
                    "client {} in {} (serial {}, until {}); use the folder as DOCKER_CERT_PATH:\n",
                    b.name,
                    b.dir.display(),
                    b.record.serial,
                    b.record.not_after
                );
                let endpoint = endpoint.unwrap_or_else(|| certs::guess_endpoint(&dir));
                say_raw!("{}", certs::client_commands(&b.name, &b.dir, &endpoint));
            }
        }
        CertsCommand::Revoke {
            dir,
            client,
            serial,
            cert,
            crl_days,
        } => {
            let target = match (client, serial, cert) {
                (Some(c), _, _) => certs::RevokeTarget::Client(c),
                (_, Some(s), _) => certs::RevokeTarget::Serial(s),
                (_, _, Some(p)) => certs::RevokeTarget::Cert(p),
                _ => {
                    return Err(certs::CertsError::NothingToRevoke(
                        "give --client, --serial or --cert".into(),
                    ))
                }
            };
            let r = certs::revoke(&dir, &target, crl_days)?;
            for i in &r.revoked_now {
                say!(
                    "revoked {} {} (serial {})",
                    i.kind.as_str(),
                    i.name,
                    i.serial
                );
            }
            print_crl(&r);
        }
        CertsCommand::Crl { dir, crl_days } => print_crl(&certs::refresh_crl(&dir, crl_days)?),
        CertsCommand::List { dir } => {
            let now = time::OffsetDateTime::now_utc();
            say!(
                "{:<7} {:<20} {:<34} {:<22} STATUS",
                "KIND",
                "NAME",
                "SERIAL",
                "NOT AFTER"
            );
            for i in certs::list(&dir)? {
                let expired = time::OffsetDateTime::parse(
                    &i.not_after,
                    &time::format_description::well_known::Rfc3339,
                )
                .map(|t| t < now)
                .unwrap_or(false);
                let status = match (&i.revoked, expired) {
                    (Some(at), _) => format!("revoked {at}"),
                    (None, true) => "expired".to_string(),
                    (None, false) => "valid".to_string(),
                };
                say!(
                    "{:<7} {:<20} {:<34} {:<22} {status}",
                    i.kind.as_str(),
                    i.name,
                    i.serial,
                    i.not_after
                );
            }
        }
    }
    Ok(())
}

fn print_crl(r: &certs::CrlReport) {
    say!(
        "wrote {} ({} revoked, next update {}); a gateway with it in tls.crl picks it up by itself",
        r.crl.display(),
        r.revoked_total,
        r.next_update
    );
}
