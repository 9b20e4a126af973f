//! The `dockgate` binary: parse the command line, set up logging, load the configuration and
//! hand over to the library; map failures to exit codes (1 runtime, 2 configuration).

use std::process::ExitCode;

use clap::Parser;
use dockgate::check::{self, error_chain, Line};
use dockgate::cli::{CertsCommand, Cli, Command};
use dockgate::config::Config;
use dockgate::{certs, listener, quickstart, telemetry};

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
        Command::Certs(CertsCommand::Init {
            dir,
            hosts,
            ips,
            clients,
        }) => certs_init(certs::InitOptions {
            dir,
            hosts,
            ips,
            clients,
        }),
        Command::Quickstart {
            dir,
            listen,
            socket,
        } => match quickstart::prepare(&dir, listen, &socket) {
            Ok((config, created)) => {
                if created {
                    println!(
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

/// Runs the gateway; with `quickstart_dir`, first prints how to reach it.
fn serve(config: Config, quickstart_dir: Option<std::path::PathBuf>) -> ExitCode {
    telemetry::init(config.log.format, &config.log.level);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(1, &e),
    };
    rt.block_on(async move {
        let listeners = match listener::bind(&config.listen) {
            Ok(l) => l,
            Err(e) => return fail(1, &e),
        };
        if let Err(e) = dockgate::build(&config) {
            return fail(2, &e);
        }
        if let Some(dir) = quickstart_dir {
            if let Some(addr) = listeners.first().and_then(|l| l.local_addr().ok()) {
                println!("{}", quickstart::instructions(&config, &dir, addr));
            }
        }
        match dockgate::run(listeners, config, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(2, &e),
        }
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn check_cmd(path: &std::path::Path, engine_optional: bool) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            println!("FAIL {}", error_chain(&e));
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
            Line::Ok(s) => println!("ok   {s}"),
            Line::Warn(s) => println!("WARN {s}"),
            Line::Fail(s) => {
                failed = true;
                println!("FAIL {s}");
            }
        }
    }
    if failed {
        println!(
            "dockgate check: configuration {} has problems",
            path.display()
        );
        ExitCode::from(1)
    } else {
        println!(
            "dockgate check: configuration {} is ready to serve",
            path.display()
        );
        ExitCode::SUCCESS
    }
}

fn certs_init(opts: certs::InitOptions) -> ExitCode {
    match certs::init(&opts) {
        Ok(report) => {
            println!("CA:                 {}", report.ca.display());
            println!(
                "server certificate: {} (names: {})",
                report.server_cert.display(),
                report.server_names.join(", ")
            );
            println!("server key:         {}", report.server_key.display());
            for c in &report.clients {
                println!(
                    "client {:<12} {} (use as DOCKER_CERT_PATH)",
                    c.name,
                    c.dir.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(1, &e),
    }
}
