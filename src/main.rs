//! The `dockgate` binary: parse the command line, set up logging, load the configuration and
//! hand over to the library; map failures to exit codes: 1 runtime, 2 configuration, 3 shutdown
//! had to cut connections (grace period over, or a second signal).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use dockgate::check::{self, error_chain, Line};
use dockgate::cli::{CertsCommand, Cli, Command, ExplainArgs};
use dockgate::config::Config;
use dockgate::shutdown::DrainOutcome;
use dockgate::{certs, listener, quickstart, service, telemetry};

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
        Command::Explain(args) => explain_cmd(args),
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

/// Runs the gateway as a service until SIGTERM or SIGINT (see `dockgate::service`); with
/// `quickstart_dir`, first prints how to reach it. Exit status: 0 when every connection drained,
/// 3 when shutdown had to cut some, 2 for configuration errors, 1 for the rest.
fn serve(config: Config, quickstart_dir: Option<PathBuf>) -> ExitCode {
    telemetry::init(config.log.format, &config.log.level);
    // Sockets passed by systemd are taken before the runtime starts any thread.
    let inherited = match listener::inherited() {
        Ok(l) => l,
        Err(e) => return fail(1, &e),
    };
    // Connections run on one single-threaded runtime per CPU (see `dockgate::workers`); the
    // main runtime accepts, handles signals, reloads and watches files.
    if let Err(e) = dockgate::workers::start(dockgate::workers::default_count()) {
        return fail(1, &e);
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(1, &e),
    };
    let banner = |addrs: &[std::net::SocketAddr]| {
        if let (Some(dir), Some(addr)) = (&quickstart_dir, addrs.first()) {
            say!("{}", quickstart::instructions(&config, dir, *addr));
        }
    };
    let outcome = rt.block_on(service::run(&config, inherited, banner));
    rt.shutdown_background();
    dockgate::audit::sink::flush();
    match outcome {
        Ok(DrainOutcome::Drained) => ExitCode::SUCCESS,
        Ok(DrainOutcome::Cut(_)) => ExitCode::from(EXIT_CUT),
        Err(e @ service::ServiceError::Build(_)) => fail(2, &e),
        Err(e) => fail(1, &e),
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

fn explain_cmd(args: ExplainArgs) -> ExitCode {
    use dockgate::explain;
    if args.suggest {
        let (Some(log), Some(cn)) = (&args.audit_log, &args.cn) else {
            eprintln!("dockgate explain --suggest needs --audit-log FILE and --cn NAME");
            return ExitCode::from(2);
        };
        let text = match std::fs::read(log) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                eprintln!("dockgate explain: cannot read {}: {e}", log.display());
                return ExitCode::from(2);
            }
        };
        let usage = explain::usage(&text, cn);
        if usage.routes.is_empty() {
            eprintln!(
                "dockgate explain: {} has no forwarded request of client \"{cn}\"",
                log.display()
            );
            return ExitCode::from(1);
        }
        let name = args.name.clone().unwrap_or_else(|| cn.clone());
        say_raw!(
            "{}",
            explain::suggest(&usage, &name, cn, &log.display().to_string())
        );
        return ExitCode::SUCCESS;
    }
    let config = match Config::load(&args.config.config) {
        Ok(c) => c,
        Err(e) => return fail(2, &e),
    };
    let identity = match explain_identity(&args) {
        Ok(id) => id,
        Err(msg) => {
            eprintln!("dockgate explain: {msg}");
            return ExitCode::from(2);
        }
    };
    let (Some(method), Some(target)) = (&args.method, &args.path) else {
        eprintln!("dockgate explain: give METHOD and PATH");
        return ExitCode::from(2);
    };
    // As sent: `serve` takes `get` for an extension method, not GET.
    let method = match http::Method::from_bytes(method.as_bytes()) {
        Ok(m) => m,
        Err(_) => {
            eprintln!("dockgate explain: `{method}` is not an HTTP method");
            return ExitCode::from(2);
        }
    };
    let body = match &args.body {
        None => None,
        Some(p) if p.as_os_str() == "-" => {
            let mut b = Vec::new();
            if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut b) {
                eprintln!("dockgate explain: cannot read the body from stdin: {e}");
                return ExitCode::from(2);
            }
            Some(b)
        }
        Some(p) => match std::fs::read(p) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("dockgate explain: cannot read {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
    };
    let policy = dockgate::policy::Policy::new(&config.allow, &config.profiles);
    let question = explain::Question {
        method,
        target: target.clone(),
        upgrade: args.upgrade,
        body,
    };
    let socket = config.upstream.socket.clone();
    let timeout = config.limits.upstream_connect_timeout;
    let mut ask = |path: &str| explain::ask_engine(&socket, path, timeout);
    // A certificate the handshake refuses never gets as far as a request.
    if let Some(path) = &args.cert {
        let chain = match dockgate::tls::load_certs(path) {
            Ok(c) => c,
            Err(e) => return fail(2, &e),
        };
        if let Err(why) = dockgate::tls::handshake_accepts(&config.tls, &chain) {
            say_raw!(
                "{}",
                explain::refused_at_handshake(&policy, &identity, &why).render(&identity, &policy)
            );
            return ExitCode::from(1);
        }
    }
    let x = explain::explain(&config, &policy, &identity, &question, &mut ask);
    say_raw!("{}", x.render(&identity, &policy));
    match x.outcome {
        explain::Outcome::Allow | explain::Outcome::WouldDeny => ExitCode::SUCCESS,
        explain::Outcome::Deny | explain::Outcome::Invalid => ExitCode::from(1),
    }
}

/// The identity `explain` asks about: from --cert, or built from --cn and friends.
fn explain_identity(args: &ExplainArgs) -> Result<dockgate::tls::ClientIdentity, String> {
    use rustls_pki_types::pem::PemObject;
    match (&args.cert, &args.cn) {
        (Some(path), None) => {
            let der = rustls_pki_types::CertificateDer::from_pem_file(path)
                .map_err(|e| format!("cannot read a certificate from {}: {e}", path.display()))?;
            dockgate::tls::ClientIdentity::from_der(&der).map_err(|e| e.to_string())
        }
        (None, Some(cn)) => Ok(dockgate::tls::ClientIdentity {
            fingerprint: match &args.fingerprint {
                None => String::new(),
                Some(f) => dockgate::config::fingerprint_hex(f).ok_or(
                    "--fingerprint must be the SHA-256 of the certificate: 64 hex digits, colons allowed",
                )?,
            },
            cn: Some(cn.clone()),
            ous: args.ous.clone(),
            dns: args.dns.iter().map(|d| d.to_ascii_lowercase()).collect(),
            uris: args.uris.clone(),
            emails: args.emails.clone(),
            ..Default::default()
        }),
        _ => Err("give exactly one of --cert PEM and --cn NAME".into()),
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
                "{:<7} {:<20} {:<34} {:<22} {:<40} SUBJECT",
                "KIND",
                "NAME",
                "SERIAL",
                "NOT AFTER",
                "STATUS"
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
                    "{:<7} {:<20} {:<34} {:<22} {:<40} {}",
                    i.kind.as_str(),
                    i.name,
                    i.serial,
                    i.not_after,
                    status,
                    i.subject
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
