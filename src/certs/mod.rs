//! `dockgate certs`: a small private CA for the gateway and its clients, written in the layout
//! that `docker --tlsverify` and `DOCKER_CERT_PATH` expect.
//!
//! ```text
//! DIR/ca.pem  DIR/ca-key.pem  DIR/server-cert.pem  DIR/server-key.pem
//! DIR/clients/NAME/{ca.pem,cert.pem,key.pem}
//! ```
//!
//! Keys are ECDSA P-256 and written 0600; nothing existing is ever overwritten (all target files
//! are checked before the first is written). The gateway itself never uses this module.

mod files;
mod issue;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

pub use files::FileError;
pub use issue::IssueError;

#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    #[error("{} already exists; dockgate certs never overwrites files", .0.display())]
    Exists(PathBuf),
    #[error(
        "`{0}` is not a usable client name (letters, digits, `.`, `_`, `-`; not starting with `.`)"
    )]
    BadClientName(String),
    #[error("client `{0}` is listed twice")]
    DuplicateClient(String),
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error(transparent)]
    File(#[from] FileError),
}

/// What `certs init` makes.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    pub dir: PathBuf,
    pub hosts: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub clients: Vec<String>,
}

/// The paths of one client bundle.
#[derive(Debug, Clone)]
pub struct ClientBundle {
    pub name: String,
    pub dir: PathBuf,
}

/// What `certs init` wrote.
#[derive(Debug, Clone)]
pub struct InitReport {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub clients: Vec<ClientBundle>,
    pub server_names: Vec<String>,
}

fn valid_client_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The files `certs init` would write into `dir` for `clients`.
pub fn planned_files(dir: &Path, clients: &[String]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["ca.pem", "ca-key.pem", "server-cert.pem", "server-key.pem"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    for c in clients {
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            out.push(dir.join("clients").join(c).join(f));
        }
    }
    out
}

/// Creates a CA, a server certificate and one bundle per client in `opts.dir`.
pub fn init(opts: &InitOptions) -> Result<InitReport, CertsError> {
    for (i, c) in opts.clients.iter().enumerate() {
        if !valid_client_name(c) {
            return Err(CertsError::BadClientName(c.clone()));
        }
        if opts.clients[..i].contains(c) {
            return Err(CertsError::DuplicateClient(c.clone()));
        }
    }
    let planned = planned_files(&opts.dir, &opts.clients);
    if let Some(existing) = planned.iter().find(|p| p.exists()) {
        return Err(CertsError::Exists(existing.clone()));
    }

    let ca = issue::Ca::generate()?;
    let mut hosts: Vec<String> = vec!["localhost".to_string()];
    for h in &opts.hosts {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    let mut ips: Vec<IpAddr> = vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()];
    for ip in &opts.ips {
        if !ips.contains(ip) {
            ips.push(*ip);
        }
    }
    let server = ca.server(&hosts, &ips)?;
    let ca_pem = ca.cert_pem();

    let dir = &opts.dir;
    files::create_dir(dir, 0o755)?;
    files::write_new(&dir.join("ca.pem"), ca_pem.as_bytes(), 0o644)?;
    files::write_new(&dir.join("ca-key.pem"), ca.key_pem().as_bytes(), 0o600)?;
    files::write_new(
        &dir.join("server-cert.pem"),
        server.cert_pem.as_bytes(),
        0o644,
    )?;
    files::write_new(
        &dir.join("server-key.pem"),
        server.key_pem.as_bytes(),
        0o600,
    )?;
    let mut clients = Vec::new();
    for name in &opts.clients {
        let issued = ca.client(name)?;
        let cdir = dir.join("clients").join(name);
        files::create_dir(&dir.join("clients"), 0o755)?;
        files::create_dir(&cdir, 0o700)?;
        files::write_new(&cdir.join("ca.pem"), ca_pem.as_bytes(), 0o644)?;
        files::write_new(&cdir.join("cert.pem"), issued.cert_pem.as_bytes(), 0o644)?;
        files::write_new(&cdir.join("key.pem"), issued.key_pem.as_bytes(), 0o600)?;
        clients.push(ClientBundle {
            name: name.clone(),
            dir: cdir,
        });
    }
    let mut server_names = hosts;
    server_names.extend(ips.iter().map(IpAddr::to_string));
    Ok(InitReport {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server-cert.pem"),
        server_key: dir.join("server-key.pem"),
        clients,
        server_names,
    })
}
