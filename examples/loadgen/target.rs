//! Where the load goes: mutual TLS 1.3 over TCP with a docker-style client bundle (no session
//! resumption, one key exchange group, so every handshake is a full one and comparable), or
//! plain HTTP/1.1 over a unix socket (the floor).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::ring::{cipher_suite, default_provider, kx_group};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;

use crate::cli::{self, Group, Suite};
use crate::conn::Conn;
use crate::error::{Error, Fatal};
use crate::verify::CachedVerifier;

pub enum Target {
    Tls {
        addr: SocketAddr,
        connector: TlsConnector,
        server_name: ServerName<'static>,
    },
    Unix(PathBuf),
}

impl Target {
    pub fn new(args: &cli::Target) -> Result<Self, Fatal> {
        if let Some(path) = args.target.strip_prefix("unix:") {
            // Accept unix:///path as well as unix:/path.
            let path = path.strip_prefix("//").unwrap_or(path);
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        let Some(hostport) = args.target.strip_prefix("tls://") else {
            return Err(Fatal::Target(args.target.clone()));
        };
        let addr = hostport
            .to_socket_addrs()
            .map_err(|e| Fatal::Resolve(hostport.to_owned(), e))?
            .next()
            .ok_or_else(|| Fatal::Target(args.target.clone()))?;
        let dir = args.cert_dir.as_deref().ok_or(Fatal::NoCertDir)?;
        let config = client_config(dir, args)?;
        let server_name = ServerName::try_from(args.sni.clone())
            .map_err(|_| Fatal::ServerName(args.sni.clone()))?;
        Ok(Target::Tls {
            addr,
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Target::Tls { .. })
    }

    /// A new connection; for TLS, after a full handshake.
    pub async fn connect(&self) -> Result<Conn, Error> {
        match self {
            Target::Tls {
                addr,
                connector,
                server_name,
            } => {
                let tcp = TcpStream::connect(addr).await.map_err(Error::Connect)?;
                tcp.set_nodelay(true).map_err(Error::Connect)?;
                let tls = connector
                    .connect(server_name.clone(), tcp)
                    .await
                    .map_err(Error::Handshake)?;
                Ok(Conn::Tls(Box::new(tls)))
            }
            Target::Unix(path) => Ok(Conn::Unix(
                UnixStream::connect(path).await.map_err(Error::Connect)?,
            )),
        }
    }
}

/// TLS 1.3 only, the client certificate from `dir`, the server verified against `dir/ca.pem`
/// (its chain remembered between handshakes unless `--verify-every-handshake`: see
/// `verify.rs`), exactly one key exchange group, optionally one cipher suite, and no resumption: no session cache, so tickets the server
/// sends are dropped and every connection does a full handshake.
fn client_config(dir: &Path, args: &cli::Target) -> Result<ClientConfig, Fatal> {
    let mut provider = default_provider();
    provider.kx_groups = vec![match args.group {
        Group::X25519 => kx_group::X25519,
        Group::P256 => kx_group::SECP256R1,
        // The hybrid post-quantum group comes from aws-lc-rs; the rest of the provider stays ring.
        Group::X25519mlkem768 => rustls::crypto::aws_lc_rs::kx_group::X25519MLKEM768,
    }];
    if let Some(suite) = args.suite {
        provider.cipher_suites = vec![match suite {
            Suite::Aes128 => cipher_suite::TLS13_AES_128_GCM_SHA256,
            Suite::Aes256 => cipher_suite::TLS13_AES_256_GCM_SHA384,
            Suite::Chacha20 => cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        }];
    }
    let mut roots = RootCertStore::empty();
    let ca = dir.join("ca.pem");
    for cert in certs(&ca)? {
        roots.add(cert).map_err(Fatal::Tls)?;
    }
    let chain = certs(&dir.join("cert.pem"))?;
    let key_path = dir.join("key.pem");
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|source| Fatal::Pem {
        path: key_path,
        source,
    })?;
    let provider = Arc::new(provider);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(Fatal::Tls)?;
    let builder = if args.verify_every_handshake {
        builder.with_root_certificates(roots)
    } else {
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(Fatal::Verifier)?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(CachedVerifier::new(webpki)))
    };
    let mut config = builder
        .with_client_auth_cert(chain, key)
        .map_err(Fatal::Tls)?;
    config.resumption = Resumption::disabled();
    config.enable_early_data = false;
    Ok(config)
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Fatal> {
    let pem_error = |source| Fatal::Pem {
        path: path.to_owned(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    if certs.is_empty() {
        return Err(Fatal::NoCert(path.to_owned()));
    }
    Ok(certs)
}
