//! The validated, typed configuration: what `dockgate serve` and `dockgate check` run on.
//!
//! Loading is two steps: `file.rs` parses TOML into raw structs (unknown keys are errors), then
//! `validate.rs` checks every value and resolves relative paths against the config file's folder.
//! Every error names the file and the TOML key. This module knows nothing of TLS, policy or the
//! proxy; each of those builds its own runtime form from a `Config`.

mod duration;
mod file;
pub mod profile;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use duration::{DurationError, MAX_GRACE, MAX_TIMEOUT};
pub use profile::{AllowEntry, ContainerRules, ImagePattern, Mode, Profile, RoutePattern, Segment};
pub use validate::DEFAULT_CONFIG_PATH;

/// A fully validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was loaded from (used in messages).
    pub source: PathBuf,
    pub listen: Vec<SocketAddr>,
    pub tls: TlsFiles,
    pub upstream: Upstream,
    pub log: LogSettings,
    pub limits: Limits,
    pub shutdown: ShutdownSettings,
    /// `[metrics] address`: where `/metrics` and `/health` are served (plain HTTP); `None`: off.
    pub metrics: Option<SocketAddr>,
    pub allow: Vec<AllowRule>,
    /// `[profiles.NAME]`, by name.
    pub profiles: Vec<Profile>,
}

#[derive(Debug, Clone)]
pub struct ShutdownSettings {
    /// How long hijacked and streaming connections may run on after SIGTERM.
    pub grace: Duration,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        ShutdownSettings {
            grace: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CRLs (PEM) that client certificates and their intermediates are checked against.
    pub crl: Vec<PathBuf>,
    /// Reload by itself when one of these files changes.
    pub watch: bool,
}

impl TlsFiles {
    /// Every file the TLS setup reads.
    pub fn all(&self) -> Vec<PathBuf> {
        let mut v = vec![self.ca.clone(), self.cert.clone(), self.key.clone()];
        v.extend(self.crl.iter().cloned());
        v
    }
}

#[derive(Debug, Clone)]
pub struct Upstream {
    pub socket: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

/// The `[limits]` table. Every duration is at most `MAX_TIMEOUT`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The whole TLS handshake, from accept to a verified client certificate.
    pub handshake_timeout: Duration,
    /// From accept to the first byte (the TLS ClientHello); never above `handshake_timeout`.
    pub first_byte_timeout: Duration,
    /// Receiving one request head; also the idle time of a keep-alive connection.
    pub header_timeout: Duration,
    pub upstream_connect_timeout: Duration,
    /// Connections open at once, verified or not.
    pub max_connections: usize,
    /// Connections still in the TLS handshake at once: a budget of their own, so that peers that
    /// never finish a handshake cannot take the slots of verified clients. When it is full, the
    /// oldest pending handshake is dropped.
    pub max_handshakes: usize,
    /// Verified connections open at once per client certificate (by fingerprint); at most
    /// `max_connections`.
    pub max_connections_per_identity: usize,
    pub max_header_bytes: usize,
    /// The largest request body dockgate reads whole to inspect it (container create and
    /// update, exec create, volume create); larger ones are refused.
    pub max_inspected_body: usize,
    /// The bytes of such bodies held at once over all connections; at least `max_inspected_body`.
    /// Past it, requests that need one inspected get a 503 instead of more memory.
    pub max_inspected_total: usize,
    /// The time such a body has to arrive whole, from the end of the request head.
    pub body_timeout: Duration,
}

impl Limits {
    /// The default `max_connections_per_identity` for a given `max_connections`: an eighth of it,
    /// so that one client alone cannot hold every slot, but never fewer than 64 (or all of them,
    /// when there are fewer): `docker compose` and CI runners open many connections at once, and
    /// small totals are set for small, trusted setups.
    pub fn default_per_identity(max_connections: usize) -> usize {
        (max_connections / 8).max(max_connections.min(64))
    }
}

impl Default for Limits {
    fn default() -> Self {
        let max_connections = 4096;
        Limits {
            handshake_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(3),
            header_timeout: Duration::from_secs(30),
            upstream_connect_timeout: Duration::from_secs(5),
            max_connections,
            max_handshakes: 256,
            max_connections_per_identity: Limits::default_per_identity(max_connections),
            max_header_bytes: 131_072,
            max_inspected_body: 1024 * 1024,
            max_inspected_total: 64 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// How much of the API a matched client may use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Access {
    Full,
    ReadOnly,
    /// A `[profiles.NAME]` by name.
    Profile(Arc<str>),
}

impl Access {
    pub fn as_str(&self) -> &str {
        match self {
            Access::Full => "full",
            Access::ReadOnly => "read-only",
            Access::Profile(name) => name,
        }
    }
}

/// What an `[[allow]]` entry matches on; every key that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    /// `Some("*")` matches any verified client.
    pub cn: Option<String>,
    pub ou: Option<String>,
    pub dns: Option<String>,
    pub uri: Option<String>,
    pub email: Option<String>,
    /// Lower-case hex SHA-256 of the leaf certificate's DER, without separators.
    pub fingerprint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// What metrics call the clients this entry admits (`allow[N].name`; else its `cn` when that
    /// is not `"*"` and not taken by an earlier entry; else `allow-N`). Unique in a config.
    pub name: Arc<str>,
    pub matcher: Matcher,
    pub access: Access,
}

/// Why a configuration could not be loaded. Each names the file; value errors name the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {path}{}", table.as_ref().map(|t| format!(" (in {t})")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        /// The table the error is in (`[profiles.ci]`, `[[allow]]` number 2 as `allow[1]`).
        table: Option<String>,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("{path}: key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("{path}: key `{key}`")]
    Duration {
        path: PathBuf,
        key: String,
        #[source]
        source: DurationError,
    },
}

impl Config {
    /// Reads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text, path)
    }

    /// Parses and validates `text` as if it had been read from `path` (relative paths in it are
    /// resolved against `path`'s folder).
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: file::RawConfig = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            table: source.span().and_then(|s| table_at(text, s.start)),
            source: Box::new(source),
        })?;
        validate::validate(raw, path)
    }
}

/// A certificate's SHA-256 fingerprint as written by people (`AB:CD:…`, any case) in the form
/// identities carry (64 lower-case hex digits); `None` when it is not one.
pub fn fingerprint_hex(f: &str) -> Option<String> {
    let hex: String = f
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

/// The table that byte `offset` of a TOML text lies in, named as errors name keys:
/// `[profiles.ci]`, or `allow[1]` for the second `[[allow]]`.
fn table_at(text: &str, offset: usize) -> Option<String> {
    let mut table = None;
    let mut arrays: std::collections::HashMap<String, usize> = Default::default();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if at > offset {
            break;
        }
        at += line.len();
        let l = line.trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split_once("]]")) {
            let name = name.0.trim().to_string();
            let n = arrays.entry(name.clone()).or_insert(0);
            table = Some(format!("{name}[{}]", *n));
            *n += 1;
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split_once(']')) {
            table = Some(format!("[{}]", name.0.trim()));
        }
    }
    table
}
