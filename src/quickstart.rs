//! `dockgate quickstart`: a working development gateway in one command. Creates a CA, a server
//! certificate and an `admin` client bundle under a local folder when they are missing, writes a
//! config next to them, and says how to reach the gateway with curl and the docker CLI.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::certs::{self, CertsError, InitOptions};
use crate::config::{Config, ConfigError};

pub const CLIENT: &str = "admin";

#[derive(Debug, thiserror::Error)]
pub enum QuickstartError {
    #[error("cannot resolve {}", path.display())]
    Path {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds only part of a development setup ({} is missing); remove the folder or pass another --dir", dir.display(), missing.display())]
    Partial { dir: PathBuf, missing: PathBuf },
    #[error("cannot create the development certificates")]
    Certs(#[from] CertsError),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Makes sure the certificates exist and returns the configuration to serve with.
pub fn prepare(
    dir: &Path,
    listen: SocketAddr,
    socket: &Path,
) -> Result<(Config, bool), QuickstartError> {
    let clients = vec![CLIENT.to_string()];
    let planned = certs::planned_files(dir, &clients);
    let missing: Vec<&PathBuf> = planned.iter().filter(|p| !p.exists()).collect();
    let created = if missing.len() == planned.len() {
        certs::init(&InitOptions {
            dir: dir.to_path_buf(),
            clients,
            ..InitOptions::default()
        })?;
        true
    } else if let Some(m) = missing.first() {
        return Err(QuickstartError::Partial {
            dir: dir.to_path_buf(),
            missing: (*m).clone(),
        });
    } else {
        false
    };
    let dir = dir.canonicalize().map_err(|source| QuickstartError::Path {
        path: dir.to_path_buf(),
        source,
    })?;
    let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    let text = format!(
        "# Written by `dockgate quickstart`; rewritten on every start.\n\
         [listen]\naddresses = [{listen}]\n\n\
         [tls]\nca = {ca}\ncert = {cert}\nkey = {key}\n\n\
         [upstream]\nsocket = {socket}\n\n\
         [[allow]]\ncn = \"{CLIENT}\"\naccess = \"full\"\n",
        listen = toml::Value::String(listen.to_string()),
        ca = q(&dir.join("ca.pem")),
        cert = q(&dir.join("server-cert.pem")),
        key = q(&dir.join("server-key.pem")),
        socket = q(socket),
    );
    let path = dir.join("dockgate.toml");
    std::fs::write(&path, &text).map_err(|source| QuickstartError::Write {
        path: path.clone(),
        source,
    })?;
    Ok((Config::load(&path)?, created))
}

/// The commands a newcomer can paste to try the gateway listening on `addr`.
pub fn instructions(config: &Config, cert_dir: &Path, addr: SocketAddr) -> String {
    let host = addr.to_string();
    let client = cert_dir.join("clients").join(CLIENT);
    let c = client.display();
    format!(
        "dockgate is serving https://{host} in front of {socket}\n\
         config: {config}\n\n\
         Try it with curl:\n  \
         curl --cert {c}/cert.pem --key {c}/key.pem --cacert {c}/ca.pem https://{host}/version\n\n\
         Try it with the docker CLI:\n  \
         docker --tlsverify --tlscacert {c}/ca.pem --tlscert {c}/cert.pem --tlskey {c}/key.pem -H tcp://{host} version\n\
         or for this shell:\n  \
         export DOCKER_HOST=tcp://{host} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={c}\n",
        socket = config.upstream.socket.display(),
        config = config.source.display(),
    )
}
