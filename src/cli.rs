//! The command line (clap derive).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::certs::KeyType;
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
  dockgate certs issue --dir /etc/dockgate/certs --client bob
  dockgate certs revoke --dir /etc/dockgate/certs --client bob

Then, from a client:
  docker --tlsverify -H tcp://docker.example.com:2376 version      (with DOCKER_CERT_PATH=DIR/clients/alice)
  dockgate doctor -H tcp://docker.example.com:2376 --cert-path DIR/clients/alice"
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
    /// Connect like the docker CLI would and explain what is wrong, if anything.
    #[command(
        after_help = "Examples:\n  dockgate doctor --host tcp://docker.example.com:2376 --cert-path ~/.docker/prod\n  DOCKER_HOST=tcp://docker.example.com:2376 DOCKER_CERT_PATH=~/certs/alice dockgate doctor"
    )]
    Doctor {
        /// The gateway, as tcp://HOST:PORT (default: $DOCKER_HOST).
        #[arg(long, short = 'H')]
        host: Option<String>,
        /// Folder with ca.pem, cert.pem, key.pem (default: $DOCKER_CERT_PATH, else ~/.docker).
        #[arg(long)]
        cert_path: Option<PathBuf>,
        /// How long to wait for each step, in seconds.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Say what `serve` would decide for a client and a request (the same policy code), or
    /// suggest a profile from what a client did in the audit log.
    #[command(after_help = "Examples:
  dockgate explain --cn ci-runner POST /v1.47/containers/create --body create.json
  dockgate explain --cert clients/ci/cert.pem GET '/images/create?fromImage=busybox&tag=latest'
  dockgate explain --suggest --audit-log /var/log/dockgate.log --cn ci-runner

Exit status: 0 allowed (also would_deny in report mode), 1 denied or invalid, 2 usage or configuration error.")]
    Explain(ExplainArgs),
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
pub struct ExplainArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The client's certificate (PEM): its subject and names are matched like a connection's.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// The client's common name (instead of --cert).
    #[arg(long)]
    pub cn: Option<String>,
    /// An organizational unit of the client (repeatable; with --cn).
    #[arg(long = "ou")]
    pub ous: Vec<String>,
    /// A DNS name of the client (repeatable; with --cn).
    #[arg(long = "dns")]
    pub dns: Vec<String>,
    /// A URI of the client (repeatable; with --cn).
    #[arg(long = "uri")]
    pub uris: Vec<String>,
    /// An email address of the client (repeatable; with --cn).
    #[arg(long = "email")]
    pub emails: Vec<String>,
    /// The SHA-256 fingerprint of the client's certificate (with --cn; colons allowed), for
    /// `fingerprint` rules.
    #[arg(long)]
    pub fingerprint: Option<String>,
    /// The request asks to switch protocols (an `Upgrade:` header, as attach and exec send).
    #[arg(long)]
    pub upgrade: bool,
    /// The request body, from a file (`-` for stdin).
    #[arg(long)]
    pub body: Option<PathBuf>,
    /// Print a profile that allows what the --cn client did in --audit-log.
    #[arg(long, requires = "audit_log", requires = "cn")]
    pub suggest: bool,
    /// The audit log to read with --suggest (either log format).
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// The profile name for --suggest (default: the common name).
    #[arg(long)]
    pub name: Option<String>,
    /// The request method (GET, POST, ...).
    #[arg(required_unless_present = "suggest")]
    pub method: Option<String>,
    /// The request path as the client sends it, with its query: `/v1.47/containers/json?all=1`.
    #[arg(required_unless_present = "suggest")]
    pub path: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(long, short, default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
}

/// Options every command that makes a key takes.
#[derive(Debug, Args, Clone)]
pub struct KeyArgs {
    /// Key type: ecdsa-p256 (default), rsa2048, rsa3072, rsa4096, ed25519.
    #[arg(long, default_value = "ecdsa-p256")]
    pub key_type: KeyType,
    /// Validity of the certificate, in days.
    #[arg(long, default_value_t = crate::certs::LEAF_DAYS)]
    pub days: i64,
}

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create a CA, a server certificate, an empty CRL and client bundles in DIR (never overwrites).
    #[command(
        after_help = "Example:\n  dockgate certs init --dir /etc/dockgate/certs --host docker.example.com --ip 192.0.2.10 --client alice --client ci\n\nlocalhost, 127.0.0.1 and ::1 are always in the server certificate."
    )]
    Init {
        /// The CA folder (ca.pem, ca-key.pem, ...).
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
        #[command(flatten)]
        key: KeyArgs,
        /// Validity of the CA, in days.
        #[arg(long, default_value_t = crate::certs::CA_DAYS)]
        ca_days: i64,
        /// Validity of the CRL (its next-update time), in days.
        #[arg(long, default_value_t = crate::certs::CRL_DAYS)]
        crl_days: i64,
    },
    /// Issue a client bundle (--client) or renew the server certificate (--server).
    #[command(
        after_help = "Examples:\n  dockgate certs issue --dir /etc/dockgate/certs --client bob --ou ops\n  dockgate certs issue --dir /etc/dockgate/certs --server --host docker.example.com --ip 192.0.2.10 --force"
    )]
    Issue {
        /// The CA folder (ca.pem, ca-key.pem, ...).
        #[arg(long)]
        dir: PathBuf,
        /// The client's name (its certificate's CN); the bundle goes to DIR/clients/NAME.
        #[arg(long, conflicts_with_all = ["server", "hosts", "ips"], required_unless_present = "server")]
        client: Option<String>,
        /// An organizational unit for the client certificate (repeatable, up to two; matched by
        /// `[[allow]] ou = ...`).
        #[arg(long = "ou", requires = "client")]
        ous: Vec<String>,
        /// Issue the server certificate (DIR/server-cert.pem, DIR/server-key.pem).
        #[arg(long)]
        server: bool,
        /// A DNS name for the server certificate (repeatable).
        #[arg(long = "host", requires = "server")]
        hosts: Vec<String>,
        /// An IP address for the server certificate (repeatable).
        #[arg(long = "ip", requires = "server")]
        ips: Vec<IpAddr>,
        #[command(flatten)]
        key: KeyArgs,
        /// Replace existing files (atomically).
        #[arg(long)]
        force: bool,
        /// host:port that clients reach the gateway at, for the printed commands (default: from
        /// the server certificate).
        #[arg(long)]
        endpoint: Option<String>,
    },
    /// Revoke certificates and write a fresh, signed DIR/crl.pem.
    #[command(
        after_help = "Examples:\n  dockgate certs revoke --dir /etc/dockgate/certs --client bob\n  dockgate certs revoke --dir /etc/dockgate/certs --serial 4f:2a:...\n  dockgate certs revoke --dir /etc/dockgate/certs --cert ./bob/cert.pem"
    )]
    Revoke {
        /// The CA folder (ca.pem, ca-key.pem, ...).
        #[arg(long)]
        dir: PathBuf,
        /// Every unrevoked client certificate issued under this name.
        #[arg(long, group = "target")]
        client: Option<String>,
        /// One certificate by serial number (hex, colons allowed).
        #[arg(long, group = "target")]
        serial: Option<String>,
        /// One certificate by its file.
        #[arg(long, group = "target")]
        cert: Option<PathBuf>,
        /// Validity of the new CRL, in days.
        #[arg(long, default_value_t = crate::certs::CRL_DAYS)]
        crl_days: i64,
    },
    /// Write a fresh DIR/crl.pem (renew it before its next-update time).
    Crl {
        /// The CA folder (ca.pem, ca-key.pem, ...).
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = crate::certs::CRL_DAYS)]
        crl_days: i64,
    },
    /// List every certificate the CA in DIR issued, with its serial, expiry and revocation.
    List {
        /// The CA folder (ca.pem, ca-key.pem, ...).
        #[arg(long)]
        dir: PathBuf,
    },
}
