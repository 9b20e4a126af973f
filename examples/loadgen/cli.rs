//! The command line: one subcommand per measure, each taking the target options after it
//! (`loadgen keepalive --target tls://127.0.0.1:2376 --cert-dir DIR --conns 32`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Load generator for the dockgate benchmark (issue 10): one thread, mutual TLS 1.3 without
/// session resumption, one JSON object with the results on stdout.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
pub struct Cli {
    #[command(subcommand)]
    pub mode: Mode,
}

#[derive(Debug, Subcommand)]
pub enum Mode {
    /// N keep-alive connections, one request in flight on each, for a while.
    Keepalive(Keepalive),
    /// A new connection (full handshake) per request, C workers in parallel.
    Handshake(Handshake),
    /// One GET on one connection, the body read as fast as possible.
    Download(Download),
    /// One POST on one connection with a body of B bytes.
    Upload(Upload),
    /// N verified connections opened, then held open and idle.
    Idle(Idle),
}

/// Where the load goes and how to authenticate.
#[derive(Debug, Args)]
pub struct Target {
    /// `tls://HOST:PORT` (mutual TLS) or `unix:/path/to.sock` (plain HTTP, the floor).
    #[arg(long)]
    pub target: String,
    /// A docker-style client bundle: ca.pem, cert.pem, key.pem (needed for tls://).
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
    /// The server name to send and verify.
    #[arg(long, default_value = "localhost")]
    pub sni: String,
    /// The only key exchange group offered.
    #[arg(long, value_enum, default_value_t = Group::X25519)]
    pub group: Group,
    /// The only cipher suite offered (default: rustls' order, AES-256-GCM first, as OpenSSL
    /// clients do; the docker CLI's Go client puts AES-128-GCM first).
    #[arg(long, value_enum)]
    pub suite: Option<Suite>,
    /// Check the server's certificate chain with webpki on every handshake, instead of once a
    /// minute for the same bytes (the handshake signature is checked every time either way).
    #[arg(long)]
    pub verify_every_handshake: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Group {
    X25519,
    P256,
    /// X25519MLKEM768, the hybrid post-quantum group Go 1.24+ clients offer first.
    X25519mlkem768,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Suite {
    Aes128,
    Aes256,
    Chacha20,
}

#[derive(Debug, Args)]
pub struct Keepalive {
    #[command(flatten)]
    pub target: Target,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 1)]
    pub conns: usize,
    /// Seconds measured (after the warm-up).
    #[arg(long, value_parser = seconds, default_value = "5")]
    pub duration: Duration,
    /// Seconds of load before measuring starts.
    #[arg(long, value_parser = seconds, default_value = "0")]
    pub warmup: Duration,
    #[arg(long, default_value = "/_ping")]
    pub path: String,
}

#[derive(Debug, Args)]
pub struct Handshake {
    #[command(flatten)]
    pub target: Target,
    /// Workers, each with one connection at a time.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    #[arg(long, value_parser = seconds, default_value = "5")]
    pub duration: Duration,
    #[arg(long, value_parser = seconds, default_value = "0")]
    pub warmup: Duration,
    #[arg(long, default_value = "/_ping")]
    pub path: String,
}

#[derive(Debug, Args)]
pub struct Download {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub path: String,
    /// The body size the response must have (suffixes K, M, G: KiB, MiB, GiB).
    #[arg(long, value_parser = bytes)]
    pub expect_bytes: Option<u64>,
    /// Give up after this many seconds.
    #[arg(long, value_parser = seconds, default_value = "600")]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct Upload {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, default_value = "/upload")]
    pub path: String,
    /// Body size (suffixes K, M, G: KiB, MiB, GiB).
    #[arg(long, value_parser = bytes)]
    pub bytes: u64,
    #[arg(long, value_parser = seconds, default_value = "600")]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct Idle {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub conns: usize,
    /// Seconds to hold the connections once all are open (SIGTERM or SIGINT ends it early).
    #[arg(long, value_parser = seconds)]
    pub hold: Duration,
    /// Where to write `ready N` once all connections are open.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// At most this many new connections per second (default: unlimited).
    #[arg(long)]
    pub rate: Option<f64>,
    /// At most this many handshakes in flight.
    #[arg(long, default_value_t = 64)]
    pub parallel: usize,
    #[arg(long, default_value = "/_ping")]
    pub path: String,
}

fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|e| format!("{s:?} is not a number of seconds: {e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?} is not a duration: {e}"))
}

fn bytes(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|e| format!("{s:?} is not a byte count: {e}"))?;
    n.checked_mul(unit)
        .ok_or_else(|| format!("{s:?} is too large"))
}
