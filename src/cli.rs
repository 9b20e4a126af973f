//! The command line (clap derive).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::DEFAULT_CONFIG_PATH;

#[derive(Debug, Parser)]
#[command(
    name = "dockgate",
    version,
    about = "Mutual-TLS gateway that puts the Docker Engine API on the network safely",
    after_help = "Examples:
  dockgate quickstart                       development CA + certificates in ./certs/dev, serve on 127.0.0.1:2376
  dockgate certs init --dir /etc/dockgate/certs --host docker.example.com --ip 192.0.2.10 --client alice
  dockgate check --config /etc/dockgate/dockgate.toml
  dockgate serve --config /etc/dockgate/dockgate.toml

Then, from a client:
  docker --tlsverify -H tcp://docker.example.com:2376 version      (with DOCKER_CERT_PATH=DIR/clients/alice)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    #[command(after_help = "Example:\n  dockgate serve --config /etc/dockgate/dockgate.toml")]
    Serve(ConfigArg),
    /// Validate the configuration, load certificates and key, and ping the engine; exit 0 when all is well.
    #[command(after_help = "Example:\n  dockgate check --config /etc/dockgate/dockgate.toml")]
    Check {
        #[command(flatten)]
        config: ConfigArg,
        /// Treat an unreachable engine as a warning, not a failure (for boot-time checks, when the
        /// engine may still be starting).
        #[arg(long)]
        engine_optional: bool,
    },
    /// Certificate tooling: a private CA, server and client certificates.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Development setup in one step: create certificates under --dir when missing, then serve on
    /// --listen in front of --socket and print the curl and docker commands to try it.
    #[command(after_help = "Example:\n  dockgate quickstart --socket /var/run/docker.sock")]
    Quickstart {
        /// Where the development CA, server and client certificates live.
        #[arg(long, default_value = "certs/dev")]
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:2376")]
        listen: SocketAddr,
        /// The Docker Engine's unix socket.
        #[arg(long, default_value = "/var/run/docker.sock")]
        socket: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(long, short, default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create a CA, a server certificate and client bundles in DIR (never overwrites files).
    #[command(
        after_help = "Example:\n  dockgate certs init --dir ./pki --host docker.example.com --ip 192.0.2.10 --client alice --client ci\n\nlocalhost, 127.0.0.1 and ::1 are always in the server certificate."
    )]
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// A DNS name for the server certificate (repeatable).
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// An IP address for the server certificate (repeatable).
        #[arg(long = "ip")]
        ips: Vec<IpAddr>,
        /// A client bundle to create in DIR/clients/NAME (repeatable).
        #[arg(long = "client")]
        clients: Vec<String>,
    },
}
