//! TLS for the listener: the rustls server configuration built from `[tls]`, mutual TLS
//! mandatory, TLS 1.2 and 1.3 only, ALPN `http/1.1` only.
//!
//! Session resumption is switched off (no session cache, no tickets): a resumed session would skip
//! client-certificate verification, and dockgate's handshakes are cheap next to what a Docker
//! command costs.

mod identity;
mod pem;
mod verifier;

use std::path::PathBuf;
use std::sync::Arc;

use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig};

use crate::config::TlsFiles;

pub use identity::{fingerprint, ClientIdentity, IdentityError};
pub use pem::{load_certs, load_key, PemError};
pub use verifier::{check_client_leaf, ClientVerifier, LeafProblem};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.ca")]
    Ca(#[source] PemError),
    #[error("tls.ca: {path} holds a certificate that is not a usable CA")]
    BadCa {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("tls.ca: {path}: cannot build a client verifier from it")]
    Verifier {
        path: PathBuf,
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    #[error("tls.cert")]
    Cert(#[source] PemError),
    #[error("tls.key")]
    Key(#[source] PemError),
    #[error("tls.key: {key} does not belong to the certificate in {cert}, or is not a usable key")]
    KeyMismatch {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("TLS protocol versions")]
    Versions(#[source] rustls::Error),
}

/// The crypto provider dockgate uses everywhere.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the CA bundle, certificate and key named in `[tls]` and builds the server configuration.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let mut roots = RootCertStore::empty();
    for ca in load_certs(&files.ca).map_err(TlsError::Ca)? {
        roots.add(ca).map_err(|source| TlsError::BadCa {
            path: files.ca.clone(),
            source,
        })?;
    }
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|source| TlsError::Verifier {
            path: files.ca.clone(),
            source,
        })?;
    let chain = load_certs(&files.cert).map_err(TlsError::Cert)?;
    let key = load_key(&files.key).map_err(TlsError::Key)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsError::Versions)?
        .with_client_cert_verifier(Arc::new(ClientVerifier::new(inner)))
        .with_single_cert(chain, key)
        .map_err(|source| TlsError::KeyMismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}
